/**
 * The operational store's mechanism (docs/operational-store.md): one asynchronous interface
 * on two backends, PostgreSQL through `pg.Pool` (postgres.ts) and SQLite through
 * better-sqlite3 behind the same promises (sqlite.ts). Each part of the service owns its
 * tables, migrations and queries (a `Schema`); storage gives only this.
 *
 * SQL written to it must be accepted by both: `?` placeholders (PostgreSQL gets `$1, $2, …`),
 * `ON CONFLICT` instead of `INSERT OR IGNORE`, camelCase aliases in double quotes, no HAVING
 * on aliases. `rowid` works on both: SQLite's own, a BIGSERIAL column on PostgreSQL (sql.ts).
 */

export type Dialect = 'sqlite' | 'postgres';

export interface QueryResult<T> {
  rows: T[];
  /** rows inserted, updated or deleted */
  changes: number;
}

export interface Queryable {
  /** Runs one statement; booleans are bound as 1/0 and `undefined` as NULL on both backends. */
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>>;
}

export interface OpDb extends Queryable {
  readonly dialect: Dialect;
  /** false once `close()` began */
  readonly open: boolean;
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws.
   * Statements of the transaction go through `tx`; anything else waits until it ends.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Several statements of DDL at once (migrations). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

/** A part's tables: its name and its migrations, applied in order; index + 1 is its version. */
export interface Schema {
  part: string;
  migrations: readonly string[];
}

/** The first row of a result, or undefined. */
export function first<T>(r: QueryResult<T>): T | undefined {
  return r.rows[0];
}

/** `?, ?, ?` for a list of n values (at least one `NULL` so that `IN ()` stays valid SQL). */
export function placeholders(n: number): string {
  return n === 0 ? 'NULL' : Array.from({ length: n }, () => '?').join(', ');
}

/** Whether an OPERATIONAL_DB value names PostgreSQL rather than a SQLite file. */
export function isPostgresUrl(target: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(target);
}

/** A connection URL fit for a log or an error message: the password replaced. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return u.toString();
    u.password = 'x';
    return u.toString().replace(/:x@/, ':<secret>@');
  } catch {
    return '<invalid url>';
  }
}

/** An error of the PostgreSQL backend, with its SQLSTATE (or a socket error code) where there is one. */
export class PostgresError extends Error {
  override readonly name = 'PostgresError';
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** PostgreSQL error classes that mean "not reachable now", not "this statement is wrong": connection exceptions, operator intervention, insufficient resources. */
const PG_UNAVAILABLE = /^(08|57P|53)/;
const NET_UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE']);
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN|READONLY)/;

/**
 * Whether an error from the operational store means it cannot be used right now (PostgreSQL
 * away or refusing connections, the disk full, the file locked, the store closing), so that
 * the HTTP API answers 503 STORE_UNAVAILABLE, which a client may retry, instead of 500.
 */
export function isStoreUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (err.name === 'PostgresError') {
    if (code === undefined) return true;
    if (typeof code !== 'string') return false;
    // 55000 is a class of its own; a database not accepting connections (ALTER DATABASE … ALLOW_CONNECTIONS false) is an outage.
    return PG_UNAVAILABLE.test(code) || NET_UNAVAILABLE.has(code) || (code === '55000' && /not currently accepting connections/.test(err.message));
  }
  if (typeof code === 'string' && SQLITE_UNAVAILABLE.test(code)) return true;
  // better-sqlite3 on a database that was closed (the service stopping)
  return err instanceof TypeError && err.message === 'The database connection is not open';
}
