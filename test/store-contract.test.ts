/**
 * The `SeriesStore` contract (storage/series.ts, docs/interfaces.md#stored-series), one suite run against
 * both stores: `InfluxStore` on a real InfluxDB 1.x (a fresh database) and `EmbeddedStore`
 * on a temp file. InfluxDB is the reference: where the two differed, the embedded store was
 * made to do what InfluxDB does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedStore, InfluxStore, LineProtocolError, StoreWriteError, type AggregateRow, type FieldValue, type Point, type SeriesBucket, type SeriesStore } from '../storage/index.ts';
import { startInfluxd } from './harness/influxd.ts';

interface Subject {
  name: string;
  open(): Promise<{ store: SeriesStore; close(): Promise<void> }>;
}

const subjects: Subject[] = [
  {
    name: 'InfluxStore (InfluxDB 1.x)',
    async open() {
      const influx = await startInfluxd();
      const db = `contract_${process.pid}_${Date.now().toString(36)}`;
      const store = new InfluxStore({ url: influx.url, db });
      return {
        store,
        async close() {
          await store.close();
          await influx.query(`DROP DATABASE "${db}"`).catch(() => undefined);
          await influx.destroy();
        },
      };
    },
  },
  {
    name: 'EmbeddedStore (SQLite)',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'estate-contract-'));
      const store = new EmbeddedStore(join(dir, 'series.db'));
      return {
        store,
        async close() {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
];

const S = 1000;
const MIN = 60 * S;
/** A whole hour, one to two hours ago: recent enough for `latest`, and in the past for `series`. */
const T = Math.floor((Date.now() - 60 * MIN) / (60 * MIN)) * 60 * MIN;

const hydrantTags = (device: string) => Object.freeze({ site: 'jinfo-garden', building: '3栋', device });

/** The hydrant readings every test below starts from. */
const HYDRANT: Point[] = [
  { measurement: 'hydrant', tags: hydrantTags('HY-1'), fields: { pressure_mpa: 0.3, flow_lps: 1 }, ts: T },
  { measurement: 'hydrant', tags: hydrantTags('HY-1'), fields: { pressure_mpa: 0.2 }, ts: T + 10 * S },
  { measurement: 'hydrant', tags: hydrantTags('HY-1'), fields: { temp_c: 12.5 }, ts: T + 30 * S },
  { measurement: 'hydrant', tags: hydrantTags('HY-1'), fields: { pressure_mpa: 0.4, leak: false }, ts: T + 50 * S },
  // nothing in [T+1min, T+2min)
  { measurement: 'hydrant', tags: hydrantTags('HY-1'), fields: { pressure_mpa: 0.5, leak: true }, ts: T + 2 * MIN },
  { measurement: 'hydrant', tags: hydrantTags('HY-1'), fields: { pressure_mpa: 0.1, leak: true }, ts: T + 3 * MIN - 1 },
  { measurement: 'hydrant', tags: hydrantTags('HY-1'), fields: { pressure_mpa: 0.9 }, ts: T + 3 * MIN },
  { measurement: 'hydrant', tags: hydrantTags('HY-2'), fields: { pressure_mpa: 0.25, tamper: false }, ts: T + 5 * S },
  // Another building tag, same device: a second series of HY-2.
  { measurement: 'hydrant', tags: { site: 'jinfo-garden', building: '3栋 B', device: 'HY-2' }, fields: { pressure_mpa: 0.35 }, ts: T + 70 * S },
];

const EVENT: Point = {
  measurement: 'events',
  tags: { site: 'jinfo-garden', building: '3栋', device: 'HY-1', kind: 'hydrant', code: 'leak' },
  fields: { active: true, detail: 'water on the floor of "B1", C:\\pump' },
  ts: T + 40 * S,
};

/** What `series` must give, computed from the points here: epoch-aligned steps, [from, to), empty steps left out. */
function expected(points: Point[], device: string, metric: string, from: number, to: number, step: number): SeriesBucket[] {
  const buckets = new Map<number, number[]>();
  for (const p of points) {
    const v = p.fields[metric];
    if (p.tags.device !== device || v === undefined || p.ts < from || p.ts >= to) continue;
    const t = Math.floor(p.ts / step) * step;
    buckets.set(t, [...(buckets.get(t) ?? []), typeof v === 'boolean' ? (v ? 1 : 0) : (v as number)]);
  }
  return [...buckets.entries()]
    .sort(([a], [b]) => a - b)
    .map(([t, vs]) => ({ t, mean: vs.reduce((a, b) => a + b, 0) / vs.length, min: Math.min(...vs), max: Math.max(...vs) }));
}

/** Means compared to 12 digits: the two databases may sum in another order. */
function rounded(buckets: SeriesBucket[]): SeriesBucket[] {
  return buckets.map((b) => ({ ...b, mean: Math.round(b.mean * 1e12) / 1e12 }));
}

describe.each(subjects)('$name', (subject) => {
  let store: SeriesStore;
  let close: (() => Promise<void>) | undefined;
  const write = async (points: Point[]) => store.writeLines(points.map((p) => store.encode(p)));

  beforeAll(async () => {
    ({ store, close } = await subject.open());
    await store.init();
    expect(await write([...HYDRANT, EVENT])).toEqual([]);
  });

  afterAll(async () => {
    await close?.();
  });

  it('init is idempotent, and the store answers ping', async () => {
    await store.init();
    expect(await store.ping()).toBe(true);
    expect(await store.count('hydrant', 'pressure_mpa')).toBe(8);
  });

  describe('latest', () => {
    it('gives the newest value of each field per device, and the newest timestamp', async () => {
      const latest = await store.latest('hydrant');
      expect(Object.fromEntries(latest)).toEqual({
        // temp_c was sent once, at T+30s; flow_lps once, at T; each is still the newest of its field.
        'HY-1': { ts: T + 3 * MIN, fields: { pressure_mpa: 0.9, flow_lps: 1, temp_c: 12.5, leak: true } },
        // Across its two series (building changed): the newest of each field.
        'HY-2': { ts: T + 70 * S, fields: { pressure_mpa: 0.35, tamper: false } },
      });
    });

    it('can be limited to some devices', async () => {
      expect([...(await store.latest('hydrant', ['HY-2'])).keys()]).toEqual(['HY-2']);
      expect([...(await store.latest('hydrant', ['HY-1', 'HY-2'])).keys()].sort()).toEqual(['HY-1', 'HY-2']);
      expect((await store.latest('hydrant', ['HY-404'])).size).toBe(0);
    });

    it('is empty for a measurement that has nothing', async () => {
      expect((await store.latest('firelane')).size).toBe(0);
    });

    it('gives booleans as booleans and strings as strings', async () => {
      const e = (await store.latest('events')).get('HY-1')!;
      expect(e).toEqual({ ts: T + 40 * S, fields: { active: true, detail: 'water on the floor of "B1", C:\\pump' } });
      expect(typeof e.fields.active).toBe('boolean');
      expect(typeof (await store.latest('hydrant')).get('HY-2')!.fields.tamper).toBe('boolean');
    });

    it('looks back 30 days, and takes a reading a few minutes in the future', async () => {
      const now = Date.now();
      expect(
        await write([
          { measurement: 'hydrant', tags: hydrantTags('HY-OLD'), fields: { pressure_mpa: 0.3 }, ts: now - 31 * 24 * 60 * MIN },
          { measurement: 'hydrant', tags: hydrantTags('HY-AHEAD'), fields: { pressure_mpa: 0.3 }, ts: now + 2 * MIN },
        ]),
      ).toEqual([]);
      const latest = await store.latest('hydrant', ['HY-OLD', 'HY-AHEAD']);
      expect([...latest.keys()]).toEqual(['HY-AHEAD']);
      expect(latest.get('HY-AHEAD')!.ts).toBe(now + 2 * MIN);
      // It is stored all the same; latest only does not look that far.
      expect(await store.count('hydrant', 'pressure_mpa', { device: 'HY-OLD' })).toBe(1);
    });
  });

  describe('series', () => {
    it('gives mean, min and max per step, at epoch multiples of the step, leaving empty steps out', async () => {
      const buckets = await store.series({ measurement: 'hydrant', device: 'HY-1', metric: 'pressure_mpa', from: T, to: T + 10 * MIN, stepMs: MIN });
      expect(rounded(buckets)).toEqual(
        rounded([
          { t: T, mean: 0.3, min: 0.2, max: 0.4 },
          { t: T + 2 * MIN, mean: 0.3, min: 0.1, max: 0.5 },
          { t: T + 3 * MIN, mean: 0.9, min: 0.9, max: 0.9 },
        ]),
      );
      expect(rounded(buckets)).toEqual(rounded(expected(HYDRANT, 'HY-1', 'pressure_mpa', T, T + 10 * MIN, MIN)));
    });

    it('takes `from` inclusive and `to` exclusive, and starts a step on its epoch multiple even when `from` is inside it', async () => {
      const from = T + 10 * S;
      const to = T + 3 * MIN;
      const buckets = await store.series({ measurement: 'hydrant', device: 'HY-1', metric: 'pressure_mpa', from, to, stepMs: MIN });
      expect(rounded(buckets)).toEqual(
        rounded([
          { t: T, mean: 0.3, min: 0.2, max: 0.4 }, // the point at T is before `from`; the one at T+10s is in
          { t: T + 2 * MIN, mean: 0.3, min: 0.1, max: 0.5 }, // T+3min-1 is in; T+3min (= to) is not
        ]),
      );
    });

    it.each([7 * MIN, 45 * S, 1000, 2.5 * MIN])('aligns steps of %i ms to epoch multiples, not to `from`', async (step) => {
      const from = T - 13 * MIN + 17;
      const to = T + 10 * MIN;
      const buckets = await store.series({ measurement: 'hydrant', device: 'HY-1', metric: 'pressure_mpa', from, to, stepMs: step });
      expect(buckets.length).toBeGreaterThan(0);
      for (const b of buckets) expect(b.t % step).toBe(0);
      expect(rounded(buckets)).toEqual(rounded(expected(HYDRANT, 'HY-1', 'pressure_mpa', from, to, step)));
    });

    it('merges the series of one device (its building changed)', async () => {
      const buckets = await store.series({ measurement: 'hydrant', device: 'HY-2', metric: 'pressure_mpa', from: T, to: T + 10 * MIN, stepMs: 10 * MIN });
      expect(rounded(buckets)).toEqual(rounded([{ t: T, mean: 0.3, min: 0.25, max: 0.35 }]));
    });

    it('of a boolean metric is its share of true readings (0/1)', async () => {
      const buckets = await store.series({ measurement: 'hydrant', device: 'HY-1', metric: 'leak', from: T, to: T + 10 * MIN, stepMs: MIN });
      expect(buckets).toEqual([
        { t: T, mean: 0, min: 0, max: 0 },
        { t: T + 2 * MIN, mean: 1, min: 1, max: 1 },
      ]);
      const wide = await store.series({ measurement: 'hydrant', device: 'HY-1', metric: 'leak', from: T, to: T + 10 * MIN, stepMs: 10 * MIN });
      expect(rounded(wide)).toEqual(rounded([{ t: T, mean: 2 / 3, min: 0, max: 1 }]));
    });

    it('is empty for a metric, device or range with nothing in it', async () => {
      const q = { measurement: 'hydrant', device: 'HY-1', metric: 'pressure_mpa', from: T, to: T + 10 * MIN, stepMs: MIN };
      expect(await store.series({ ...q, metric: 'flow_lps', from: T + MIN })).toEqual([]);
      expect(await store.series({ ...q, device: 'HY-404' })).toEqual([]);
      expect(await store.series({ ...q, from: T + 5 * MIN })).toEqual([]);
      expect(await store.series({ ...q, measurement: 'water' })).toEqual([]);
    });

    it('of a string field is refused with a StoreWriteError that is not worth retrying', async () => {
      const err = await store.series({ measurement: 'events', device: 'HY-1', metric: 'detail', from: T, to: T + 10 * MIN, stepMs: MIN }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StoreWriteError);
      expect(err).toMatchObject({ retriable: false, message: 'detail of events is a string field: it has no numeric series' });
    });
  });

  describe('count', () => {
    it('counts the points that have the field, per device and within [from, to)', async () => {
      expect(await store.count('hydrant', 'pressure_mpa', { device: 'HY-1' })).toBe(6);
      expect(await store.count('hydrant', 'pressure_mpa', { device: 'HY-2' })).toBe(2);
      expect(await store.count('hydrant', 'leak', { device: 'HY-1' })).toBe(3);
      expect(await store.count('hydrant', 'pressure_mpa', { device: 'HY-1', from: T + 10 * S, to: T + 3 * MIN })).toBe(4);
      expect(await store.count('hydrant', 'pressure_mpa', { from: T, to: T + 3 * MIN })).toBe(7);
      expect(await store.count('hydrant', 'detail')).toBe(0);
      expect(await store.count('elevator', 'floor')).toBe(0);
      expect(await store.count('events', 'detail')).toBe(1);
    });
  });

  describe('aggregate', () => {
    const r12 = (rows: AggregateRow[]) =>
      rows.map((r) => ({ ...r, values: Object.fromEntries(Object.entries(r.values).map(([k, v]) => [k, Math.round(v! * 1e12) / 1e12])) }));
    const base = { measurement: 'hydrant', field: 'pressure_mpa', from: T, to: T + 10 * MIN } as const;

    it('computes every function per device in the database, merging the series of one device', async () => {
      const rows = await store.aggregate({ ...base, fns: ['count', 'sum', 'mean', 'min', 'max', 'spread', 'first', 'last'], groupBy: ['device'] });
      expect(r12(rows)).toEqual(
        r12([
          { group: { device: 'HY-1' }, t: 0, values: { count: 6, sum: 2.4, mean: 0.4, min: 0.1, max: 0.9, spread: 0.8, first: 0.3, last: 0.9 } },
          // HY-2 has two series (its building changed): one group.
          { group: { device: 'HY-2' }, t: 0, values: { count: 2, sum: 0.6, mean: 0.3, min: 0.25, max: 0.35, spread: 0.1, first: 0.25, last: 0.35 } },
        ]),
      );
    });

    it('takes conditions on the aggregated field and on other fields of the same point', async () => {
      expect(await store.aggregate({ ...base, fns: ['count'], groupBy: ['device'], where: [{ field: 'pressure_mpa', op: '<', value: 0.3 }] })).toEqual([
        { group: { device: 'HY-1' }, t: 0, values: { count: 2 } },
        { group: { device: 'HY-2' }, t: 0, values: { count: 1 } },
      ]);
      const leaking = await store.aggregate({ ...base, fns: ['count', 'mean'], groupBy: ['device'], where: [{ field: 'leak', op: '=', value: true }] });
      expect(r12(leaking)).toEqual(r12([{ group: { device: 'HY-1' }, t: 0, values: { count: 2, mean: 0.3 } }]));
      const between = await store.aggregate({ ...base, fns: ['count'], where: [{ field: 'pressure_mpa', op: '>=', value: 0.2 }, { field: 'pressure_mpa', op: '<=', value: 0.4 }] });
      expect(between).toEqual([{ group: {}, t: 0, values: { count: 5 } }]);
    });

    it('can be limited to devices and to tag values, and group by several tags', async () => {
      expect(await store.aggregate({ ...base, fns: ['count'], devices: ['HY-2'] })).toEqual([{ group: {}, t: 0, values: { count: 2 } }]);
      expect(await store.aggregate({ ...base, fns: ['count'], devices: [] })).toEqual([]);
      expect(await store.aggregate({ ...base, fns: ['count'], devices: ['HY-404'] })).toEqual([]);
      // A long list of devices (a district's worth of hydrants).
      const many = [...Array.from({ length: 500 }, (_, i) => `HY-X${i}`), 'HY-1'];
      expect(await store.aggregate({ ...base, fns: ['count'], devices: many, groupBy: ['device'] })).toEqual([{ group: { device: 'HY-1' }, t: 0, values: { count: 6 } }]);
      const events = { measurement: 'events', field: 'active', from: T, to: T + 10 * MIN, fns: ['count'] as const, groupBy: ['device', 'code'] };
      expect(await store.aggregate({ ...events, tags: { kind: 'hydrant', code: 'leak' } })).toEqual([{ group: { device: 'HY-1', code: 'leak' }, t: 0, values: { count: 1 } }]);
      expect(await store.aggregate({ ...events, tags: { code: 'tamper' } })).toEqual([]);
      expect(await store.aggregate({ ...events, where: [{ field: 'active', op: '=', value: false }] })).toEqual([]);
    });

    it('groups by steps aligned to epoch multiples of the step shifted by the offset, leaving empty steps out', async () => {
      const rows = await store.aggregate({ ...base, fns: ['count', 'max'], devices: ['HY-1'], stepMs: 2 * MIN, offsetMs: MIN });
      expect(r12(rows)).toEqual(
        r12([
          { group: {}, t: T - MIN, values: { count: 3, max: 0.4 } },
          { group: {}, t: T + MIN, values: { count: 2, max: 0.5 } },
          { group: {}, t: T + 3 * MIN, values: { count: 1, max: 0.9 } },
        ]),
      );
      // A Shanghai day: 24 h steps starting at 16:00 UTC.
      const day = 24 * 60 * MIN;
      const days = await store.aggregate({ ...base, fns: ['count'], groupBy: ['device'], stepMs: day, offsetMs: 16 * 60 * MIN });
      const start = Math.floor((T - 16 * 60 * MIN) / day) * day + 16 * 60 * MIN;
      expect(days).toEqual([
        { group: { device: 'HY-1' }, t: start, values: { count: 6 } },
        { group: { device: 'HY-2' }, t: start, values: { count: 2 } },
      ]);
    });

    it('counts a boolean field and gives its first and last as 1/0; other functions of a boolean are refused', async () => {
      const leak = { measurement: 'hydrant', field: 'leak', from: T, to: T + 10 * MIN, devices: ['HY-1'] };
      expect(await store.aggregate({ ...leak, fns: ['count', 'first', 'last'] })).toEqual([{ group: {}, t: 0, values: { count: 3, first: 0, last: 1 } }]);
      expect(await store.aggregate({ ...leak, fns: ['count'], where: [{ field: 'leak', op: '=', value: true }] })).toEqual([{ group: {}, t: 0, values: { count: 2 } }]);
      const err = await store.aggregate({ ...leak, fns: ['mean'] }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StoreWriteError);
      expect(err).toMatchObject({ retriable: false });
    });

    it('is empty for a measurement, field or range with nothing in it', async () => {
      expect(await store.aggregate({ ...base, measurement: 'firelane', fns: ['count'] })).toEqual([]);
      expect(await store.aggregate({ ...base, field: 'vibration_mms', fns: ['count', 'mean'] })).toEqual([]);
      expect(await store.aggregate({ ...base, from: T + 5 * MIN, fns: ['count', 'mean'], groupBy: ['device'] })).toEqual([]);
    });
  });

  describe('writing', () => {
    it('the same point twice is stored once', async () => {
      const p: Point = { measurement: 'water', tags: { site: 'jinfo-garden', building: '泵房', device: 'WS-1' }, fields: { ph: 7.2, pump_running: true }, ts: T };
      expect(await write([p])).toEqual([]);
      expect(await write([p, p])).toEqual([]);
      expect(await store.count('water', 'ph')).toBe(1);
      expect(await store.count('water', 'pump_running')).toBe(1);
    });

    it('a point at the same series and time overwrites the fields it carries and keeps the others', async () => {
      const tags = { site: 'jinfo-garden', building: '泵房', device: 'WS-2' };
      expect(await write([{ measurement: 'water', tags, fields: { ph: 7.0, chlorine_mgl: 0.5 }, ts: T }])).toEqual([]);
      expect(await write([{ measurement: 'water', tags, fields: { ph: 7.4 }, ts: T }])).toEqual([]);
      expect((await store.latest('water', ['WS-2'])).get('WS-2')).toEqual({ ts: T, fields: { ph: 7.4, chlorine_mgl: 0.5 } });
      expect(await store.count('water', 'ph', { device: 'WS-2' })).toBe(1);
    });

    it('a field written as 1 and then as 1.5 is one float field', async () => {
      const tags = { site: 'jinfo-garden', building: '1栋', device: 'EL-1' };
      expect(await write([{ measurement: 'elevator', tags, fields: { load_pct: 1 }, ts: T }])).toEqual([]);
      expect(await write([{ measurement: 'elevator', tags, fields: { load_pct: 1.5 }, ts: T + S }])).toEqual([]);
      expect(await store.series({ measurement: 'elevator', device: 'EL-1', metric: 'load_pct', from: T, to: T + MIN, stepMs: MIN })).toEqual([{ t: T, mean: 1.25, min: 1, max: 1.5 }]);
    });

    it('a line giving a field another type is rejected whole with the reason; the rest of the batch is stored', async () => {
      const tags = hydrantTags('HY-1');
      // The same time as a stored point, so that on InfluxDB it is certainly the same shard.
      const conflicting = store.encode({ measurement: 'hydrant', tags, fields: { flow_lps: 2, pressure_mpa: 'high' }, ts: T + 10 * S });
      const good = store.encode({ measurement: 'hydrant', tags: hydrantTags('HY-5'), fields: { pressure_mpa: 0.45 }, ts: T + 10 * S });
      const rejected = await store.writeLines([good, conflicting]);
      expect(rejected).toEqual([
        {
          line: conflicting,
          reason: expect.stringMatching(/field type conflict: input field "pressure_mpa" on measurement "hydrant" is type string, already exists as type float/),
        },
      ]);
      expect((await store.latest('hydrant', ['HY-5'])).get('HY-5')!.fields).toEqual({ pressure_mpa: 0.45 });
      // Nothing of the rejected line landed: flow_lps at T+10s was not written either.
      expect(await store.count('hydrant', 'flow_lps', { device: 'HY-1' })).toBe(1);
    });

    it('encode refuses what the store could not carry', () => {
      const base: Point = { measurement: 'hydrant', tags: hydrantTags('HY-1'), fields: { pressure_mpa: 0.3 }, ts: T };
      const bad: { fields?: Record<string, FieldValue>; tags?: Record<string, string>; ts?: number }[] = [
        { fields: { pressure_mpa: NaN } },
        { fields: { pressure_mpa: Infinity } },
        { fields: {} },
        { tags: { ...base.tags, building: '' } },
        { tags: { ...base.tags, building: '3栋\n' } },
        { tags: { ...base.tags, building: '3栋\\' } },
        { fields: { detail: 'two\nlines' } },
        { ts: T + 0.5 },
      ];
      for (const change of bad) expect(() => store.encode({ ...base, ...change }), JSON.stringify(change)).toThrow(LineProtocolError);
      expect(() => store.encode(base)).not.toThrow();
    });
  });
});
