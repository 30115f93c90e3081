/**
 * Runs several scenarios: at the same time where they touch different devices (up to
 * `parallel`), one after another where they share one. The order is by `start`, earliest
 * first, then as given; a scenario never overtakes an earlier one that shares a device with
 * it. Each device's simulated time only goes forward: a scenario whose devices an earlier
 * one already simulated up to some time begins after it (`notBefore`), since the service
 * judges durations on the readings' own times and a device going back in time is not what
 * any real device does.
 */
import type { FleetSummary } from '../fleet.ts';
import type { AlertSource } from './api.ts';
import { ServiceApiError } from './api.ts';
import { playScenario, RunError, type RunOptions, type RunRecord } from './runner.ts';
import type { Scenario } from './types.ts';
import { watchRun, type Verdict } from './assert.ts';

export interface ScenarioResult {
  readonly scenario: Scenario;
  readonly record?: RunRecord;
  /** with an API to assert against */
  readonly verdicts?: readonly Verdict[];
  readonly summary?: FleetSummary;
  /** the run or the assertion could not happen */
  readonly error?: string;
}

export interface PlanOptions extends Omit<RunOptions, 'notBefore'> {
  /** assert each run against this API; without it the scenarios only run */
  api?: AlertSource;
  /** scenarios at the same time at most; default 1 */
  parallel?: number;
  /** real ms between one run leaving a device and the next taking it: its offline status is processed first */
  handoverMs?: number;
  onResult?: (r: ScenarioResult) => void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function runOne(s: Scenario, opts: PlanOptions, notBefore: number | undefined): Promise<ScenarioResult> {
  let played;
  try {
    played = await playScenario(s, { ...opts, ...(notBefore !== undefined ? { notBefore } : {}) });
  } catch (err) {
    if (err instanceof RunError) return { scenario: s, error: err.message };
    throw err;
  }
  let verdicts: Verdict[] | undefined;
  let error: string | undefined;
  try {
    if (opts.api) verdicts = await watchRun(played.record, opts.api);
  } catch (err) {
    if (!(err instanceof ServiceApiError)) {
      await played.stop();
      throw err;
    }
    error = `${s.name}: ${err.message}`;
  }
  const summary = await played.stop();
  return { scenario: s, record: played.record, summary, ...(verdicts ? { verdicts } : {}), ...(error ? { error } : {}) };
}

export async function runScenarios(scenarios: readonly Scenario[], opts: PlanOptions): Promise<ScenarioResult[]> {
  const parallel = Math.max(1, opts.parallel ?? 1);
  const handover = opts.handoverMs ?? 1000;
  const queue = scenarios.map((s, i) => ({ s, i })).sort((a, b) => a.s.start - b.s.start || a.i - b.i);
  const results = new Map<number, ScenarioResult>();
  const busy = new Set<string>();
  /** per device, the last simulated time a run sent */
  const simulatedUpTo = new Map<string, number>();
  let running = 0;
  let wake: (() => void) | undefined;

  const startable = (k: number): boolean => {
    const { s } = queue[k]!;
    if (s.devices.some((d) => busy.has(d))) return false;
    // Not ahead of an earlier waiting scenario on the same device.
    return queue.slice(0, k).every((q) => !q.s.devices.some((d) => s.devices.includes(d)));
  };

  while (queue.length > 0 || running > 0) {
    let k = running < parallel ? queue.findIndex((_, j) => startable(j)) : -1;
    while (k >= 0) {
      const { s, i } = queue.splice(k, 1)[0]!;
      for (const d of s.devices) busy.add(d);
      const after = Math.max(...s.devices.map((d) => simulatedUpTo.get(d) ?? -Infinity));
      running++;
      void runOne(s, opts, Number.isFinite(after) ? after + 1000 : undefined)
        .catch((err: Error): ScenarioResult => ({ scenario: s, error: `${s.name}: ${err.stack ?? err.message}` }))
        .then(async (r) => {
          results.set(i, r);
          if (r.record) for (const d of s.devices) simulatedUpTo.set(d, r.record.simEnd);
          opts.onResult?.(r);
          await sleep(handover);
          for (const d of s.devices) busy.delete(d);
          running--;
          wake?.();
        });
      k = running < parallel ? queue.findIndex((_, j) => startable(j)) : -1;
    }
    if (running === 0 && queue.length > 0) throw new Error('scenario plan stuck');
    await new Promise<void>((resolve) => (wake = resolve));
  }
  return scenarios.map((_, i) => results.get(i)!);
}
