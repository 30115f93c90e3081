/**
 * The rules of one device as small state machines, fed with its readings and events. Like
 * SignalK's zones, it says something only when a rule's outcome changes: pending (a
 * condition holds but its duration has not run), firing at a severity, or clear. Durations are
 * measured on the readings' own timestamps, so a replayed buffer or a time-compressed
 * simulation is judged as it happened. "Device silent" is the engine's (wall clock).
 */
import type { Severity } from '../../config/index.ts';
import type { DeviceEvent, Reading } from '../../bus.ts';
import type { EffBoolean, EffDerived, EffectiveRule, EffEvent, EffSilent, EffThreshold } from './effective.ts';

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

const RANK: Record<Outcome, number> = { clear: 0, pending: 1, warning: 2, critical: 3 };

/** Derived conditions need this long (ms) before they fire. */
/** The metrics `derivedNeed` reads. */
const DERIVED_INPUTS = ['running', 'door_open', 'passengers_present', 'in_door_zone'] as const;

function derivedNeed(rule: EffDerived, m: Readonly<Record<string, number | boolean>>): number | null {
  if (rule.derive === 'trapped') {
    const trapped = m.running === false && m.door_open === false && m.passengers_present === true;
    if (!trapped) return null;
    return m.in_door_zone === true ? 60_000 : 30_000;
  }
  return m.running === false && m.in_door_zone === false ? 60_000 : null;
}

/** A device's latest values before it sent any its rules read. */
const NONE_KEPT: Readonly<Record<string, number | boolean>> = Object.freeze({});

const OUTCOMES: readonly Outcome[] = ['clear', 'pending', 'warning', 'critical'];

/**
 * What a threshold or boolean rule is, without its state: shared by every device with the
 * same rules (RulePlan). Its state lives in the device's one array of numbers, at `at`:
 * outcome rank, last judged time, then since-when each level (critical first) is breached.
 */
interface Check {
  readonly rule: EffThreshold | EffBoolean;
  readonly isBool: boolean;
  readonly when: boolean;
  readonly above: boolean;
  readonly hysteresis: number;
  readonly limits: readonly number[];
  readonly forMs: readonly number[];
  /** 2 warning, 3 critical, per level (critical first) */
  readonly ranks: readonly number[];
  readonly at: number;
}

/** An event or derived rule and where its state is: outcome rank, last judged time, since when (derived). */
interface Slot<R> {
  readonly rule: R;
  readonly at: number;
}

/**
 * One device's rules compiled once for every device that has the same ones (alerts/rules/plans.ts
 * shares them): which checks each metric feeds, the event and derived rules, and how many
 * numbers of state a device needs. The plan holds its devices' state, a row of numbers each;
 * a device holds its row's offset and the latest values its rules read (docs/performance.md,
 * "City scale").
 */
export class RulePlan {
  readonly byMetric = new Map<string, readonly Check[]>();
  readonly checks: Check[] = [];
  readonly derived: Slot<EffDerived>[] = [];
  readonly events = new Map<string, Slot<EffEvent>>();
  readonly byId = new Map<string, EffectiveRule>();
  /**
   * The metrics a device keeps the latest value of: those its derived and event rules read,
   * and the elevator's service mode (inspection). Not every metric: at 100,000 devices an
   * object of every latest value was 11 MB (docs/performance.md, "City scale").
   */
  readonly keeps = new Set<string>(['service_mode']);
  readonly size: number;
  /** the device-silent rule, judged by the wall clock (alerts/watches.ts), if the devices have one */
  readonly silent: EffSilent | undefined;

  constructor(readonly rules: readonly EffectiveRule[]) {
    let at = 0;
    let silent: EffSilent | undefined;
    for (const r of rules) {
      this.byId.set(r.id, r);
      if (r.type === 'silent') silent ??= r;
      if (r.type === 'threshold' || r.type === 'boolean') {
        const c: Check = {
          rule: r,
          isBool: r.type === 'boolean',
          when: r.type === 'boolean' ? r.when : false,
          above: r.type === 'threshold' && r.direction === 'above',
          hysteresis: r.type === 'threshold' ? r.hysteresis : 0,
          limits: r.levels.map((l) => l.limit),
          forMs: r.levels.map((l) => l.forMs),
          ranks: r.levels.map((l) => (l.severity === 'critical' ? 3 : 2)),
          at,
        };
        at += 2 + r.levels.length;
        this.checks.push(c);
        this.byMetric.set(r.metric, [...(this.byMetric.get(r.metric) ?? []), c]);
      } else if (r.type === 'derived') {
        this.derived.push({ rule: r, at });
        for (const m of DERIVED_INPUTS) this.keeps.add(m);
        at += 3;
      } else if (r.type === 'event') {
        if (r.criticalIf) this.keeps.add(r.criticalIf);
        this.events.set(r.code, { rule: r, at });
        at += 1;
      }
    }
    this.size = at;
    this.silent = silent;
  }

  /**
   * Every device's state on this plan, one row of `size` numbers each (`row()`), in one array
   * that grows by half: no typed array of its own per device, which cost about 130 bytes a
   * device more than its numbers (docs/performance.md, "City scale"). Read through `state`
   * each time: a growth replaces it.
   */
  state = new Float64Array(0);
  private rows = 0;

  /** A new device's row, in its first moment: every rule clear, nothing judged, nothing breached. Returns its offset. */
  row(): number {
    const base = this.rows * this.size;
    if (base + this.size > this.state.length) {
      const next = new Float64Array(Math.max(16 * this.size, Math.ceil(this.state.length * 1.5) + this.size));
      next.set(this.state);
      this.state = next;
    }
    this.rows++;
    const f = this.state;
    for (const c of this.checks) {
      f[base + c.at + 1] = -Infinity;
      for (let i = 0; i < c.limits.length; i++) f[base + c.at + 2 + i] = NaN;
    }
    for (const d of this.derived) {
      f[base + d.at + 1] = -Infinity;
      f[base + d.at + 2] = NaN;
    }
    return base;
  }
}

/** The new outcome's rank when it changed, else -1 (the check's state in `f` at `at`). */
function judge(c: Check, f: Float64Array, at: number, v: number | boolean, ts: number): number {
  if (ts < f[at + 1]!) return -1; // older than what was judged already
  if (!c.isBool && typeof v !== 'number') return -1;
  f[at + 1] = ts;
  const out = f[at]!;
  let reached = 0;
  let breachedAny = false;
  const n = c.limits.length;
  for (let i = 0; i < n; i++) {
    let breached: boolean;
    if (c.isBool) breached = v === c.when;
    else {
      const h = out >= c.ranks[i]! ? c.hysteresis : 0;
      breached = c.above ? (v as number) > c.limits[i]! - h : (v as number) < c.limits[i]! + h;
    }
    const si = at + 2 + i;
    if (breached) {
      if (Number.isNaN(f[si])) f[si] = ts;
      breachedAny = true;
      if (reached === 0 && ts - f[si]! >= c.forMs[i]!) reached = c.ranks[i]!;
    } else f[si] = NaN;
  }
  const next = reached > 0 ? reached : breachedAny ? (out >= 2 ? out : 1) : 0;
  if (next === out) return -1;
  f[at] = next;
  return next;
}

export class DeviceEvaluator {
  /**
   * The latest value of each metric its rules read (RulePlan.keeps), merged over readings; made
   * at the first such value (most hydrants, fire lanes and water devices have none, and an empty
   * object each was 4 MB at 100,000 devices; docs/performance.md, "City scale").
   */
  private kept: Record<string, number | boolean> | undefined;

  get latest(): Readonly<Record<string, number | boolean>> {
    return this.kept ?? NONE_KEPT;
  }
  readonly plan: RulePlan;
  /** where its row of the plan's state begins */
  private readonly base: number;

  constructor(plan: RulePlan | readonly EffectiveRule[]) {
    this.plan = plan instanceof RulePlan ? plan : new RulePlan(plan);
    this.base = this.plan.row();
  }

  get rules(): readonly EffectiveRule[] {
    return this.plan.rules;
  }

  /**
   * Starts a rule from its alert as the store kept it (docs/alerts.md, "Restarts"): the rule
   * is in the alert's outcome, and a breach began at the alert's `startsAt`, so the first
   * reading that clears it resolves the alert, and a pending duration goes on from where it
   * began (on the readings' own clock). False when the device has no such rule now.
   */
  restore(a: { rule: string; state: string; severity: Severity; startsAt: number; value: number | null }): boolean {
    const rank = a.state === 'pending' ? 1 : RANK[a.severity];
    const f = this.plan.state;
    const o = this.base;
    for (const e of this.plan.events.values()) {
      if (e.rule.id !== a.rule) continue;
      f[o + e.at] = rank;
      return true;
    }
    for (const d of this.plan.derived) {
      if (d.rule.id !== a.rule) continue;
      f[o + d.at] = rank;
      f[o + d.at + 1] = -Infinity;
      f[o + d.at + 2] = a.startsAt;
      return true;
    }
    for (const c of this.plan.checks) {
      if (c.rule.id !== a.rule) continue;
      f[o + c.at] = rank;
      f[o + c.at + 1] = -Infinity;
      for (let i = 0; i < c.limits.length; i++) {
        const reached = c.ranks[i]! <= rank && rank >= 2;
        const breached = c.isBool || a.value === null ? reached || rank === 1 : c.above ? a.value > c.limits[i]! : a.value < c.limits[i]!;
        f[o + c.at + 2 + i] = reached || breached ? a.startsAt : NaN;
      }
      return true;
    }
    return this.plan.rules.some((r) => r.id === a.rule && r.type === 'silent');
  }

  /** Elevator inspection mode (service_mode 2): a technician is working. */
  get inInspection(): boolean {
    return this.kept?.service_mode === 2;
  }

  onReading(r: Reading, out: Signal[]): void {
    const m = r.metrics;
    const byMetric = this.plan.byMetric;
    const keeps = this.plan.keeps;
    for (const name in m) {
      const v = m[name]!;
      if (keeps.has(name)) (this.kept ??= {})[name] = v;
      const checks = byMetric.get(name);
      if (checks === undefined) continue;
      for (let i = 0; i < checks.length; i++) {
        const c = checks[i]!;
        const rank = judge(c, this.plan.state, this.base + c.at, v, r.ts);
        if (rank >= 0) this.signal(c, rank, v, r.ts, out);
      }
    }
    for (const d of this.plan.derived) this.derive(d, r.ts, out);
  }

  onEvent(e: DeviceEvent, out: Signal[]): void {
    const slot = this.plan.events.get(e.code);
    if (!slot) return;
    const rule = slot.rule;
    let outcome: Outcome = 'clear';
    if (e.active) outcome = rule.criticalIf && this.kept?.[rule.criticalIf] === true ? 'critical' : rule.severity;
    const f = this.plan.state;
    if (RANK[outcome] === f[this.base + slot.at]) return;
    f[this.base + slot.at] = RANK[outcome];
    out.push({ rule, outcome, since: e.ts, at: e.ts, metric: null, value: null, threshold: null });
  }

  private signal(c: Check, rank: number, v: number | boolean, ts: number, out: Signal[]): void {
    const rule = c.rule;
    const f = this.plan.state;
    const o = this.base;
    let lvl = c.ranks.indexOf(rank);
    let since = ts;
    for (let i = 0; i < c.limits.length; i++) {
      const x = f[o + c.at + 2 + i]!;
      if (Number.isNaN(x)) continue;
      if (lvl < 0) lvl = i;
      if (x < since) since = x;
    }
    const level = rule.levels[lvl >= 0 ? lvl : 0]!;
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

  private derive(d: Slot<EffDerived>, ts: number, out: Signal[]): void {
    const f = this.plan.state;
    const o = this.base;
    const rule = d.rule;
    if (ts < f[o + d.at + 1]!) return;
    f[o + d.at + 1] = ts;
    const need = derivedNeed(rule, this.latest);
    if (need === null) f[o + d.at + 2] = NaN;
    else if (Number.isNaN(f[o + d.at + 2])) f[o + d.at + 2] = ts;
    const began = f[o + d.at + 2]!;
    const cur = f[o + d.at]!;
    const sev = RANK[rule.severity];
    let next = 0;
    if (need !== null) next = ts - began >= need ? sev : cur === sev ? cur : 1;
    if (next === cur) return;
    f[o + d.at] = next;
    out.push({ rule, outcome: OUTCOMES[next]!, since: Number.isNaN(began) ? ts : began, at: ts, metric: null, value: null, threshold: need === null ? null : need / 1000 });
  }
}
