/**
 * A vendor's own JSON on its own MQTT topics (docs/adapters.md, "Vendors' JSON"): an elevator
 * monitoring terminal's gateway, say. The adapter's `topic` has a level `+id` where the
 * device's source id stands. The profile maps the fields (dotted paths), names the field that
 * carries the vendor's fault code (`eventField`) and what each code means (`events`), and may
 * name a time field (`timeField`; else the arrival time).
 *
 * Fault codes: a report whose code maps starts that event; the events it had started and that
 * it no longer carries end (`active: false`), and a report whose code is absent or empty ends
 * them all. Which events a device has started is kept here; after a start it is not known, so
 * a device's first report ends every event its profile maps that it does not carry (an event
 * that was not open changes nothing).
 */
import type { AdapterDef } from '../../config/index.ts';
import { at, eventOf, mapFields, timeOf } from './profile.ts';
import type { SourceIndex } from './sources.ts';
import { emptyTranslation, type SourceMessage, type Translation } from './types.ts';

export type MqttJsonDef = Extract<AdapterDef, { type: 'mqtt-json' }>;

/** A matcher of the adapter's topic: the source id of a topic that fits, or undefined. */
export function topicMatcher(pattern: string): (topic: string) => string | undefined {
  const levels = pattern.split('/');
  return (topic) => {
    const t = topic.split('/');
    if (t.length !== levels.length) return undefined;
    let id: string | undefined;
    for (let i = 0; i < levels.length; i++) {
      const l = levels[i]!;
      if (l === '+id') id = t[i];
      else if (l !== '+' && l !== t[i]) return undefined;
    }
    return id;
  };
}

/** The events each device was last told to have started (see the file's comment), by device id. */
export type StartedEvents = Map<string, Set<string>>;

export function translateMqttJson(def: MqttJsonDef, sourceId: string, raw: string, sources: SourceIndex, started: StartedEvents): Translation {
  const out = emptyTranslation();
  const topic = def.topic.replace('+id', sourceId);
  const reject = (detail: string, reason: 'bad_payload' | 'unknown_device' | 'bad_metric' = 'bad_payload') => out.rejects.push({ reason, topic, detail: `adapter ${def.id}: ${detail}`, payload: raw.slice(0, 16384) });
  const src = sources.find(def.id, sourceId);
  if (!src) {
    reject(`no device has source id ${JSON.stringify(sourceId)} on this adapter`, 'unknown_device');
    return out;
  }
  const { device, profile } = src;
  out.device = device;
  let o: unknown;
  try {
    o = JSON.parse(raw);
  } catch {
    reject('the report is not JSON');
    return out;
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) {
    reject('the report is not a JSON object');
    return out;
  }
  const fields = o as Record<string, unknown>;
  const ts = profile?.timeField ? timeOf(at(fields, profile.timeField)) : undefined;
  const when = ts !== undefined ? { ts } : {};
  const mapped = mapFields(fields, device.kind, profile);
  for (const f of mapped.unmapped) reject(`field ${f} of ${device.id} is not mapped by its profile`, 'bad_metric');
  if (Object.keys(mapped.metrics).length > 0) out.messages.push({ device, channel: 'telemetry', body: { ...when, metrics: mapped.metrics } });
  if (profile?.eventField) {
    const vendorCode = at(fields, profile.eventField);
    const code = eventOf(profile, vendorCode);
    if (vendorCode !== undefined && vendorCode !== null && vendorCode !== '' && !code) reject(`fault code ${JSON.stringify(vendorCode)} of ${device.id} is not mapped by its profile`, 'bad_metric');
    const before = started.get(device.id) ?? new Set(Object.values(profile.events));
    const now = new Set(code ? [code] : []);
    const events: SourceMessage[] = [];
    for (const c of before) if (!now.has(c)) events.push({ device, channel: 'event', body: { code: c, active: false, ...when } });
    for (const c of now) if (!before.has(c) || !started.has(device.id)) events.push({ device, channel: 'event', body: { code: c, active: true, ...when } });
    started.set(device.id, now);
    out.messages.push(...events);
  }
  return out;
}
