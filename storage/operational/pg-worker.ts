/**
 * The worker thread behind `PostgresDb`: one `pg` connection, one request at a time. Each
 * answer is posted on the port, then the shared flag is raised and notified, so the caller,
 * blocked in Atomics.wait, wakes and takes it with receiveMessageOnPort.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import pg from 'pg';

export type Request =
  | { op: 'query'; sql: string; params: unknown[]; mode: 'run' | 'get' | 'all' }
  | { op: 'exec'; sql: string }
  | { op: 'tx'; sql: 'BEGIN' | 'COMMIT' | 'ROLLBACK' }
  | { op: 'end' };

export type Answer = { id: number } & (
  | { ok: true; rows?: Record<string, unknown>[]; changes?: number }
  | { ok: false; message: string; code?: string }
);

type Result = Answer extends infer A ? (A extends unknown ? Omit<A, 'id'> : never) : never;

interface Data {
  url: string;
  port: MessagePort;
  flag: SharedArrayBuffer;
}

// bigint (count(*), the BIGINT columns) and numeric (sum) as JS numbers, like SQLite gives them:
// times in ms and counts stay far below 2^53.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 || oid === 1700) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

const { url, port, flag } = workerData as Data;
const signal = new Int32Array(flag);
/** Named prepared statements per connection, up to a bound (IN lists make many shapes). */
const MAX_NAMED = 500;
let client: pg.Client | null = null;
let names = new Map<string, string>();
/** a transaction is open on `client`; if the connection is lost meanwhile, nothing may run until it ends */
let inTx = false;

async function connection(): Promise<pg.Client> {
  if (client) return client;
  const c = new pg.Client({ connectionString: url, types });
  // A connection lost between requests is noticed here and replaced at the next one.
  c.on('error', () => {
    if (client === c) client = null;
  });
  await c.connect();
  client = c;
  names = new Map();
  return c;
}

async function answer(req: Request): Promise<Result> {
  if (req.op === 'end') {
    const c = client;
    client = null;
    if (c) await c.end();
    return { ok: true };
  }
  if (req.op === 'tx') {
    if (req.sql === 'BEGIN') {
      const c = await connection();
      await c.query('BEGIN');
      inTx = true;
      return { ok: true };
    }
    const wasIn = inTx;
    inTx = false;
    if (!client) {
      if (req.sql === 'ROLLBACK') return { ok: true };
      throw new Error('connection to PostgreSQL lost inside a transaction: it was rolled back');
    }
    if (!wasIn) throw new Error(`${req.sql} without BEGIN`);
    await client.query(req.sql);
    return { ok: true };
  }
  if (inTx && !client) throw new Error('connection to PostgreSQL lost inside a transaction: it was rolled back');
  const c = await connection();
  if (req.op === 'exec') {
    await c.query(req.sql);
    return { ok: true };
  }
  let name = names.get(req.sql);
  if (name === undefined && names.size < MAX_NAMED) {
    name = `op${names.size + 1}`;
    names.set(req.sql, name);
  }
  const r = await c.query({ text: req.sql, values: req.params, ...(name ? { name } : {}) });
  if (req.mode === 'run') return { ok: true, changes: r.rowCount ?? 0 };
  return { ok: true, rows: req.mode === 'get' ? r.rows.slice(0, 1) : r.rows };
}

port.on('message', ({ id, req }: { id: number; req: Request }) => {
  answer(req)
    .catch((e: unknown): Result => {
      const err = e as { message?: string; code?: string };
      return { ok: false, message: err.message ?? String(e), ...(err.code ? { code: err.code } : {}) };
    })
    .then((a) => {
      port.postMessage({ id, ...a });
      Atomics.store(signal, 0, 1);
      Atomics.notify(signal, 0);
    });
});
