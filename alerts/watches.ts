/**
 * Each device's watch (docs/alerts.md): its rules' state, when it was last heard from, whether
 * it is offline or silent, and how far its clock has jumped back. What ingest accepted and what
 * the clock finds (devices silent, a site's devices dark together) become outcomes here; the
 * engine (engine.ts) applies them to a batch.
 */
import { KIND_DEPARTMENT, METRICS, SITE_OFFLINE, type Estate, type RegisteredDevice, type Registry } from '../config/index.ts';
import type { DeviceEvent, DeviceStatus, Reading } from '../bus.ts';
import type { Outcome } from './apply.ts';
import { Deadlines } from './deadlines.ts';
import type * as life from './lifecycle.ts';
import { SiteOutages } from './outages.ts';
import type { EffectiveRule, EffSilent } from './rules/effective.ts';
import { RulePlans } from './rules/plans.ts';
import { DeviceEvaluator, type Signal } from './rules/evaluator.ts';
import { summarize, siteOutageSummary } from './summary.ts';
import type { Alert } from './types.ts';

/** What one turn of ingest accepted, to be judged before it is acknowledged. */
export interface Turn {
  readings: readonly Reading[];
  events: readonly DeviceEvent[];
  statuses: readonly DeviceStatus[];
}

/**
 * A device's clock going back by more than this is a jump (a reset RTC, a bad NTP answer), not
 * readings out of order: its rules carry on from where they were instead of ignoring every
 * reading until its clock catches up again (docs/faults.md, "skewed clocks").
 */
export const CLOCK_JUMP_MS = 5 * 60_000;

const TRAPPED = new Set(['trapped', 'trapped_derived']);

/** A device's flags (DeviceWatches.flags). */
const OFFLINE = 1;
/** a silent (or offline) alert of it is open or on its way: its next message clears it */
const SILENT_OPEN = 2;

/**
 * Every device's watch, at its registry index: its evaluator (its rules and their state, the
 * plan shared with the devices alike: alerts/rules/plans.ts), and in typed arrays the wall-clock
 * time of its last message (or of the start, or of the broker's return), the latest time its
 * rules were judged at, how far its clock was found to have jumped back, and its flags. No object
 * or Map entry of its own per device (about 170 bytes a device at 100,000 devices;
 * docs/performance.md, "City scale").
 */
export class DeviceWatches {
  private readonly devices: readonly RegisteredDevice[];
  private readonly evaluators: DeviceEvaluator[];
  private readonly lastSeen: Float64Array;
  private readonly ruleTs: Float64Array;
  private readonly shift: Float64Array;
  private readonly flags: Uint8Array;
  /** when each watched device would count as silent, earliest first (alerts/deadlines.ts) */
  private readonly quiet: Deadlines;
  private readonly outages: SiteOutages;

  constructor(
    private readonly registry: Registry,
    estate: Estate,
    private readonly now: () => number,
  ) {
    this.outages = new SiteOutages(registry, estate.alerting.siteOutage);
    const plans = new RulePlans(estate.rules);
    const n = registry.count;
    this.devices = registry.all;
    this.evaluators = new Array<DeviceEvaluator>(n);
    for (let i = 0; i < n; i++) this.evaluators[i] = new DeviceEvaluator(plans.of(registry.all[i]!));
    this.lastSeen = new Float64Array(n);
    this.ruleTs = new Float64Array(n).fill(-Infinity);
    this.shift = new Float64Array(n);
    this.flags = new Uint8Array(n);
    this.quiet = new Deadlines(n);
  }

  private silentRule(i: number): EffSilent | undefined {
    return this.evaluators[i]!.plan.silent;
  }

  private index(device: string): number {
    return this.registry.device(device)?.index ?? -1;
  }

  /** A start: a full interval before anyone counts as silent. */
  started(start: number): void {
    this.lastSeen.fill(start);
    for (let i = 0; i < this.devices.length; i++) this.watchSilence(i);
  }

  /**
   * An open alert of a device or site found at a start: its device's rules carry on from it (so
   * the first reading that clears it resolves it), a site's outage from its devices. Returns why
   * it is to be resolved instead when its device, site or rule left the estate file.
   */
  restore(a: Alert): string | null {
    if (a.kind === 'site') {
      if (!this.registry.sites.has(a.site)) return `site ${a.site} left the estate file`;
      this.outages.restore(a);
      return null;
    }
    const i = this.index(a.device);
    if (i < 0 || this.devices[i]!.site !== a.site) return `device ${a.device} left the estate file`;
    const evaluator = this.evaluators[i]!;
    if (!evaluator.plan.byId.has(a.rule) || !evaluator.restore(a)) return `rule ${a.rule} no longer applies to ${a.device}`;
    if (a.rule === 'device_silent') {
      this.flags[i] = SILENT_OPEN | (a.offline ? OFFLINE : 0);
      this.outages.dark(this.devices[i]!, a.firedAt ?? a.startsAt);
    }
    return null;
  }

  /** One turn's statuses, readings and events, judged in that order. */
  judge(turn: Turn, out: Outcome[]): void {
    for (const s of turn.statuses) this.onStatus(s, out);
    for (const r of turn.readings) this.onReading(r, out);
    for (const e of turn.events) this.onEvent(e, out);
  }

  /** The devices whose silence deadline has come by `now` (only those: a quiet second costs nothing however many there are). */
  due(now: number, out: Outcome[]): void {
    const sites = new Set<string>();
    for (let i = this.quiet.pop(now); i >= 0; i = this.quiet.pop(now)) {
      const rule = this.silentRule(i);
      if (!rule || this.flags[i]! & SILENT_OPEN) continue; // its next message puts it back
      if (now - this.lastSeen[i]! > rule.afterMs) {
        this.silent(i, false, out);
        const d = this.devices[i]!;
        if (this.outages.dark(d, now)) sites.add(d.site);
      } else this.watchSilence(i); // heard from since: at its new deadline
    }
    for (const site of sites) this.siteOutage(site, out);
  }

  /** Back from a broker outage: devices were unreachable, not silent, so each gets a fresh interval, and what was held back as silent meanwhile ends. */
  brokerBack(now: number, out: Outcome[]): void {
    for (let i = 0; i < this.devices.length; i++) {
      this.lastSeen[i] = Math.max(this.lastSeen[i]!, now);
      this.watchSilence(i);
      const rule = this.silentRule(i);
      if (this.flags[i] === SILENT_OPEN && rule) {
        this.flags[i] = 0;
        out.push({ opening: this.opening(i, rule, null), clear: true });
        const d = this.devices[i]!;
        if (this.outages.light(d)) this.siteOutage(d.site, out);
      }
    }
  }

  /** The rule's own departments: its default department; a site's outage, those of the kinds that went dark. */
  departments(a: Alert): readonly string[] {
    if (a.kind === 'site') {
      const kinds = new Set((a.devices ?? []).map((d) => this.registry.device(d)?.kind).filter((k) => k !== undefined));
      return [...kinds].map((k) => KIND_DEPARTMENT[k]);
    }
    const i = this.index(a.device);
    if (i < 0) return [];
    const rule = this.evaluators[i]!.plan.byId.get(a.rule);
    return [rule ? rule.department : KIND_DEPARTMENT[this.devices[i]!.kind]];
  }

  /** Elevator inspection mode of a device now. */
  inspecting(device: string): boolean {
    const i = this.index(device);
    return i >= 0 && this.evaluators[i]!.inInspection;
  }

  private opening(i: number, rule: EffectiveRule, metric: string | null): life.Opening {
    const d = this.devices[i]!;
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

  private signals(i: number, signals: Signal[], out: Outcome[], detail?: string): void {
    const d = this.devices[i]!;
    for (const s of signals) {
      const opening = this.opening(i, s.rule, s.metric);
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
          summary: summarize({ kind: d.kind, device: d.id, building: d.building, rule: s.rule.id, metric: s.metric, value: s.value, threshold: s.threshold, ...(direction ? { direction } : {}), ...(detail ? { detail } : {}) }),
        },
      });
    }
  }

  /** A message from the device: it is heard from, so not silent, and online again if it was offline (docs/interfaces.md#payloads). Its index, or -1 for a device not in the registry. */
  private seen(device: string, out: Outcome[]): number {
    const i = this.index(device);
    if (i < 0) return i;
    this.lastSeen[i] = this.now();
    if (!this.quiet.has(i)) this.watchSilence(i);
    const rule = this.silentRule(i);
    if (this.flags[i]! & SILENT_OPEN && rule) out.push({ opening: this.opening(i, rule, null), clear: true });
    this.flags[i] = 0;
    const d = this.devices[i]!;
    if (this.outages.light(d)) this.siteOutage(d.site, out);
    return i;
  }

  /**
   * The time a reading is judged at: its own ts, except after the device's clock jumped back
   * (by more than CLOCK_JUMP_MS), when the jump is counted as no time passing; a jump forward
   * again gives that back first.
   */
  private ruleTime(i: number, ts: number): number {
    const last = this.ruleTs[i]!;
    let shift = this.shift[i]!;
    let t = ts + shift;
    if (t < last - CLOCK_JUMP_MS) {
      shift += last - t;
      t = last;
    } else if (shift > 0 && t > last + CLOCK_JUMP_MS) {
      const back = Math.min(shift, t - last);
      shift -= back;
      t -= back;
    }
    this.shift[i] = shift;
    if (t > last) this.ruleTs[i] = t;
    return t;
  }

  private onReading(r: Reading, out: Outcome[]): void {
    const i = this.seen(r.device, out);
    if (i < 0) return;
    const signals: Signal[] = [];
    const t = this.ruleTime(i, r.ts);
    this.evaluators[i]!.onReading(t === r.ts ? r : { ...r, ts: t }, signals);
    if (signals.length) this.signals(i, signals, out);
  }

  private onEvent(e: DeviceEvent, out: Outcome[]): void {
    const i = this.seen(e.device, out);
    if (i < 0) return;
    const signals: Signal[] = [];
    const t = this.ruleTime(i, e.ts);
    this.evaluators[i]!.onEvent(t === e.ts ? e : { ...e, ts: t }, signals);
    if (signals.length) this.signals(i, signals, out, e.detail || undefined);
  }

  private onStatus(s: DeviceStatus, out: Outcome[]): void {
    if (s.online) {
      this.seen(s.device, out);
      return;
    }
    const i = this.index(s.device);
    if (i < 0) return;
    this.flags[i]! |= OFFLINE;
    // A retained online:false (the device's last will) raises "silent" at once.
    if (this.silentRule(i) && !(this.flags[i]! & SILENT_OPEN)) this.silent(i, true, out);
    const d = this.devices[i]!;
    if (this.outages.dark(d, this.now())) this.siteOutage(d.site, out);
  }

  private silent(i: number, offline: boolean, out: Outcome[]): void {
    const rule = this.silentRule(i)!;
    this.flags[i]! |= SILENT_OPEN;
    const now = this.now();
    const seconds = Math.round((now - this.lastSeen[i]!) / 1000);
    const d = this.devices[i]!;
    out.push({
      opening: this.opening(i, rule, null),
      clear: false,
      condition: {
        severity: rule.severity,
        since: now,
        value: offline ? null : seconds,
        threshold: offline ? null : rule.afterMs / 1000,
        offline,
        summary: summarize({ kind: d.kind, device: d.id, building: d.building, rule: offline ? 'device_offline' : 'device_silent', metric: null, value: null, threshold: null, ...(offline ? {} : { detail: `${seconds} s` }) }),
      },
    });
  }

  /** Puts the device among the silence deadlines at the moment it would count as silent (if it is watched for silence). */
  private watchSilence(i: number): void {
    const rule = this.silentRule(i);
    if (rule) this.quiet.add(i, this.lastSeen[i]! + rule.afterMs + 1);
  }

  /** A site's devices dark together: its one outage alert raised, updated or resolved. */
  private siteOutage(site: string, out: Outcome[]): void {
    const s = this.outages.judge(site, this.now());
    if (!s) return;
    const name = this.registry.sites.get(site)?.name ?? site;
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
}
