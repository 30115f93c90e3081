/**
 * The assertion: what a run expected, against what the service says happened. Pure: a run
 * record and the API's alerts and rejects in, one verdict per expectation and per
 * unexpected alert or reject out.
 *
 * An alert belongs to the run when it is on one of the scenario's devices and fired
 * (`firedAt` set; pending alerts have not fired) at or after the moment simulated time
 * began. An expectation is met by such an alert of its device and rule with its severity,
 * routed to (at least) its departments, with the expected `mutedBy` if it names one, that
 * fired by its deadline:
 *
 *   step's wall time + within / speed + allowance
 *
 * `within` is simulated time, like the rule's own duration; the allowance is real time for
 * transport, the rule engine and clock skew, which do not speed up with the simulation.
 * After a run, `watchRun` reads the API until the verdict is settled.
 */
import type { AlertSource, ApiAlert, ApiReject } from './api.ts';
import type { RunRecord } from './runner.ts';
import { formatSeconds, formatSpan } from './schema.ts';
import type { Expectation, RejectExpectation } from './types.ts';

export type Outcome = 'met' | 'missing' | 'unexpected';
export type Shortfall = 'no-alert' | 'wrong-severity' | 'wrong-department' | 'wrong-mute' | 'too-late' | 'step-not-run';

export interface Verdict {
  readonly outcome: Outcome;
  readonly shortfall?: Shortfall;
  readonly expectation?: Expectation;
  readonly rejectExpectation?: RejectExpectation;
  readonly alert?: ApiAlert;
  readonly reject?: ApiReject;
  /** the report line, without the outcome */
  readonly text: string;
}

/** When the expectation's alert must have fired, wall-clock epoch ms; undefined when its step never ran. */
export function deadlineOf(e: Expectation, run: RunRecord): number | undefined {
  const ran = run.steps.find((r) => r.step.index === e.after.index);
  if (!ran) return undefined;
  return ran.wall + e.within / run.scenario.speed + run.scenario.allowance;
}

const firedAt = (a: ApiAlert) => (a.firedAt ? Date.parse(a.firedAt) : NaN);
const isFired = (a: ApiAlert) => a.state !== 'pending' && a.firedAt !== null && Number.isFinite(firedAt(a));

function heading(device: string, rule: string, severity: string, departments: readonly string[]): string {
  return `${device} ${rule} ${severity} → ${departments.join(', ')}`;
}

/** The alerts of a run: on its devices, fired since simulated time began. */
export function alertsOfRun(run: RunRecord, alerts: readonly ApiAlert[]): ApiAlert[] {
  const devices = new Set(run.scenario.devices);
  return alerts.filter((a) => devices.has(a.device) && isFired(a) && firedAt(a) >= run.startedAt);
}

function judge(e: Expectation, run: RunRecord, candidates: readonly ApiAlert[], pending: boolean): { verdict: Verdict; used?: ApiAlert } {
  const head = heading(e.device, e.rule, e.severity, e.departments);
  const deadline = deadlineOf(e, run);
  if (deadline === undefined) {
    return { verdict: { outcome: 'missing', shortfall: 'step-not-run', expectation: e, text: `${head}: its step ${e.after.label} never ran` } };
  }
  if (candidates.length === 0) {
    const why = pending ? 'pending but never fired' : 'no such alert';
    return { verdict: { outcome: 'missing', shortfall: 'no-alert', expectation: e, text: `${head}: ${why}` } };
  }
  const checks = (a: ApiAlert) => ({
    severity: a.severity === e.severity,
    department: e.departments.every((d) => a.departments.includes(d)),
    mute: e.mutedBy === undefined || (a.mutedBy ?? null) === e.mutedBy,
    time: firedAt(a) <= deadline,
  });
  // The closest candidate: severity weighs most, then routing, muting, timing; then the earliest.
  const score = (a: ApiAlert) => {
    const c = checks(a);
    return (c.severity ? 8 : 0) + (c.department ? 4 : 0) + (c.mute ? 2 : 0) + (c.time ? 1 : 0);
  };
  const best = [...candidates].sort((a, b) => score(b) - score(a) || firedAt(a) - firedAt(b))[0]!;
  const c = checks(best);
  const step = run.steps.find((r) => r.step.index === e.after.index)!;
  const late = firedAt(best) - step.wall;
  const limit = deadline - step.wall;
  const timing = `fired ${formatSeconds(late)} after step ${e.after.label} (limit ${formatSpan(e.within)} at ${run.scenario.speed}× + ${formatSeconds(run.scenario.allowance)} = ${formatSeconds(limit)})`;
  const faults: { shortfall: Shortfall; text: string }[] = [];
  if (!c.severity) faults.push({ shortfall: 'wrong-severity', text: `fired as ${best.severity}` });
  if (!c.department) faults.push({ shortfall: 'wrong-department', text: `routed to ${best.departments.join(', ') || 'nobody'}, not ${e.departments.filter((d) => !best.departments.includes(d)).join(', ')}` });
  if (!c.mute) faults.push({ shortfall: 'wrong-mute', text: `mutedBy ${best.mutedBy ?? 'null'}, expected ${e.mutedBy ?? 'null'}` });
  if (!c.time) faults.push({ shortfall: 'too-late', text: `too late: ${timing}` });
  if (faults.length === 0) {
    return { used: best, verdict: { outcome: 'met', expectation: e, alert: best, text: `${head}: ${timing}${best.mutedBy ? `, muted by ${best.mutedBy}` : ''}` } };
  }
  return { used: best, verdict: { outcome: 'missing', shortfall: faults[0]!.shortfall, expectation: e, alert: best, text: `${head}: ${faults.map((f) => f.text).join('; ')}` } };
}

function judgeRejects(run: RunRecord, rejects: readonly ApiReject[]): Verdict[] {
  const s = run.scenario;
  const mine = rejects.filter((r) => Date.parse(r.at) >= run.startedAt);
  const used = new Set<ApiReject>();
  const out: Verdict[] = [];
  for (const x of s.expectRejects) {
    const hit = mine.find((r) => !used.has(r) && r.topic === x.topic && r.reason === x.reason);
    if (hit) {
      used.add(hit);
      out.push({ outcome: 'met', rejectExpectation: x, reject: hit, text: `reject ${x.reason} on ${x.topic}${hit.detail ? ` (${hit.detail})` : ''}` });
      continue;
    }
    const other = mine.find((r) => !used.has(r) && r.topic === x.topic);
    out.push({
      outcome: 'missing',
      rejectExpectation: x,
      text: `reject ${x.reason} on ${x.topic}: ${other ? `rejected as ${other.reason} instead (${other.detail ?? ''})` : 'not in /api/ingest/rejects'}`,
    });
    if (other) used.add(other);
  }
  // What the run's devices sent is never refused, and each malformed message is expected.
  const topics = new Set(s.steps.flatMap((x) => (x.action.type === 'malformed' ? [x.action.topic] : [])));
  const devices = new Set(s.devices);
  for (const r of mine) {
    if (used.has(r)) continue;
    const device = /^estate\/[^/]+\/[^/]+\/([^/]+)\/[^/]+$/.exec(r.topic)?.[1];
    if (topics.has(r.topic) || (device !== undefined && devices.has(device))) {
      out.push({ outcome: 'unexpected', reject: r, text: `reject ${r.reason} on ${r.topic}${r.detail ? ` (${r.detail})` : ''}` });
    }
  }
  return out;
}

/** Every verdict of a run: expectations in the file's order, then the unexpected. */
export function judgeRun(run: RunRecord, alerts: readonly ApiAlert[], rejects: readonly ApiReject[]): Verdict[] {
  const s = run.scenario;
  const mine = alertsOfRun(run, alerts);
  const used = new Set<ApiAlert>();
  const verdicts: Verdict[] = [];
  // Exact matches first, so that one alert that nearly fits two expectations goes to the one it fits.
  const results = new Map<number, Verdict>();
  for (const pass of ['exact', 'closest'] as const) {
    for (const e of s.expect) {
      if (results.has(e.index)) continue;
      const candidates = mine.filter((a) => !used.has(a) && a.device === e.device && a.rule === e.rule);
      const pending = alerts.some((a) => a.device === e.device && a.rule === e.rule && !isFired(a));
      const { verdict, used: u } = judge(e, run, candidates, pending);
      if (pass === 'exact' && verdict.outcome !== 'met') continue;
      results.set(e.index, verdict);
      if (u) used.add(u);
    }
  }
  for (const e of s.expect) verdicts.push(results.get(e.index)!);
  if (s.expectNone) {
    for (const a of mine) {
      if (used.has(a)) continue;
      const value = a.value !== undefined && a.value !== null ? `, value ${a.value}${a.unit ? ` ${a.unit}` : ''}` : '';
      verdicts.push({
        outcome: 'unexpected',
        alert: a,
        text: `${heading(a.device, a.rule, a.severity, a.departments)}: fired ${a.firedAt}${value}${a.mutedBy ? `, muted by ${a.mutedBy}` : ''} (${a.state})`,
      });
    }
  }
  verdicts.push(...judgeRejects(run, rejects));
  return verdicts;
}

export function passed(verdicts: readonly Verdict[]): boolean {
  return verdicts.every((v) => v.outcome === 'met');
}

/*
 * Reading the verdict: the service's alerts and rejects are read after a run until the
 * verdict is settled: as soon as every expectation is met and the run's settle time has
 * passed, or once the last expectation's deadline has passed. So a passing run waits only
 * as long as the service needs, and a failing one no longer than its deadlines.
 */

export interface WatchOptions {
  /** between two reads of the API, ms */
  pollMs?: number;
  /** for tests */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** Verdicts of the run, read once nothing more is to be waited for. */
export async function watchRun(run: RunRecord, api: AlertSource, opts: WatchOptions = {}): Promise<Verdict[]> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const poll = opts.pollMs ?? 500;
  const s = run.scenario;
  const settled = run.endedAt + s.settle;
  // The last moment anything expected may still arrive; rejects within the settle time.
  const deadlines = s.expect.map((e) => deadlineOf(e, run) ?? 0);
  const last = Math.max(settled, ...deadlines);
  // From before the run's simulated start: `from` filters on when a condition began (reading time).
  const from = Math.min(run.simStart, run.startedAt) - 60_000;
  for (;;) {
    const t = now();
    // Rejects matter before the settle time only when some are expected.
    const wantRejects = s.expectRejects.length > 0 || t >= settled;
    const [alerts, rejects] = await Promise.all([api.alerts(from), wantRejects ? api.rejects(run.startedAt) : Promise.resolve([])]);
    const verdicts = judgeRun(run, alerts, rejects);
    const expectedMet = verdicts.filter((v) => v.expectation || v.rejectExpectation).every((v) => v.outcome === 'met');
    // Both exits are past the settle time, so the rejects were read: an unexpected one is seen.
    if ((expectedMet && t >= settled) || t >= last) return verdicts;
    await sleep(poll);
  }
}
