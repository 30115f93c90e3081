/**
 * The alerts part (docs/alerts.md): judges what ingest accepted against each device's rules
 * (`judge`, called with each turn before its messages are acknowledged), keeps the alert book,
 * and runs what the wall clock decides once a second (`tick`): devices silent, a site's devices
 * dark together, the service's own outages and the series store's caps, escalation, reminders,
 * monitoring lost, groups due, what held an alert back coming to an end. Every change goes
 * through the committer (commit.ts), as a pure step (lifecycle.ts) whose announcements the
 * notifier (notify/) turns into deliveries in the same transaction.
 */
import { KIND_DEPARTMENT, METRICS, SITE_OFFLINE, type Estate, type RegisteredDevice, type Registry, type Severity } from '../config/index.ts';
import type { OpDb, Point } from '../storage/index.ts';
import type { Bus, BusEvents, DeviceEvent, DeviceStatus, Reading } from '../bus.ts';
import type { AlertStore } from './alert-store.ts';
import { AlertBook } from './book.ts';
import { Committer } from './commit.ts';
import type { Outbox } from './delivery/index.ts';
import * as life from './lifecycle.ts';
import { Inhibitor } from './notify/inhibit.ts';
import { Notifier } from './notify/notifier.ts';
import { Silences } from './notify/silence.ts';
import { Recipients } from './recipients.ts';
import type { EffectiveRule, EffSilent } from './rules/effective.ts';
import { RulePlans } from './rules/plans.ts';
import { DeviceEvaluator, type Signal } from './rules/evaluator.ts';
import { SiteOutages } from './outages.ts';
import { Deadlines } from './deadlines.ts';
import { summarize, siteOutageSummary, tagLimitSummary } from './summary.ts';
import { STORE_TAG_LIMIT, TagLimits, tagLimitSuffix } from './tag-limits.ts';
import type { Alert, LocalizedText } from './types.ts';
import type { Work } from './work.ts';

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

/** What one turn of ingest accepted, to be judged before it is acknowledged. */
export interface Turn {
  readings: readonly Reading[];
  events: readonly DeviceEvent[];
  statuses: readonly DeviceStatus[];
}

/** `spool_near_full` is raised at this share of SPOOL_MAX_BYTES and resolved below SPOOL_NEAR_FULL_CLEAR. */
export const SPOOL_NEAR_FULL = 0.8;
export const SPOOL_NEAR_FULL_CLEAR = 0.7;

/**
 * A device's clock going back by more than this is a jump (a reset RTC, a bad NTP answer), not
 * readings out of order: its rules carry on from where they were instead of ignoring every
 * reading until its clock catches up again (docs/faults.md, "skewed clocks").
 */
export const CLOCK_JUMP_MS = 5 * 60_000;

const TRAPPED = new Set(['trapped', 'trapped_derived']);

interface DeviceWatch {
  device: RegisteredDevice;
  evaluator: DeviceEvaluator;
  /** its rules by id (shared with the devices alike: alerts/rules/plans.ts) */
  rules: ReadonlyMap<string, EffectiveRule>;
  silent?: EffSilent;
  /** wall-clock time of its last message (or of the start, or of the broker's return) */
  lastSeen: number;
  offline: boolean;
  /** a silent (or offline) alert of it is open or on its way: its next message clears it */
  silentOpen: boolean;
  /** the latest time the device's rules were judged at, and how far its clock was found to have jumped back */
  ruleTs: number;
  shift: number;
  /** its place among the silence deadlines (alerts/deadlines.ts) */
  slot: number;
}

/** A rule's outcome for one alert key, decided when the reading or the clock decided it. */
type Outcome = { opening: life.Opening; clear: true; summary?: undefined } | { opening: life.Opening; clear: false; condition: life.Condition };

export class AlertEngine {
  readonly book = new AlertBook();
  readonly committer: Committer;
  readonly notifier: Notifier;
  readonly silences: Silences;
  readonly recipients: Recipients;
  private readonly watches = new Map<string, DeviceWatch>();
  /** when each watched device would count as silent, earliest first (alerts/deadlines.ts) */
  private readonly quiet = new Deadlines<DeviceWatch>();
  private readonly outages: SiteOutages;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private unsubscribe: (() => void)[] = [];
  private brokerDownSince: number | null = null;
  private storeDownSince: number | null = null;
  private storeError = '';
  private readonly tagLimits = new TagLimits();

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
      ruleDepartments: (a) => this.ruleDepartments(a),
      inspecting: (device) => this.watches.get(device)?.evaluator.inInspection === true,
    });
    this.committer = new Committer({
      db: deps.db,
      store: deps.store,
      outbox: deps.outbox,
      book: this.book,
      now: this.now,
      log: deps.log,
      committed: (changed) => this.committed(changed),
      storeState: (up, error, downMs) => this.onOpsStore(up, error, downMs),
    });
    this.outages = new SiteOutages(deps.registry, deps.estate.alerting.siteOutage);
    const plans = new RulePlans(deps.estate.rules);
    for (const device of deps.registry.devices.values()) {
      const plan = plans.of(device);
      const silent = plan.rules.find((r): r is EffSilent => r.type === 'silent');
      this.watches.set(device.id, {
        device,
        evaluator: new DeviceEvaluator(plan),
        rules: plan.byId,
        ...(silent ? { silent } : {}),
        lastSeen: 0,
        offline: false,
        silentOpen: false,
        ruleTs: -Infinity,
        shift: 0,
        slot: -1,
      });
    }
  }

  /**
   * Loads the open alerts and waiting groups, starts each device's rules from its open alerts
   * (so the first reading that clears one resolves it), resolves the open alerts whose device
   * or rule left the estate file, and starts the clock.
   */
  async start(): Promise<void> {
    const start = this.now();
    // A full interval after a start before anyone counts as silent.
    for (const w of this.watches.values()) {
      w.lastSeen = start;
      this.watchSilence(w);
    }
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
        if (a.rule === STORE_TAG_LIMIT) this.tagLimits.restore(a.key, start);
        continue;
      }
      if (a.kind === 'site') {
        if (!this.deps.registry.sites.has(a.site)) orphans.push({ alert: a, reason: `site ${a.site} left the estate file` });
        else this.outages.restore(a);
        continue;
      }
      const w = this.watches.get(a.device);
      if (!w || w.device.site !== a.site) {
        orphans.push({ alert: a, reason: `device ${a.device} left the estate file` });
        continue;
      }
      if (!w.rules.has(a.rule) || !w.evaluator.restore(a)) {
        orphans.push({ alert: a, reason: `rule ${a.rule} no longer applies to ${a.device}` });
        continue;
      }
      if (a.rule === 'device_silent') {
        w.silentOpen = true;
        w.offline = a.offline;
        this.outages.dark(w.device, a.firedAt ?? a.startsAt);
      }
    }
    if (orphans.length > 0) {
      this.deps.log.info({ alerts: orphans.map((o) => o.alert.key) }, 'resolving open alerts whose device or rule left the estate file');
      await this.committer.submit(
        (work) => {
          for (const o of orphans) {
            const cur = work.get(o.alert.key);
            if (!cur) continue;
            if (cur.state === 'pending') work.discard(cur);
            else this.apply(work, life.resolve(cur, work.now, undefined, o.reason));
          }
        },
        { retry: true },
      );
    }
    const bus = this.deps.bus;
    this.unsubscribe = [
      bus.on('store', (s) => this.onStore(s.up, s.error)),
      bus.on('broker', (s) => this.onBroker(s.up)),
      bus.on('delivery.failed', (d) => this.raiseSystem('delivery_failed', d.detail, d.key)),
      bus.on('store.tag_limit', (e) => this.onTagLimit(e)),
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

  /** Applies one step to the batch: the alert, its history, then each announcement through the notifier. */
  private apply(w: Work, s: life.Step): Alert {
    if (s.discard) {
      w.discard(s.alert);
      return s.alert;
    }
    let a = s.alert;
    w.put(a, s.history, s.transition);
    for (const ann of s.announce) a = this.notifier.announce(w, a, ann);
    // An outage that spreads to equipment of other departments: those newly routed hear of it now.
    if (s.transition === 'updated' && a.state === 'firing' && a.announcedAt !== null) {
      const newly = this.notifier.routeOf(a).filter((r) => !a.notified.includes(r));
      if (newly.length > 0) a = this.notifier.announce(w, a, { event: 'alert.firing', only: newly });
    }
    return a;
  }

  private ctx(w: Work, key: string): life.LifeContext {
    const window = this.deps.estate.alerting.flapping.windowMin * 60_000;
    return { now: w.now, alerting: this.deps.estate.alerting, fires: w.fires(key).filter((t) => w.now - t < window) };
  }

  /** A rule's outcome, applied to the batch. */
  private outcome(w: Work, o: Outcome): void {
    const key = o.opening.key;
    const cur = w.get(key);
    if (o.clear) {
      if (!cur) return;
      if (cur.flapping && cur.state !== 'pending') {
        if (w.clearSince(key) === undefined) w.setClearSince(key, w.now);
        return; // resolved by the tick once it has stayed clear
      }
      this.apply(w, life.clear(cur, this.ctx(w, key)));
      return;
    }
    if (w.clearSince(key) !== undefined) w.setClearSince(key, undefined);
    const ctx = this.ctx(w, key);
    const s = life.raise(cur, o.opening, o.condition, ctx);
    if (s.transition === 'firing') w.setFires(key, [...ctx.fires, w.now]);
    this.apply(w, s);
  }

  // ---- what ingest accepted

  /**
   * Judges one turn: returns a promise that resolves once every alert change it causes is
   * committed with its deliveries, or undefined when it causes none (the common case: the
   * turn is acknowledged at once).
   */
  judge(turn: Turn): Promise<void> | undefined {
    const out: Outcome[] = [];
    for (const s of turn.statuses) this.onStatus(s, out);
    for (const r of turn.readings) this.onReading(r, out);
    for (const e of turn.events) this.onEvent(e, out);
    if (out.length === 0) return undefined;
    return this.committer.submit(
      (w) => {
        for (const o of out) this.outcome(w, o);
      },
      { retry: true },
    );
  }

  private opening(w: DeviceWatch, rule: EffectiveRule, metric: string | null): life.Opening {
    const d = w.device;
    const spec = metric ? METRICS[d.kind].get(metric) : undefined;
    return {
      key: `${d.site}/${d.id}/${rule.id}`,
      site: d.site,
      siteName: d.siteName,
      building: d.building,
      device: d.id,
      kind: d.kind,
      rule: rule.id,
      metric,
      unit: spec?.unit || null,
      source: rule.source,
      housekeeping: rule.housekeeping,
      trapped: TRAPPED.has(rule.id),
    };
  }

  private signals(w: DeviceWatch, signals: Signal[], out: Outcome[], detail?: string): void {
    for (const s of signals) {
      const opening = this.opening(w, s.rule, s.metric);
      if (s.outcome === 'clear') {
        out.push({ opening, clear: true });
        continue;
      }
      const direction = s.rule.type === 'threshold' ? s.rule.direction : undefined;
      out.push({
        opening,
        clear: false,
        condition: {
          severity: s.outcome,
          since: s.since,
          value: s.value,
          threshold: s.threshold,
          summary: summarize({ kind: w.device.kind, device: w.device.id, building: w.device.building, rule: s.rule.id, metric: s.metric, value: s.value, threshold: s.threshold, ...(direction ? { direction } : {}), ...(detail ? { detail } : {}) }),
        },
      });
    }
  }

  /** A message from the device: it is heard from, so not silent, and online again if it was offline (docs/interfaces.md#payloads). */
  private seen(device: string, out: Outcome[]): DeviceWatch | undefined {
    const w = this.watches.get(device);
    if (!w) return undefined;
    w.lastSeen = this.now();
    w.offline = false;
    if (w.slot < 0) this.watchSilence(w);
    if (w.silentOpen && w.silent) {
      w.silentOpen = false;
      out.push({ opening: this.opening(w, w.silent, null), clear: true });
    }
    if (this.outages.light(w.device)) this.siteOutage(w.device.site, out);
    return w;
  }

  /**
   * The time a reading is judged at: its own ts, except after the device's clock jumped back
   * (by more than CLOCK_JUMP_MS), when the jump is counted as no time passing; a jump forward
   * again gives that back first.
   */
  private ruleTime(w: DeviceWatch, ts: number): number {
    let t = ts + w.shift;
    if (t < w.ruleTs - CLOCK_JUMP_MS) {
      w.shift += w.ruleTs - t;
      t = w.ruleTs;
    } else if (w.shift > 0 && t > w.ruleTs + CLOCK_JUMP_MS) {
      const back = Math.min(w.shift, t - w.ruleTs);
      w.shift -= back;
      t -= back;
    }
    if (t > w.ruleTs) w.ruleTs = t;
    return t;
  }

  private onReading(r: Reading, out: Outcome[]): void {
    const w = this.seen(r.device, out);
    if (!w) return;
    const signals: Signal[] = [];
    const t = this.ruleTime(w, r.ts);
    w.evaluator.onReading(t === r.ts ? r : { ...r, ts: t }, signals);
    if (signals.length) this.signals(w, signals, out);
  }

  private onEvent(e: DeviceEvent, out: Outcome[]): void {
    const w = this.seen(e.device, out);
    if (!w) return;
    const signals: Signal[] = [];
    const t = this.ruleTime(w, e.ts);
    w.evaluator.onEvent(t === e.ts ? e : { ...e, ts: t }, signals);
    if (signals.length) this.signals(w, signals, out, e.detail || undefined);
  }

  private onStatus(s: DeviceStatus, out: Outcome[]): void {
    if (s.online) {
      this.seen(s.device, out);
      return;
    }
    const w = this.watches.get(s.device);
    if (!w) return;
    w.offline = true;
    // A retained online:false (the device's last will) raises "silent" at once.
    if (w.silent && !w.silentOpen) this.silent(w, true, out);
    if (this.outages.dark(w.device, this.now())) this.siteOutage(w.device.site, out);
  }

  private silent(w: DeviceWatch, offline: boolean, out: Outcome[]): void {
    const rule = w.silent!;
    w.silentOpen = true;
    const now = this.now();
    const seconds = Math.round((now - w.lastSeen) / 1000);
    out.push({
      opening: this.opening(w, rule, null),
      clear: false,
      condition: {
        severity: rule.severity,
        since: now,
        value: offline ? null : seconds,
        threshold: offline ? null : rule.afterMs / 1000,
        offline,
        summary: summarize({ kind: w.device.kind, device: w.device.id, building: w.device.building, rule: offline ? 'device_offline' : 'device_silent', metric: null, value: null, threshold: null, ...(offline ? {} : { detail: `${seconds} s` }) }),
      },
    });
  }

  /** Puts the device among the silence deadlines at the moment it would count as silent (if it is watched for silence). */
  private watchSilence(w: DeviceWatch): void {
    if (w.silent) this.quiet.add(w, w.lastSeen + w.silent.afterMs + 1);
  }

  /** A site's devices dark together: its one outage alert raised, updated or resolved. */
  private siteOutage(site: string, out: Outcome[]): void {
    const s = this.outages.judge(site, this.now());
    if (!s) return;
    const name = this.deps.registry.sites.get(site)?.name ?? site;
    const opening: life.Opening = {
      key: `${site}//${SITE_OFFLINE}`,
      site,
      siteName: name,
      building: '',
      device: '',
      kind: 'site',
      rule: SITE_OFFLINE,
      metric: null,
      unit: null,
      source: 'Estate Sentinel: at least half of a site\'s devices (and at least 3) dark within alerting.siteOutage.windowSec',
      housekeeping: true,
    };
    if (s.state === 'clear') out.push({ opening, clear: true });
    else
      out.push({
        opening,
        clear: false,
        condition: { severity: 'warning', since: s.since, value: s.devices.length, threshold: s.threshold, devices: s.devices, summary: siteOutageSummary(name, s.devices.length, s.total) },
      });
  }

  // ---- the service's own alerts

  private onBroker(up: boolean): void {
    const now = this.now();
    if (up) {
      this.brokerDownSince = null;
      this.clearSystem('broker_down');
      // Devices were unreachable, not silent: each gets a fresh interval, and what was held back as silent meanwhile ends.
      const out: Outcome[] = [];
      for (const w of this.watches.values()) {
        w.lastSeen = Math.max(w.lastSeen, now);
        this.watchSilence(w);
        if (w.silentOpen && !w.offline && w.silent) {
          w.silentOpen = false;
          out.push({ opening: this.opening(w, w.silent, null), clear: true });
          if (this.outages.light(w.device)) this.siteOutage(w.device.site, out);
        }
      }
      if (out.length > 0) void this.committer.submit((work) => out.forEach((o) => this.outcome(work, o)), { retry: true }).catch(() => undefined);
    } else {
      this.brokerDownSince ??= now;
      // Pending from the first moment, so that inhibitions hold back what the outage causes at once.
      this.raiseSystem('broker_down', '', '', 'critical', true);
    }
  }

  private onStore(up: boolean, error?: string): void {
    if (up) {
      this.storeDownSince = null;
      this.clearSystem('store_down');
    } else {
      this.storeDownSince ??= this.now();
      this.storeError = error ?? '';
      this.raiseSystem('store_down', this.storeError, '', 'critical', true);
    }
  }

  /**
   * The operational store refused alert changes (they wait, and the messages that caused them
   * stay unacknowledged). Nothing can be written while it refuses; once it takes changes again,
   * an outage longer than its grace is recorded and announced to the operators, with how long it lasted.
   */
  private onOpsStore(up: boolean, error: string, downMs: number): void {
    if (!up) {
      this.storeError = error;
      return;
    }
    const grace = this.deps.outageGraceMs?.ops ?? 10_000;
    if (downMs < grace) return;
    const detail = `${Math.round(downMs / 1000)} s${this.storeError ? `: ${this.storeError}` : ''}`;
    void this.committer
      .submit(
        (w) => {
          const key = 'estate/system/ops_store_down';
          if (w.get(key)) return;
          const raised = this.apply(w, life.raise(undefined, this.systemOpening('ops_store_down', key), this.systemCondition('ops_store_down', detail, 'critical'), this.ctx(w, key)));
          this.apply(w, life.resolve(raised, w.now));
        },
        { retry: true },
      )
      .catch(() => undefined);
  }

  private systemOpening(rule: string, key: string): life.Opening {
    return { key, site: '', siteName: '', building: '', device: 'system', kind: 'system', rule, metric: null, unit: null, source: 'Estate Sentinel', housekeeping: false };
  }

  /** `detail`: the text in the summary's brackets, or the whole summary in both languages. */
  private systemCondition(rule: string, detail: string | LocalizedText, severity: Severity | 'pending'): life.Condition {
    const summary = typeof detail === 'string' ? summarize({ kind: 'system', device: 'system', building: '', rule, metric: null, value: null, threshold: null, detail }) : detail;
    return { severity, since: this.now(), value: null, threshold: null, summary };
  }

  /** The service's own alerts: to the operators, or every site's own recipient. `pending`: held until its grace has run (tick). */
  raiseSystem(rule: string, detail: string | LocalizedText, keySuffix = '', severity: Severity = 'critical', pending = false): void {
    const key = `estate/system/${rule}${keySuffix}`;
    void this.committer
      .submit(
        (w) => {
          const cur = w.get(key);
          if (cur && (pending || cur.state !== 'pending')) return;
          this.outcome(w, { opening: this.systemOpening(rule, key), clear: false, condition: this.systemCondition(rule, detail, pending ? 'pending' : severity) });
        },
        { retry: true },
      )
      .catch(() => undefined);
  }

  /**
   * The series store refused lines for a tag's cap on values: the measurement's alert, naming the
   * setting that lifts the cap, raised at the first refusal; each later one puts off its
   * resolution (tick, alerts/tag-limits.ts).
   */
  private onTagLimit(e: BusEvents['store.tag_limit']): void {
    if (this.tagLimits.refused(e.measurement, this.now())) this.raiseSystem(STORE_TAG_LIMIT, tagLimitSummary(e), tagLimitSuffix(e.measurement));
  }

  clearSystem(rule: string, keySuffix = ''): void {
    const key = `estate/system/${rule}${keySuffix}`;
    if (!this.book.get(key) && this.committer.waiting === 0) return;
    void this.committer.submit((w) => this.outcome(w, { opening: this.systemOpening(rule, key), clear: true }), { retry: true }).catch(() => undefined);
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
        this.apply(w, life.acknowledge(a, added, actor, via, note, w.now));
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
    const grace = this.deps.outageGraceMs ?? { store: 30_000, broker: 15_000, ops: 10_000 };
    await this.silences.refresh().catch(() => undefined);
    const out: Outcome[] = [];
    if (this.storeDownSince !== null && now - this.storeDownSince >= grace.store) this.raiseSystem('store_down', this.storeError);
    if (this.brokerDownSince !== null && now - this.brokerDownSince >= grace.broker) this.raiseSystem('broker_down', '');
    this.checkSpool();
    for (const m of this.tagLimits.quiet(now)) this.clearSystem(STORE_TAG_LIMIT, tagLimitSuffix(m));
    const sites = new Set<string>();
    // Only the devices whose deadline has come: a quiet second costs nothing however many there are.
    for (let w = this.quiet.pop(now); w; w = this.quiet.pop(now)) {
      if (!w.silent || w.silentOpen) continue; // its next message puts it back
      if (now - w.lastSeen > w.silent.afterMs) {
        this.silent(w, false, out);
        if (this.outages.dark(w.device, now)) sites.add(w.device.site);
      } else this.watchSilence(w); // heard from since: at its new deadline
    }
    for (const site of sites) this.siteOutage(site, out);
    await this.committer.submit((w) => this.clock(w, out), { retry: true });
  }

  /** What the clock decides, inside one batch. */
  private clock(w: Work, out: readonly Outcome[]): void {
    const now = w.now;
    const alerting = this.deps.estate.alerting;
    for (const o of out) this.outcome(w, o);
    for (const key of Notifier.due(this.book.groups, now)) this.notifier.flush(w, key);
    for (const open of [...w.all()]) {
      const a = w.get(open.key);
      if (!a || a.state === 'pending') continue;
      const cleared = w.clearSince(a.key);
      if (a.flapping && cleared !== undefined && now - cleared >= alerting.flapping.windowMin * 60_000) {
        w.setClearSince(a.key, undefined);
        this.apply(w, life.resolve(a, now));
        continue;
      }
      if (a.state !== 'firing') continue;
      if (a.mutedBy) {
        if (!this.notifier.heldBy(w, a)) this.apply(w, life.unmute(a, now));
        continue;
      }
      if (a.housekeeping && a.rule === 'device_silent' && a.monitoringLostAt === null && a.firedAt !== null && now - a.firedAt >= alerting.monitoringLostAfterMin * 60_000) {
        const department = this.ruleDepartments(a)[0];
        if (department) this.apply(w, life.monitoringLost(a, department, now));
        continue;
      }
      const escalates = a.kind !== 'system' && (!a.housekeeping || alerting.escalateHousekeeping);
      if (escalates && a.ackDeadline !== null && now >= a.ackDeadline && a.escalatedAt === null) {
        this.apply(w, life.escalate(a, now));
        continue;
      }
      if (alerting.reminderEveryMin > 0) {
        const last = Math.max(w.lastReminder(a.key) ?? 0, a.firedAt ?? now);
        if (now - last >= alerting.reminderEveryMin * 60_000) {
          w.setLastReminder(a.key, now);
          this.apply(w, life.remind(a, now));
        }
      }
    }
  }

  /** The spool against its cap: near full at 80 %, full at the cap; each resolved once it drains. */
  private checkSpool(): void {
    const s = this.deps.spool?.();
    if (!s) return;
    const share = s.bytes / s.maxBytes;
    const size = (b: number) => (b >= 1024 ** 2 ? `${Math.round(b / 1024 ** 2)} MiB` : `${Math.round(b / 1024)} KiB`);
    const detail = `${size(s.bytes)} / ${size(s.maxBytes)}`;
    const open = (rule: string) => this.book.get(`estate/system/${rule}`) !== undefined;
    if (share >= SPOOL_NEAR_FULL) {
      if (!open('spool_near_full')) this.raiseSystem('spool_near_full', detail, '', 'warning');
    } else if (share < SPOOL_NEAR_FULL_CLEAR && open('spool_near_full')) this.clearSystem('spool_near_full');
    if (s.bytes >= s.maxBytes) {
      if (!open('spool_full')) this.raiseSystem('spool_full', detail);
    } else if (open('spool_full')) this.clearSystem('spool_full');
  }

  /** The rule's own departments: its default department; a site's outage, those of the kinds that went dark. */
  private ruleDepartments(a: Alert): readonly string[] {
    if (a.kind === 'site') {
      const kinds = new Set((a.devices ?? []).map((d) => this.deps.registry.device(d)?.kind).filter((k) => k !== undefined));
      return [...kinds].map((k) => KIND_DEPARTMENT[k]);
    }
    const w = this.watches.get(a.device);
    const rule = w?.rules.get(a.rule);
    if (rule) return [rule.department];
    return w ? [KIND_DEPARTMENT[w.device.kind]] : [];
  }

  /** Elevator inspection mode of a device now. */
  inspecting(device: string): boolean {
    return this.watches.get(device)?.evaluator.inInspection === true;
  }
}
