/**
 * Decoding and validation of one MQTT message (docs/interfaces.md#mqtt), in its
 * order: size, topic, device, JSON shape, timestamp, fields. A message is rejected for the
 * first reason that applies; in an array each element is judged alone; a bad metric costs
 * only its own field. Hand-written rather than a schema library: this runs for every
 * message and has a budget of a few microseconds.
 */
import { isUtf8 } from 'node:buffer';
import { EVENT_CODE_SETS, METRICS, TOPIC_CHANNELS, type Registry, type TopicChannel, type RegisteredDevice } from '../config/index.ts';
import type { DeviceEvent, DeviceStatus, Reading } from '../bus.ts';
import { parseTopic, type Topic } from './topic.ts';
import { Fingerprint, fold16 } from './dedup.ts';

export const MAX_PAYLOAD = 16 * 1024;
export const FUTURE_MS = 5 * 60_000;
export const PAST_MS = 30 * 24 * 3600_000;
const MAX_DETAIL = 1024;

export type RejectReason = 'bad_topic' | 'unknown_device' | 'bad_payload' | 'bad_metric' | 'bad_timestamp' | 'store_rejected' | 'spool_full';

export interface Reject {
  reason: RejectReason;
  topic: string;
  detail: string;
  payload: string;
}

export interface Decoded {
  device?: RegisteredDevice;
  /**
   * For de-duplication, where the element has a seq: `fp`, the content's fingerprint, and
   * `sent`, its ts where it was sent with one (ingest/dedup.ts)
   */
  readings: (Reading & { fp?: number; sent?: number })[];
  events: (DeviceEvent & { fp?: number; sent?: number })[];
  statuses: DeviceStatus[];
  rejects: Reject[];
  /** topic parsed but the device is not in the estate file (for the unregistered list) */
  unregistered?: Topic;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * RFC 3339 to epoch ms (fractions below 1 ms are cut off); NaN for a date that does not exist.
 * By hand rather than `Date.parse`, which turns 2026-02-30 into 2 March and 24:00 into the
 * next day instead of refusing them.
 */
function parseRfc3339(s: string): number | undefined {
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
  // A leap second (:60) is allowed by RFC 3339; it is taken as the next second.
  if (days === undefined || day < 1 || day > days || hour > 23 || minute > 59 || second > 60) return NaN;
  let t = Date.UTC(year, month - 1, day, hour, minute, second) + (m[7] ? Number(m[7].padEnd(3, '0').slice(0, 3)) : 0);
  if (m[8]) {
    const oh = Number(m[9]);
    const om = Number(m[10]);
    if (oh > 23 || om > 59) return NaN;
    t -= (m[8] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  return t;
}

/** An instant for a message, also when it is far outside what a Date can show. */
function iso(t: number): string {
  return Math.abs(t) <= 8.64e15 ? new Date(t).toISOString() : String(t);
}

export function payloadText(payload: Buffer): string {
  if (payload.length > MAX_PAYLOAD) payload = payload.subarray(0, MAX_PAYLOAD);
  // A NUL byte is valid UTF-8 but no text a person reads, and PostgreSQL's text cannot hold it.
  return isUtf8(payload) && !payload.includes(0) ? payload.toString('utf8') : `base64:${payload.toString('base64')}`;
}

function elementText(el: unknown, payload: Buffer): string {
  try {
    return payloadText(Buffer.from(JSON.stringify(el) ?? 'null'));
  } catch {
    return payloadText(payload);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The element's time in ms, or a sentence saying why it cannot be taken. */
function timestamp(ts: unknown, now: number): number | string {
  let t: number;
  if (ts === undefined) return now;
  if (typeof ts === 'number') {
    if (!Number.isFinite(ts)) return 'ts is not a finite number';
    t = Math.round(ts);
  } else if (typeof ts === 'string') {
    const parsed = parseRfc3339(ts);
    if (parsed === undefined) return `ts "${ts.slice(0, 40)}" is neither epoch milliseconds nor RFC 3339`;
    if (Number.isNaN(parsed)) return `ts "${ts.slice(0, 40)}" is not a valid date`;
    t = parsed;
  } else {
    return 'ts must be epoch milliseconds or an RFC 3339 string';
  }
  if (t > now + FUTURE_MS) return `ts ${iso(t)} is more than 5 min in the future`;
  if (t < now - PAST_MS) {
    const hint = typeof ts === 'number' && ts > 1e9 && ts < 1e11 ? ' (it looks like seconds; ts is in milliseconds)' : '';
    return `ts ${iso(t)} is more than 30 days old${hint}`;
  }
  return t;
}

function checkSeq(seq: unknown): string | undefined {
  if (seq === undefined) return undefined;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return 'seq must be a non-negative integer';
  return undefined;
}

const TELEMETRY_KEYS = new Set(['ts', 'seq', 'metrics']);
const EVENT_KEYS = new Set(['ts', 'seq', 'code', 'active', 'detail']);
const STATUS_KEYS = new Set(['ts', 'online']);

function unknownKey(o: Record<string, unknown>, allowed: Set<string>): string | undefined {
  for (const k in o) if (!allowed.has(k)) return k;
  return undefined;
}

/**
 * What makes a reading this reading: its ts as sent, or, where it sent none, its values.
 * The common case, an integer ts, is two multiplications.
 */
function readingFingerprint(ts: unknown, metrics: Record<string, number | boolean>): number {
  if (typeof ts === 'number' && Number.isSafeInteger(ts)) {
    const h = Math.imul(Math.imul(0x811c9dc5 ^ (ts >>> 0), 0x01000193) ^ Math.floor(ts / 4294967296), 0x01000193);
    return fold16(h >>> 0);
  }
  const f = new Fingerprint().add(String(ts));
  if (ts === undefined) for (const name in metrics) f.add(name).add(String(metrics[name]));
  return f.value();
}

export class Decoder {
  /** the channel of the topic `match` found */
  private channel: TopicChannel = 'telemetry';
  // The message and element being judged, for `fail` (no closure per message on the hot path).
  private out!: Decoded;
  private topicName = '';
  private payload!: Buffer;
  private many = false;
  private index = 0;
  private element: unknown;

  constructor(private readonly registry: Registry) {}

  private reject(reason: RejectReason, detail: string, raw?: string): void {
    this.out.rejects.push({ reason, topic: this.topicName, detail, payload: raw ?? payloadText(this.payload) });
  }

  /** Rejects the current element; in an array, the element alone is the reject's payload. */
  private readonly fail = (reason: RejectReason, detail: string): void => {
    if (!this.many) return this.reject(reason, detail);
    this.reject(reason, `[${this.index}] ${detail}`, elementText(this.element, this.payload));
  };

  /**
   * The registered device a topic names when the topic is exactly
   * `estate/{its site}/{its kind}/{its id}/{channel}`, checked in place against the registry's
   * own strings, its channel left in `this.channel`. No parse and no cache of topics: the one
   * string made is the id's, and nothing is kept per device or per topic (a cache of routes by
   * topic was about 190 bytes a device at 100,000 devices; docs/performance.md, "City scale").
   * Anything else is undefined, for `explain` to say what is wrong.
   */
  private match(t: string): RegisteredDevice | undefined {
    if (!t.startsWith('estate/')) return undefined;
    const a = t.indexOf('/', 7);
    const b = a < 0 ? -1 : t.indexOf('/', a + 1);
    const c = b < 0 ? -1 : t.indexOf('/', b + 1);
    if (c < 0 || t.indexOf('/', c + 1) >= 0) return undefined;
    const d = this.registry.device(t.slice(b + 1, c));
    if (!d || d.site.length !== a - 7 || !t.startsWith(d.site, 7) || d.kind.length !== b - a - 1 || !t.startsWith(d.kind, a + 1)) return undefined;
    const rest = t.length - c - 1;
    for (const ch of TOPIC_CHANNELS) {
      if (ch.length === rest && t.startsWith(ch, c + 1)) {
        this.channel = ch;
        return d;
      }
    }
    return undefined;
  }

  /** Why a topic `match` refused is refused: not of the form, or not a registered device as it says. */
  private explain(topicName: string): void {
    const topic = parseTopic(topicName);
    if (typeof topic === 'string') {
      this.reject('bad_topic', topic);
      return;
    }
    const device = this.registry.device(topic.device);
    this.out.unregistered = topic;
    if (!device) this.reject('unknown_device', `device "${topic.device}" is not in the estate file`);
    else this.reject('unknown_device', `device "${topic.device}" is registered as ${device.kind} at site ${device.site}, not ${topic.kind} at ${topic.site}`);
  }

  decode(topicName: string, payload: Buffer, now: number): Decoded {
    const out: Decoded = { readings: [], events: [], statuses: [], rejects: [] };
    this.out = out;
    this.topicName = topicName;
    this.payload = payload;
    this.many = false;

    if (payload.length > MAX_PAYLOAD) {
      this.reject('bad_payload', `payload is ${payload.length} bytes; the limit is 16 KiB`);
      return out;
    }
    const device = this.match(topicName);
    if (!device) {
      this.explain(topicName);
      return out;
    }
    const channel = this.channel;
    out.device = device;
    if (!isUtf8(payload)) {
      this.reject('bad_payload', 'payload is not UTF-8');
      return out;
    }
    let body: unknown;
    try {
      body = JSON.parse(payload.toString('utf8'));
    } catch (err) {
      this.reject('bad_payload', `not JSON: ${(err as Error).message.slice(0, 200)}`);
      return out;
    }

    const elements = Array.isArray(body) ? body : [body];
    if (elements.length === 0) {
      this.reject('bad_payload', 'empty array');
      return out;
    }
    const many = Array.isArray(body);
    this.many = many;
    if (many && channel === 'status') {
      // The whole message is of the wrong shape: one reject, not one per element.
      this.reject('bad_payload', 'a status is one object, not an array');
      return out;
    }
    const fail = this.fail;
    for (let i = 0; i < elements.length; i++) {
      const el = elements[i];
      this.index = i;
      this.element = el;
      if (!isPlainObject(el)) {
        fail('bad_payload', `expected a JSON object${many ? '' : ' or an array of them'}`);
        continue;
      }
      if (channel === 'telemetry') this.telemetry(el, device, now, out, fail);
      else if (channel === 'event') this.event(el, device, now, out, fail);
      else this.status(el, device, now, out, fail);
    }
    return out;
  }

  private telemetry(el: Record<string, unknown>, device: RegisteredDevice, now: number, out: Decoded, fail: (r: RejectReason, d: string) => void): void {
    const extra = unknownKey(el, TELEMETRY_KEYS);
    if (extra !== undefined) return fail('bad_payload', `unknown key "${extra}" (expected ts, seq, metrics)`);
    const metrics = el.metrics;
    if (!isPlainObject(metrics)) return fail('bad_payload', 'metrics must be an object');
    const seqProblem = checkSeq(el.seq);
    if (seqProblem) return fail('bad_payload', seqProblem);
    let empty = true;
    for (const _ in metrics) {
      empty = false;
      break;
    }
    if (empty) return fail('bad_payload', 'metrics is empty');
    const ts = timestamp(el.ts, now);
    if (typeof ts === 'string') return fail('bad_timestamp', ts);

    const catalog = METRICS[device.kind];
    const good: Record<string, number | boolean> = {};
    let kept = 0;
    for (const name in metrics) {
      const v = metrics[name];
      const spec = catalog.get(name);
      let problem: string | undefined;
      if (!spec) problem = `unknown metric for ${device.kind}`;
      else if (spec.type === 'boolean') {
        if (typeof v === 'boolean') good[name] = v;
        else if (v === 0 || v === 1) good[name] = v === 1;
        else problem = 'must be true or false';
      } else if (typeof v !== 'number') problem = 'must be a number';
      else if (!Number.isFinite(v)) problem = 'must be a finite number';
      else if ((spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max)) {
        problem = `${v} is outside its physical range ${spec.min}…${spec.max}${spec.unit ? ` ${spec.unit}` : ''}`;
      } else if (spec.integer && !Number.isInteger(v)) problem = `${v} must be an integer`;
      else good[name] = v;
      if (problem) fail('bad_metric', `${name}: ${problem}`);
      else kept++;
    }
    if (kept === 0) return;
    // Always the same properties, in the same order: one object shape on the hot path.
    const seq = el.seq as number | undefined;
    out.readings.push({
      site: device.site,
      kind: device.kind,
      device: device.id,
      building: device.building,
      ts,
      seq,
      fp: seq === undefined ? undefined : readingFingerprint(el.ts, good),
      sent: seq === undefined || el.ts === undefined ? undefined : ts,
      metrics: good,
    });
  }

  private event(el: Record<string, unknown>, device: RegisteredDevice, now: number, out: Decoded, fail: (r: RejectReason, d: string) => void): void {
    const extra = unknownKey(el, EVENT_KEYS);
    if (extra !== undefined) return fail('bad_payload', `unknown key "${extra}" (expected ts, seq, code, active, detail)`);
    if (typeof el.code !== 'string') return fail('bad_payload', 'code must be a string');
    if (!EVENT_CODE_SETS[device.kind].has(el.code)) return fail('bad_payload', `unknown event code "${el.code.slice(0, 64)}" for ${device.kind}`);
    if (typeof el.active !== 'boolean') return fail('bad_payload', 'active must be true or false');
    if (el.detail !== undefined && typeof el.detail !== 'string') return fail('bad_payload', 'detail must be a string');
    const seqProblem = checkSeq(el.seq);
    if (seqProblem) return fail('bad_payload', seqProblem);
    const ts = timestamp(el.ts, now);
    if (typeof ts === 'string') return fail('bad_timestamp', ts);
    // Details are single-line text (the spool frames records by line), at most 1 KiB.
    // eslint-disable-next-line no-control-regex
    let detail = ((el.detail as string | undefined) ?? '').replace(/[\u0000-\u001f\u007f]+/g, ' ');
    if (detail.length > MAX_DETAIL) {
      // Not between the two halves of a surrogate pair (an emoji), which would leave half a character.
      const cut = /[\ud800-\udbff]/.test(detail[MAX_DETAIL - 1]!) ? MAX_DETAIL - 1 : MAX_DETAIL;
      detail = detail.slice(0, cut);
    }
    out.events.push({
      site: device.site,
      kind: device.kind,
      device: device.id,
      building: device.building,
      ts,
      ...(el.seq !== undefined ? { seq: el.seq as number, fp: new Fingerprint().add(String(el.ts)).add(el.code).add(String(el.active)).add(detail).value(), ...(el.ts !== undefined ? { sent: ts } : {}) } : {}),
      code: el.code,
      active: el.active,
      detail,
    });
  }

  private status(el: Record<string, unknown>, device: RegisteredDevice, now: number, out: Decoded, fail: (r: RejectReason, d: string) => void): void {
    const extra = unknownKey(el, STATUS_KEYS);
    if (extra !== undefined) return fail('bad_payload', `unknown key "${extra}" (expected online, ts)`);
    if (typeof el.online !== 'boolean') return fail('bad_payload', 'online must be true or false');
    const ts = timestamp(el.ts, now);
    if (typeof ts === 'string') return fail('bad_timestamp', ts);
    out.statuses.push({ site: device.site, kind: device.kind, device: device.id, ts, online: el.online });
  }
}
