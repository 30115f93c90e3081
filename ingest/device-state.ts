/**
 * What ingest knows of each registered device's online state, from its retained status
 * channel (also its MQTT last will): what brings an offline device back online when it sends
 * anything else (docs/interfaces.md#payloads). Kept only for devices whose status channel said
 * something. When a device was last heard from is the alert engine's (the silent rule) and the
 * live view's (dashboard/live/latest.ts).
 */
import type { Registry } from '../config/index.ts';
import type { DeviceStatus } from '../bus.ts';

export interface DeviceState {
  device: string;
  online: boolean;
  /** the status's own time, ms */
  statusAt: number;
}

export class DeviceStates {
  private readonly states = new Map<string, DeviceState>();

  constructor(private readonly registry: Registry) {}

  status(st: DeviceStatus): void {
    if (!this.registry.devices.has(st.device)) return;
    const s = this.states.get(st.device);
    if (!s) return void this.states.set(st.device, { device: st.device, online: st.online, statusAt: st.ts });
    // A late or replayed status must not overwrite a newer one.
    if (st.ts < s.statusAt) return;
    s.online = st.online;
    s.statusAt = st.ts;
  }

  /** The device's last status, or undefined when its status channel said nothing yet. */
  get(device: string): Readonly<DeviceState> | undefined {
    return this.states.get(device);
  }
}
