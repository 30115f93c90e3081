/**
 * A fire lane's occupancy sensor: free most of the time, now and then a delivery van or a
 * car dropping someone off stops for well under the 5 minutes after which an occupied lane
 * is an alert (20 s to 3 min here), more of them in the evening. `obstruction_pct` is how
 * much of the sensor's view is dirty or blocked: a few percent, wandering slowly.
 */
import type { DeviceModel } from '../model.ts';
import { clamp, rngAt, rngFor, round, wander } from '../random.ts';
import { laneStopsPerHour } from '../cycles.ts';
import { commonMetrics, initCommon, type CommonState } from './common.ts';

/** the longest a normal stop lasts; the alert rule waits 300 s */
export const MAX_STOP_MS = 180_000;
/** the least time between two stops, so that two never merge into one long occupation */
export const MIN_GAP_MS = 240_000;
const SALT_STOP = 4;
const SALT_READING = 5;

export interface Stop {
  readonly start: number;
  readonly end: number;
  readonly vehicles: number;
}

export interface FirelaneState {
  readonly t: number;
  /** the current or most recent stop */
  readonly stop: Stop | undefined;
  /** when the next stop begins */
  readonly nextAt: number;
  readonly obstruction: number;
  readonly obstructionBase: number;
  readonly common: CommonState;
}

/** The stop beginning at `start` and when the one after it begins. */
function stopAt(seed: number, start: number): { stop: Stop; nextAt: number } {
  const rng = rngAt(seed, start, SALT_STOP);
  const duration = Math.min(MAX_STOP_MS, 20_000 + rng.exponential(50_000));
  const end = start + Math.round(duration);
  const gap = MIN_GAP_MS + rng.exponential(3_600_000 / laneStopsPerHour(end));
  return { stop: { start, end, vehicles: rng.chance(0.1) ? 2 : 1 }, nextAt: end + Math.round(gap) };
}

export const firelaneModel: DeviceModel<FirelaneState> = {
  kind: 'firelane',

  init(ctx, t) {
    const rng = rngAt(ctx.seed, t, SALT_STOP);
    const obstructionBase = rngFor(ctx.seed, 'obstruction').uniform(1, 5);
    return {
      t,
      stop: undefined,
      nextAt: t + Math.round(rng.exponential(3_600_000 / laneStopsPerHour(t))),
      obstruction: obstructionBase,
      obstructionBase,
      common: initCommon(ctx, t),
    };
  },

  step(ctx, s, t) {
    const rng = rngAt(ctx.seed, t, SALT_READING);
    let state = s;
    if (t > s.t) {
      let stop = s.stop;
      let nextAt = s.nextAt;
      while (nextAt <= t) ({ stop, nextAt } = stopAt(ctx.seed, nextAt));
      const obstruction = clamp(wander(s.obstruction, s.obstructionBase, 6 * 3600, 1.2, (t - s.t) / 1000, rng), 0, 12);
      state = { ...s, t, stop, nextAt, obstruction };
    }
    const stop = state.stop;
    const occupied = stop !== undefined && stop.start <= t && t < stop.end;
    return {
      state,
      metrics: {
        occupied,
        vehicle_count: occupied ? stop.vehicles : 0,
        obstruction_pct: round(clamp(state.obstruction + rng.normal(0, 0.3), 0, 15), 1),
        ...commonMetrics(state.common, t, rng),
      },
    };
  },
};
