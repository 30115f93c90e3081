/**
 * `SeriesStore` on InfluxDB's v1 HTTP API.
 *
 * Write errors: 204 is success; 400 (a partial write such as a field-type conflict, a tag past
 * `max-values-per-tag`, or a line that does not parse) is bisected until the refused lines are
 * found, which go back to the caller as rejected, those refused for the tag's cap marked as
 * such (tag-limit.ts); re-sending the good ones is harmless because InfluxDB overwrites an
 * identical point. 404 "database not found" creates the database and retries. 413 splits
 * the batch. 401/403, 429, 5xx and network errors are worth retrying.
 */
import { StoreWriteError, compareRows, type AggregateQuery, type AggregateRow, type FieldCondition, type LatestValues, type Point, type RejectedLine, type SeriesBucket, type SeriesQuery, type SeriesStore, type FieldValue } from '../series.ts';
import { splitLines } from '../lines.ts';
import { InfluxHttp, quoteIdent, quoteString, type InfluxOptions, type QuerySeries } from './http.ts';
import { toLine } from './line-protocol.ts';
import { tagLimitOf } from './tag-limit.ts';

export class InfluxStore implements SeriesStore {
  readonly kind = 'influx';
  readonly http: InfluxHttp;

  constructor(opts: InfluxOptions) {
    this.http = new InfluxHttp(opts);
  }

  encode(point: Point): string {
    return toLine(point);
  }

  async init(): Promise<void> {
    // CREATE DATABASE is idempotent on 1.x. A user without admin rights, or InfluxDB 2.x/3.x
    // (databases are buckets made beforehand), refuses it: then the database is expected to
    // exist, and a write to a missing one says so (404) and is retried.
    try {
      await this.http.query(`CREATE DATABASE ${quoteIdent(this.http.opts.db)}`, { method: 'POST', db: false });
    } catch (err) {
      if (err instanceof StoreWriteError && !err.retriable) return;
      throw err;
    }
  }

  async writeBatch(body: Buffer | readonly Buffer[], count: number): Promise<RejectedLine[]> {
    if (count === 0) return [];
    const res = await this.http.write(body);
    if (res.status < 300) return [];
    return this.handleError(splitLines(Buffer.isBuffer(body) ? body : Buffer.concat(body)), res.status, res.error ?? '');
  }

  async writeLines(lines: readonly string[]): Promise<RejectedLine[]> {
    if (lines.length === 0) return [];
    const res = await this.http.write(lines.join('\n'));
    if (res.status < 300) return [];
    return this.handleError(lines, res.status, res.error ?? '');
  }

  private async handleError(lines: readonly string[], status: number, error: string): Promise<RejectedLine[]> {
    if (status === 404 && /database not found/i.test(error)) {
      await this.init().catch(() => undefined);
      throw new StoreWriteError(`InfluxDB: ${error}; created the database, will retry`, true, status);
    }
    if (status === 400 || status === 413) {
      if (lines.length === 1) {
        if (status === 413) return [{ line: lines[0]!, reason: `InfluxDB refused the line as too large` }];
        const tagLimit = tagLimitOf(error);
        return [{ line: lines[0]!, reason: error, ...(tagLimit ? { tagLimit } : {}) }];
      }
      const mid = lines.length >> 1;
      // Halves go one after the other: at most one request of this writer is in flight here.
      const a = await this.writeLines(lines.slice(0, mid));
      const b = await this.writeLines(lines.slice(mid));
      return [...a, ...b];
    }
    throw new StoreWriteError(`InfluxDB answered ${status}: ${error}`, true, status);
  }

  async latest(measurement: string, devices?: readonly string[]): Promise<Map<string, LatestValues>> {
    const where = [`time > now() - 30d`];
    if (devices && devices.length > 0) where.push(`(${devices.map((d) => `"device" = ${quoteString(d)}`).join(' OR ')})`);
    const m = quoteIdent(measurement);
    const cond = where.join(' AND ');
    const [lasts = [], times = []] = await this.http.query(
      `SELECT last(*) FROM ${m} WHERE ${cond} GROUP BY "device"; SELECT * FROM ${m} WHERE ${cond} GROUP BY "device" ORDER BY time DESC LIMIT 1`,
    );
    const out = new Map<string, LatestValues>();
    for (const s of lasts) {
      const device = s.tags?.device;
      const row = s.values[0];
      if (!device || !row) continue;
      const fields: Record<string, FieldValue> = {};
      s.columns.forEach((c, i) => {
        if (c.startsWith('last_') && row[i] !== null) fields[c.slice(5)] = row[i] as FieldValue;
      });
      out.set(device, { ts: 0, fields });
    }
    for (const s of times) {
      const device = s.tags?.device;
      const entry = device ? out.get(device) : undefined;
      if (entry && s.values[0]) entry.ts = Number(s.values[0][0]);
    }
    return out;
  }

  async series(q: SeriesQuery): Promise<SeriesBucket[]> {
    const f = quoteIdent(q.metric);
    const from = `FROM ${quoteIdent(q.measurement)} WHERE "device" = ${quoteString(q.device)} AND time >= ${Math.floor(q.from)}ms AND time < ${Math.floor(q.to)}ms`;
    const group = `GROUP BY time(${Math.max(1, Math.floor(q.stepMs))}ms) fill(none)`;
    let series: QuerySeries[];
    try {
      [series = []] = await this.http.query(`SELECT mean(${f}), min(${f}), max(${f}) ${from} ${group}`);
    } catch (err) {
      // InfluxQL has no mean of a boolean ("unsupported mean iterator type:
      // *query.booleanInterruptIterator"); it is the share of true readings, from two counts.
      if (err instanceof StoreWriteError && /boolean/i.test(err.message)) return this.booleanSeries(f, from, group);
      if (err instanceof StoreWriteError && /string/i.test(err.message)) {
        throw new StoreWriteError(`${q.metric} of ${q.measurement} is a string field: it has no numeric series`, false);
      }
      throw err;
    }
    const s = series[0];
    if (!s) return [];
    return s.values.map((v) => ({ t: Number(v[0]), mean: Number(v[1]), min: Number(v[2]), max: Number(v[3]) }));
  }

  /** A boolean field as 0/1: mean = share of true readings, min 0 when any was false, max 1 when any was true. */
  private async booleanSeries(f: string, from: string, group: string): Promise<SeriesBucket[]> {
    const [all = [], trues = []] = await this.http.query(`SELECT count(${f}) ${from} ${group}; SELECT count(${f}) ${from} AND ${f} = true ${group}`);
    const trueCounts = new Map((trues[0]?.values ?? []).map((v) => [Number(v[0]), Number(v[1])]));
    return (all[0]?.values ?? []).map((v) => {
      const t = Number(v[0]);
      const n = Number(v[1]);
      const yes = trueCounts.get(t) ?? 0;
      return { t, mean: yes / n, min: yes === n ? 1 : 0, max: yes > 0 ? 1 : 0 };
    });
  }

  async count(measurement: string, field: string, opts: { device?: string; from?: number; to?: number } = {}): Promise<number> {
    const where: string[] = [];
    if (opts.device) where.push(`"device" = ${quoteString(opts.device)}`);
    if (opts.from !== undefined) where.push(`time >= ${Math.floor(opts.from)}ms`);
    if (opts.to !== undefined) where.push(`time < ${Math.floor(opts.to)}ms`);
    const [series = []] = await this.http.query(
      `SELECT count(${quoteIdent(field)}) FROM ${quoteIdent(measurement)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`,
    );
    const v = series[0]?.values[0]?.[1];
    return typeof v === 'number' ? v : 0;
  }

  async aggregate(q: AggregateQuery): Promise<AggregateRow[]> {
    if ((q.devices && q.devices.length === 0) || q.fns.length === 0) return [];
    const f = quoteIdent(q.field);
    const select = q.fns.map((fn) => `${fn}(${f}) AS ${quoteIdent(fn)}`).join(', ');
    const where = [`time >= ${Math.floor(q.from)}ms`, `time < ${Math.floor(q.to)}ms`];
    if (q.devices) where.push(`(${q.devices.map((d) => `"device" = ${quoteString(d)}`).join(' OR ')})`);
    for (const [tag, v] of Object.entries(q.tags ?? {})) where.push(`${quoteIdent(tag)} = ${quoteString(v)}`);
    for (const c of q.where ?? []) where.push(condition(c));
    const groupBy = q.groupBy ?? [];
    const group = groupBy.map(quoteIdent);
    if (q.stepMs) group.push(`time(${Math.max(1, Math.floor(q.stepMs))}ms, ${Math.floor(q.offsetMs ?? 0)}ms)`);
    const text = `SELECT ${select} FROM ${quoteIdent(q.measurement)} WHERE ${where.join(' AND ')}${group.length ? ` GROUP BY ${group.join(', ')}` : ''}${q.stepMs ? ' fill(none)' : ''}`;
    // A long device list would make a long URL: such a query goes in a POST body.
    const [series = []] = await this.http.query(text, text.length > 2000 ? { method: 'POST' } : {});
    const rows: AggregateRow[] = [];
    for (const s of series) {
      const tags = Object.fromEntries(groupBy.map((t) => [t, s.tags?.[t] ?? '']));
      for (const v of s.values) {
        const values: AggregateRow['values'] = {};
        s.columns.forEach((c, i) => {
          const x = v[i];
          if (c === 'time' || x === null || x === undefined) return;
          if (typeof x === 'string') throw new StoreWriteError(`${c} of ${q.field} of ${q.measurement}: a string field has no numeric aggregate`, false);
          values[c as keyof AggregateRow['values']] = typeof x === 'boolean' ? (x ? 1 : 0) : Number(x);
        });
        // A count of nothing is 0 in InfluxDB's answer; a group without points is left out.
        if (Object.keys(values).length === 0 || values.count === 0) continue;
        rows.push({ group: tags, t: q.stepMs ? Number(v[0]) : 0, values });
      }
    }
    return rows.sort(compareRows(groupBy));
  }

  ping(): Promise<boolean> {
    return this.http.ping();
  }

  async close(): Promise<void> {
    this.http.close();
  }
}

function condition(c: FieldCondition): string {
  const v = typeof c.value === 'boolean' ? String(c.value) : Number.isInteger(c.value) ? String(c.value) : c.value.toFixed(12).replace(/0+$/, '');
  return `${quoteIdent(c.field)} ${c.op} ${v}`;
}
