/**
 * The alerts part: listens to what ingest accepted (readings, events, statuses) and to the
 * store and broker coming and going, runs each device's rules, keeps the alert book, and
 * offers acknowledgement and silences to the API. Wall-clock work — device silent,
 * escalation, reminders, the end of silences and of flapping — runs on a one-second tick.
 */
import { METRICS, type Estate, type RegisteredDevice, type Registry } from '../config/index.ts';
import type { Point } from '../storage/index.ts';
import type { Bus, DeviceEvent, DeviceStatus, Reading } from '../bus.ts';
import type { AlertStore } from './alert-store.ts';
import { AlertBook, type Change, type Opening } from './book.ts';
import { Muting } from './muting.ts';
import { Notifier, type DeliverySink } from './notify.ts';
import { buildRouteTree, route, type RouteNode } from './routing.ts';
import { effectiveRules, type EffectiveRule, type EffSilent } from './rules/effective.ts';
import { DeviceEvaluator, type Signal } from './rules/evaluator.ts';
import { summarize } from './summary.ts';
import type { Alert } from './types.ts';

export interface EngineDeps {
  registry: Registry;
  estate: Estate;
  bus: Bus;
  store: AlertStore;
  sink: DeliverySink;
  /** the signed acknowledgement link of (alert, recipient) */
  ackUrl: (alertId: string, recipient: string) => string | null;
  /** writes points to the series store (the `alerts` measurement) through the spool */
  record: (points: Point[]) => void;
  log: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void };
  now?: () => number;
  /** how long the store or broker may be away before a system alert, ms */
  outageGraceMs?: { store: number; broker: number };
  /** the spool's size and cap, for `spool_near_full` and `spool_full` (docs/ingest.md) */
  spool?: () => { bytes: number; maxBytes: number };
}

/** `spool_near_full` is raised at this share of SPOOL_MAX_BYTES and resolved below SPOOL_NEAR_FULL_CLEAR. */
export const SPOOL_NEAR_FULL = 0.8;
export const SPOOL_NEAR_FULL_CLEAR = 0.7;

interface DeviceWatch {
  device: RegisteredDevice;
  silentKey: string;
  evaluator: DeviceEvaluator;
  silent?: EffSilent;
  lastSeen: number;
  offline: boolean;
  /** the latest time the device's rules were judged at, and how far its clock was found to have jumped back */
  ruleTs: number;
  shift: number;
}

/**
 * A device's clock going back by more than this is a jump (a reset RTC, a bad NTP answer), not
 * readings out of order: its rules carry on from where they were instead of ignoring every
 * reading until its clock catches up again (docs/faults.md, "skewed clocks").
 */
export const CLOCK_JUMP_MS = 5 * 60_000;

const TRAPPED = new Set(['trapped', 'trapped_derived']);

export class AlertEngine {
  readonly book: AlertBook;
  readonly muting: Muting;
  private readonly tree: RouteNode;
  private readonly watches = new Map<string, DeviceWatch>();
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void)[] = [];
  private brokerDownSince: number | null = null;
  private storeDownSince: number | null = null;
  private storeError = '';

  constructor(private readonly deps: EngineDeps) {
    this.now = deps.now ?? Date.now;
    this.tree = buildRouteTree(deps.estate.routes);
    this.muting = new Muting(deps.store, this.now);
    const notifier = new Notifier(deps.estate, deps.sink, deps.ackUrl, deps.estate.alerting.deliveryDeadlineMin * 60_000);
    this.book = new AlertBook({ store: deps.store, notifier, alerting: deps.estate.alerting, now: this.now, onChange: (a, t) => this.changed(a, t) });
  }

  start(): void {
    this.book.load();
    this.muting.refresh();
    const start = this.now();
    for (const device of this.deps.registry.devices.values()) {
      const rules = effectiveRules(device, this.deps.estate.rules);
      const silent = rules.find((r): r is EffSilent => r.type === 'silent');
      // Every device gets a full silence interval after a start before it counts as silent.
      this.watches.set(device.id, {
        device,
        silentKey: `${device.site}/${device.id}/device_silent`,
        evaluator: new DeviceEvaluator(rules),
        ...(silent ? { silent } : {}),
        lastSeen: start,
        offline: false,
        ruleTs: -Infinity,
        shift: 0,
      });
    }
    const bus = this.deps.bus;
    this.unsubscribe = [
      bus.on('reading', (r) => this.onReading(r)),
      bus.on('event', (e) => this.onEvent(e)),
      bus.on('status', (s) => this.onStatus(s)),
      bus.on('store', (s) => this.onStore(s.up, s.error)),
      bus.on('broker', (s) => this.onBroker(s.up)),
    ];
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const u of this.unsubscribe) u();
  }

  private changed(a: Alert, transition: string): void {
    this.deps.bus.emit('alert', { alert: a, transition });
    if (transition === 'pending' || transition === 'muted' || transition === 'reminder') return;
    this.deps.record([
      {
        measurement: 'alerts',
        tags: { site: a.site || 'estate', device: a.device, kind: a.kind, rule: a.rule, severity: a.severity, department: a.departments[0] ?? 'property' },
        fields: { state: a.state, value: a.value ?? 0, alert_id: a.id },
        ts: this.now(),
      },
    ]);
  }

  private opening(w: DeviceWatch, rule: EffectiveRule, metric: string | null): Opening {
    const d = w.device;
    const departments = route(this.tree, {
      site: d.site,
      device: d.id,
      kind: d.kind,
      rule: rule.id,
      severity: '',
      department: rule.department,
      municipal: d.attributes.municipal === true,
    });
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
      departments: [...departments, 'property'],
      source: rule.source,
      trapped: TRAPPED.has(rule.id),
    };
  }

  private apply(w: DeviceWatch, signals: Signal[], detail?: string): void {
    for (const s of signals) {
      const o = this.opening(w, s.rule, s.metric);
      if (s.outcome === 'clear') {
        this.book.clear(o.key);
        continue;
      }
      const direction = s.rule.type === 'threshold' ? s.rule.direction : undefined;
      const change: Change = {
        severity: s.outcome,
        since: s.since,
        value: s.value,
        threshold: s.threshold,
        summary: summarize({ kind: w.device.kind, device: w.device.id, building: w.device.building, rule: s.rule.id, metric: s.metric, value: s.value, threshold: s.threshold, ...(direction ? { direction } : {}), ...(detail ? { detail } : {}) }),
        mutedBy: this.muting.mutedBy({ site: o.site, device: o.device, kind: o.kind, rule: o.rule, severity: s.outcome === 'pending' ? 'warning' : s.outcome }, w.device.kind === 'elevator' && w.evaluator.inInspection && !NOT_FAULTS.has(s.rule.id)),
      };
      this.book.raise(o, change);
    }
  }

  private seen(device: string): DeviceWatch | undefined {
    const w = this.watches.get(device);
    if (!w) return undefined;
    w.lastSeen = this.now();
    if (!w.offline && this.book.get(w.silentKey)) this.book.clear(w.silentKey);
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

  onReading(r: Reading): void {
    const w = this.seen(r.device);
    if (!w) return;
    const out: Signal[] = [];
    const t = this.ruleTime(w, r.ts);
    w.evaluator.onReading(t === r.ts ? r : { ...r, ts: t }, out);
    if (out.length) this.apply(w, out);
  }

  onEvent(e: DeviceEvent): void {
    const w = this.seen(e.device);
    if (!w) return;
    const out: Signal[] = [];
    const t = this.ruleTime(w, e.ts);
    w.evaluator.onEvent(t === e.ts ? e : { ...e, ts: t }, out);
    if (out.length) this.apply(w, out, e.detail || undefined);
  }

  onStatus(s: DeviceStatus): void {
    const w = this.watches.get(s.device);
    if (!w) return;
    w.offline = !s.online;
    this.seen(s.device);
    if (!w.silent) return;
    // A retained online:false (the device's last will) raises "silent" at once.
    if (!s.online) this.silent(w, true);
  }

  private silent(w: DeviceWatch, offline: boolean): void {
    const rule = w.silent!;
    const o = this.opening(w, rule, null);
    if (this.book.get(o.key)?.state === 'firing') return;
    const seconds = Math.round((this.now() - w.lastSeen) / 1000);
    this.book.raise(o, {
      severity: rule.severity,
      since: this.now(),
      value: offline ? null : seconds,
      threshold: offline ? null : rule.afterMs / 1000,
      summary: summarize({ kind: w.device.kind, device: w.device.id, building: w.device.building, rule: offline ? 'device_offline' : 'device_silent', metric: null, value: null, threshold: null, ...(offline ? {} : { detail: `${seconds} s` }) }),
      mutedBy: this.muting.mutedBy({ site: o.site, device: o.device, kind: o.kind, rule: o.rule, severity: rule.severity }, false),
    });
  }

  private onBroker(up: boolean): void {
    const now = this.now();
    if (up) {
      this.brokerDownSince = null;
      this.clearSystem('broker_down');
      // Devices were unreachable, not silent: each gets a fresh interval.
      for (const w of this.watches.values()) w.lastSeen = Math.max(w.lastSeen, now);
    } else this.brokerDownSince ??= now;
  }

  private onStore(up: boolean, error?: string): void {
    if (up) {
      this.storeDownSince = null;
      this.clearSystem('store_down');
    } else {
      this.storeDownSince ??= this.now();
      this.storeError = error ?? '';
    }
  }

  /** The spool against its cap: near full at 80 %, full at the cap; each resolved once it drains. */
  private checkSpool(): void {
    const s = this.deps.spool?.();
    if (!s) return;
    const share = s.bytes / s.maxBytes;
    const size = (b: number) => (b >= 1024 ** 2 ? `${Math.round(b / 1024 ** 2)} MiB` : `${Math.round(b / 1024)} KiB`);
    const detail = `${size(s.bytes)} / ${size(s.maxBytes)}`;
    if (share >= SPOOL_NEAR_FULL) this.raiseSystem('spool_near_full', detail, '', 'warning');
    else if (share < SPOOL_NEAR_FULL_CLEAR) this.clearSystem('spool_near_full');
    if (s.bytes >= s.maxBytes) this.raiseSystem('spool_full', detail);
    else this.clearSystem('spool_full');
  }

  /** The service's own alerts: to the operators, or every property company. */
  raiseSystem(rule: string, detail: string, keySuffix = '', severity: 'warning' | 'critical' = 'critical'): void {
    const key = `estate/system/${rule}${keySuffix}`;
    if (this.book.get(key)) return;
    this.book.raise(
      {
        key,
        site: '',
        siteName: '',
        building: '',
        device: 'system',
        kind: 'system',
        rule,
        metric: null,
        unit: null,
        departments: [this.deps.estate.alerting.operators ? 'operators' : 'property'],
        source: 'Estate Sentinel',
      },
      { severity, since: this.now(), value: null, threshold: null, summary: summarize({ kind: 'system', device: 'system', building: '', rule, metric: null, value: null, threshold: null, detail }), mutedBy: null },
    );
  }

  clearSystem(rule: string, keySuffix = ''): void {
    this.book.clear(`estate/system/${rule}${keySuffix}`);
  }

  private tickErrorLogged = 0;

  /** Runs every second; a failure (the operational store away, say) is logged and the next tick tries again. */
  tick(): void {
    try {
      this.tickOnce();
    } catch (err) {
      const now = Date.now();
      if (now - this.tickErrorLogged >= 60_000) {
        this.tickErrorLogged = now;
        this.deps.log.error({ err }, 'alert engine tick failed; trying again every second');
      }
    }
  }

  private tickOnce(): void {
    const now = this.now();
    const grace = this.deps.outageGraceMs ?? { store: 30_000, broker: 15_000 };
    if (this.storeDownSince !== null && now - this.storeDownSince >= grace.store) this.raiseSystem('store_down', this.storeError);
    if (this.brokerDownSince !== null && now - this.brokerDownSince >= grace.broker) this.raiseSystem('broker_down', '');
    this.checkSpool();
    // While the broker is away every device looks silent: hold those alerts back.
    if (this.brokerDownSince === null) {
      for (const w of this.watches.values()) {
        if (w.silent && !w.offline && now - w.lastSeen > w.silent.afterMs) this.silent(w, false);
      }
    }
    this.muting.refresh();
    this.book.tick((a) =>
      a.kind === 'system' ? null : this.muting.mutedBy({ site: a.site, device: a.device, kind: a.kind, rule: a.rule, severity: a.severity }, a.mutedBy === 'inspection' && this.inspecting(a.device)),
    );
  }

  private inspecting(device: string): boolean {
    return this.watches.get(device)?.evaluator.inInspection === true;
  }
}

/** Elevator rules that are not faults: inspection mode does not mute them. */
const NOT_FAULTS = new Set(['device_silent', 'battery_low']);
