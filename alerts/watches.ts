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

export class DeviceWatches {
  private readonly watches = new Map<string, DeviceWatch>();
  /** when each watched device would count as silent, earliest first (alerts/deadlines.ts) */
  private readonly quiet = new Deadlines<DeviceWatch>();
  private readonly outages: SiteOutages;

  constructor(
    private readonly registry: Registry,
    estate: Estate,
    private readonly now: () => number,
  ) {
    this.outages = new SiteOutages(registry, estate.alerting.siteOutage);
    const plans = new RulePlans(estate.rules);
    for (const device of registry.devices.values()) {
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

  /** A start: a full interval before anyone counts as silent. */
  started(start: number): void {
    for (const w of this.watches.values()) {
      w.lastSeen = start;
      this.watchSilence(w);
    }
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
    const w = this.watches.get(a.device);
    if (!w || w.device.site !== a.site) return `device ${a.device} left the estate file`;
    if (!w.rules.has(a.rule) || !w.evaluator.restore(a)) return `rule ${a.rule} no longer applies to ${a.device}`;
    if (a.rule === 'device_silent') {
      w.silentOpen = true;
      w.offline = a.offline;
      this.outages.dark(w.device, a.firedAt ?? a.startsAt);
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
    for (let w = this.quiet.pop(now); w; w = this.quiet.pop(now)) {
      if (!w.silent || w.silentOpen) continue; // its next message puts it back
      if (now - w.lastSeen > w.silent.afterMs) {
        this.silent(w, false, out);
        if (this.outages.dark(w.device, now)) sites.add(w.device.site);
      } else this.watchSilence(w); // heard from since: at its new deadline
    }
    for (const site of sites) this.siteOutage(site, out);
  }

  /** Back from a broker outage: devices were unreachable, not silent, so each gets a fresh interval, and what was held back as silent meanwhile ends. */
  brokerBack(now: number, out: Outcome[]): void {
    for (const w of this.watches.values()) {
      w.lastSeen = Math.max(w.lastSeen, now);
      this.watchSilence(w);
      if (w.silentOpen && !w.offline && w.silent) {
        w.silentOpen = false;
        out.push({ opening: this.opening(w, w.silent, null), clear: true });
        if (this.outages.light(w.device)) this.siteOutage(w.device.site, out);
      }
    }
  }

  /** The rule's own departments: its default department; a site's outage, those of the kinds that went dark. */
  departments(a: Alert): readonly string[] {
    if (a.kind === 'site') {
      const kinds = new Set((a.devices ?? []).map((d) => this.registry.device(d)?.kind).filter((k) => k !== undefined));
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
