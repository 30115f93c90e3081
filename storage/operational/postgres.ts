/**
 * `OpDb` on PostgreSQL, synchronous: a worker thread owns the `pg` connection; each call
 * posts its request to it and blocks in Atomics.wait on a shared flag until the answer is
 * on the port (the technique of synckit and make-synchronous). One connection, so a
 * transaction's statements all run on it, and the service's calls run one at a time, as
 * they did on SQLite. Costs a thread hop per statement: docs/operational-store.md.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { OpDb, OpStatement, RunResult } from './db.ts';
import { redactUrl } from './db.ts';
import { toDollar } from './sql.ts';
import type { Answer, Request } from './pg-worker.ts';

export class PostgresError extends Error {
  override readonly name = 'PostgresError';
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/**
 * The worker runs pg-worker.js next to this file when built; from the sources (tsx, vitest)
 * it is TypeScript, which a worker on Node 20 cannot load even with `--import tsx`, so it is
 * loaded through tsx's API. Either way a small eval'd loader imports it and, if that fails,
 * answers with id 0 so the waiting constructor fails with the reason instead of a timeout.
 */
function startWorker(workerData: object, transferList: MessagePort[]): Worker {
  const self = import.meta.url;
  const load = self.endsWith('.ts')
    ? `import(${JSON.stringify(pathToFileURL(createRequire(self).resolve('tsx/esm/api')).href)}).then((m) => m.tsImport(${JSON.stringify(new URL('./pg-worker.ts', self).href)}, ${JSON.stringify(self)}))`
    : `import(${JSON.stringify(new URL('./pg-worker.js', self).href)})`;
  const code = `const { workerData } = require('node:worker_threads');
${load}.catch((e) => {
  workerData.port.postMessage({ id: 0, ok: false, message: 'the PostgreSQL worker did not start: ' + ((e && e.message) || e) });
  const flag = new Int32Array(workerData.flag);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});`;
  return new Worker(code, { eval: true, workerData, transferList });
}

/** How long a statement may take before the caller gives up on the worker. */
const ANSWER_TIMEOUT_MS = 60_000;

export class PostgresDb implements OpDb {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly signal = new Int32Array(new SharedArrayBuffer(4));
  private readonly where: string;
  private depth = 0;
  private seq = 0;
  private isOpen = true;

  /** `reconnectGraceMs`: how long a call waits for a lost connection to be made again (default 5 s) */
  constructor(url: string, opts: { reconnectGraceMs?: number } = {}) {
    this.where = redactUrl(url);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = startWorker({ url, port: port2, flag: this.signal.buffer, graceMs: opts.reconnectGraceMs ?? 5000 }, [port2]);
    this.worker.unref();
    this.port.unref();
    try {
      this.call({ op: 'exec', sql: 'SELECT 1' });
    } catch (e) {
      this.isOpen = false;
      void this.worker.terminate();
      throw new PostgresError(`operational store: cannot use PostgreSQL at ${this.where}: ${(e as Error).message}`, (e as PostgresError).code);
    }
  }

  get open(): boolean {
    return this.isOpen;
  }

  private call(req: Request): Answer & { ok: true } {
    if (!this.isOpen) throw new PostgresError('operational store: the PostgreSQL connection is closed');
    const id = ++this.seq;
    Atomics.store(this.signal, 0, 0);
    this.port.postMessage({ id, req });
    const deadline = Date.now() + ANSWER_TIMEOUT_MS;
    for (;;) {
      const msg = receiveMessageOnPort(this.port);
      if (msg) {
        const a = msg.message as Answer;
        // an answer to a call that had given up waiting is not this call's; id 0: the worker did not start
        if (a.id !== id && a.id !== 0) continue;
        if (!a.ok) throw new PostgresError(a.message, a.code);
        return a;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new PostgresError(`operational store: PostgreSQL at ${this.where} gave no answer in ${ANSWER_TIMEOUT_MS / 1000} s`);
      Atomics.wait(this.signal, 0, 0, Math.min(left, 1000));
      Atomics.store(this.signal, 0, 0);
    }
  }

  prepare(sql: string): OpStatement {
    const p = toDollar(sql);
    const params = (args: unknown[]): unknown[] => {
      if (p.names.length > 0) {
        const o = (args[0] ?? {}) as Record<string, unknown>;
        return p.names.map((n) => o[n] ?? null);
      }
      return args.flat().map((v) => v ?? null);
    };
    return {
      run: (...args: unknown[]): RunResult => ({ changes: this.call({ op: 'query', sql: p.sql, params: params(args), mode: 'run' }).changes ?? 0 }),
      get: (...args: unknown[]): unknown => this.call({ op: 'query', sql: p.sql, params: params(args), mode: 'get' }).rows?.[0],
      all: (...args: unknown[]): unknown[] => this.call({ op: 'query', sql: p.sql, params: params(args), mode: 'all' }).rows ?? [],
    };
  }

  transaction<T>(fn: () => T): () => T {
    return (): T => {
      const savepoint = this.depth > 0 ? `s${this.depth}` : null;
      if (savepoint) this.call({ op: 'exec', sql: `SAVEPOINT ${savepoint}` });
      else this.call({ op: 'tx', sql: 'BEGIN' });
      this.depth++;
      let result: T;
      try {
        result = fn();
      } catch (e) {
        this.depth--;
        try {
          if (savepoint) this.call({ op: 'exec', sql: `ROLLBACK TO SAVEPOINT ${savepoint}` });
          else this.call({ op: 'tx', sql: 'ROLLBACK' });
        } catch {
          // the first error says what went wrong; a failed rollback follows from it
        }
        throw e;
      }
      this.depth--;
      if (savepoint) this.call({ op: 'exec', sql: `RELEASE SAVEPOINT ${savepoint}` });
      else this.call({ op: 'tx', sql: 'COMMIT' });
      return result;
    };
  }

  exec(sql: string): this {
    this.call({ op: 'exec', sql });
    return this;
  }

  pragma(source: string, options?: { simple?: boolean }): unknown {
    const s = source.replace(/\s+/g, ' ').trim().toLowerCase();
    if (s === 'synchronous') return options?.simple ? 2 : [{ synchronous: 2 }];
    if (/^synchronous ?= ?\w+$/.test(s)) return [];
    throw new PostgresError(`operational store: PRAGMA ${source} has no meaning on PostgreSQL`);
  }

  close(): this {
    if (!this.isOpen) return this;
    try {
      this.call({ op: 'end' });
    } finally {
      this.isOpen = false;
      this.port.close();
      void this.worker.terminate();
    }
    return this;
  }
}
