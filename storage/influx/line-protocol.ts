/**
 * Points to InfluxDB line protocol (precision ms), escaped by the official client's
 * `escape` helpers. Numbers are always written as floats, so a device that sends 1 and
 * then 1.5 never causes a field-type conflict. Tag sets are cached per tags object:
 * ingest passes one frozen tags object per device, so the hot path escapes nothing.
 */
import { escape } from '@influxdata/influxdb-client';
import type { Point } from '../series.ts';

export class LineProtocolError extends Error {
  readonly code = 'LINE_PROTOCOL';
}

const tagSets = new WeakMap<object, string>();
const fieldKeys = new Map<string, string>();

/** Checks a tag value InfluxDB can store and give back unchanged. */
function checkTag(key: string, value: string): void {
  if (value === '') throw new LineProtocolError(`tag ${key} is empty`);
  // eslint-disable-next-line no-control-regex
  if (/[\n\r]/.test(value)) throw new LineProtocolError(`tag ${key} contains a newline`);
  if (value.endsWith('\\')) throw new LineProtocolError(`tag ${key} ends with a backslash`);
}

function tagSet(tags: Readonly<Record<string, string>>): string {
  let s = tagSets.get(tags);
  if (s !== undefined) return s;
  s = '';
  // Sorted by key, as InfluxDB recommends for write performance.
  for (const key of Object.keys(tags).sort()) {
    const value = tags[key]!;
    checkTag(key, value);
    s += `,${escape.tag(key)}=${escape.tag(value)}`;
  }
  if (Object.isFrozen(tags)) tagSets.set(tags, s);
  return s;
}

function fieldKey(name: string): string {
  let k = fieldKeys.get(name);
  if (k === undefined) {
    if (/[\n\r]/.test(name) || name.endsWith('\\')) throw new LineProtocolError(`field name ${JSON.stringify(name)} cannot be stored`);
    k = escape.tag(name);
    if (fieldKeys.size < 10_000) fieldKeys.set(name, k);
  }
  return k;
}

export function toLine(p: Point): string {
  let fields = '';
  for (const name in p.fields) {
    const v = p.fields[name];
    let enc: string;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new LineProtocolError(`field ${name} is not a finite number`);
      enc = String(v);
    } else if (typeof v === 'boolean') {
      enc = v ? 'true' : 'false';
    } else if (typeof v === 'string') {
      // The spool frames records by newline; ingest makes event details single-line.
      if (/[\n\r]/.test(v)) throw new LineProtocolError(`field ${name} contains a newline`);
      enc = escape.quoted(v);
    } else {
      continue;
    }
    fields += (fields ? ',' : '') + fieldKey(name) + '=' + enc;
  }
  if (!fields) throw new LineProtocolError(`point of ${p.measurement} has no fields`);
  if (!Number.isSafeInteger(p.ts)) throw new LineProtocolError(`timestamp ${p.ts} is not an integer number of ms`);
  return `${escape.measurement(p.measurement)}${tagSet(p.tags)} ${fields} ${p.ts}`;
}
