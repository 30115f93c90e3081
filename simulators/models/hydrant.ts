/**
 * A fire hydrant's pressure sensor on a healthy network: pressure well above the device's
 * `minPressureMpa`, dipping a little when the compound draws most water, wandering slowly
 * with the network; no flow; water temperature by season and day; no tamper, no leak.
 */
import type { DeviceModel, ModelContext } from '../model.ts';
import { numberAttr } from '../model.ts';
import { clamp, rngAt, rngFor, round, wander } from '../random.ts';
import { mainsWaterTempC, waterDemand } from '../cycles.ts';
import { commonMetrics, initCommon, type CommonState } from './common.ts';

/** how much the pressure falls at the day's highest demand, MPa */
const DEMAND_DIP_MPA = 0.03;
const SALT = 3;

export interface HydrantState {
  readonly t: number;
  /** the network's slow wander around the device's base pressure, MPa */
  readonly drift: number;
  readonly base: number;
  /** the lowest value the device may report: comfortably above its minimum */
  readonly floor: number;
  readonly common: CommonState;
}

function basePressure(ctx: ModelContext): { base: number; floor: number } {
  const min = numberAttr(ctx.spec, 'minPressureMpa', 0.14);
  const base = Math.max(rngFor(ctx.seed, 'pressure').uniform(0.31, 0.39), min + 0.14);
  return { base: Math.min(base, 0.9), floor: Math.min(min + 0.06, 0.85) };
}

export const hydrantModel: DeviceModel<HydrantState> = {
  kind: 'hydrant',

  init(ctx, t) {
    const { base, floor } = basePressure(ctx);
    const rng = rngAt(ctx.seed, t, SALT);
    return { t, drift: rng.normal(0, 0.008), base, floor, common: initCommon(ctx, t) };
  },

  step(ctx, s, t) {
    const rng = rngAt(ctx.seed, t, SALT);
    const dt = (t - s.t) / 1000;
    const state: HydrantState = dt > 0 ? { ...s, t, drift: clamp(wander(s.drift, 0, 3 * 3600, 0.008, dt, rng), -0.025, 0.025) } : s;
    const pressure = state.base - DEMAND_DIP_MPA * waterDemand(t) + state.drift + rng.normal(0, 0.002);
    return {
      state,
      metrics: {
        pressure_mpa: round(clamp(pressure, state.floor, 0.95), 3),
        flow_lps: 0,
        temp_c: round(clamp(mainsWaterTempC(t) + rng.normal(0, 0.1), 6.5, 35), 1),
        tamper: false,
        leak: false,
        ...commonMetrics(state.common, t, rng),
      },
    };
  },
};
