/**
 * A vendor's terminal publishing its own JSON (docs/adapters.md, "Vendors' own JSON"), an
 * elevator monitoring terminal say, on the adapter's topic with its source id for `+id`: the
 * vendor's fields (the inverse of the profile, dotted paths as nested objects), its time under
 * the profile's `timeField` if it names one, and the fault code of the event it has open under
 * `eventField` (absent when none: the service ends what it had started). An event raised is a
 * report at once with its code; cleared, a report without. Its own MQTT connection, on the
 * adapter's broker, else the service's.
 */
import type { AdapterDef, ProfileDef } from '../../config/index.ts';
import type { Metrics, SimDeviceSpec } from '../model.ts';
import type { PlatformLink, PlatformReading } from './link.ts';
import { newLinkStats } from './link.ts';
import { publishCounted, type SharedMqtt } from './mqtt.ts';
import { setAt, vendorEventCode, vendorFields } from './profile.ts';

export type MqttJsonDef = Extract<AdapterDef, { type: 'mqtt-json' }>;

export class MqttJsonLink implements PlatformLink {
  readonly name: string;
  readonly stats = newLinkStats();
  private readonly topic: string;
  private client: ReturnType<SharedMqtt['open']> | undefined;
  /** the vendor's code of the event open now */
  private fault: string | undefined;
  private last: Metrics = {};

  constructor(
    private readonly spec: SimDeviceSpec,
    def: MqttJsonDef,
    private readonly profile: ProfileDef | undefined,
    sourceId: string,
    private readonly mqtt: SharedMqtt,
    private readonly qos: 0 | 1,
    private readonly onError: (message: string) => void,
  ) {
    this.name = `mqtt-json ${def.id}`;
    this.topic = def.topic.replace('+id', sourceId);
  }

  get connected(): boolean {
    return this.mqtt.connected;
  }

  start(): void {
    this.client = this.mqtt.open();
  }

  private report(t: number, metrics: Metrics, readings: number): void {
    if (!this.client) return;
    const body = vendorFields(metrics, this.spec.kind, this.profile);
    if (this.profile?.timeField) setAt(body, this.profile.timeField, t);
    if (this.profile?.eventField && this.fault !== undefined) setAt(body, this.profile.eventField, this.fault);
    publishCounted(this.client, this.topic, JSON.stringify(body), this.qos, this.stats, readings, this.onError);
  }

  send(r: PlatformReading): void {
    this.last = r.metrics;
    this.report(r.t, r.metrics, 1);
  }

  event(code: string, active: boolean, t: number): void {
    const vendor = vendorEventCode(this.profile, code);
    if (!vendor || !this.profile?.eventField) return; // the terminal has no such fault code
    if (active) this.fault = vendor;
    else if (this.fault === vendor) this.fault = undefined;
    else return;
    this.report(t, this.last, 0);
  }

  async stop(): Promise<void> {
    this.client = undefined;
    await this.mqtt.close();
  }
}
