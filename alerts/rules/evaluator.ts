/**
 * The rules of one device as small state machines, fed with its readings and events. Like
 * SignalK's zones, it says something only when a rule's outcome changes: pending (a
 * condition holds but its duration has not run), firing at a severity, or clear. Durations are
 * measured on the readings' own timestamps, so a replayed buffer or a time-compressed
 * simulation is judged as it happened. "Device silent" is the engine's (wall clock).
 */
import type { Severity } from '../../config/index.ts';
import type { DeviceEvent, Reading } from '../../bus.ts';
import type { EffBoolean, EffDerived, EffectiveRule, EffEvent, EffThreshold } from './effective.ts';

export type Outcome = 'clear' | 'pending' | Severity;

export interface Signal {
  rule: EffectiveRule;
  outcome: Outcome;
  /** when the condition began (reading time), for pending and firing */
  since: number;
  /** the reading or event time that decided it */
  at: number;
  metric: string | null;
  value: number | null;
  threshold: number | null;
}

interface RuleState {
  out: Outcome;
  /** per level (critical first): since when it has been breached, or null */
  since: (number | null)[];
  lastTs: number;
}

const RANK: Record<Outcome, number> = { clear: 0, pending: 1, warning: 2, critical: 3 };

/** Derived conditions need this long (ms) before they fire. */
function derivedNeed(rule: EffDerived, m: Record<string, number | boolean>): number | null {
  if (rule.derive === 'trapped') {
    const trapped = m.running === false && m.door_open === false && m.passengers_present === true;
    if (!trapped) return null;
    return m.in_door_zone === true ? 60_000 : 30_000;
  }
  return m.running === false && m.in_door_zone === false ? 60_000 : null;
}

const OUTCOMES: readonly Outcome[] = ['clear', 'pending', 'warning', 'critical'];

/**
 * One threshold or boolean rule of one device with its state, in one object of one shape:
 * this runs for every metric of every reading, so no maps, strings or allocations on the
 * way (a first version with a Map of states per rule cost 3.6 µs per hydrant reading).
 */
class LevelCheck {
  readonly isBool: boolean;
  readonly when: boolean;
  readonly above: boolean;
  readonly hysteresis: number;
  readonly limits: number[];
  readonly forMs: number[];
  /** 2 warning, 3 critical, per level (critical first) */
  readonly ranks: number[];
  /** per level: since when breached (reading time), NaN when not */
  readonly since: number[];
  out = 0;
  lastTs = -Infinity;

  constructor(readonly rule: EffThreshold | EffBoolean) {
    this.isBool = rule.type === 'boolean';
    this.when = rule.type === 'boolean' ? rule.when : false;
    this.above = rule.type === 'threshold' && rule.direction === 'above';
    this.hysteresis = rule.type === 'threshold' ? rule.hysteresis : 0;
    this.limits = rule.levels.map((l) => l.limit);
    this.forMs = rule.levels.map((l) => l.forMs);
    this.ranks = rule.levels.map((l) => (l.severity === 'critical' ? 3 : 2));
    this.since = rule.levels.map(() => NaN);
  }

  /** In outcome `rank` (1 pending, 2 warning, 3 critical) since `since`, last judged at `value`. */
  restore(rank: number, since: number, value: number | null): void {
    this.out = rank;
    this.lastTs = -Infinity;
    for (let i = 0; i < this.limits.length; i++) {
      const reached = this.ranks[i]! <= rank && rank >= 2;
      const breached = this.isBool || value === null ? reached || rank === 1 : this.above ? value > this.limits[i]! : value < this.limits[i]!;
      this.since[i] = reached || breached ? since : NaN;
    }
  }

  /** The new outcome's rank when it changed, else -1. */
  judge(v: number | boolean, ts: number): number {
    if (ts < this.lastTs) return -1; // older than what was judged already
    if (!this.isBool && typeof v !== 'number') return -1;
    this.lastTs = ts;
    let reached = 0;
    let breachedAny = false;
    const n = this.limits.length;
    for (let i = 0; i < n; i++) {
      let breached: boolean;
      if (this.isBool) breached = v === this.when;
      else {
        const h = this.out >= this.ranks[i]! ? this.hysteresis : 0;
        breached = this.above ? (v as number) > this.limits[i]! - h : (v as number) < this.limits[i]! + h;
      }
      if (breached) {
        if (Number.isNaN(this.since[i])) this.since[i] = ts;
        breachedAny = true;
        if (reached === 0 && ts - this.since[i]! >= this.forMs[i]!) reached = this.ranks[i]!;
      } else this.since[i] = NaN;
    }
    const next = reached > 0 ? reached : breachedAny ? (this.out >= 2 ? this.out : 1) : 0;
    if (next === this.out) return -1;
    this.out = next;
    return next;
  }
}

export class DeviceEvaluator {
  /** the latest value of every metric, merged over readings */
  readonly latest: Record<string, number | boolean> = {};
  private readonly states = new Map<string, RuleState>();
  private readonly byMetric = new Map<string, LevelCheck[]>();
  private readonly derived: EffDerived[] = [];
  private readonly events = new Map<string, EffEvent>();

  constructor(readonly rules: readonly EffectiveRule[]) {
    for (const r of rules) {
      if (r.type === 'threshold' || r.type === 'boolean') {
        const list = this.byMetric.get(r.metric) ?? [];
        list.push(new LevelCheck(r));
        this.byMetric.set(r.metric, list);
      } else if (r.type === 'derived') this.derived.push(r);
      else if (r.type === 'event') this.events.set(r.code, r);
    }
  }

  /**
   * Starts a rule from its alert as the store kept it (docs/alerts.md, "Restarts"): the rule
   * is in the alert's outcome, and a breach began at the alert's `startsAt`, so the first
   * reading that clears it resolves the alert, and a pending duration goes on from where it
   * began (on the readings' own clock). False when the device has no such rule now.
   */
  restore(a: { rule: string; state: string; severity: Severity; startsAt: number; value: number | null }): boolean {
    const outcome: Outcome = a.state === 'pending' ? 'pending' : a.severity;
    const event = [...this.events.values()].find((r) => r.id === a.rule);
    if (event) {
      this.states.set(event.id, { out: outcome, since: [], lastTs: -Infinity });
      return true;
    }
    const derived = this.derived.find((r) => r.id === a.rule);
    if (derived) {
      this.states.set(derived.id, { out: outcome, since: [a.startsAt], lastTs: -Infinity });
      return true;
    }
    for (const checks of this.byMetric.values()) {
      for (const c of checks) {
        if (c.rule.id !== a.rule) continue;
        c.restore(RANK[outcome], a.startsAt, a.value);
        return true;
      }
    }
    return this.rules.some((r) => r.id === a.rule && r.type === 'silent');
  }

  /** Elevator inspection mode (service_mode 2): a technician is working. */
  get inInspection(): boolean {
    return this.latest.service_mode === 2;
  }

  private state(rule: EffectiveRule, levels: number): RuleState {
    let s = this.states.get(rule.id);
    if (!s) this.states.set(rule.id, (s = { out: 'clear', since: new Array<number | null>(levels).fill(null), lastTs: -Infinity }));
    return s;
  }

  onReading(r: Reading, out: Signal[]): void {
    const m = r.metrics;
    for (const name in m) {
      const v = m[name]!;
      this.latest[name] = v;
      const checks = this.byMetric.get(name);
      if (checks === undefined) continue;
      for (let i = 0; i < checks.length; i++) {
        const c = checks[i]!;
        const rank = c.judge(v, r.ts);
        if (rank >= 0) this.signal(c, rank, v, r.ts, out);
      }
    }
    for (const rule of this.derived) this.derive(rule, r.ts, out);
  }

  onEvent(e: DeviceEvent, out: Signal[]): void {
    const rule = this.events.get(e.code);
    if (!rule) return;
    const s = this.state(rule, 0);
    let outcome: Outcome = 'clear';
    if (e.active) outcome = rule.criticalIf && this.latest[rule.criticalIf] === true ? 'critical' : rule.severity;
    if (outcome === s.out) return;
    s.out = outcome;
    out.push({ rule, outcome, since: e.ts, at: e.ts, metric: null, value: null, threshold: null });
  }

  private signal(c: LevelCheck, rank: number, v: number | boolean, ts: number, out: Signal[]): void {
    const rule = c.rule;
    const lvl = c.ranks.indexOf(rank) >= 0 ? c.ranks.indexOf(rank) : c.since.findIndex((x) => !Number.isNaN(x));
    const level = rule.levels[lvl >= 0 ? lvl : 0]!;
    const since = Math.min(...c.since.filter((x) => !Number.isNaN(x)), ts);
    out.push({
      rule,
      outcome: OUTCOMES[rank]!,
      since,
      at: ts,
      metric: rule.metric,
      value: typeof v === 'number' ? v : v ? 1 : 0,
      threshold: rule.type === 'threshold' ? level.limit : null,
    });
  }

  private derive(rule: EffDerived, ts: number, out: Signal[]): void {
    const s = this.state(rule, 1);
    if (ts < s.lastTs) return;
    s.lastTs = ts;
    const need = derivedNeed(rule, this.latest);
    s.since[0] = need === null ? null : (s.since[0] ?? ts);
    let next: Outcome = 'clear';
    if (need !== null) next = ts - s.since[0]! >= need ? rule.severity : s.out === rule.severity ? s.out : 'pending';
    if (next === s.out) return;
    s.out = next;
    out.push({ rule, outcome: next, since: s.since[0] ?? ts, at: ts, metric: null, value: null, threshold: need === null ? null : need / 1000 });
  }
}
