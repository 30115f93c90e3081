/**
 * For tests: a fresh PostgreSQL database per test (es_test_<pid>_<n>), dropped after, and a
 * relay in front of the server that a test can take away and bring back. The server is the
 * one on 127.0.0.1:5432 as user postgres, or PGURL (any database on the server the test may
 * create databases in). Not reachable: the test fails and says so; these tests never skip.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import pg from 'pg';

export const PGURL = process.env.PGURL || 'postgres://postgres@127.0.0.1:5432/postgres';

let n = 0;

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PGURL, connectionTimeoutMillis: 10_000 });
  try {
    await c.connect();
  } catch (e) {
    const where = new URL(PGURL);
    throw new Error(
      `PostgreSQL is not reachable at ${where.host} as ${where.username || 'the current user'} (${(e as Error).message}). ` +
        'These tests need a running PostgreSQL (trust auth on 127.0.0.1:5432, or set PGURL); they do not skip.',
    );
  }
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function freshDatabase(): Promise<TestDatabase> {
  const name = `es_test_${process.pid}_${++n}`;
  await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name}`).then(() => c.query(`CREATE DATABASE ${name}`)));
  const url = new URL(PGURL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

/** Runs one statement as the admin user (PGURL): terminating backends, changing databases. */
export function adminQuery<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
  return admin((c) => c.query<R>(sql, params));
}

/**
 * A TCP relay on 127.0.0.1 in front of the PostgreSQL server, so that a test can take "the
 * server" away and bring it back without touching the real one: `down()` stops listening and
 * cuts every relayed connection (new ones are refused: ECONNREFUSED), `stall()` accepts
 * connections and never answers, `up()` listens (again, on the same port) and relays.
 */
export class PgRelay {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private stalled = false;
  port = 0;

  /** The database of `of` (a postgres:// URL of this server), reached through the relay. */
  url(of: string): string {
    const u = new URL(of);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  async up(): Promise<void> {
    this.stalled = false;
    if (this.server) return;
    const target = new URL(PGURL);
    const server = createServer((client) => {
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => client.destroy());
      if (this.stalled) return; // accepted, never answered
      const upstream = connect(Number(target.port || 5432), target.hostname || '127.0.0.1');
      this.sockets.add(upstream);
      upstream.on('close', () => {
        this.sockets.delete(upstream);
        client.destroy();
      });
      upstream.on('error', () => upstream.destroy());
      client.on('close', () => upstream.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Nothing listens any more, and every relayed connection is cut. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  /** New connections are accepted and never answered (those relayed already are cut). */
  stall(): void {
    this.stalled = true;
    for (const s of this.sockets) s.destroy();
  }

  close(): Promise<void> {
    return this.down();
  }
}
