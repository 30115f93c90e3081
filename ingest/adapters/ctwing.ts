/**
 * China Telecom CTWing (AEP)'s subscription push (docs/adapters.md, "CTWing"): it POSTs each
 * message as JSON and signs nothing, so the push URL carries a secret
 * (`/ingest/ctwing/{id}/{secret}`); it retries a failed push at most 3 times and stops pushing
 * for a minute to a receiver that fails 10 % of its pushes in 10 s, or is slow.
 *
 * - `dataReport`: `deviceId`, `IMEI`, `timestamp` (ms), `payload`: the thing model's fields, or
 *   `{"APPdata": <Base64>}` whose bytes the profile's codec decodes;
 * - `deviceOnlineOfflineReport`: `eventType` 1 online, 0 offline;
 * - `eventReport`: `serviceId`, `eventType`, `eventContent`: the code is the profile's
 *   `eventField` in `eventContent`, else the `serviceId`, mapped by the profile's `events`.
 * The device is found by `deviceId`, else by `IMEI`. Other message types (command responses,
 * device added or removed) are none of the service's: taken and ignored.
 */
import type { AdapterDef } from '../../config/index.ts';
import { CodecError, decodeFrame } from './codecs.ts';
import { at, eventOf, mapFields, timeOf } from './profile.ts';
import type { SourceIndex } from './sources.ts';
import { emptyTranslation, type Translation } from './types.ts';

export type CtwingDef = Extract<AdapterDef, { type: 'ctwing' }>;

const IGNORED = new Set(['commandResponse', 'deviceAdded', 'deviceDeleted', 'deviceDataChanged', 'tupChange']);

export function translateCtwing(def: CtwingDef, raw: string, sources: SourceIndex): Translation {
  const out = emptyTranslation();
  const reject = (detail: string, reason: 'bad_payload' | 'unknown_device' | 'bad_metric' = 'bad_payload') => out.rejects.push({ reason, topic: `ctwing/${def.id}`, detail: `adapter ${def.id}: ${detail}`, payload: raw.slice(0, 16384) });
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    reject('the push is not JSON');
    return out;
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) {
    reject('the push is not a JSON object');
    return out;
  }
  const type = o.messageType;
  if (typeof type === 'string' && IGNORED.has(type)) return out;
  const src = sources.find(def.id, o.deviceId as string | undefined, o.IMEI as string | undefined);
  if (!src) {
    reject(`no device has source id ${JSON.stringify(o.deviceId ?? null)} (IMEI ${JSON.stringify(o.IMEI ?? null)}) on this adapter`, 'unknown_device');
    return out;
  }
  const { device, profile } = src;
  const ts = timeOf(o.timestamp);
  const when = ts !== undefined ? { ts } : {};
  if (type === 'dataReport') {
    let fields = (o.payload ?? {}) as Record<string, unknown>;
    if (typeof fields.APPdata === 'string') {
      if (!profile?.codec) {
        reject(`${device.id} sent binary APPdata and its profile names no codec`);
        return out;
      }
      try {
        fields = decodeFrame(profile.codec, Buffer.from(fields.APPdata, 'base64'));
      } catch (e) {
        reject(e instanceof CodecError ? e.message : String(e));
        return out;
      }
    }
    const mapped = mapFields(fields, device.kind, profile);
    for (const f of mapped.unmapped) reject(`field ${f} of ${device.id} is not mapped by its profile`, 'bad_metric');
    if (Object.keys(mapped.metrics).length > 0) out.messages.push({ device, channel: 'telemetry', body: { ...when, metrics: mapped.metrics } });
    return out;
  }
  if (type === 'deviceOnlineOfflineReport') {
    out.messages.push({ device, channel: 'status', body: { online: o.eventType === 1 || o.eventType === '1', ...when } });
    return out;
  }
  if (type === 'eventReport') {
    const content = (o.eventContent ?? {}) as Record<string, unknown>;
    const vendorCode = profile?.eventField ? at(content, profile.eventField) : (o.serviceId ?? o.eventType);
    const code = eventOf(profile, vendorCode);
    if (!code) {
      reject(`event ${JSON.stringify(vendorCode ?? null)} of ${device.id} is not mapped by its profile`, 'bad_metric');
      return out;
    }
    out.messages.push({ device, channel: 'event', body: { code, active: content.active !== false && content.state !== 0, ...when } });
    return out;
  }
  reject(`a message type CTWing's push does not document: ${JSON.stringify(type ?? null)}`);
  return out;
}
