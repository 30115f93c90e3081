/**
 * The typed event bus through which the parts talk (STYLE.md): ingest emits what devices
 * said, the dashboard listens; the alerts part emits its committed changes, the delivery
 * worker what it gave up, the series writer what the store refused for a cap of its own. The
 * bus owns its event types (the alert's shape is config's). Every listener is wrapped, so one
 * broken part cannot stop the others or the emitter; its error is logged with the event's name.
 */
import type { Alert, Kind } from './config/index.ts';

export interface Reading {
  site: string;
  kind: Kind;
  device: string;
  building: string;
  /** the reading's own time, ms (the receive time where the device gave none) */
  ts: number;
  seq?: number;
  metrics: Record<string, number | boolean>;
}

export interface DeviceEvent {
  site: string;
  kind: Kind;
  device: string;
  building: string;
  ts: number;
  seq?: number;
  code: string;
  active: boolean;
  detail: string;
}

export interface DeviceStatus {
  site: string;
  kind: Kind;
  device: string;
  ts: number;
  online: boolean;
}

export interface BusEvents {
  reading: Reading;
  event: DeviceEvent;
  status: DeviceStatus;
  /** the series store went away or came back */
  store: { up: boolean; error?: string };
  /** the broker connection went away or came back */
  broker: { up: boolean; error?: string };
  /** an alert changed and the change is committed (pending, firing, severity, acknowledged, escalated, resolved, muted, …) */
  alert: { alert: Alert; transition: string };
  /**
   * a delivery was given up (its receiver refused it, or its deadline passed); `key` names
   * the recipient and channel type, so one failing channel raises one system alert
   */
  'delivery.failed': { key: string; detail: string; recipient: string; channelType: string };
  /**
   * the series store refused `lines` lines of `measurement` because its tag `tag` already has
   * `limit` values, the most the store allows (InfluxDB 1.x's max-values-per-tag); `setting`
   * names what lifts the cap. One system alert per measurement (docs/alerts.md, "Outages").
   */
  'store.tag_limit': { measurement: string; tag: string; limit: number; lines: number; setting: { readonly file: string; readonly env: string; readonly unlimited: number } };
}

type Listener<T> = (payload: T) => void;

export class Bus {
  private listeners: { [K in keyof BusEvents]?: Listener<BusEvents[K]>[] } = {};

  constructor(private readonly onError: (event: string, err: unknown) => void) {}

  on<K extends keyof BusEvents>(event: K, listener: Listener<BusEvents[K]>): () => void {
    const list = (this.listeners[event] ??= []) as Listener<BusEvents[K]>[];
    list.push(listener);
    return () => {
      const i = list.indexOf(listener);
      if (i >= 0) list.splice(i, 1);
    };
  }

  emit<K extends keyof BusEvents>(event: K, payload: BusEvents[K]): void {
    const list = this.listeners[event] as Listener<BusEvents[K]>[] | undefined;
    if (!list) return;
    for (let i = 0; i < list.length; i++) {
      try {
        list[i]!(payload);
      } catch (err) {
        this.onError(event, err);
      }
    }
  }
}
