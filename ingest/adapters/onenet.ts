/**
 * China Mobile OneNET's data push (docs/adapters.md, "OneNET"), as its own receiver SDK
 * (github.com/cm-heclouds/data-push, Util.java) does it:
 *
 * - URL verification: `GET ?msg=&nonce=&signature=`; answer `msg` itself when
 *   signature = Base64(MD5(token + nonce + msg)) (a `+` may arrive as a space).
 * - A push: `POST {"msg": …, "nonce": "<8 chars>", "msg_signature": "…"}` (CONTRACT names it
 *   `signature`; both are read), signed the same way over the text of `msg` as it was sent.
 *   `msg` is a JSON object or array in the body (the SDK reads it with `get("msg")`), or a
 *   string holding one: the signature covers the exact text, so the text is taken from the raw
 *   body, never re-serialised.
 * - Safe mode: `enc_msg` instead of `msg`, signed over the `enc_msg` text; AES-256-CBC with
 *   PKCS#7, key = Base64-decode(EncodingAESKey + "="), IV = the key's first 16 bytes; the plain
 *   text is 16 random bytes, a 4-byte big-endian length, then the message of that length.
 * - Messages: classic `{"type": 1, "dev_id", "ds_id", "at", "value"}` (a data point) and
 *   `{"type": 2, "dev_id", "status": 0|1, "at"}` (offline/online); OneNET Studio
 *   `{"messageType": "notify", "notifyType": "property"|"event", "deviceName", "data": {"params": …}}`
 *   and `{"messageType": "lifeCycle", "deviceName", "data": {"status": "online"|"offline"}}`.
 */
import { createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';
import type { AdapterDef } from '../../config/index.ts';
import { eventOf, mapFields, timeOf } from './profile.ts';
import type { SourceIndex } from './sources.ts';
import { emptyTranslation, type SourceMessage, type Translation } from './types.ts';

export type OnenetDef = Extract<AdapterDef, { type: 'onenet' }>;

export function onenetSignature(token: string, nonce: string, msg: string): string {
  return createHash('md5').update(Buffer.from(token + nonce + msg, 'utf8')).digest('base64');
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The URL verification: true when the signature is OneNET's for this token. */
export function verifyUrl(def: OnenetDef, msg: string, nonce: string, signature: string): boolean {
  return same(onenetSignature(def.token, nonce, msg), signature.replace(/ /g, '+'));
}

/** The raw text of a top-level key's value in a JSON object text, or undefined. */
export function rawValue(text: string, key: string): string | undefined {
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const str = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '"') return void str();
    if (c === '{' || c === '[') {
      let depth = 0;
      for (; i < text.length; i++) {
        const d = text[i];
        if (d === '"') {
          str();
          i--;
        } else if (d === '{' || d === '[') depth++;
        else if (d === '}' || d === ']') {
          depth--;
          if (depth === 0) {
            i++;
            return;
          }
        }
      }
      return;
    }
    while (i < text.length && !/[,}\]\s]/.test(text[i]!)) i++;
  };
  ws();
  if (text[i] !== '{') return undefined;
  i++;
  for (;;) {
    ws();
    if (text[i] !== '"') return undefined;
    const k = str();
    ws();
    if (text[i] !== ':') return undefined;
    i++;
    ws();
    const start = i;
    value();
    if (k === key) return text.slice(start, i);
    ws();
    if (text[i] === ',') i++;
    else return undefined;
  }
}

export class OnenetError extends Error {
  constructor(
    readonly status: 400 | 401,
    message: string,
  ) {
    super(message);
  }
}

/** A push checked and opened: the message text, and the key its retries share. */
export function openPush(def: OnenetDef, raw: string): { text: string; key: string } {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    throw new OnenetError(400, 'the push is not JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new OnenetError(400, 'the push is not a JSON object');
  const nonce = typeof body.nonce === 'string' ? body.nonce : '';
  const signature = typeof body.msg_signature === 'string' ? body.msg_signature : typeof body.signature === 'string' ? body.signature : '';
  const encrypted = body.enc_msg !== undefined;
  const field = encrypted ? 'enc_msg' : 'msg';
  const value = body[field];
  if (value === undefined) throw new OnenetError(400, 'the push has neither msg nor enc_msg');
  // The signature covers the text as sent: a string's own text, else the raw JSON of the value.
  const signed = typeof value === 'string' ? value : rawValue(raw, field);
  if (signed === undefined || !nonce || !signature || !same(onenetSignature(def.token, nonce, signed), signature.replace(/ /g, '+'))) {
    throw new OnenetError(401, 'the signature is not OneNET\'s for this adapter\'s token');
  }
  const key = `${nonce}:${signature}`;
  if (!encrypted) return { text: signed, key };
  if (!def.aesKey) throw new OnenetError(400, 'an encrypted push (enc_msg) and no aesKey for this adapter');
  return { text: decrypt(def.aesKey, String(value)), key };
}

/** OneNET's safe mode: see the file's comment. */
export function decrypt(aesKey: string, enc: string): string {
  const key = Buffer.from(`${aesKey}=`, 'base64');
  if (key.length !== 32) throw new OnenetError(400, 'aesKey does not give a 32-byte key');
  let plain: Buffer;
  try {
    const d = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
    plain = Buffer.concat([d.update(Buffer.from(enc, 'base64')), d.final()]);
  } catch {
    throw new OnenetError(400, 'enc_msg does not decrypt with this adapter\'s aesKey');
  }
  if (plain.length < 20) throw new OnenetError(400, 'enc_msg decrypts to too short a text');
  const len = plain.readUInt32BE(16);
  if (20 + len > plain.length) throw new OnenetError(400, 'enc_msg: its length field is past its end');
  return plain.subarray(20, 20 + len).toString('utf8');
}

type Item = Record<string, unknown>;

/** The messages of an opened push: one object or an array of them. */
export function translateOnenet(def: OnenetDef, text: string, sources: SourceIndex): Translation {
  const out = emptyTranslation();
  const reject = (detail: string, reason: 'bad_payload' | 'unknown_device' | 'bad_metric' = 'bad_payload') => out.rejects.push({ reason, topic: `onenet/${def.id}`, detail: `adapter ${def.id}: ${detail}`, payload: text.slice(0, 16384) });
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    reject('msg is not JSON');
    return out;
  }
  const items = (Array.isArray(msg) ? msg : [msg]) as unknown[];
  const telemetry = new Map<string, { device: SourceMessage['device']; readings: Item[] }>();
  const push = (m: SourceMessage) => out.messages.push(m);
  for (const it of items) {
    if (it === null || typeof it !== 'object') {
      reject('an element of msg is not an object');
      continue;
    }
    const o = it as Item;
    const id = o.dev_id ?? o.deviceName ?? o.deviceId;
    const src = sources.find(def.id, id as string | number | undefined);
    if (!src) {
      reject(`no device has source id ${JSON.stringify(id ?? null)} on this adapter`, 'unknown_device');
      continue;
    }
    const { device, profile } = src;
    if (o.type === 1) {
      if (typeof o.ds_id !== 'string') {
        reject('a data point (type 1) without ds_id');
        continue;
      }
      const mapped = mapFields({ [o.ds_id]: o.value }, device.kind, profile);
      for (const f of mapped.unmapped) reject(`field ${f} of ${device.id} is not mapped by its profile`, 'bad_metric');
      if (Object.keys(mapped.metrics).length === 0) continue;
      const ts = timeOf(o.at);
      const entry = telemetry.get(device.id) ?? { device, readings: [] };
      entry.readings.push({ ...(ts !== undefined ? { ts } : {}), metrics: mapped.metrics });
      telemetry.set(device.id, entry);
    } else if (o.type === 2) {
      const ts = timeOf(o.at);
      push({ device, channel: 'status', body: { online: o.status === 1 || o.status === '1', ...(ts !== undefined ? { ts } : {}) } });
    } else if (o.messageType === 'lifeCycle') {
      const data = (o.data ?? {}) as Item;
      const ts = timeOf(data.time ?? o.time);
      push({ device, channel: 'status', body: { online: data.status === 'online', ...(ts !== undefined ? { ts } : {}) } });
    } else if (o.messageType === 'notify' && (o.notifyType === 'property' || o.notifyType === 'event')) {
      const params = ((o.data as Item | undefined)?.params ?? {}) as Record<string, { value?: unknown; time?: unknown }>;
      if (o.notifyType === 'event') {
        for (const [identifier, p] of Object.entries(params)) {
          const code = eventOf(profile, identifier);
          if (!code) {
            reject(`event ${identifier} of ${device.id} is not mapped by its profile`, 'bad_metric');
            continue;
          }
          const v = (p?.value ?? {}) as Item;
          const ts = timeOf(p?.time);
          push({ device, channel: 'event', body: { code, active: v.active !== false && v.state !== 0, ...(typeof v.detail === 'string' ? { detail: v.detail } : {}), ...(ts !== undefined ? { ts } : {}) } });
        }
        continue;
      }
      // Properties: one reading per time they carry.
      const byTime = new Map<number | undefined, Record<string, unknown>>();
      for (const [field, p] of Object.entries(params)) {
        const t = timeOf(p?.time);
        const fields = byTime.get(t) ?? {};
        fields[field] = p?.value;
        byTime.set(t, fields);
      }
      const entry = telemetry.get(device.id) ?? { device, readings: [] };
      for (const [t, fields] of byTime) {
        const mapped = mapFields(fields, device.kind, profile);
        for (const f of mapped.unmapped) reject(`field ${f} of ${device.id} is not mapped by its profile`, 'bad_metric');
        if (Object.keys(mapped.metrics).length > 0) entry.readings.push({ ...(t !== undefined ? { ts: t } : {}), metrics: mapped.metrics });
      }
      if (entry.readings.length > 0) telemetry.set(device.id, entry);
    } else {
      reject(`a message OneNET does not document: ${JSON.stringify(o).slice(0, 200)}`);
    }
  }
  for (const { device, readings } of telemetry.values()) push({ device, channel: 'telemetry', body: readings.length === 1 ? readings[0]! : readings });
  return out;
}
