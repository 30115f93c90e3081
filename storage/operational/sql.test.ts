/**
 * The two translations PostgreSQL gets (sql.ts), how a migration is cut into statements
 * (migrate.ts), and the promise that a store made by the released code sees the same tables:
 * the parts' first migrations are, statement for statement, the released global migrations.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { migrationForPostgres, toDollar } from './sql.ts';
import { isPostgresUrl, placeholders, redactUrl } from './db.ts';
import { statements } from './migrate.ts';
import { LEGACY_PARTS } from './legacy.ts';
import { openOperationalStore } from '../operational.ts';
import { readEnv } from '../../config/index.ts';
import { OPERATIONAL_SCHEMAS } from '../../app.ts';
import { LEGACY_MIGRATIONS } from './testing/legacy-store.ts';

describe('placeholders for PostgreSQL', () => {
  it.each([
    ['SELECT a FROM t WHERE x = ? AND y IN (?, ?)', 'SELECT a FROM t WHERE x = $1 AND y IN ($2, $3)'],
    ["SELECT '?', \"a?\" FROM t WHERE x = ? -- why?\n AND y = ?", "SELECT '?', \"a?\" FROM t WHERE x = $1 -- why?\n AND y = $2"],
    ["SELECT 'it''s ?' WHERE a = ?", "SELECT 'it''s ?' WHERE a = $1"],
    // named placeholders are gone: `@` is nothing special any more
    ["SELECT 'me@home', x FROM t WHERE x = ?", "SELECT 'me@home', x FROM t WHERE x = $1"],
    ['SELECT 1', 'SELECT 1'],
  ])('%s', (sql, want) => {
    expect(toDollar(sql)).toBe(want);
  });

  it('lists n placeholders, and an empty list as a NULL that keeps IN () valid', () => {
    expect(placeholders(3)).toBe('?, ?, ?');
    expect(placeholders(1)).toBe('?');
    expect(placeholders(0)).toBe('NULL');
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

  it("leaves no SQLite-only type in any part's migrations", () => {
    for (const m of OPERATIONAL_SCHEMAS.flatMap((s) => s.migrations).map(migrationForPostgres)) {
      expect(m).not.toMatch(/AUTOINCREMENT|\bINTEGER\b/);
    }
  });
});

describe('a migration cut into statements', () => {
  it('drops comments (a ; in one included) and empty statements, and keeps each statement whole', () => {
    expect(
      statements(`
  ALTER TABLE a ADD COLUMN b INTEGER;   -- why; and how
  UPDATE a SET b = 1
    WHERE c LIKE 'x%';
  ;
  `),
    ).toEqual(['ALTER TABLE a ADD COLUMN b INTEGER', "UPDATE a SET b = 1\n    WHERE c LIKE 'x%'"]);
  });
});

describe('the released migrations', () => {
  it('are kept in testing/legacy-store.ts byte for byte as released (global versions 1-3)', () => {
    // the hash storage/migrations.ts had when it was the one list of migrations
    const hash = createHash('sha256').update(LEGACY_MIGRATIONS.slice(0, 3).join('\n--- next ---\n')).digest('hex');
    expect(hash).toBe('cd1650231a635cb3de4f4fa0c4fd035f7253de4381fcecd46f8ca26da4af600a');
  });

  it("are the parts' first migrations, statement for statement, as the legacy versions say", () => {
    const first = Object.fromEntries(OPERATIONAL_SCHEMAS.map((s) => [s.part, s.migrations[0]!]));
    const cut = (sql: string) => statements(sql).map((s) => s.replace(/\s+/g, ' '));
    // global version N meant these parts at version 1: their first migrations together are the released N
    for (const version of [1, 2, 3]) {
      const parts = Object.keys(LEGACY_PARTS(version)).filter((p) => !Object.keys(LEGACY_PARTS(version - 1)).includes(p));
      expect(parts.flatMap((p) => cut(first[p]!)), `global version ${version}: ${parts.join(', ')}`).toEqual(cut(LEGACY_MIGRATIONS[version - 1]!));
    }
    expect(LEGACY_PARTS(0)).toEqual({});
    expect(LEGACY_PARTS(3)).toEqual({ ingest: 1, alerts: 1, delivery: 1, audit: 1, reports: 1 });
  });

  // alerts' migration 2 is not released yet: pin it here when it is
  it("are pinned: a part's released migration is never edited (add the next one)", () => {
    const hashes = Object.fromEntries(OPERATIONAL_SCHEMAS.map((s) => [s.part, createHash('sha256').update(s.migrations[0]!).digest('hex').slice(0, 16)]));
    expect(hashes).toEqual({
      ingest: 'd71c23819bacf086',
      alerts: 'd387adc5d2156983',
      delivery: '9b815e7fd74cc796',
      audit: '7aa4f7ac737a4d98',
      reports: '05c0d63cf9775e78',
    });
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

  it('says which server it could not reach, without the password', { timeout: 30_000 }, async () => {
    await expect(openOperationalStore('postgres://postgres:hunter2@127.0.0.1:1/estate', OPERATIONAL_SCHEMAS)).rejects.toThrow(
      /^operational store: cannot use PostgreSQL at postgres:\/\/postgres:<secret>@127\.0\.0\.1:1\/estate: .*ECONNREFUSED/,
    );
  });
});
