/**
 * For tests: a fresh PostgreSQL database per test (es_test_<pid>_<n>), dropped after. The
 * server is the one on 127.0.0.1:5432 as user postgres, or PGURL (any database on the
 * server the test may create databases in). Not reachable: the test fails and says so;
 * these tests never skip.
 */
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
