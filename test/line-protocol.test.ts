/**
 * Line protocol against a real InfluxDB 1.x (docs/interfaces.md#stored-series): what `InfluxStore.encode`
 * writes comes back from InfluxQL exactly as it went in, whatever the tag values and string
 * fields hold; what InfluxDB cannot give back unchanged is refused before it is written;
 * numbers are floats; a partial write costs only the refused line; a missing database is
 * created and the write retried.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfluxStore, LineProtocolError, StoreWriteError, type Point } from '../storage/index.ts';
import { startInfluxd, type Influxd } from './harness/influxd.ts';

let influx: Influxd;
let store: InfluxStore;
const suffix = `${process.pid}_${Date.now().toString(36)}`;
const db = `lp_${suffix}`;
const created: string[] = [db];
/** Recent enough for `latest` (which looks back 30 days), on a whole minute. */
const T0 = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;

beforeAll(async () => {
  influx = await startInfluxd();
  store = new InfluxStore({ url: influx.url, db });
  await store.init();
});

afterAll(async () => {
  if (influx) for (const name of created) await influx.query(`DROP DATABASE "${name}"`).catch(() => undefined);
  await influx?.destroy();
});

type Row = Record<string, unknown>;

/** Runs one InfluxQL statement on the test database; rows as objects. */
async function select(q: string, database = db): Promise<Row[]> {
  const body = await influx.query(q, database);
  const result = body.results?.[0];
  if (result?.error) throw new Error(`${q}: ${result.error}`);
  const rows: Row[] = [];
  for (const s of result?.series ?? []) {
    for (const v of s.values as unknown[][]) rows.push(Object.fromEntries((s.columns as string[]).map((c, i) => [c, v[i]])));
  }
  return rows;
}

/** InfluxQL string literal, written out here rather than taken from the code under test. */
const lit = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

const TAG_VALUES: Record<string, string> = {
  space: '3栋 东侧',
  comma: 'a,b',
  equals: 'k=v',
  'double quote': 'say "hi"',
  'single quote': "O'Brien",
  'backslash in the middle': 'C:\\estate\\3',
  'backslash before a space': 'a\\ b',
  'backslash before a comma': 'a\\,b',
  'backslash before =': 'a\\=b',
  'two backslashes': 'a\\\\b',
  'leading backslash': '\\start',
  'quote after a backslash': 'x\\"y',
  'Chinese text': '金佛花园 3栋',
  emoji: '🚒 消防 🧯',
  'leading and trailing spaces': ' padded ',
  everything: `金佛 "3栋", k=v \\ 'x' 🚒`,
};

describe('tag values round-trip through InfluxDB exactly', () => {
  const cases = Object.entries(TAG_VALUES);

  beforeAll(async () => {
    const lines = cases.map(([, value], i) =>
      store.encode({ measurement: 'tagtest', tags: { site: 'lp', building: value, device: value }, fields: { n: i, note: value }, ts: T0 + i }),
    );
    expect(await store.writeLines(lines)).toEqual([]);
  });

  it('SHOW TAG VALUES gives back every value unchanged', async () => {
    for (const key of ['building', 'device']) {
      const rows = await select(`SHOW TAG VALUES FROM "tagtest" WITH KEY = "${key}"`);
      expect(rows.map((r) => r.value).sort(), key).toEqual(Object.values(TAG_VALUES).sort());
    }
  });

  it.each(cases)('%s: SELECT by the tag finds the point, and the tag and the string field are unchanged', async (_, value) => {
    const rows = await select(`SELECT "building", "device", "note", "n" FROM "tagtest" WHERE "device" = ${lit(value)}`);
    expect(rows).toEqual([{ time: T0 + Object.values(TAG_VALUES).indexOf(value), building: value, device: value, note: value, n: Object.values(TAG_VALUES).indexOf(value) }]);
  });

  it.each(cases)('%s: the store\'s own latest() finds the device by that id', async (_, value) => {
    const latest = await store.latest('tagtest', [value]);
    expect([...latest.keys()]).toEqual([value]);
    expect(latest.get(value)).toEqual({ ts: T0 + Object.values(TAG_VALUES).indexOf(value), fields: { n: Object.values(TAG_VALUES).indexOf(value), note: value } });
  });
});

describe('string fields round-trip through InfluxDB exactly', () => {
  const STRINGS = ['say "hi"', 'C:\\path\\to', 'ends with \\', '\\"', '"', '\\', "it's", '\\\\server\\share', 'tab\there', '金佛花园 3栋 🚒', 'a,b c=d', ''];

  it('each value comes back unchanged', async () => {
    const lines = STRINGS.map((s, i) => store.encode({ measurement: 'strtest', tags: { device: 'S-1' }, fields: { detail: s }, ts: T0 + i }));
    expect(await store.writeLines(lines)).toEqual([]);
    const rows = await select(`SELECT "detail" FROM "strtest"`);
    expect(rows.map((r) => r.detail)).toEqual(STRINGS);
  });

  it('field keys with a space, comma or = come back unchanged', async () => {
    const fields = { 'a b': 1, 'c,d': 2, 'e=f': 3, '温度 °C': 4 };
    expect(await store.writeLines([store.encode({ measurement: 'keytest', tags: { device: 'K-1' }, fields, ts: T0 })])).toEqual([]);
    const rows = await select(`SHOW FIELD KEYS FROM "keytest"`);
    expect(rows.map((r) => r.fieldKey).sort()).toEqual(Object.keys(fields).sort());
  });
});

describe('what InfluxDB could not give back unchanged is refused by encode', () => {
  const base: Point = { measurement: 'refused', tags: { site: 's', building: 'b', device: 'D-1' }, fields: { v: 1 }, ts: T0 };
  const refused: [string, Partial<Point>, RegExp][] = [
    ['a newline in a tag value', { tags: { ...base.tags, building: '3栋\n东侧' } }, /tag building contains a newline/],
    ['a carriage return in a tag value', { tags: { ...base.tags, building: '3栋\r' } }, /tag building contains a newline/],
    ['a tag value ending in a backslash', { tags: { ...base.tags, building: '3栋\\' } }, /tag building ends with a backslash/],
    ['an empty tag value', { tags: { ...base.tags, building: '' } }, /tag building is empty/],
    ['a tab in a tag value (the client would write it as \\t, which InfluxDB keeps as two characters)', { tags: { ...base.tags, building: 'a\tb' } }, /tag building contains a control character/],
    ['another control character in a tag value', { tags: { ...base.tags, device: 'D\u0001' } }, /tag device contains a control character/],
    ['a newline in a string field', { fields: { detail: 'line 1\nline 2' } }, /field detail contains a newline/],
    ['a carriage return in a string field', { fields: { detail: 'line 1\rline 2' } }, /field detail contains a newline/],
    ['NaN', { fields: { v: NaN } }, /field v is not a finite number/],
    ['Infinity', { fields: { v: Infinity } }, /field v is not a finite number/],
    ['-Infinity', { fields: { v: -Infinity } }, /field v is not a finite number/],
    ['no fields', { fields: {} }, /has no fields/],
    ['a fractional timestamp', { ts: T0 + 0.5 }, /not an integer number of ms/],
  ];

  it.each(refused)('%s', (_, change, message) => {
    const point = { ...base, ...change };
    expect(() => store.encode(point)).toThrow(LineProtocolError);
    expect(() => store.encode(point)).toThrow(message);
  });

  it('the base point of those cases is accepted', () => {
    expect(store.encode(base)).toBe(`refused,building=b,device=D-1,site=s v=1 ${T0}`);
  });
});

describe('numbers are written as floats', () => {
  it('a field written as 1 and then as 1.5 causes no type conflict', async () => {
    const one = store.encode({ measurement: 'floats', tags: { device: 'F-1' }, fields: { v: 1 }, ts: T0 });
    const oneAndAHalf = store.encode({ measurement: 'floats', tags: { device: 'F-1' }, fields: { v: 1.5 }, ts: T0 + 1 });
    expect(one).toBe(`floats,device=F-1 v=1 ${T0}`);
    // Written in two requests: a conflict inside one batch would look different from one across batches.
    expect(await store.writeLines([one])).toEqual([]);
    expect(await store.writeLines([oneAndAHalf])).toEqual([]);
    expect(await select(`SHOW FIELD KEYS FROM "floats"`)).toEqual([{ fieldKey: 'v', fieldType: 'float' }]);
    expect((await select(`SELECT "v" FROM "floats"`)).map((r) => r.v)).toEqual([1, 1.5]);
  });

  it('very large and very small numbers keep their value', async () => {
    const values = [1e21, 1e-7, -273.15, 0, 2 ** 53 + 2];
    const lines = values.map((v, i) => store.encode({ measurement: 'floats', tags: { device: 'F-2' }, fields: { v }, ts: T0 + i }));
    expect(await store.writeLines(lines)).toEqual([]);
    expect((await select(`SELECT "v" FROM "floats" WHERE "device" = 'F-2'`)).map((r) => r.v)).toEqual(values);
  });
});

describe('a partial write', () => {
  it('rejects exactly the conflicting line, with InfluxDB\'s reason, and stores every good line', async () => {
    const t = 1764057600000; // 2025-11-25: all lines below fall in one shard, where field types are fixed
    // pressure_mpa becomes a string field of "hydrant" in this shard.
    expect(await store.writeLines([`hydrant,device=X,site=s,building=b pressure_mpa="oops" ${t}`])).toEqual([]);

    const good: string[] = [];
    for (let i = 0; i < 300; i++) {
      const device = `HY-${i % 7}`;
      good.push(store.encode({ measurement: 'hydrant', tags: { site: 's', building: 'b', device }, fields: { flow_lps: i / 10, leak: i % 2 === 0 }, ts: t + i }));
      good.push(store.encode({ measurement: 'water', tags: { site: 's', building: 'b', device: 'WS-1' }, fields: { ph: 7 + (i % 10) / 10 }, ts: t + i }));
    }
    const bad = store.encode({ measurement: 'hydrant', tags: { site: 's', building: 'b', device: 'X' }, fields: { pressure_mpa: 0.31 }, ts: t + 1000 });
    const batch = [...good.slice(0, 257), bad, ...good.slice(257)];

    const rejected = await store.writeLines(batch);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.line).toBe(bad);
    expect(rejected[0]!.reason).toMatch(/field type conflict/);
    expect(rejected[0]!.reason).toMatch(/"pressure_mpa".*type float.*already exists as type string/);

    expect(await select(`SELECT count("flow_lps") AS n FROM "hydrant"`)).toEqual([{ time: 0, n: 300 }]);
    expect(await select(`SELECT count("leak") AS n FROM "hydrant"`)).toEqual([{ time: 0, n: 300 }]);
    expect(await select(`SELECT count("ph") AS n FROM "water"`)).toEqual([{ time: 0, n: 300 }]);
    // The string that was there first is untouched, and the float never landed.
    expect(await select(`SELECT "pressure_mpa" FROM "hydrant" WHERE "device" = 'X'`)).toEqual([{ time: t, pressure_mpa: 'oops' }]);
  });

  it('a line that does not parse is refused alone as well', async () => {
    const good = store.encode({ measurement: 'parsetest', tags: { device: 'P-1' }, fields: { v: 1 }, ts: T0 });
    const garbage = 'parsetest,device=P-2 v=notanumber 123';
    const rejected = await store.writeLines([good, garbage]);
    expect(rejected).toEqual([{ line: garbage, reason: expect.stringMatching(/unable to parse/) }]);
    expect(await select(`SELECT "v" FROM "parsetest"`)).toEqual([{ time: T0, v: 1 }]);
  });
});

describe('a database that does not exist', () => {
  it('gives a retriable StoreWriteError, after which the database exists and the retry succeeds', async () => {
    const missing = `lp_missing_${suffix}`;
    created.push(missing);
    const other = new InfluxStore({ url: influx.url, db: missing });
    const line = other.encode({ measurement: 'm', tags: { device: 'D-1' }, fields: { v: 2.5 }, ts: T0 });

    const err = await other.writeLines([line]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StoreWriteError);
    expect(err).toMatchObject({ retriable: true, status: 404 });
    expect((err as Error).message).toMatch(/database not found/);

    const dbs = (await select('SHOW DATABASES')).map((r) => r.name);
    expect(dbs).toContain(missing);
    expect(await other.writeLines([line])).toEqual([]);
    expect(await select(`SELECT "v" FROM "m"`, missing)).toEqual([{ time: T0, v: 2.5 }]);
  });
});
