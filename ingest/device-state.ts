/**
 * What ingest knows of each registered device right now: when it last said anything
 * (the "silent" rule and the dashboard's last-seen time) and its online state from the
 * retained status channel, which is also its MQTT last will.
 */
import type { Registry } from '../config/index.ts';
import type { DeviceStatus } from '../bus.ts';

export interface DeviceState {
  device: string;
  /** undefined until the device's status channel said something */
  online?: boolean;
  statusAt?: number;
  /** wall-clock time of the last accepted message of any channel, ms */
  lastSeen?: number;
}

export class DeviceStates {
  private readonly states = new Map<string, DeviceState>();

  constructor(registry: Registry) {
    for (const id of registry.devices.keys()) this.states.set(id, { device: id });
  }

  seen(device: string, now: number): void {
    const s = this.states.get(device);
    if (s) s.lastSeen = now;
  }

  status(st: DeviceStatus): void {
    const s = this.states.get(st.device);
    if (!s) return;
    // A late or replayed status must not overwrite a newer one.
    if (s.statusAt !== undefined && st.ts < s.statusAt) return;
    s.online = st.online;
    s.statusAt = st.ts;
  }

  get(device: string): Readonly<DeviceState> | undefined {
    return this.states.get(device);
  }

  all(): Readonly<DeviceState>[] {
    return [...this.states.values()];
  }
}
