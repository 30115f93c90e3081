/**
 * The embedded `SeriesStore`: SQLite through better-sqlite3 in WAL mode, used when
 * `INFLUX_URL` is unset so that `npm run demo` needs nothing installed. One row per
 * (series, field, time), so a point written twice is overwritten, as in InfluxDB.
 */
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import type { FieldValue, LatestValues, Point, RejectedLine, SeriesBucket, SeriesQuery, SeriesStore } from '../series.ts';

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
`;

type Encoded = [string, Record<string, string>, Record<string, FieldValue>, number];

export class EmbeddedStore implements SeriesStore {
  readonly kind = 'embedded';
  private db: Db;
  private seriesIds = new Map<string, number>();
  private insertSeries!: Statement;
  private findSeries!: Statement;
  private insertPoint!: Statement;

  constructor(readonly file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
  }

  async init(): Promise<void> {
    this.db.exec(SCHEMA);
    this.insertSeries = this.db.prepare('INSERT OR IGNORE INTO series (measurement, device, tags) VALUES (?, ?, ?)');
    this.findSeries = this.db.prepare('SELECT id FROM series WHERE measurement = ? AND tags = ?');
    this.insertPoint = this.db.prepare('INSERT OR REPLACE INTO points (series, field, ts, type, num, str) VALUES (?, ?, ?, ?, ?, ?)');
  }

  encode(p: Point): string {
    return JSON.stringify([p.measurement, p.tags, p.fields, p.ts]);
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

  async writeLines(lines: readonly string[]): Promise<RejectedLine[]> {
    const rejected: RejectedLine[] = [];
    this.db.transaction(() => {
      for (const line of lines) {
        let p: Encoded;
        try {
          p = JSON.parse(line) as Encoded;
          if (!Array.isArray(p) || typeof p[0] !== 'string' || typeof p[3] !== 'number') throw new Error('not a point');
        } catch (err) {
          rejected.push({ line, reason: `embedded store cannot parse the line: ${(err as Error).message}` });
          continue;
        }
        const [measurement, tags, fields, ts] = p;
        const id = this.seriesId(measurement, tags);
        for (const [field, v] of Object.entries(fields)) {
          if (typeof v === 'number') this.insertPoint.run(id, field, ts, 'n', v, null);
          else if (typeof v === 'boolean') this.insertPoint.run(id, field, ts, 'b', v ? 1 : 0, null);
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
         WHERE s.measurement = ?${filter} GROUP BY s.device, p.field`,
      )
      .all(measurement, ...(devices ?? [])) as { device: string; field: string; type: string; num: number | null; str: string | null; ts: number }[];
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
    const rows = this.db
      .prepare(
        `SELECT (p.ts / ?) * ? AS t, avg(p.num) AS mean, min(p.num) AS min, max(p.num) AS max
         FROM points p WHERE p.series IN (SELECT id FROM series WHERE measurement = ? AND device = ?)
         AND p.field = ? AND p.ts >= ? AND p.ts < ? AND p.type <> 's'
         GROUP BY t ORDER BY t`,
      )
      .all(step, step, q.measurement, q.device, q.metric, Math.floor(q.from), Math.floor(q.to)) as SeriesBucket[];
    return rows;
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

  async ping(): Promise<boolean> {
    return this.db.open;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
