/**
 * What the dashboard knows of each device right now: its latest value of every metric (with
 * the reading's time), its online state, when it was last heard from, and its open alerts.
 * Filled from the series store at start and kept current from the bus, so that neither the
 * API nor a socket.io snapshot queries the database.
 */
import type { Registry } from '../../config/index.ts';
import type { SeriesStore } from '../../storage/index.ts';
import type { Bus, DeviceStatus, Reading } from '../../bus.ts';
import type { Alert } from '../../alerts/index.ts';

export interface DeviceNow {
  /** metric → [value, reading time ms] */
  values: Record<string, [number | boolean, number]>;
  online: boolean | null;
  lastSeen: number | null;
  /** open alerts (firing or acknowledged): key → severity */
  alerts: Map<string, 'warning' | 'critical'>;
}

export class LatestCache {
  private readonly devices = new Map<string, DeviceNow>();

  constructor(private readonly registry: Registry) {
    for (const id of registry.devices.keys()) this.devices.set(id, { values: {}, online: null, lastSeen: null, alerts: new Map() });
  }

  /** Loads the newest stored values (best effort: a store that is away leaves them empty). */
  async load(store: SeriesStore): Promise<void> {
    for (const kind of ['elevator', 'hydrant', 'firelane', 'water'] as const) {
      const latest = await store.latest(kind).catch(() => new Map());
      for (const [device, v] of latest) {
        const d = this.devices.get(device);
        if (!d) continue;
        for (const [m, value] of Object.entries(v.fields as Record<string, unknown>)) {
          if ((typeof value === 'number' || typeof value === 'boolean') && !(m in d.values)) d.values[m] = [value, v.ts];
        }
        d.lastSeen ??= v.ts;
      }
    }
  }

  attach(bus: Bus): (() => void)[] {
    return [bus.on('reading', (r) => this.reading(r)), bus.on('status', (s) => this.status(s)), bus.on('alert', (e) => this.alert(e.alert))];
  }

  reading(r: Reading): void {
    const d = this.devices.get(r.device);
    if (!d) return;
    for (const m in r.metrics) {
      const prev = d.values[m];
      // In place: this runs for every metric of every reading.
      if (prev === undefined) d.values[m] = [r.metrics[m]!, r.ts];
      else if (prev[1] <= r.ts) {
        prev[0] = r.metrics[m]!;
        prev[1] = r.ts;
      }
    }
    d.lastSeen = Date.now();
  }

  status(s: DeviceStatus): void {
    const d = this.devices.get(s.device);
    if (!d) return;
    d.online = s.online;
    d.lastSeen = Date.now();
  }

  alert(a: Alert): void {
    const d = this.devices.get(a.device);
    if (!d) return;
    if (a.state === 'firing' || a.state === 'acknowledged') d.alerts.set(a.key, a.severity);
    else d.alerts.delete(a.key);
  }

  get(device: string): DeviceNow | undefined {
    return this.devices.get(device);
  }

  /** The device's state for people: alarm, warning, offline, ok, or unknown (never heard). */
  state(device: string): 'critical' | 'warning' | 'offline' | 'ok' | 'unknown' {
    const d = this.devices.get(device);
    if (!d) return 'unknown';
    let worst: 'critical' | 'warning' | undefined;
    for (const s of d.alerts.values()) if (s === 'critical' || !worst) worst = s;
    if (worst) return worst;
    if (d.online === false) return 'offline';
    if (d.lastSeen === null && Object.keys(d.values).length === 0) return 'unknown';
    return 'ok';
  }

  devicesOf(site: string) {
    return this.registry.devicesOf(site);
  }
}
