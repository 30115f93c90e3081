/**
 * ChirpStack v4's MQTT integration publishing a LoRaWAN device's events (docs/adapters.md,
 * "ChirpStack"): the JSON of api/proto/integration/integration.proto (protobuf's JSON mapping)
 * on `application/{application}/device/{devEui}/event/up` — `deviceInfo`, `time` (RFC 3339),
 * `fCnt` (counting this run's uplinks), `fPort`, `data` (the frame, Base64) and `object` (what
 * the device profile's codec in ChirpStack made of it; left out when our profile names a
 * codec: the service decodes `data`) — and, every tenth uplink, `…/event/status` with
 * `batteryLevel`, as when ChirpStack's device-status request is answered. On ChirpStack's
 * broker (the adapter's `mqtt`), else the service's. LoRaWAN has no online or offline message,
 * and no event channel: a catalog event is not sent.
 */
import type { AdapterDef, ProfileDef } from '../../config/index.ts';
import type { SimDeviceSpec } from '../model.ts';
import { encodeFrame } from './codecs.ts';
import type { PlatformLink, PlatformReading } from './link.ts';
import { newLinkStats } from './link.ts';
import { publishCounted, type SharedMqtt } from './mqtt.ts';
import { vendorFields } from './profile.ts';

export type ChirpstackDef = Extract<AdapterDef, { type: 'chirpstack' }>;

const STATUS_EVERY = 10;

export class ChirpstackLink implements PlatformLink {
  readonly name: string;
  readonly stats = newLinkStats();
  private fCnt = 0;
  private client: ReturnType<SharedMqtt['open']> | undefined;

  constructor(
    private readonly spec: SimDeviceSpec,
    private readonly def: ChirpstackDef,
    private readonly profile: ProfileDef | undefined,
    private readonly devEui: string,
    private readonly mqtt: SharedMqtt,
    private readonly qos: 0 | 1,
    private readonly onError: (message: string) => void,
  ) {
    this.name = `chirpstack ${def.id}`;
  }

  get connected(): boolean {
    return this.mqtt.connected;
  }

  start(): void {
    this.client = this.mqtt.open();
  }

  private deviceInfo() {
    return { tenantId: '52f14cd4-c6f1-4fbd-8f87-4025e1d49242', tenantName: 'ChirpStack', applicationId: this.def.application, applicationName: 'estate', deviceProfileName: this.profile ? 'sensor' : this.spec.kind, deviceName: this.spec.id, devEui: this.devEui, tags: {} };
  }

  private topic(event: string): string {
    return `application/${this.def.application}/device/${this.devEui}/event/${event}`;
  }

  send(r: PlatformReading): void {
    if (!this.client) return;
    const fields = vendorFields(r.metrics, this.spec.kind, this.profile);
    const codec = this.profile?.codec;
    const data = codec ? encodeFrame(codec, fields) : Buffer.from(JSON.stringify(fields));
    const fCnt = this.fCnt++;
    const up = { deduplicationId: `${this.devEui}-${fCnt}`, time: new Date(r.t).toISOString(), deviceInfo: this.deviceInfo(), devAddr: this.devEui.slice(-8), adr: true, dr: 5, fCnt, fPort: 2, confirmed: false, data: data.toString('base64'), ...(codec ? {} : { object: fields }) };
    publishCounted(this.client, this.topic('up'), JSON.stringify(up), this.qos, this.stats, 1, this.onError);
    const battery = r.metrics.battery_pct;
    if (fCnt % STATUS_EVERY === 0 && typeof battery === 'number') {
      const status = { deduplicationId: `${this.devEui}-s${fCnt}`, time: new Date(r.t).toISOString(), deviceInfo: this.deviceInfo(), margin: 7, externalPowerSource: false, batteryLevelUnavailable: false, batteryLevel: battery };
      publishCounted(this.client, this.topic('status'), JSON.stringify(status), this.qos, this.stats, 0, this.onError);
    }
  }

  event(): void {
    // LoRaWAN uplinks carry readings; a catalog event has no ChirpStack form.
  }

  async stop(): Promise<void> {
    this.client = undefined;
    await this.mqtt.close();
  }
}
