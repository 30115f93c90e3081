/**
 * The embedded `SeriesStore`: SQLite through better-sqlite3 in WAL mode, used when
 * `INFLUX_URL` is unset so that `npm run demo` needs nothing installed. It behaves as the
 * InfluxDB store does (the same contract tests run against both), InfluxDB being the
 * reference:
 * - one row per (series, field, time), so a point written twice is overwritten;
 * - it refuses the points InfluxDB's line protocol cannot carry (`encode` throws);
 * - a field keeps the type it was first written with, per measurement: a line that gives it
 *   another type is rejected whole, with InfluxDB's reason ("field type conflict");
 * - `latest` looks back 30 days; `series` of a boolean is its share of true readings
 *   (0/1), and of a string field an error.
 */
import Database from 'better-sqlite3';
import { splitLines } from '../lines.ts';
import type { Database as Db, Statement } from 'better-sqlite3';
import { StoreWriteError, compareRows, type AggregateFn, type AggregateQuery, type AggregateRow, type FieldValue, type LatestValues, type Point, type RejectedLine, type SeriesBucket, type SeriesQuery, type SeriesStore } from '../series.ts';
import { toLine } from '../influx/line-protocol.ts';

/** How far back `latest` looks, as in the InfluxDB store. */
const LATEST_LOOKBACK_MS = 30 * 24 * 3600_000;
const TYPE_NAMES: Record<string, string> = { n: 'float', b: 'boolean', s: 'string' };

const SCHEMA = `
CREATE TABLE IF NOT EXISTS series (
  id INTEGER PRIMARY KEY,
  measurement TEXT NOT NULL,
  device TEXT NOT NULL,
  tags TEXT NOT NULL,
  UNIQUE (measurement, tags)
);
CREATE INDEX IF NOT EXISTS series_device ON series (measurement, device);
CREATE TABLE IF NOT EXISTS points (
  series INTEGER NOT NULL,
  field TEXT NOT NULL,
  ts INTEGER NOT NULL,
  type TEXT NOT NULL,   -- n number, b boolean, s string
  num REAL,
  str TEXT,
  PRIMARY KEY (series, field, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS field_types (
  measurement TEXT NOT NULL,
  field TEXT NOT NULL,
  type TEXT NOT NULL,
  PRIMARY KEY (measurement, field)
) WITHOUT ROWID;
`;

type Encoded = [string, Record<string, string>, Record<string, FieldValue>, number];

export class EmbeddedStore implements SeriesStore {
  readonly kind = 'embedded';
  private db: Db;
  private seriesIds = new Map<string, number>();
  private insertSeries!: Statement;
  private findSeries!: Statement;
  private insertPoint!: Statement;
  private insertFieldType!: Statement;
  /** measurement + '\0' + field → n, b or s */
  private fieldTypes = new Map<string, string>();

  constructor(readonly file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
  }

  async init(): Promise<void> {
    const hadTypes = this.db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'field_types'`).get() !== undefined;
    this.db.exec(SCHEMA);
    if (!hadTypes) {
      // A store from before field types were kept: learn them from what it holds.
      this.db.exec(
        `INSERT OR IGNORE INTO field_types (measurement, field, type)
         SELECT s.measurement, p.field, min(p.type) FROM points p JOIN series s ON s.id = p.series GROUP BY s.measurement, p.field`,
      );
    }
    for (const r of this.db.prepare('SELECT measurement, field, type FROM field_types').all() as { measurement: string; field: string; type: string }[]) {
      this.fieldTypes.set(`${r.measurement}\0${r.field}`, r.type);
    }
    this.insertFieldType = this.db.prepare('INSERT OR IGNORE INTO field_types (measurement, field, type) VALUES (?, ?, ?)');
    this.insertSeries = this.db.prepare('INSERT OR IGNORE INTO series (measurement, device, tags) VALUES (?, ?, ?)');
    this.findSeries = this.db.prepare('SELECT id FROM series WHERE measurement = ? AND tags = ?');
    this.insertPoint = this.db.prepare('INSERT OR REPLACE INTO points (series, field, ts, type, num, str) VALUES (?, ?, ?, ?, ?, ?)');
  }

  encode(p: Point): string {
    // Refuses what InfluxDB could not carry (throws LineProtocolError), so both stores take the same points.
    toLine(p);
    return JSON.stringify([p.measurement, p.tags, p.fields, p.ts]);
  }

  /** InfluxDB's reason for a field whose type differs from the one it was first written with, or undefined. */
  private conflict(measurement: string, fields: Record<string, FieldValue>): string | undefined {
    for (const [field, v] of Object.entries(fields)) {
      const known = this.fieldTypes.get(`${measurement}\0${field}`);
      const type = typeOf(v);
      if (known !== undefined && known !== type) {
        return `partial write: field type conflict: input field "${field}" on measurement "${measurement}" is type ${TYPE_NAMES[type]}, already exists as type ${TYPE_NAMES[known]} dropped=1`;
      }
    }
    return undefined;
  }

  private seriesId(measurement: string, tags: Record<string, string>): number {
    const key = JSON.stringify([measurement, Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : 1))]);
    let id = this.seriesIds.get(key);
    if (id === undefined) {
      this.insertSeries.run(measurement, tags.device ?? '', key);
      id = (this.findSeries.get(measurement, key) as { id: number }).id;
      this.seriesIds.set(key, id);
    }
    return id;
  }

  async writeBatch(body: Buffer | readonly Buffer[]): Promise<RejectedLine[]> {
    return this.writeLines(splitLines(Buffer.isBuffer(body) ? body : Buffer.concat(body)));
  }

  async writeLines(lines: readonly string[]): Promise<RejectedLine[]> {
    const rejected: RejectedLine[] = [];
    this.db.transaction(() => {
      for (const line of lines) {
        let p: Encoded;
        try {
          p = JSON.parse(line) as Encoded;
          if (!Array.isArray(p) || typeof p[0] !== 'string' || !isRecord(p[1]) || !isRecord(p[2]) || typeof p[3] !== 'number') throw new Error('not a point');
        } catch (err) {
          rejected.push({ line, reason: `embedded store cannot parse the line: ${(err as Error).message}` });
          continue;
        }
        const [measurement, tags, fields, ts] = p;
        const conflict = this.conflict(measurement, fields);
        if (conflict) {
          rejected.push({ line, reason: conflict });
          continue;
        }
        const id = this.seriesId(measurement, tags);
        for (const [field, v] of Object.entries(fields)) {
          const type = typeOf(v);
          const key = `${measurement}\0${field}`;
          if (!this.fieldTypes.has(key)) {
            this.insertFieldType.run(measurement, field, type);
            this.fieldTypes.set(key, type);
          }
          if (type === 'n') this.insertPoint.run(id, field, ts, 'n', v, null);
          else if (type === 'b') this.insertPoint.run(id, field, ts, 'b', v ? 1 : 0, null);
          else this.insertPoint.run(id, field, ts, 's', null, String(v));
        }
      }
    })();
    return rejected;
  }

  async latest(measurement: string, devices?: readonly string[]): Promise<Map<string, LatestValues>> {
    const filter = devices && devices.length > 0 ? ` AND s.device IN (${devices.map(() => '?').join(',')})` : '';
    const rows = this.db
      .prepare(
        `SELECT s.device AS device, p.field AS field, p.type AS type, p.num AS num, p.str AS str, max(p.ts) AS ts
         FROM series s JOIN points p ON p.series = s.id
         WHERE s.measurement = ? AND p.ts > ?${filter} GROUP BY s.device, p.field`,
      )
      .all(measurement, Date.now() - LATEST_LOOKBACK_MS, ...(devices ?? [])) as { device: string; field: string; type: string; num: number | null; str: string | null; ts: number }[];
    const out = new Map<string, LatestValues>();
    for (const r of rows) {
      let entry = out.get(r.device);
      if (!entry) out.set(r.device, (entry = { ts: 0, fields: {} }));
      entry.fields[r.field] = r.type === 'b' ? r.num === 1 : r.type === 'n' ? (r.num as number) : (r.str as string);
      if (r.ts > entry.ts) entry.ts = r.ts;
    }
    return out;
  }

  async series(q: SeriesQuery): Promise<SeriesBucket[]> {
    const step = Math.max(1, Math.floor(q.stepMs));
    // Booleans are stored as 0/1, so their mean is the share of true readings, as in the InfluxDB store.
    // better-sqlite3 binds a JS number as REAL, and ts / REAL is no integer division: the CAST
    // makes the steps epoch multiples (without it every point was its own step).
    const rows = this.db
      .prepare(
        `SELECT (p.ts / CAST(? AS INTEGER)) * CAST(? AS INTEGER) AS t, avg(p.num) AS mean, min(p.num) AS min, max(p.num) AS max, max(p.type = 's') AS strings
         FROM points p WHERE p.series IN (SELECT id FROM series WHERE measurement = ? AND device = ?)
         AND p.field = ? AND p.ts >= ? AND p.ts < ?
         GROUP BY t ORDER BY t`,
      )
      .all(step, step, q.measurement, q.device, q.metric, Math.floor(q.from), Math.floor(q.to)) as (SeriesBucket & { strings: number })[];
    if (rows.some((r) => r.strings)) throw new StoreWriteError(`${q.metric} of ${q.measurement} is a string field: it has no numeric series`, false);
    return rows.map(({ t, mean, min, max }) => ({ t, mean, min, max }));
  }

  async count(measurement: string, field: string, opts: { device?: string; from?: number; to?: number } = {}): Promise<number> {
    const row = this.db
      .prepare(
        `SELECT count(*) AS n FROM points p WHERE p.series IN (SELECT id FROM series WHERE measurement = ?${opts.device ? ' AND device = ?' : ''})
         AND p.field = ? AND p.ts >= ? AND p.ts < ?`,
      )
      .get(measurement, ...(opts.device ? [opts.device] : []), field, opts.from ?? Number.MIN_SAFE_INTEGER, opts.to ?? Number.MAX_SAFE_INTEGER) as { n: number };
    return row.n;
  }

  async aggregate(q: AggregateQuery): Promise<AggregateRow[]> {
    const type = this.fieldTypes.get(`${q.measurement}\0${q.field}`);
    if ((q.devices && q.devices.length === 0) || q.fns.length === 0 || type === undefined) return [];
    const refused = q.fns.find((fn) => fn !== 'count' && (type === 's' || (type === 'b' && fn !== 'first' && fn !== 'last')));
    if (refused) throw new StoreWriteError(`${refused} of ${q.field} of ${q.measurement}: a ${TYPE_NAMES[type]} field has no such aggregate`, false);
    // The series that match, each mapped to its group: the grouping itself runs in SQL.
    const groupBy = q.groupBy ?? [];
    const groups: Record<string, string>[] = [];
    const index = new Map<string, number>();
    const pairs: number[] = [];
    for (const r of this.db.prepare('SELECT id, device, tags FROM series WHERE measurement = ?').all(q.measurement) as { id: number; device: string; tags: string }[]) {
      if (q.devices && !q.devices.includes(r.device)) continue;
      const tags = Object.fromEntries((JSON.parse(r.tags) as [string, [string, string][]])[1]);
      if (Object.entries(q.tags ?? {}).some(([k, v]) => tags[k] !== v)) continue;
      const group = Object.fromEntries(groupBy.map((t) => [t, tags[t] ?? '']));
      const key = JSON.stringify(group);
      if (!index.has(key)) index.set(key, groups.push(group) - 1);
      pairs.push(r.id, index.get(key)!);
    }
    if (pairs.length === 0) return [];
    const step = q.stepMs ? Math.max(1, Math.floor(q.stepMs)) : 0;
    const offset = step ? (((Math.floor(q.offsetMs ?? 0) % step) + step) % step) : 0;
    const t = step ? `((p.ts - ${offset}) / ${step}) * ${step} + ${offset}` : '0';
    const args: unknown[] = [...pairs, q.field, Math.floor(q.from), Math.floor(q.to)];
    const where = ['p.field = ?', 'p.ts >= ?', 'p.ts < ?'];
    for (const c of q.where ?? []) {
      const v = typeof c.value === 'boolean' ? (c.value ? 1 : 0) : c.value;
      if (c.field === q.field) where.push(`p.num ${c.op} ?`);
      else {
        where.push(`EXISTS (SELECT 1 FROM points c WHERE c.series = p.series AND c.field = ? AND c.ts = p.ts AND c.num ${c.op} ?)`);
        args.push(c.field);
      }
      args.push(v);
    }
    const from = `WITH g(series, grp) AS (VALUES ${Array.from({ length: pairs.length / 2 }, () => '(?, ?)').join(', ')})
      SELECT g.grp AS grp, ${t} AS t, %s FROM points p JOIN g ON g.series = p.series WHERE ${where.join(' AND ')} GROUP BY grp, t`;
    const out = new Map<string, AggregateRow>();
    const rowOf = (grp: number, ts: number) => {
      let row = out.get(`${grp}\0${ts}`);
      if (!row) out.set(`${grp}\0${ts}`, (row = { group: groups[grp]!, t: ts, values: {} }));
      return row;
    };
    const aggs = q.fns.filter((fn) => fn !== 'first' && fn !== 'last');
    if (aggs.length > 0) {
      const cols = aggs.map((fn) => `${SQL_AGG[fn]} AS ${fn}`).join(', ');
      for (const r of this.db.prepare(from.replace('%s', cols)).all(...args) as Record<string, number>[]) {
        const row = rowOf(r.grp!, r.t!);
        for (const fn of aggs) row.values[fn] = r[fn]!;
      }
    }
    // first and last: SQLite gives a bare column the row of the one min() or max() beside it.
    for (const fn of q.fns.filter((x) => x === 'first' || x === 'last')) {
      const sql = from.replace('%s', `p.num AS v, ${fn === 'first' ? 'min' : 'max'}(p.ts) AS at`);
      for (const r of this.db.prepare(sql).all(...args) as { grp: number; t: number; v: number }[]) rowOf(r.grp, r.t).values[fn] = r.v;
    }
    return [...out.values()].sort(compareRows(groupBy));
  }

  async ping(): Promise<boolean> {
    return this.db.open;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

const SQL_AGG: Record<Exclude<AggregateFn, 'first' | 'last'>, string> = {
  count: 'count(*)',
  sum: 'sum(p.num)',
  mean: 'avg(p.num)',
  min: 'min(p.num)',
  max: 'max(p.num)',
  spread: 'max(p.num) - min(p.num)',
};

function typeOf(v: FieldValue): 'n' | 'b' | 's' {
  return typeof v === 'number' ? 'n' : typeof v === 'boolean' ? 'b' : 's';
}

function isRecord(v: unknown): v is Record<string, never> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
