/**
 * `OpDb` on PostgreSQL: a `pg.Pool` used directly from the service's thread, so a slow or
 * stalled server delays only the promises that wait for it; MQTT keepalives, PUBACKs of
 * other messages, the HTTP API and socket.io go on meanwhile (docs/operational-store.md).
 *
 * A transaction takes one client of the pool for its whole length (`BEGIN … COMMIT`, or
 * `ROLLBACK` when its function throws). `int8` and `numeric` come back as JS numbers, as
 * SQLite gives them (times in ms and counts stay far below 2^53). A lost connection is
 * replaced by the pool at the next call; a statement that was on the wire when it died fails
 * with its error (it cannot be known whether it ran).
 */
import pg from 'pg';
import { PostgresError, redactUrl, type OpDb, type Queryable, type QueryResult } from './db.ts';
import { toDollar } from './sql.ts';

export interface PostgresOptions {
  /** connections in the pool [4] */
  max?: number;
  /** how long a call waits for a connection before it fails, ms [5000] */
  connectTimeoutMs?: number;
  /** how long one statement may run before the server cancels it, ms [30000] */
  statementTimeoutMs?: number;
}

const NUMBER_TYPES = new Set([20, 1700]); // int8, numeric

function typeParser(oid: number, format?: string): (v: string) => unknown {
  if (NUMBER_TYPES.has(oid)) return Number;
  return (pg.types.getTypeParser as (o: number, f?: string) => (v: string) => unknown)(oid, format);
}

/**
 * Parameters as pg sends them: undefined as NULL, booleans as 0/1 (the SQLite dialect's), and
 * U+0000 as U+FFFD: PostgreSQL's text cannot hold it (SQLite's can), so a string carrying one
 * would make the statement fail; a lookup by such an id then finds nothing, as on SQLite.
 * What the service stores itself never has one (ingest keeps a payload with a NUL in base64:
 * ingest/decode.ts, payloadText).
 */
function bind(params: readonly unknown[]): unknown[] {
  return params.map((v) => (v === undefined ? null : typeof v === 'boolean' ? (v ? 1 : 0) : typeof v === 'string' && v.includes('\u0000') ? v.replaceAll('\u0000', '\uFFFD') : v));
}

/** A pg error as the store's error: its SQLSTATE or socket code kept, for isStoreUnavailable. */
function wrap(e: unknown, where: string): PostgresError {
  if (e instanceof PostgresError) return e;
  const err = e as Error & { code?: string };
  const message = /timeout exceeded when trying to connect|due to connection timeout|Query read timeout/.test(err.message ?? '') ? `PostgreSQL at ${where} did not answer in time: ${err.message}` : (err.message ?? String(e));
  return new PostgresError(`operational store: ${message}`, typeof err.code === 'string' ? err.code : undefined);
}

export class PostgresDb implements OpDb {
  readonly dialect = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly where: string;
  private readonly texts = new Map<string, string>();
  private isOpen = true;

  constructor(url: string, opts: PostgresOptions = {}) {
    this.where = redactUrl(url);
    this.pool = new pg.Pool({
      connectionString: url,
      application_name: 'estate-sentinel',
      max: opts.max ?? 4,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
      idleTimeoutMillis: 30_000,
      statement_timeout: opts.statementTimeoutMs ?? 30_000,
      // The server cancels a slow statement; a network gone silent is given up on here, a little later.
      query_timeout: (opts.statementTimeoutMs ?? 30_000) + 5000,
      types: { getTypeParser: typeParser } as unknown as pg.CustomTypesConfig,
    });
    // An idle client that loses its connection: the pool drops it and makes a new one when asked.
    this.pool.on('error', () => undefined);
  }

  get open(): boolean {
    return this.isOpen;
  }

  private text(sql: string): string {
    let t = this.texts.get(sql);
    if (t === undefined) {
      if (this.texts.size >= 1000) this.texts.clear();
      t = toDollar(sql);
      this.texts.set(sql, t);
    }
    return t;
  }

  private async run<T>(on: pg.Pool | pg.PoolClient, sql: string, params: readonly unknown[]): Promise<QueryResult<T>> {
    if (!this.isOpen) throw new PostgresError('operational store: the PostgreSQL pool is closed');
    try {
      const r = await on.query({ text: this.text(sql), values: bind(params) });
      return { rows: r.rows as T[], changes: r.rowCount ?? 0 };
    } catch (e) {
      throw wrap(e, this.where);
    }
  }

  query<T = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<T>> {
    return this.run<T>(this.pool, sql, params);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    if (!this.isOpen) throw new PostgresError('operational store: the PostgreSQL pool is closed');
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      throw wrap(e, this.where);
    }
    // While held, the client is the pool's no more: a connection that dies now must not end the process.
    let lost: Error | undefined;
    const onError = (err: Error) => (lost = err);
    client.on('error', onError);
    let live = true;
    const tx: Queryable = {
      query: (sql, params = []) => {
        if (!live) return Promise.reject(new PostgresError('operational store: a statement after its transaction ended'));
        if (lost) return Promise.reject(wrap(lost, this.where));
        return this.run(client, sql, params);
      },
    };
    let broken: Error | undefined;
    try {
      await this.run(client, 'BEGIN', []);
      const result = await fn(tx);
      live = false;
      await this.run(client, 'COMMIT', []);
      return result;
    } catch (e) {
      live = false;
      try {
        if (!lost) await client.query('ROLLBACK');
      } catch (rollback) {
        broken = rollback as Error;
      }
      throw wrap(e, this.where);
    } finally {
      client.off('error', onError);
      // A connection that failed is not handed out again.
      client.release(lost ?? broken);
    }
  }

  async exec(sql: string): Promise<void> {
    await this.run(this.pool, sql, []);
  }

  async close(): Promise<void> {
    if (!this.isOpen) return;
    this.isOpen = false;
    await this.pool.end();
  }
}
