/**
 * What ingest knows of each registered device's online state, from its retained status
 * channel (also its MQTT last will): what brings an offline device back online when it sends
 * anything else (docs/interfaces.md#payloads). When a device was last heard from is the alert
 * engine's (the silent rule) and the live view's (dashboard/live/latest.ts).
 */
import type { Registry } from '../config/index.ts';
import type { DeviceStatus } from '../bus.ts';

export interface DeviceState {
  device: string;
  online: boolean;
  /** the status's own time, ms */
  statusAt: number;
}

/** online[] when the device's status channel said nothing yet */
const UNKNOWN = -1;

/**
 * At each device's registry index: its last status (1 online, 0 offline, -1 none yet) and that
 * status's own time, in typed arrays (an object and a Map entry per device were about 90 bytes
 * at 100,000 devices; docs/performance.md, "City scale").
 */
export class DeviceStates {
  private readonly online: Int8Array;
  private readonly statusAt: Float64Array;

  constructor(private readonly registry: Registry) {
    this.online = new Int8Array(registry.count).fill(UNKNOWN);
    this.statusAt = new Float64Array(registry.count);
  }

  status(st: DeviceStatus): void {
    const d = this.registry.device(st.device);
    if (!d) return;
    // A late or replayed status must not overwrite a newer one.
    if (this.online[d.index] !== UNKNOWN && st.ts < this.statusAt[d.index]!) return;
    this.online[d.index] = st.online ? 1 : 0;
    this.statusAt[d.index] = st.ts;
  }

  /** Whether the device at `index` said it is offline in its last status. */
  offline(index: number): boolean {
    return this.online[index] === 0;
  }

  /** The device's last status, or undefined when its status channel said nothing yet. */
  get(device: string): Readonly<DeviceState> | undefined {
    const d = this.registry.device(device);
    if (!d || this.online[d.index] === UNKNOWN) return undefined;
    return { device: d.id, online: this.online[d.index] === 1, statusAt: this.statusAt[d.index]! };
  }
}
