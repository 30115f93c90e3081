/**
 * `OpDb` on SQLite: better-sqlite3 in WAL mode with `synchronous = FULL`, so that a commit
 * (an alert's change with its deliveries, docs/alerts.md) is on disk before its promise
 * resolves. better-sqlite3 runs each statement at once; the promises only give both backends
 * one shape. One connection: while a transaction is open (its function may await), statements
 * from outside it wait in a queue and run after it, so nothing slips into another's transaction.
 */
import Database from 'better-sqlite3';
import type { OpDb, Queryable, QueryResult } from './db.ts';

type Statement = Database.Statement<unknown[]>;

/** Statement texts kept prepared; past this the cache starts again (texts built per call, such as IN lists, vary). */
const MAX_STATEMENTS = 500;

function bind(params: readonly unknown[]): unknown[] {
  const out = new Array<unknown>(params.length);
  for (let i = 0; i < params.length; i++) {
    const v = params[i];
    out[i] = v === undefined ? null : typeof v === 'boolean' ? (v ? 1 : 0) : v;
  }
  return out;
}

export class SqliteDb implements OpDb {
  readonly dialect = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Statement>();
  /** the end of the last queued job: transactions and the statements that waited for one */
  private tail: Promise<unknown> = Promise.resolve();
  /** jobs queued or running; 0 means a statement may run at once */
  private busy = 0;
  private closing = false;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
  }

  get open(): boolean {
    return !this.closing && this.db.open;
  }

  private statement(sql: string): Statement {
    let s = this.statements.get(sql);
    if (!s) {
      if (this.statements.size >= MAX_STATEMENTS) this.statements.clear();
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /** Runs one statement now (synchronously), as a result. */
  private run<T>(sql: string, params: readonly unknown[]): QueryResult<T> {
    const s = this.statement(sql);
    if (s.reader) return { rows: s.all(...bind(params)) as T[], changes: 0 };
    return { rows: [], changes: s.run(...bind(params)).changes };
  }

  private enqueue<T>(job: () => T | Promise<T>): Promise<T> {
    this.busy++;
    const p = this.tail.then(job, job) as Promise<T>;
    this.tail = p.then(
      () => this.busy--,
      () => this.busy--,
    );
    return p;
  }

  query<T = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<T>> {
    if (this.busy > 0) return this.enqueue(() => this.run<T>(sql, params));
    try {
      return Promise.resolve(this.run<T>(sql, params));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.enqueue(async () => {
      let live = true;
      const tx: Queryable = {
        query: <R>(sql: string, params: readonly unknown[] = []) => {
          if (!live) return Promise.reject(new Error('operational store: a statement after its transaction ended'));
          try {
            return Promise.resolve(this.run<R>(sql, params));
          } catch (e) {
            return Promise.reject(e);
          }
        },
      };
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(tx);
        live = false;
        this.db.exec('COMMIT');
        return result;
      } catch (e) {
        live = false;
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw e;
      }
    });
  }

  exec(sql: string): Promise<void> {
    return this.enqueue(() => {
      this.db.exec(sql);
    });
  }

  /** SQLite's own pragmas, for the migrations' version of files made before schema_parts. */
  pragma(source: string): unknown {
    return this.db.pragma(source, { simple: true });
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.tail.catch(() => undefined);
    this.statements.clear();
    if (this.db.open) this.db.close();
  }
}
