/**
 * China Telecom CTWing (AEP) pushing a device's messages to the service (docs/adapters.md,
 * "CTWing"), as its subscription push does: one JSON object per message POSTed to the push URL
 * (`/ingest/ctwing/{id}/{secret}`; CTWing signs nothing): `dataReport` with `payload` the thing
 * model's fields, or `{"APPdata": <Base64>}` when the profile names a codec (a transparent
 * product: the device's own frame); `deviceOnlineOfflineReport` (`eventType` 1 online, 0
 * offline); `eventReport` (`serviceId` the vendor's code). A failed push is tried again at most
 * 3 times, then given up, as CTWing does.
 */
import type { AdapterDef, ProfileDef } from '../../config/index.ts';
import type { SimDeviceSpec } from '../model.ts';
import { encodeFrame } from './codecs.ts';
import { HttpPusher } from './http.ts';
import type { PlatformLink, PlatformReading } from './link.ts';
import { setAt, vendorEventCode, vendorFields } from './profile.ts';

export type CtwingDef = Extract<AdapterDef, { type: 'ctwing' }>;

export interface CtwingLinkOptions {
  base: string;
  limit: number;
  onError: (message: string) => void;
}

/** A device's IMEI and deviceId: the estate file names it by one of them (an IMEI is 15 digits). */
function ids(sourceId: string): { deviceId: string; IMEI: string } {
  if (/^\d{15}$/.test(sourceId)) return { deviceId: `${sourceId}`.padStart(32, '0'), IMEI: sourceId };
  let h = 0;
  for (const c of sourceId) h = (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0;
  return { deviceId: sourceId, IMEI: `86997503${String(h % 10_000_000).padStart(7, '0')}` };
}

export class CtwingLink implements PlatformLink {
  readonly name: string;
  private readonly pusher: HttpPusher;
  private readonly path: string;
  private readonly id: { deviceId: string; IMEI: string };

  constructor(
    private readonly spec: SimDeviceSpec,
    def: CtwingDef,
    private readonly profile: ProfileDef | undefined,
    sourceId: string,
    opts: CtwingLinkOptions,
  ) {
    this.name = `ctwing ${def.id}`;
    this.path = `/ingest/ctwing/${encodeURIComponent(def.id)}/${encodeURIComponent(def.secret)}`;
    this.id = ids(sourceId);
    this.pusher = new HttpPusher({ base: opts.base, retries: 3, limit: opts.limit, label: `CTWing pushes to ${opts.base}/ingest/ctwing/${def.id}/<secret>`, onError: opts.onError });
  }

  get connected(): boolean {
    return this.pusher.ok;
  }

  get stats() {
    return this.pusher.stats;
  }

  private common(timestamp: number) {
    return { timestamp, tenantId: '2000000001', productId: '15000001', protocol: 'lwm2m', deviceId: this.id.deviceId, IMEI: this.id.IMEI };
  }

  private online(online: boolean): void {
    this.pusher.push(this.path, JSON.stringify({ ...this.common(Date.now()), messageType: 'deviceOnlineOfflineReport', eventType: online ? 1 : 0 }), 0);
  }

  start(): void {
    this.online(true);
  }

  send(r: PlatformReading): void {
    const fields = vendorFields(r.metrics, this.spec.kind, this.profile);
    if (Object.keys(fields).length === 0) return;
    const payload = this.profile?.codec ? { APPdata: encodeFrame(this.profile.codec, fields).toString('base64') } : fields;
    this.pusher.push(this.path, JSON.stringify({ ...this.common(r.t), upPacketSN: -1, upDataSN: -1, topic: 'v1/up/ad', serviceId: '', payload, messageType: 'dataReport' }), 1);
  }

  event(code: string, active: boolean, t: number, detail?: string): void {
    const serviceId = vendorEventCode(this.profile, code);
    if (!serviceId) return; // the vendor's hardware has no such event
    const eventContent: Record<string, unknown> = { active, ...(detail ? { detail } : {}) };
    if (this.profile?.eventField) setAt(eventContent, this.profile.eventField, serviceId);
    this.pusher.push(this.path, JSON.stringify({ ...this.common(t), messageType: 'eventReport', serviceId, eventType: 1, eventContent }), 0);
  }

  async stop(): Promise<void> {
    this.online(false);
    await this.pusher.close(3000);
  }
}
