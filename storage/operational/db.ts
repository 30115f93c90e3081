/**
 * What the operational store's users may call: the synchronous subset of better-sqlite3's
 * API that alerts, the outbox, maintenance and the reports use. Two backends give it:
 * better-sqlite3 itself (`openSqlite`, no wrapper, no cost) and PostgreSQL through a
 * worker thread that the caller waits on (`PostgresDb`). Synchronous, because every user
 * of the store was written so (an alert is saved before anyone is told, in one call), and
 * an async rewrite of all of them is a larger change than one backend.
 *
 * SQL written to it must be accepted by both: `?` and `@name` placeholders, `ON CONFLICT`
 * instead of `INSERT OR IGNORE`, camelCase aliases in double quotes, no HAVING on aliases.
 * `rowid` works on both: SQLite's own, a BIGSERIAL column on PostgreSQL (see sql.ts).
 */

export interface RunResult {
  /** rows inserted, updated or deleted */
  changes: number;
}

export interface OpStatement {
  run(...params: unknown[]): RunResult;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

export interface OpDb {
  prepare(sql: string): OpStatement;
  /** Wraps `fn` in a transaction (a savepoint when nested); call the result to run it. */
  transaction<T>(fn: () => T): () => T;
  exec(sql: string): unknown;
  /**
   * SQLite's pragmas. On PostgreSQL only `synchronous` is answered: 2 (FULL), because every
   * commit there is flushed to the WAL before it returns (synchronous_commit = on); setting
   * it is ignored. Anything else throws.
   */
  pragma(source: string, options?: { simple?: boolean }): unknown;
  close(): unknown;
  readonly open: boolean;
}

export type Dialect = 'sqlite' | 'postgres';

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

/** PostgreSQL error classes that mean "not reachable now", not "this statement is wrong": connection exceptions, operator intervention, insufficient resources. */
const PG_UNAVAILABLE = /^(08|57P|53)/;
const NET_UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE']);
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN|READONLY)/;

/**
 * Whether an error from the operational store means it cannot be used right now (PostgreSQL
 * away or refusing connections, the disk full, the file locked), so that the HTTP API answers
 * 503 STORE_UNAVAILABLE, which a client may retry, instead of 500.
 */
export function isStoreUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (err.name === 'PostgresError') return code === undefined || (typeof code === 'string' && (PG_UNAVAILABLE.test(code) || NET_UNAVAILABLE.has(code)));
  if (typeof code === 'string' && SQLITE_UNAVAILABLE.test(code)) return true;
  // better-sqlite3 on a database that was closed (the service stopping)
  return err instanceof TypeError && err.message === 'The database connection is not open';
}
