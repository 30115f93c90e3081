/**
 * For the engine's tests: the alert engine on a real SQLite operational store in a temp dir,
 * with a manual clock, an outbox that remembers what was committed to it, and helpers that
 * feed it readings, events and statuses as ingest would (through `judge`) and let time pass.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry, type Estate } from '../../config/index.ts';
import { Bus, type DeviceEvent, type DeviceStatus, type Reading } from '../../bus.ts';
import { openOperationalStore, type OpDb, type Point, type Queryable } from '../../storage/index.ts';
import { AlertStore, ALERTS_SCHEMA } from '../alert-store.ts';
import { AuditLog, AUDIT_SCHEMA } from '../audit.ts';
import { AlertActions } from '../actions.ts';
import { AlertEngine } from '../engine.ts';
import { DELIVERY_SCHEMA, Outbox, type OutboxItem } from '../delivery/index.ts';
import type { Alert, AlertNotification } from '../types.ts';

/** An outbox that keeps, in order, every delivery whose transaction committed. */
export class RecordingOutbox extends Outbox {
  readonly sent: OutboxItem[] = [];
  private pending: OutboxItem[] = [];

  override async insert(tx: Queryable, items: readonly OutboxItem[], now: number): Promise<string[]> {
    this.pending.push(...items);
    return super.insert(tx, items, now);
  }

  override notify(): void {
    this.sent.push(...this.pending.splice(0));
    super.notify();
  }
}

export interface Harness {
  engine: AlertEngine;
  actions: AlertActions;
  store: AlertStore;
  outbox: RecordingOutbox;
  db: OpDb;
  bus: Bus;
  points: Point[];
  /** the manual clock, ms */
  clock: { now: number };
  reading(device: string, metrics: Reading['metrics'], tsOffsetSec?: number): Promise<void>;
  event(device: string, code: string, active: boolean, detail?: string): Promise<void>;
  status(device: string, online: boolean): Promise<void>;
  /** lets `sec` seconds pass in ticks of `step` seconds */
  advance(sec: number, step?: number): Promise<void>;
  /** `event recipient severity` of what was sent, optionally only for one device */
  told(device?: string): string[];
  /** a new engine on the same store and clock: a restart */
  restart(): Promise<Harness>;
  close(): Promise<void>;
}

export const T0 = 1_800_000_000_000;

const kindOf = (registry: Registry, device: string) => registry.device(device)!.kind;

export async function engineHarness(estate: Estate, opts: { dir?: string; clock?: { now: number }; db?: OpDb; owns?: boolean } = {}): Promise<Harness> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'engine-test-'));
  const clock = opts.clock ?? { now: T0 };
  const db = opts.db ?? (await openOperationalStore(join(dir, 'ops.db'), [ALERTS_SCHEMA, DELIVERY_SCHEMA, AUDIT_SCHEMA]));
  const registry = new Registry(estate);
  const store = new AlertStore(db);
  const outbox = new RecordingOutbox(db);
  const points: Point[] = [];
  const bus = new Bus((_e, err) => {
    throw err;
  });
  const engine = new AlertEngine({
    registry,
    estate,
    bus,
    db,
    store,
    outbox,
    ackUrl: (id, r) => `http://127.0.0.1:8080/ack/${id}.${r}`,
    record: (p) => points.push(...p),
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    now: () => clock.now,
  });
  const tokens = {
    sign: (a: string, r: string) => `${a}.${r}`,
    verify: (t: string) => {
      const [alertId, recipient] = t.split('.');
      return alertId && recipient ? ({ ok: true, alertId, recipient } as const) : ({ ok: false, code: 'malformed' } as const);
    },
  };
  const actions = new AlertActions(engine, store, new AuditLog(db), tokens, () => clock.now);
  await engine.start();
  const site = (device: string) => registry.device(device)!.site;
  const judge = async (t: { readings?: Reading[]; events?: DeviceEvent[]; statuses?: DeviceStatus[] }) => {
    await engine.judge({ readings: t.readings ?? [], events: t.events ?? [], statuses: t.statuses ?? [] });
  };
  const h: Harness = {
    engine,
    actions,
    store,
    outbox,
    db,
    bus,
    points,
    clock,
    reading: (device, metrics, tsOffsetSec = 0) =>
      judge({ readings: [{ site: site(device), kind: kindOf(registry, device), device, building: '', ts: clock.now + tsOffsetSec * 1000, metrics }] }),
    event: (device, code, active, detail = '') => judge({ events: [{ site: site(device), kind: kindOf(registry, device), device, building: '', ts: clock.now, code, active, detail }] }),
    status: (device, online) => judge({ statuses: [{ site: site(device), kind: kindOf(registry, device), device, ts: clock.now, online }] }),
    async advance(sec, step = 1) {
      for (let t = 0; t < sec; t += step) {
        clock.now += Math.min(step, sec - t) * 1000;
        await engine.tick();
      }
    },
    told(device) {
      return outbox.sent
        .filter((s) => device === undefined || (s.body.event !== 'alert.group' && s.body.event !== 'report.ready' && (s.body as AlertNotification).alert.device === device))
        .map((s) => {
          const b = s.body;
          if (b.event === 'alert.group') return `alert.group ${s.recipient} ${b.group.event} ${b.group.count}`;
          if (b.event === 'report.ready') return `report.ready ${s.recipient}`;
          return `${s.event} ${s.recipient} ${b.alert.severity}`;
        });
    },
    async restart() {
      await engine.stop();
      return engineHarness(estate, { dir, clock, db, owns: true });
    },
    async close() {
      await engine.stop();
      if (!opts.db || opts.owns) {
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  return h;
}

/** The body's alert of a delivery (an alert notification). */
export function alertOf(item: OutboxItem): AlertNotification['alert'] {
  if (item.body.event === 'alert.group' || item.body.event === 'report.ready') throw new Error(`${item.body.event} has no single alert`);
  return item.body.alert;
}

export type { Alert };
