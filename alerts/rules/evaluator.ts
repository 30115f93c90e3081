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

export class DeviceEvaluator {
  /** the latest value of every metric, merged over readings */
  readonly latest: Record<string, number | boolean> = {};
  private readonly states = new Map<string, RuleState>();
  private readonly byMetric = new Map<string, (EffThreshold | EffBoolean)[]>();
  private readonly derived: EffDerived[] = [];
  private readonly events = new Map<string, EffEvent>();

  constructor(readonly rules: readonly EffectiveRule[]) {
    for (const r of rules) {
      if (r.type === 'threshold' || r.type === 'boolean') {
        const list = this.byMetric.get(r.metric) ?? [];
        list.push(r);
        this.byMetric.set(r.metric, list);
      } else if (r.type === 'derived') this.derived.push(r);
      else if (r.type === 'event') this.events.set(r.code, r);
    }
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
    for (const name in m) this.latest[name] = m[name]!;
    for (const name in m) {
      const rules = this.byMetric.get(name);
      if (!rules) continue;
      for (const rule of rules) this.level(rule, m[name]!, r.ts, out);
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

  private level(rule: EffThreshold | EffBoolean, v: number | boolean, ts: number, out: Signal[]): void {
    if (rule.type === 'threshold' && typeof v !== 'number') return;
    const s = this.state(rule, rule.levels.length);
    if (ts < s.lastTs) return; // older than what was judged already
    s.lastTs = ts;
    let reached = -1;
    let breachedAny = false;
    for (let i = 0; i < rule.levels.length; i++) {
      const l = rule.levels[i]!;
      let breached: boolean;
      if (rule.type === 'boolean') breached = v === rule.when;
      else {
        const firingHere = RANK[s.out] >= RANK[l.severity];
        const h = firingHere ? rule.hysteresis : 0;
        breached = rule.direction === 'above' ? (v as number) > l.limit - h : (v as number) < l.limit + h;
      }
      s.since[i] = breached ? (s.since[i] ?? ts) : null;
      if (breached) {
        breachedAny = true;
        if (reached < 0 && ts - s.since[i]! >= l.forMs) reached = i;
      }
    }
    let next: Outcome;
    if (reached >= 0) next = rule.levels[reached]!.severity;
    else if (breachedAny) next = s.out === 'warning' || s.out === 'critical' ? s.out : 'pending';
    else next = 'clear';
    if (next === s.out) return;
    s.out = next;
    const lvl = reached >= 0 ? rule.levels[reached]! : rule.levels.find((_, i) => s.since[i] !== null) ?? rule.levels[0]!;
    const since = Math.min(...s.since.filter((x): x is number => x !== null), ts);
    out.push({
      rule,
      outcome: next,
      since,
      at: ts,
      metric: rule.metric,
      value: typeof v === 'number' ? v : v ? 1 : 0,
      threshold: rule.type === 'threshold' ? lvl.limit : null,
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
