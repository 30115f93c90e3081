/**
 * ChirpStack v4's MQTT integration (docs/adapters.md, "ChirpStack"; the JSON of
 * api/proto/integration/integration.proto): events on `application/{id}/device/{devEui}/event/{type}`.
 *
 * - `up`: `deviceInfo.devEui`, `time` (RFC 3339), `fCnt` (the seq: a redelivered or repeated
 *   uplink is taken once), `object` (the device profile's codec output in ChirpStack), mapped by
 *   our profile; without `object`, the frame in `data` (Base64) through the profile's codec;
 * - `status`: `batteryLevel` (a percentage) as `battery_pct`, unless `batteryLevelUnavailable`
 *   or `externalPowerSource`;
 * - `join`, `ack`, `txack`, `log`, `location`, `integration`: none of the service's, ignored.
 * The device is found by its DevEUI (as written in the estate file, in either case).
 */
import type { AdapterDef } from '../../config/index.ts';
import { CodecError, decodeFrame } from './codecs.ts';
import { mapFields, timeOf } from './profile.ts';
import type { SourceIndex } from './sources.ts';
import { emptyTranslation, type Translation } from './types.ts';

export type ChirpstackDef = Extract<AdapterDef, { type: 'chirpstack' }>;

export function translateChirpstack(def: ChirpstackDef, topic: string, raw: string, sources: SourceIndex): Translation {
  const out = emptyTranslation();
  const reject = (detail: string, reason: 'bad_payload' | 'unknown_device' | 'bad_metric' = 'bad_payload') => out.rejects.push({ reason, topic, detail: `adapter ${def.id}: ${detail}`, payload: raw.slice(0, 16384) });
  const m = /^application\/[^/]+\/device\/([^/]+)\/event\/([^/]+)$/.exec(topic);
  if (!m) return out;
  const [, eui, event] = m as unknown as [string, string, string];
  if (event !== 'up' && event !== 'status') return out;
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    reject('the event is not JSON');
    return out;
  }
  const info = (o.deviceInfo ?? {}) as Record<string, unknown>;
  const devEui = typeof info.devEui === 'string' ? info.devEui : eui;
  const src = sources.find(def.id, devEui, devEui.toLowerCase(), devEui.toUpperCase());
  if (!src) {
    reject(`no device has DevEUI ${devEui} on this adapter`, 'unknown_device');
    return out;
  }
  const { device, profile } = src;
  out.device = device;
  const ts = timeOf(o.time);
  const when = ts !== undefined ? { ts } : {};
  if (event === 'status') {
    if (o.batteryLevelUnavailable === true || o.externalPowerSource === true || typeof o.batteryLevel !== 'number') return out;
    out.messages.push({ device, channel: 'telemetry', body: { ...when, metrics: { battery_pct: Math.round(o.batteryLevel * 10) / 10 } } });
    return out;
  }
  let fields = o.object as Record<string, unknown> | undefined;
  if (!fields && typeof o.data === 'string') {
    if (!profile?.codec) {
      reject(`${device.id}'s uplink has no decoded object and its profile names no codec`);
      return out;
    }
    try {
      fields = decodeFrame(profile.codec, Buffer.from(o.data, 'base64'));
    } catch (e) {
      reject(e instanceof CodecError ? e.message : String(e));
      return out;
    }
  }
  if (!fields) return out; // an uplink without application data (a MAC-only frame)
  const mapped = mapFields(fields, device.kind, profile);
  for (const f of mapped.unmapped) reject(`field ${f} of ${device.id} is not mapped by its profile`, 'bad_metric');
  if (Object.keys(mapped.metrics).length === 0) return out;
  const seq = typeof o.fCnt === 'number' && Number.isInteger(o.fCnt) ? { seq: o.fCnt } : {};
  out.messages.push({ device, channel: 'telemetry', body: { ...when, ...seq, metrics: mapped.metrics } });
  return out;
}
