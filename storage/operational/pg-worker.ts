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
  graceMs: number;
}

// bigint (count(*), the BIGINT columns) and numeric (sum) as JS numbers, like SQLite gives them:
// times in ms and counts stay far below 2^53.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 || oid === 1700) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

const { url, port, flag, graceMs } = workerData as Data;
const RETRY_MS = 250;
const BACKGROUND_RETRY_MS = 1000;
const CONNECT_TIMEOUT_MS = 10_000;
const signal = new Int32Array(flag);
/** Named prepared statements per connection, up to a bound (IN lists make many shapes). */
const MAX_NAMED = 500;
let client: pg.Client | null = null;
let names = new Map<string, string>();
/** a transaction is open on `client`; if the connection is lost meanwhile, nothing may run until it ends */
let inTx = false;
/** set when no connection could be made within the grace */
let down: { since: number; message: string; code?: string } | null = null;
let retryTimer: NodeJS.Timeout | null = null;
let ended = false;

/** Errors no retry cures at once: a wrong password, a database that does not exist. */
function permanent(e: unknown): boolean {
  const code = (e as { code?: string }).code ?? '';
  return code.startsWith('28') || code === '3D000';
}

async function open(): Promise<pg.Client> {
  // named in pg_stat_activity, unless the URL names it otherwise (?application_name=)
  const named = new URL(url).searchParams.has('application_name');
  const c = new pg.Client({ connectionString: url, types, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, ...(named ? {} : { application_name: 'estate-sentinel' }) });
  // A connection lost between requests is noticed here and replaced at the next one.
  c.on('error', () => {
    if (client === c) client = null;
  });
  try {
    await c.connect();
  } catch (e) {
    c.end().catch(() => undefined);
    throw e;
  }
  return c;
}

function use(c: pg.Client): pg.Client {
  client = c;
  names = new Map();
  down = null;
  return c;
}

/**
 * The connection, made anew if it was lost: tried for up to `graceMs` (a server restarting),
 * like SQLite's busy_timeout. Past that the server is taken as down: every call fails at once,
 * and a retry every second in the background brings it back.
 */
async function connection(): Promise<pg.Client> {
  if (client) return client;
  if (down) throw Object.assign(new Error(`PostgreSQL unavailable since ${new Date(down.since).toISOString()}: ${down.message}`), down.code ? { code: down.code } : {});
  const deadline = Date.now() + graceMs;
  for (;;) {
    try {
      return use(await open());
    } catch (e) {
      if (permanent(e) || Date.now() + RETRY_MS > deadline) {
        markDown(e);
        throw e;
      }
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }
}

function markDown(e: unknown): void {
  const err = e as { message?: string; code?: string };
  down = { since: Date.now(), message: err.message ?? String(e), ...(err.code ? { code: err.code } : {}) };
  const retry = () => {
    retryTimer = setTimeout(() => {
      if (ended || client) return;
      open().then(
        (c) => {
          if (ended) void c.end();
          else use(c);
        },
        (e2: unknown) => {
          if (down) down.message = (e2 as Error).message ?? String(e2);
          retry();
        },
      );
    }, BACKGROUND_RETRY_MS);
  };
  if (retryTimer) clearTimeout(retryTimer);
  retry();
}

async function answer(req: Request): Promise<Result> {
  if (req.op === 'end') {
    ended = true;
    if (retryTimer) clearTimeout(retryTimer);
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
