/**
 * China Mobile OneNET pushing a device's messages to the service (docs/adapters.md, "OneNET"),
 * as OneNET's data push does it (its receiver SDK, github.com/cm-heclouds/data-push, Util.java,
 * is what opens them): `{"msg": …, "nonce": "<8 chars>", "msg_signature": Base64(MD5(token +
 * nonce + msg))}`, in safe mode (the adapter has an `aesKey`) `enc_msg` instead: AES-256-CBC,
 * key = Base64-decode(EncodingAESKey + "="), IV its first 16 bytes, the plain text 16 random
 * bytes, a 4-byte length, the message. A reading is one push of classic data points
 * (`{"type": 1, "dev_id", "ds_id", "at", "value"}`, one per vendor field); online and offline
 * are `{"type": 2, "status": 1|0}`; an event is OneNET Studio's `notify` of type `event`.
 * OneNET sends a push again until it is answered 200.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import type { AdapterDef, ProfileDef } from '../../config/index.ts';
import type { SimDeviceSpec } from '../model.ts';
import { HttpPusher } from './http.ts';
import type { PlatformLink, PlatformReading } from './link.ts';
import { vendorEventCode, vendorFields } from './profile.ts';

export type OnenetDef = Extract<AdapterDef, { type: 'onenet' }>;

export function onenetSignature(token: string, nonce: string, msg: string): string {
  return createHash('md5').update(Buffer.from(token + nonce + msg, 'utf8')).digest('base64');
}

const NONCE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
function nonce(): string {
  return [...randomBytes(8)].map((b) => NONCE[b % NONCE.length]).join('');
}

export function onenetEncrypt(aesKey: string, msg: string): string {
  const key = Buffer.from(`${aesKey}=`, 'base64');
  const body = Buffer.from(msg, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  const c = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  return Buffer.concat([c.update(Buffer.concat([randomBytes(16), len, body])), c.final()]).toString('base64');
}

/** A push's body carrying `msg` (an object or an array of them), signed, encrypted when the adapter has an aesKey. */
export function onenetBody(def: Pick<OnenetDef, 'token' | 'aesKey'>, msg: unknown): string {
  const n = nonce();
  const text = JSON.stringify(msg);
  if (def.aesKey) {
    const enc = onenetEncrypt(def.aesKey, text);
    return `{"enc_msg":"${enc}","nonce":"${n}","msg_signature":"${onenetSignature(def.token, n, enc)}"}`;
  }
  return `{"msg":${text},"nonce":"${n}","msg_signature":"${onenetSignature(def.token, n, text)}"}`;
}

export interface OnenetLinkOptions {
  base: string;
  limit: number;
  onError: (message: string) => void;
}

export class OnenetLink implements PlatformLink {
  readonly name: string;
  private readonly pusher: HttpPusher;
  private readonly path: string;
  /** OneNET's dev_id is a number; a deviceName (OneNET Studio) is text */
  private readonly devId: number | string;

  constructor(
    private readonly spec: SimDeviceSpec,
    private readonly def: OnenetDef,
    private readonly profile: ProfileDef | undefined,
    private readonly sourceId: string,
    opts: OnenetLinkOptions,
  ) {
    this.name = `onenet ${def.id}`;
    this.path = `/ingest/onenet/${encodeURIComponent(def.id)}`;
    this.devId = /^\d{1,15}$/.test(sourceId) ? Number(sourceId) : sourceId;
    this.pusher = new HttpPusher({ base: opts.base, retries: Infinity, limit: opts.limit, label: `OneNET pushes to ${opts.base}${this.path}`, onError: opts.onError });
  }

  get connected(): boolean {
    return this.pusher.ok;
  }

  get stats() {
    return this.pusher.stats;
  }

  start(): void {
    this.pusher.push(this.path, onenetBody(this.def, { at: Date.now(), login_type: 7, type: 2, dev_id: this.devId, status: 1 }), 0);
  }

  send(r: PlatformReading): void {
    const fields = vendorFields(r.metrics, this.spec.kind, this.profile);
    const points = Object.entries(fields).map(([ds, value]) => ({ at: r.t, type: 1, ds_id: ds, value, dev_id: this.devId }));
    if (points.length === 0) return;
    this.pusher.push(this.path, onenetBody(this.def, points.length === 1 ? points[0] : points), 1);
  }

  event(code: string, active: boolean, t: number, detail?: string): void {
    const identifier = vendorEventCode(this.profile, code);
    if (!identifier) return; // the vendor's hardware has no such event
    const msg = { messageType: 'notify', notifyType: 'event', productId: 'sim', deviceName: this.sourceId, messageId: String(t), data: { id: String(t), params: { [identifier]: { value: { active, ...(detail ? { detail } : {}) }, time: t } } } };
    this.pusher.push(this.path, onenetBody(this.def, msg), 0);
  }

  async stop(): Promise<void> {
    this.pusher.push(this.path, onenetBody(this.def, { at: Date.now(), login_type: 7, type: 2, dev_id: this.devId, status: 0 }), 0);
    await this.pusher.close(3000);
  }
}
