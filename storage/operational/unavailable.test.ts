/** Which operational-store errors mean "not now" (503, retry) rather than a fault (500). */
import { describe, expect, it } from 'vitest';
import { isStoreUnavailable } from './db.ts';
import { PostgresError } from './postgres.ts';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('isStoreUnavailable', () => {
  it.each([
    ['PostgreSQL gone, no SQLSTATE (connection closed, no answer)', new PostgresError('operational store: the PostgreSQL connection is closed'), true],
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
});
