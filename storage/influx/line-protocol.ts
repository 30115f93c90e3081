/**
 * Points to InfluxDB line protocol (precision ms), escaped by the official client's `escape`
 * helpers (pinned `@influxdata/influxdb-client`). Numbers are always written as floats, so a
 * device that sends 1 and then 1.5 never causes a field-type conflict. Nothing is cached per
 * tags object or per device: a tag value with nothing to escape (no space, comma, equals sign,
 * backslash or control character, as device ids, sites and buildings usually are) is checked
 * by one regular expression and written as it is, so a tags object can be made per message and
 * ingest keeps no tag set per device (about 240 bytes a device at 100,000 devices;
 * docs/performance.md, "City scale").
 *
 * What InfluxDB cannot give back unchanged is refused rather than mangled: a control
 * character in a name or tag value (the client writes a tab as the two characters `\t`, which
 * InfluxDB 1.x keeps as a backslash and a t), a newline in a string field (the spool frames
 * records by line; ingest makes event details single-line), a backslash at the end of a name
 * or tag value (InfluxDB 1.x reads it as escaping the separator after it), an empty name, and
 * a measurement starting with `#` (a comment line).
 */
import { escape } from '@influxdata/influxdb-client';
import type { Point } from '../series.ts';

export class LineProtocolError extends Error {
  readonly code = 'LINE_PROTOCOL';
}

const fieldKeys = new Map<string, string>();
const measurements = new Map<string, string>();
const tagKeys = new Map<string, string>();

const NEWLINE = /[\n\r]/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Checks a name or tag value InfluxDB can store and give back unchanged. */
function checkName(what: string, value: string): void {
  if (value === '') throw new LineProtocolError(`${what} is empty`);
  if (NEWLINE.test(value)) throw new LineProtocolError(`${what} contains a newline`);
  if (CONTROL.test(value)) throw new LineProtocolError(`${what} contains a control character`);
  if (value.endsWith('\\')) throw new LineProtocolError(`${what} ends with a backslash`);
}

/**
 * A tag value needing neither escaping nor refusal: no separator InfluxDB escapes (comma,
 * equals sign, space), no backslash, no control character.
 */
// eslint-disable-next-line no-control-regex
const PLAIN_TAG = /^[^,= \\\u0000-\u001f\u007f]+$/;

function tagValue(key: string, value: unknown): string {
  if (typeof value !== 'string') throw new LineProtocolError(`tag ${key} is not a string`);
  if (PLAIN_TAG.test(value)) return value;
  checkName(`tag ${key}`, value);
  return escape.tag(value);
}

/**
 * The tags as `,key=value` pairs sorted by key, as InfluxDB recommends for write performance.
 * Ingest makes its tags objects with their keys in that order already, so they are not sorted
 * again.
 */
function tagSet(tags: Readonly<Record<string, string>>): string {
  let s = '';
  let prev = '';
  for (const key in tags) {
    if (key < prev) return Object.keys(tags).sort().map((k) => tagPair(tags, k)).join('');
    prev = key;
    s += tagPair(tags, key);
  }
  return s;
}

function tagPair(tags: Readonly<Record<string, string>>, key: string): string {
  return ',' + cachedName(tagKeys, key, tagKey) + '=' + tagValue(key, tags[key]);
}

/**
 * A name checked and escaped once, then cached: ingest writes a handful of measurements and
 * field names; the cap keeps names from hostile input from growing it without end.
 */
function cachedName(cache: Map<string, string>, name: string, make: (name: string) => string): string {
  let v = cache.get(name);
  if (v === undefined) {
    v = make(name);
    if (cache.size < 10_000) cache.set(name, v);
  }
  return v;
}

/** A tag key or field name: both are escaped as a tag is. */
function escapedKey(what: string, name: string): string {
  checkName(`${what} ${JSON.stringify(name)}`, name);
  return escape.tag(name);
}

const tagKey = (name: string): string => escapedKey('tag key', name);
const fieldKey = (name: string): string => escapedKey('field name', name);

function measurement(name: string): string {
  checkName(`measurement ${JSON.stringify(name)}`, name);
  // A line that starts with # is a comment to InfluxDB.
  if (name.startsWith('#')) throw new LineProtocolError(`measurement ${JSON.stringify(name)} starts with #`);
  return escape.measurement(name);
}

export function toLine(p: Point): string {
  const m = cachedName(measurements, p.measurement, measurement);
  let fields = '';
  for (const name in p.fields) {
    const v = p.fields[name];
    let enc: string;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new LineProtocolError(`field ${name} is not a finite number`);
      // No `i` suffix: a float. String() gives forms InfluxDB parses (1, 1.5, 1e+21, 1e-7).
      enc = String(v);
    } else if (typeof v === 'boolean') {
      enc = v ? 'true' : 'false';
    } else if (typeof v === 'string') {
      // The spool frames records by newline; ingest makes event details single-line.
      if (NEWLINE.test(v)) throw new LineProtocolError(`field ${name} contains a newline`);
      enc = escape.quoted(v);
    } else {
      continue;
    }
    fields += (fields ? ',' : '') + cachedName(fieldKeys, name, fieldKey) + '=' + enc;
  }
  if (!fields) throw new LineProtocolError(`point of ${p.measurement} has no fields`);
  if (!Number.isSafeInteger(p.ts)) throw new LineProtocolError(`timestamp ${p.ts} is not an integer number of ms`);
  return `${m}${tagSet(p.tags)} ${fields} ${p.ts}`;
}
