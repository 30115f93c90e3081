/**
 * The two translations PostgreSQL gets (sql.ts), and the promise that SQLite files see the
 * released migrations byte for byte.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../migrations.ts';
import { migrationForPostgres, toDollar } from './sql.ts';
import { isPostgresUrl, redactUrl } from './db.ts';
import { OperationalStore } from '../operational.ts';
import { readEnv } from '../../config/index.ts';

describe('placeholders for PostgreSQL', () => {
  it.each([
    ['SELECT a FROM t WHERE x = ? AND y IN (?, ?)', 'SELECT a FROM t WHERE x = $1 AND y IN ($2, $3)', [], 3],
    ["SELECT '?', \"a?\" FROM t WHERE x = ? -- why?\n AND y = ?", "SELECT '?', \"a?\" FROM t WHERE x = $1 -- why?\n AND y = $2", [], 2],
    ["SELECT 'it''s ?' WHERE a = ?", "SELECT 'it''s ?' WHERE a = $1", [], 1],
    ['VALUES (@id, @lastSeen, @lastSeen, @count)', 'VALUES ($1, $2, $2, $3)', ['id', 'lastSeen', 'count'], 0],
    ["SELECT 'me@home' WHERE x = @x", "SELECT 'me@home' WHERE x = $1", ['x'], 0],
    ['SELECT 1', 'SELECT 1', [], 0],
  ])('%s', (sql, want, names, positional) => {
    expect(toDollar(sql)).toEqual({ sql: want, names, positional });
  });

  it('refuses ? and @name in one statement', () => {
    expect(() => toDollar('SELECT ? WHERE a = @a')).toThrow(/mixed/);
  });
});

describe('migrations on PostgreSQL', () => {
  it('turns the AUTOINCREMENT id into BIGSERIAL, INTEGER into BIGINT, and gives other tables a rowid', () => {
    const sql = migrationForPostgres(`
  CREATE TABLE a (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL
  );
  CREATE TABLE b (
    id TEXT PRIMARY KEY,
    n INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX b_n ON b (n);
  `);
    expect(sql).toBe(`
  CREATE TABLE a (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL
  );
  CREATE TABLE b (
    rowid BIGSERIAL NOT NULL,
    id TEXT PRIMARY KEY,
    n BIGINT NOT NULL DEFAULT 0
  );
  CREATE INDEX b_n ON b (n);
  `);
  });

  it('leaves no SQLite-only type in the released migrations', () => {
    for (const m of MIGRATIONS.map(migrationForPostgres)) {
      expect(m).not.toMatch(/AUTOINCREMENT|\bINTEGER\b/);
    }
  });
});

describe('SQLite', () => {
  it('runs the released migrations 1-3 exactly as released (never edit one: add the next)', () => {
    const hash = createHash('sha256').update(MIGRATIONS.slice(0, 3).join('\n--- next ---\n')).digest('hex');
    expect(hash).toBe('cd1650231a635cb3de4f4fa0c4fd035f7253de4381fcecd46f8ca26da4af600a');
  });
});

describe('OPERATIONAL_DB', () => {
  it.each([
    ['postgres://u@h/db', true],
    ['postgresql://u:p@h:5432/db', true],
    ['/data/operational.db', false],
    ['./postgres.db', false],
  ])('%s is PostgreSQL: %s', (v, want) => expect(isPostgresUrl(v)).toBe(want));

  it('hides the password in messages', () => {
    expect(redactUrl('postgres://u:hunter2@h:5432/db')).toBe('postgres://u:<secret>@h:5432/db');
  });

  it('accepts a postgres:// URL and refuses anything else', () => {
    expect(readEnv({ OPERATIONAL_DB: 'postgres://postgres@127.0.0.1:5432/estate' }).OPERATIONAL_DB).toBe('postgres://postgres@127.0.0.1:5432/estate');
    expect(readEnv({}).OPERATIONAL_DB).toBeUndefined();
    expect(() => readEnv({ OPERATIONAL_DB: 'mysql://h/db' })).toThrow(/OPERATIONAL_DB: must be a postgres:\/\/ URL/);
  });

  it('says which server it could not reach, without the password', { timeout: 30_000 }, () => {
    expect(() => new OperationalStore('postgres://postgres:hunter2@127.0.0.1:1/estate')).toThrow(
      /^operational store: cannot use PostgreSQL at postgres:\/\/postgres:<secret>@127\.0\.0\.1:1\/estate: .*ECONNREFUSED/,
    );
  });
});
