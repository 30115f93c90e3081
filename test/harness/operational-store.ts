/**
 * What the operational store's tests share (storage/operational/contract.test.ts and
 * migrations.test.ts): an empty store of either backend, removed after the test, a sample alert
 * and its history, and the tables, columns and indexes of a store for comparing two. Here rather
 * than in storage/: it uses the alerts part and app.ts (test/layout.test.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openOperationalStore, type OpDb, type Schema } from '../../storage/index.ts';
import { OPERATIONAL_SCHEMAS } from '../../app.ts';
import { AlertStore, type Alert, type HistoryRow } from '../../alerts/index.ts';
import type { Channel } from '../../config/index.ts';
import { freshDatabase } from '../../storage/operational/testing/postgres.ts';

export type Backend = 'sqlite' | 'postgres';

/** What to undo after the test, last first: each test file runs `afterEach(runCleanups)`. */
export const cleanups: (() => Promise<void> | void)[] = [];
export async function runCleanups(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) await fn();
}

/** Every part's newest version, as this service knows them. */
export const NEWEST = Object.fromEntries(OPERATIONAL_SCHEMAS.map((s) => [s.part, s.migrations.length]));

/** An empty database of the backend (a file not yet made, or a fresh PostgreSQL database), removed after the test. */
export async function emptyTarget(backend: Backend): Promise<string> {
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'estate-ops-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return join(dir, 'operational.db');
  }
  const db = await freshDatabase();
  cleanups.push(() => db.drop());
  return db.url;
}

/** The store at `target` with `schemas` brought up to date; closed after the test. */
export async function openAt(target: string, schemas: readonly Schema[] = OPERATIONAL_SCHEMAS): Promise<OpDb> {
  const db = await openOperationalStore(target, schemas);
  cleanups.push(() => db.close());
  return db;
}

export interface Opened {
  db: OpDb;
  target: string;
  reopen(schemas?: readonly Schema[]): Promise<OpDb>;
}

/** A store with every part's tables on an empty database of the backend. */
export async function open(backend: Backend): Promise<Opened> {
  const target = await emptyTarget(backend);
  return { db: await openAt(target), target, reopen: (schemas) => openAt(target, schemas) };
}

export const T0 = Date.parse('2026-11-25T08:00:00Z');

export function alert(over: Partial<Alert> = {}): Alert {
  return {
    id: 'A1',
    key: 'jinfo-garden/HY-03/pressure_low',
    site: 'jinfo-garden',
    siteName: '金佛花园',
    building: '3栋',
    device: 'HY-03',
    kind: 'hydrant',
    rule: 'pressure_low',
    metric: 'pressure_mpa',
    severity: 'warning',
    state: 'firing',
    value: 0.08,
    threshold: 0.1,
    unit: 'MPa',
    startsAt: T0,
    firedAt: T0 + 60_000,
    endsAt: null,
    ackDeadline: null,
    ackedAt: null,
    ackedBy: null,
    ackNote: null,
    escalatedAt: null,
    departments: ['fire-rescue', 'property'],
    notified: ['fire-rescue', 'property'],
    announcedAt: T0 + 60_000,
    summary: { 'zh-CN': '压力低', en: 'pressure low' },
    mutedBy: null,
    flapping: false,
    source: 'GB 50974',
    housekeeping: false,
    offline: false,
    monitoringLostAt: null,
    ...over,
  };
}

/** A pending alert: not fired, nobody told. */
export const pending = (over: Partial<Alert> = {}) => alert({ state: 'pending', firedAt: null, announcedAt: null, notified: [], ...over });

/** One history row of `a`, at its severity. */
export function step(a: Alert, at: number, transition: string, more: { actor?: string; detail?: string } = {}): HistoryRow {
  return { alertId: a.id, at, transition, severity: a.severity, actor: more.actor ?? null, detail: more.detail ?? null };
}

/** Saves the alert with its history rows in a transaction of their own, as the committer does. */
export function save(db: OpDb, a: Alert, ...history: [at: number, transition: string, more?: { actor?: string; detail?: string }][]): Promise<void> {
  const alerts = new AlertStore(db);
  return db.transaction((tx) => alerts.save(tx, a, history.map(([at, t, more]) => step(a, at, t, more))));
}

export const hook: Channel = { type: 'webhook', url: 'http://127.0.0.1:9/hook' } as Channel;

/** The tables, columns and indexes of a store, comparable across two stores of one backend. */
export async function schemaOf(db: OpDb): Promise<string[]> {
  // Comments and layout aside: the migrations runner strips comments, the released one did not.
  const canon = (sql: string | null) =>
    (sql ?? '')
      .replace(/--[^\n]*/g, '')
      .replace(/\s+/g, ' ')
      .replace(/\s*([(),])\s*/g, '$1')
      .trim();
  if (db.dialect === 'sqlite') {
    const r = await db.query<{ type: string; name: string; sql: string | null }>(
      `SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name`,
    );
    return r.rows.map((x) => `${x.type} ${x.name}: ${canon(x.sql)}`);
  }
  const columns = await db.query<{ t: string; c: string; type: string; nullable: string; def: string | null }>(
    `SELECT table_name AS t, column_name AS c, data_type AS type, is_nullable AS nullable, column_default AS def
     FROM information_schema.columns WHERE table_schema = current_schema() AND table_name <> 'schema_version' ORDER BY table_name, ordinal_position`,
  );
  const indexes = await db.query<{ name: string; def: string }>(
    `SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE schemaname = current_schema() AND tablename <> 'schema_version' ORDER BY indexname`,
  );
  return [...columns.rows.map((x) => `column ${x.t}.${x.c} ${x.type} ${x.nullable} ${x.def ?? ''}`), ...indexes.rows.map((x) => `index ${x.name}: ${x.def}`)];
}

/** SQL literal of a value, for rows written as the released code wrote them. */
