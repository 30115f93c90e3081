/**
 * What every device sends besides its own metrics: `battery_pct` (the backup or sensor
 * battery, draining slowly towards but never below 21 %) and `rssi_dbm` (signal strength
 * around a level fixed by where the device sits).
 */
import type { ModelContext } from '../model.ts';
import { clamp, rngFor, round, type Rng } from '../random.ts';

/** Time constant of the battery's drain: about 0.2–0.4 % a day when fresh. */
const BATTERY_TAU_MS = 200 * 24 * 3_600_000;
const BATTERY_FLOOR = 21;

export interface CommonState {
  /** when the run started: the battery drains from its level then */
  readonly t0: number;
  readonly battery0: number;
  readonly rssiBase: number;
}

export function initCommon(ctx: ModelContext, t0: number): CommonState {
  const rng = rngFor(ctx.seed, 'common');
  return { t0, battery0: rng.uniform(55, 99), rssiBase: rng.uniform(-92, -58) };
}

export function commonMetrics(c: CommonState, t: number, rng: Rng): { battery_pct: number; rssi_dbm: number } {
  const elapsed = Math.max(0, t - c.t0);
  const battery = BATTERY_FLOOR + (c.battery0 - BATTERY_FLOOR) * Math.exp(-elapsed / BATTERY_TAU_MS);
  return {
    // Floored, so the reported value never goes up between readings.
    battery_pct: Math.floor(battery * 10) / 10,
    rssi_dbm: round(clamp(c.rssiBase + rng.normal(0, 2), -110, -40), 0),
  };
}
