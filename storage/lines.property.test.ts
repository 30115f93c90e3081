/**
 * Properties of the line-protocol writer (storage/influx/line-protocol.ts) over generated
 * strings (fast-check, seeded): Chinese, emoji, spaces, commas, =, quotes, backslashes.
 *
 * - pure: every name, tag value and string field InfluxDB can keep gives one line that an
 *   independent reader of the line-protocol grammar (written here from InfluxDB's docs, not
 *   from the code under test) parses back to the same point; what it cannot keep (a control
 *   character or newline in a name or tag, a newline in a string field, a trailing backslash,
 *   an empty name, a non-finite number) is refused with a LineProtocolError (code LINE_PROTOCOL);
 * - against a real influxd (test/harness): 200 generated points written and read back
 *   through InfluxQL unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { toLine, LineProtocolError } from './influx/line-protocol.ts';
import { InfluxStore, type Point } from './index.ts';
import { startInfluxd, type Influxd } from '../test/harness/influxd.ts';

const SEED = Number(process.env.FC_SEED ?? 20261125);

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const SPECIALS = [' ', ',', '=', '"', "'", '\\', '中', '栋', '🚒', '🧯', 'a', 'Z', '0', '#', '.', '-', '_', '\u00a0', '\u3000'];

/** Strings of the characters that need escaping, and any well-formed text. */
const text = fc.oneof(
  fc.string({ unit: fc.constantFrom(...SPECIALS), minLength: 1, maxLength: 16 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }),
  fc.string({ unit: 'grapheme-composite', minLength: 1, maxLength: 8 }),
);
/** What InfluxDB can store and give back unchanged as a name or tag value. */
const keepable = text.filter((s) => s !== '' && !CONTROL.test(s) && !s.endsWith('\\'));
const fieldText = fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => s.replace(/[\n\r]/g, ''));
const number = fc.double({ noNaN: true, noDefaultInfinity: true });

// --- an independent reader of the line protocol ----------------------------------------

/** Reads one unquoted token up to an unescaped stop character; `escapes`: the characters a backslash escapes there. */
function token(line: string, at: number, stops: string, escapes: string): [string, number] {
  let out = '';
  let i = at;
  while (i < line.length) {
    const c = line[i]!;
    if (c === '\\' && i + 1 < line.length && escapes.includes(line[i + 1]!)) {
      out += line[i + 1];
      i += 2;
      continue;
    }
    if (stops.includes(c)) break;
    out += c;
    i++;
  }
  return [out, i];
}

/** Sets an own property, also one named __proto__ (which `o[k] = v` would not). */
function put<T>(o: Record<string, T>, k: string, v: T): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

function parseLine(line: string): Point {
  let i: number;
  let measurement: string;
  [measurement, i] = token(line, 0, ', ', ', ');
  const tags: Record<string, string> = {};
  while (line[i] === ',') {
    let k: string, v: string;
    [k, i] = token(line, i + 1, '=', ',= ');
    [v, i] = token(line, i + 1, ', ', ',= ');
    put(tags, k, v);
  }
  expect(line[i]).toBe(' ');
  i++;
  const fields: Record<string, number | boolean | string> = {};
  for (;;) {
    let k: string;
    [k, i] = token(line, i, '=', ',= ');
    i++;
    if (line[i] === '"') {
      let v = '';
      i++;
      while (line[i] !== '"') {
        if (line[i] === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) i++;
        v += line[i++];
        if (i >= line.length) throw new Error(`unterminated string in ${line}`);
      }
      i++;
      put(fields, k, v);
    } else {
      let raw: string;
      [raw, i] = token(line, i, ', ', '');
      if (raw === 'true' || raw === 'false') put(fields, k, raw === 'true');
      else {
        expect(raw, 'numbers are floats: no i suffix').toMatch(/^-?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i);
        put(fields, k, Number(raw));
      }
    }
    if (line[i] !== ',') break;
    i++;
  }
  expect(line[i]).toBe(' ');
  const ts = line.slice(i + 1);
  expect(ts).toMatch(/^-?\d+$/);
  return { measurement, tags, fields, ts: Number(ts) };
}

// --- points ----------------------------------------------------------------------------

const point = fc
  .record({
    measurement: keepable.filter((s) => !s.startsWith('#')),
    tags: fc.dictionary(keepable, keepable, { minKeys: 0, maxKeys: 4 }),
    fields: fc.dictionary(keepable, fc.oneof(number, fc.boolean(), fieldText), { minKeys: 1, maxKeys: 4 }),
    ts: fc.integer({ min: 0, max: 4_102_444_800_000 }),
  })
  // JSON-like dictionaries may hold __proto__ as an own key; a Point is a plain record.
  .map((p) => ({ ...p, tags: Object.freeze({ ...p.tags }), fields: { ...p.fields } }) as Point);

describe('pure properties', () => {
  it('every keepable point gives one line that reads back to the same point', () => {
    fc.assert(
      fc.property(point, (p) => {
        const line = toLine(p);
        expect(line.includes('\n') || line.includes('\r')).toBe(false);
        const back = parseLine(line);
        expect(back.measurement).toBe(p.measurement);
        expect(back.tags).toEqual({ ...p.tags });
        expect(back.ts).toBe(p.ts);
        // Numbers as floats: the reader gives back the same number (−0 written as 0).
        expect(back.fields).toEqual(Object.fromEntries(Object.entries(p.fields).map(([k, v]) => [k, Object.is(v, -0) ? 0 : v])));
      }),
      { numRuns: 3000, seed: SEED },
    );
  });

  it('a control character or newline in a name or tag, or a trailing backslash, is refused with LINE_PROTOCOL', () => {
    const bad = fc
      .tuple(fc.string({ maxLength: 6 }), fc.oneof(fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)), fc.constant('\u007f')), fc.string({ maxLength: 6 }))
      .map(([a, c, b]) => a + c + b);
    // eslint-disable-next-line no-control-regex
    const trailingBackslash = fc.string({ maxLength: 8 }).map((s) => `${s.replace(/[\u0000-\u001f\u007f]/g, '')}\\`);
    const where = fc.constantFrom('measurement', 'tag key', 'tag value', 'field key');
    fc.assert(
      fc.property(fc.oneof(bad, trailingBackslash), where, (s, w) => {
        const p: Point = {
          measurement: w === 'measurement' ? s : 'm',
          tags: w === 'tag key' ? { [s]: 'v' } : w === 'tag value' ? { k: s } : { k: 'v' },
          fields: w === 'field key' ? { [s]: 1 } : { f: 1 },
          ts: 1,
        };
        let err: unknown;
        try {
          toLine(p);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(LineProtocolError);
        expect((err as LineProtocolError).code).toBe('LINE_PROTOCOL');
      }),
      { numRuns: 1000, seed: SEED },
    );
  });

  it('a newline in a string field, a non-finite number, an empty name or no fields is refused with LINE_PROTOCOL', () => {
    const cases: Point[] = [
      { measurement: 'm', tags: {}, fields: { detail: 'line one\nline two' }, ts: 1 },
      { measurement: 'm', tags: {}, fields: { detail: 'cr\r' }, ts: 1 },
      { measurement: 'm', tags: {}, fields: { v: Number.NaN }, ts: 1 },
      { measurement: 'm', tags: {}, fields: { v: Number.POSITIVE_INFINITY }, ts: 1 },
      { measurement: '', tags: {}, fields: { v: 1 }, ts: 1 },
      { measurement: 'm', tags: { '': 'v' }, fields: { v: 1 }, ts: 1 },
      { measurement: 'm', tags: { k: '' }, fields: { v: 1 }, ts: 1 },
      { measurement: 'm', tags: {}, fields: { '': 1 }, ts: 1 },
      { measurement: '#comment', tags: {}, fields: { v: 1 }, ts: 1 },
      { measurement: 'm', tags: {}, fields: {}, ts: 1 },
      { measurement: 'm', tags: {}, fields: { v: 1 }, ts: 1.5 },
    ];
    for (const p of cases) expect(() => toLine(p), JSON.stringify(p)).toThrow(LineProtocolError);
  });
});

// --- against InfluxDB -------------------------------------------------------------------

describe('against a real InfluxDB 1.x', () => {
  let influx: Influxd;
  let store: InfluxStore;
  const db = `lp_prop_${process.pid}`;

  beforeAll(async () => {
    influx = await startInfluxd();
    store = new InfluxStore({ url: influx.url, db });
    await store.init();
  }, 120_000);

  afterAll(async () => {
    await influx?.query(`DROP DATABASE "${db}"`).catch(() => undefined);
    await influx?.destroy();
  });

  /** An InfluxQL string literal, written out here rather than taken from the code under test. */
  const lit = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

  it('200 generated points come back from InfluxQL unchanged: tag values, string fields, numbers, booleans', async () => {
    let run = 0;
    // One measurement per run, so that a field is never a string in one run and a number in another.
    const stored = fc.record({
      building: keepable,
      device: keepable,
      note: fieldText,
      value: number,
      flag: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(stored, async (s) => {
        const measurement = `prop_${++run}`;
        const ts = Date.UTC(2026, 10, 25) + run;
        const line = store.encode({ measurement, tags: Object.freeze({ site: 'prop', building: s.building, device: s.device }), fields: { note: s.note, value: s.value, flag: s.flag }, ts });
        expect(await store.writeLines([line])).toEqual([]);
        const body = await influx.query(`SELECT "building", "device", "note", "value", "flag" FROM "${measurement}" WHERE "device" = ${lit(s.device)}`, db);
        const series = body.results?.[0]?.series?.[0];
        expect(series?.values, line).toHaveLength(1);
        const [, building, device, note, value, flag] = series.values[0];
        expect({ building, device, note, value, flag }).toEqual({ building: s.building, device: s.device, note: s.note, value: Object.is(s.value, -0) ? 0 : s.value, flag: s.flag });
      }),
      { numRuns: 200, seed: SEED },
    );
  }, 120_000);
});
