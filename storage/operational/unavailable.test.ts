/**
 * Which operational-store errors mean "not now" (503, retry) rather than a fault (500); and
 * what PostgreSQL's pool does when the server goes away: a lost connection is replaced at the
 * next call with the data intact, calls to a server that cannot be reached fail at once with
 * an error `isStoreUnavailable` recognises, and succeed again once it is back, without a
 * restart. The server is taken away through a relay (testing/postgres.ts), never for real.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isStoreUnavailable, PostgresError, type OpDb } from './db.ts';
import { PostgresDb } from './postgres.ts';
import { SqliteDb } from './sqlite.ts';
import { openOperationalStore } from '../operational.ts';
import { sleep, waitFor } from '../../test/harness/ports.ts';
import { adminQuery, freshDatabase, PgRelay } from './testing/postgres.ts';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** The error a call ends with (the test fails if it succeeds). */
async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('the call succeeded');
}

describe('isStoreUnavailable', () => {
  it.each([
    ['PostgreSQL gone, no SQLSTATE (connection closed, no answer)', new PostgresError('operational store: Connection terminated unexpectedly'), true],
    ['PostgreSQL connection exception 08006', new PostgresError('connection failure', '08006'), true],
    ['PostgreSQL shutting down 57P01', new PostgresError('terminating connection due to administrator command', '57P01'), true],
    ['PostgreSQL too many connections 53300', new PostgresError('too many clients', '53300'), true],
    ['PostgreSQL refused at the socket', new PostgresError('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'), true],
    ['PostgreSQL unique violation 23505: a fault, not an outage', new PostgresError('duplicate key', '23505'), false],
    ['PostgreSQL syntax error 42601', new PostgresError('syntax error', '42601'), false],
    ['SQLite busy', withCode('SQLITE_BUSY'), true],
    ['SQLite disk full', withCode('SQLITE_FULL'), true],
    ['SQLite I/O error', withCode('SQLITE_IOERR_WRITE'), true],
    ['SQLite constraint', withCode('SQLITE_CONSTRAINT_PRIMARYKEY'), false],
    ['better-sqlite3 on a closed database', new TypeError('The database connection is not open'), true],
    ['any other TypeError', new TypeError('x is not a function'), false],
    ['not an Error', 'ECONNREFUSED', false],
  ])('%s', (_what, err, expected) => {
    expect(isStoreUnavailable(err)).toBe(expected);
  });

  it('recognises what the backends themselves throw: a closed store, a server that refuses, a wrong statement', { timeout: 30_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'estate-unavailable-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const lite = new SqliteDb(join(dir, 'operational.db'));
    await lite.exec('CREATE TABLE t (n INTEGER PRIMARY KEY)');
    await lite.query('INSERT INTO t (n) VALUES (1)');
    const duplicate = await failure(lite.query('INSERT INTO t (n) VALUES (1)'));
    expect(isStoreUnavailable(duplicate)).toBe(false);
    expect(isStoreUnavailable(await failure(lite.query('SELECT nope FROM t')))).toBe(false);
    await lite.close();
    expect(isStoreUnavailable(await failure(lite.query('SELECT n FROM t')))).toBe(true);
    expect(isStoreUnavailable(await failure(lite.transaction((tx) => tx.query('SELECT n FROM t'))))).toBe(true);

    const refused = new PostgresDb('postgres://postgres@127.0.0.1:1/estate', { connectTimeoutMs: 2_000 });
    cleanups.push(() => refused.close());
    const e = await failure(refused.query('SELECT 1'));
    expect(e).toBeInstanceOf(PostgresError);
    expect(e.message).toMatch(/ECONNREFUSED/);
    expect(isStoreUnavailable(e)).toBe(true);
    expect(isStoreUnavailable(await failure(refused.transaction((tx) => tx.query('SELECT 1'))))).toBe(true);
    await refused.close();
    expect(isStoreUnavailable(await failure(refused.query('SELECT 1')))).toBe(true);

    const db = await freshDatabase();
    cleanups.push(() => db.drop());
    const pg = new PostgresDb(db.url);
    cleanups.push(() => pg.close());
    await pg.exec('CREATE TABLE t (n BIGINT PRIMARY KEY)');
    await pg.query('INSERT INTO t (n) VALUES (?)', [1]);
    expect(isStoreUnavailable(await failure(pg.query('INSERT INTO t (n) VALUES (?)', [1])))).toBe(false);
    expect(isStoreUnavailable(await failure(pg.query('SELECT nope FROM t')))).toBe(false);
  });
});

/** A PostgreSQL store on a fresh database reached through a relay, with one table holding one row. */
async function behindRelay(connectTimeoutMs = 2_000): Promise<{ relay: PgRelay; db: OpDb; name: string }> {
  const fresh = await freshDatabase();
  cleanups.push(() => fresh.drop());
  const relay = new PgRelay();
  await relay.up();
  cleanups.push(() => relay.close());
  const db = new PostgresDb(relay.url(fresh.url), { connectTimeoutMs });
  cleanups.push(() => db.close());
  await db.exec('CREATE TABLE t (n BIGINT NOT NULL)');
  await db.query('INSERT INTO t (n) VALUES (?)', [1]);
  return { relay, db, name: fresh.name };
}

const count = async (db: OpDb) => Number((await db.query<{ n: number }>('SELECT count(*) AS n FROM t')).rows[0]!.n);

describe('operational store on postgres, when a connection is lost', () => {
  it('opens a new one at a later call, with the data intact', { timeout: 60_000 }, async () => {
    const fresh = await freshDatabase();
    cleanups.push(() => fresh.drop());
    const db = await openOperationalStore(fresh.url, []);
    cleanups.push(() => db.close());
    await db.exec('CREATE TABLE t (n BIGINT NOT NULL)');
    await db.query('INSERT INTO t (n) VALUES (?)', [1]);
    const killed = await adminQuery('SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [fresh.name]);
    expect(killed.rows.length).toBeGreaterThanOrEqual(1);
    // The call that meets the dead connection may fail (it cannot know whether its statement
    // ran); the pool drops that connection and the next calls run on a new one.
    const n = await waitFor('a call on a new connection', async () => count(db), 20_000);
    expect(n).toBe(1);
    await db.query('INSERT INTO t (n) VALUES (?)', [2]);
    expect(await count(db)).toBe(2);
  });

  it('fails the transaction it was in, as unavailable and rolled back, the process unharmed; the next one runs on a new connection', { timeout: 60_000 }, async () => {
    // A connection lost while a transaction holds it must fail that transaction, not the
    // process (an 'error' event nobody listens to is thrown as an uncaught exception).
    const uncaught: string[] = [];
    const onUncaught = (err: unknown) => void uncaught.push(String(err));
    process.on('uncaughtException', onUncaught);
    cleanups.push(() => void process.off('uncaughtException', onUncaught));
    const fresh = await freshDatabase();
    cleanups.push(() => fresh.drop());
    const db = await openOperationalStore(fresh.url, []);
    cleanups.push(() => db.close());
    await db.exec('CREATE TABLE t (n BIGINT NOT NULL)');
    const e = await failure(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO t (n) VALUES (?)', [1]);
        const pid = (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
        await adminQuery('SELECT pg_terminate_backend($1)', [pid]);
        await tx.query('INSERT INTO t (n) VALUES (?)', [2]);
      }),
    );
    expect(isStoreUnavailable(e)).toBe(true);
    await sleep(300);
    expect(uncaught).toEqual([]);
    expect(await count(db)).toBe(0);
    await db.transaction((tx) => tx.query('INSERT INTO t (n) VALUES (?)', [3]));
    expect(await count(db)).toBe(1);
  });
});

describe('operational store on postgres, when the server is unavailable', () => {
  it('fails each call at once with an error isStoreUnavailable recognises, and works again once the server is back, without a restart', { timeout: 60_000 }, async () => {
    const { relay, db } = await behindRelay();
    await relay.down();
    // every kind of call fails, and none waits long for it
    for (const call of [() => db.query('SELECT count(*) AS n FROM t'), () => db.transaction((tx) => tx.query('INSERT INTO t (n) VALUES (?)', [2])), () => db.exec('SELECT 1')]) {
      const t0 = Date.now();
      const e = await failure(call());
      expect(e).toBeInstanceOf(PostgresError);
      expect(isStoreUnavailable(e), e.message).toBe(true);
      expect(Date.now() - t0).toBeLessThan(5_000);
    }
    expect(db.open).toBe(true);
    await relay.up();
    const n = await waitFor('the store back', async () => count(db), 20_000);
    expect(n).toBe(1);
    await db.transaction((tx) => tx.query('INSERT INTO t (n) VALUES (?)', [2]));
    expect(await count(db)).toBe(2);
  });

  it('fails a call to a server that accepts and never answers once the connect timeout passed, as unavailable', { timeout: 60_000 }, async () => {
    const { relay, db } = await behindRelay(1_000);
    relay.stall();
    const t0 = Date.now();
    // the first call may meet the connection the relay cut; the next ones wait for a new one
    const e = await failure(count(db));
    expect(isStoreUnavailable(e), e.message).toBe(true);
    const slow = await failure(count(db));
    expect(slow.message).toMatch(/did not answer in time/);
    expect(isStoreUnavailable(slow)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(10_000);
    await relay.up();
    expect(await waitFor('the store back', async () => count(db), 20_000)).toBe(1);
  });
});
