/**
 * The alerts part (docs/alerts.md): judges what ingest accepted against each device's rules
 * (`judge`, called with each turn before its messages are acknowledged; the devices' state is
 * in watches.ts), keeps the alert book, and runs what the wall clock decides once a second
 * (`tick`): devices silent, a site's devices dark together, the service's own outages and the
 * series store's caps (system-alerts.ts), escalation, reminders, monitoring lost, groups due,
 * what held an alert back coming to an end. Every change goes through the committer
 * (commit.ts), as a pure step (lifecycle.ts) applied with its announcements (apply.ts), which
 * the notifier (notify/) turns into deliveries in the same transaction.
 */
import type { Estate, Registry } from '../config/index.ts';
import type { OpDb, Point } from '../storage/index.ts';
import type { Bus } from '../bus.ts';
import type { AlertStore } from './alert-store.ts';
import { Applier, type Outcome } from './apply.ts';
import { AlertBook } from './book.ts';
import { Committer } from './commit.ts';
import type { Outbox } from './delivery/index.ts';
import * as life from './lifecycle.ts';
import { Inhibitor } from './notify/inhibit.ts';
import { Notifier } from './notify/notifier.ts';
import { Silences } from './notify/silence.ts';
import { Recipients } from './recipients.ts';
import { SystemAlerts } from './system-alerts.ts';
import type { Alert } from './types.ts';
import { DeviceWatches, type Turn } from './watches.ts';
import type { Work } from './work.ts';

export type { Turn } from './watches.ts';

export interface EngineDeps {
  registry: Registry;
  estate: Estate;
  bus: Bus;
  db: OpDb;
  store: AlertStore;
  outbox: Outbox;
  /** the signed acknowledgement link of (alert, recipient) */
  ackUrl: (alertId: string, recipient: string) => string | null;
  /** writes points to the series store (the `alerts` measurement) through the spool */
  record: (points: Point[]) => void;
  log: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void };
  now?: () => number;
  /** how long the store or broker may be away before a system alert, ms */
  outageGraceMs?: { store: number; broker: number; ops: number };
  /** the spool's size and cap, for `spool_near_full` and `spool_full` (docs/ingest.md) */
  spool?: () => { bytes: number; maxBytes: number };
}

export class AlertEngine {
  readonly book = new AlertBook();
  readonly committer: Committer;
  readonly notifier: Notifier;
  readonly silences: Silences;
  readonly recipients: Recipients;
  private readonly watches: DeviceWatches;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private unsubscribe: (() => void)[] = [];
  private readonly applier: Applier;
  /** the service's own alerts (alerts/system-alerts.ts) */
  readonly system: SystemAlerts;

  constructor(private readonly deps: EngineDeps) {
    this.now = deps.now ?? Date.now;
    this.recipients = new Recipients(deps.estate, deps.registry);
    this.silences = new Silences(deps.store, this.now);
    this.notifier = new Notifier({
      estate: deps.estate,
      registry: deps.registry,
      recipients: this.recipients,
      inhibitor: new Inhibitor(deps.estate.inhibit),
      silences: this.silences,
      ackUrl: deps.ackUrl,
      ruleDepartments: (a) => this.watches.departments(a),
      inspecting: (device) => this.watches.inspecting(device),
    });
    this.committer = new Committer({
      db: deps.db,
      store: deps.store,
      outbox: deps.outbox,
      book: this.book,
      now: this.now,
      log: deps.log,
      committed: (changed) => this.committed(changed),
      storeState: (up, error, downMs) => this.system.onOpsStore(up, error, downMs),
    });
    this.applier = new Applier(this.notifier, deps.estate.alerting);
    this.system = new SystemAlerts({ committer: this.committer, book: this.book, applier: this.applier, now: this.now, ...(deps.outageGraceMs ? { outageGraceMs: deps.outageGraceMs } : {}), ...(deps.spool ? { spool: deps.spool } : {}) });
    this.watches = new DeviceWatches(deps.registry, deps.estate, this.now);
  }

  /**
   * Loads the open alerts and waiting groups, starts each device's rules from its open alerts
   * (so the first reading that clears one resolves it), resolves the open alerts whose device
   * or rule left the estate file, and starts the clock.
   */
  async start(): Promise<void> {
    const start = this.now();
    this.watches.started(start);
    for (const a of await this.deps.store.open()) this.book.set(a);
    for (const e of await this.deps.store.groupEntries()) {
      const list = this.book.groups.get(e.groupKey) ?? [];
      list.push(e);
      this.book.groups.set(e.groupKey, list);
    }
    await this.silences.refresh();
    const orphans: { alert: Alert; reason: string }[] = [];
    for (const a of this.book.all()) {
      if (a.kind === 'system') {
        this.system.restore(a, start);
        continue;
      }
      const reason = this.watches.restore(a);
      if (reason) orphans.push({ alert: a, reason });
    }
    if (orphans.length > 0) {
      this.deps.log.info({ alerts: orphans.map((o) => o.alert.key) }, 'resolving open alerts whose device or rule left the estate file');
      await this.committer.submit(
        (work) => {
          for (const o of orphans) {
            const cur = work.get(o.alert.key);
            if (!cur) continue;
            if (cur.state === 'pending') work.discard(cur);
            else this.applier.apply(work, life.resolve(cur, work.now, undefined, o.reason));
          }
        },
        { retry: true },
      );
    }
    const bus = this.deps.bus;
    this.unsubscribe = [
      bus.on('store', (s) => this.system.onStore(s.up, s.error)),
      bus.on('broker', (s) => this.onBroker(s.up)),
      bus.on('delivery.failed', (d) => this.system.raise('delivery_failed', d.detail, d.key)),
      bus.on('store.tag_limit', (e) => this.system.onTagLimit(e)),
    ];
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const u of this.unsubscribe) u();
    await this.committer.stop();
  }

  /** After a commit: the bus hears of every change, the alerts measurement of those that matter in reports. */
  private committed(changed: readonly { alert: Alert; transition: string }[]): void {
    const points: Point[] = [];
    for (const { alert: a, transition } of changed) {
      this.deps.bus.emit('alert', { alert: a, transition });
      if (transition === 'pending' || transition === 'muted' || transition === 'reminder' || transition === 'discarded' || transition === 'updated') continue;
      points.push({
        measurement: 'alerts',
        tags: { site: a.site || 'estate', device: a.device, kind: a.kind, rule: a.rule, severity: a.severity, department: a.departments.find((d) => d !== 'property' && d !== 'subdistrict') ?? a.departments[0] ?? 'property' },
        fields: { state: a.state, value: a.value ?? 0, alert_id: a.id },
        ts: this.now(),
      });
    }
    if (points.length > 0) this.deps.record(points);
  }

  // ---- what ingest accepted

  /**
   * Judges one turn: returns a promise that resolves once every alert change it causes is
   * committed with its deliveries, or undefined when it causes none (the common case: the
   * turn is acknowledged at once).
   */
  judge(turn: Turn): Promise<void> | undefined {
    const out: Outcome[] = [];
    this.watches.judge(turn, out);
    if (out.length === 0) return undefined;
    return this.committer.submit(
      (w) => {
        for (const o of out) this.applier.outcome(w, o);
      },
      { retry: true },
    );
  }

  // ---- the broker's absence

  /** Back from a broker outage: devices were unreachable, not silent, so each gets a fresh interval, and what was held back as silent meanwhile ends. */
  private onBroker(up: boolean): void {
    this.system.onBroker(up);
    if (!up) return;
    const out: Outcome[] = [];
    this.watches.brokerBack(this.now(), out);
    if (out.length > 0) void this.committer.submit((work) => out.forEach((o) => this.applier.outcome(work, o)), { retry: true }).catch(() => undefined);
  }

  // ---- acknowledgements

  /**
   * An acknowledgement by recipients (department ids, 'property', 'subdistrict', 'admin'): the
   * first acknowledges the alert and stops escalation; each is recorded. Fails with the store's
   * error if the store refuses (the API answers 503).
   */
  acknowledge(alertId: string, recipients: readonly string[], actor: string, via: 'api' | 'link', note: string | null): Promise<'ok' | 'already' | 'resolved'> {
    return this.committer.submit(
      async (w, tx) => {
        const a = w.byId(alertId);
        if (!a || a.state === 'resolved' || a.state === 'pending') return 'resolved' as const;
        const had = await tx.query<{ department: string }>('SELECT department FROM acks WHERE alert_id = ?', [alertId]);
        const done = new Set([...had.rows.map((r) => r.department), ...w.acks.filter((k) => k.alertId === alertId).map((k) => k.department)]);
        const added = [...new Set(recipients)].filter((r) => !done.has(r));
        if (added.length === 0) return 'already' as const;
        for (const r of added) w.ack({ alertId, department: r, at: w.now, actor, via, note });
        this.applier.apply(w, life.acknowledge(a, added, actor, via, note, w.now));
        return 'ok' as const;
      },
      { retry: false },
    );
  }

  // ---- the clock

  private tickErrorLogged = 0;

  /** Runs every second; one tick at a time (a tick waiting for the store is not doubled). */
  tick(): Promise<void> {
    if (this.ticking) return Promise.resolve();
    this.ticking = true;
    return this.tickOnce()
      .catch((err: unknown) => {
        const now = Date.now();
        if (now - this.tickErrorLogged >= 60_000) {
          this.tickErrorLogged = now;
          this.deps.log.error({ err }, 'alert engine tick failed; trying again every second');
        }
      })
      .finally(() => {
        this.ticking = false;
      });
  }

  private async tickOnce(): Promise<void> {
    const now = this.now();
    await this.silences.refresh().catch(() => undefined);
    const out: Outcome[] = [];
    this.system.tick(now);
    this.watches.due(now, out);
    await this.committer.submit((w) => this.clock(w, out), { retry: true });
  }

  /** What the clock decides, inside one batch. */
  private clock(w: Work, out: readonly Outcome[]): void {
    const now = w.now;
    const alerting = this.deps.estate.alerting;
    for (const o of out) this.applier.outcome(w, o);
    for (const key of Notifier.due(this.book.groups, now)) this.notifier.flush(w, key);
    for (const open of [...w.all()]) {
      const a = w.get(open.key);
      if (!a || a.state === 'pending') continue;
      const cleared = w.clearSince(a.key);
      if (a.flapping && cleared !== undefined && now - cleared >= alerting.flapping.windowMin * 60_000) {
        w.setClearSince(a.key, undefined);
        this.applier.apply(w, life.resolve(a, now));
        continue;
      }
      if (a.state !== 'firing') continue;
      if (a.mutedBy) {
        if (!this.notifier.heldBy(w, a)) this.applier.apply(w, life.unmute(a, now));
        continue;
      }
      if (a.housekeeping && a.rule === 'device_silent' && a.monitoringLostAt === null && a.firedAt !== null && now - a.firedAt >= alerting.monitoringLostAfterMin * 60_000) {
        const department = this.watches.departments(a)[0];
        if (department) this.applier.apply(w, life.monitoringLost(a, department, now));
        continue;
      }
      const escalates = a.kind !== 'system' && (!a.housekeeping || alerting.escalateHousekeeping);
      if (escalates && a.ackDeadline !== null && now >= a.ackDeadline && a.escalatedAt === null) {
        this.applier.apply(w, life.escalate(a, now));
        continue;
      }
      if (alerting.reminderEveryMin > 0) {
        const last = Math.max(w.lastReminder(a.key) ?? 0, a.firedAt ?? now);
        if (now - last >= alerting.reminderEveryMin * 60_000) {
          w.setLastReminder(a.key, now);
          this.applier.apply(w, life.remind(a, now));
        }
      }
    }
  }
}
