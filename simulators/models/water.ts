/**
 * A secondary water-supply tank and its booster pump, with an online quality analyser, all
 * inside GB 5749-2022: turbidity wandering around 0.1–0.3 NTU, free chlorine decaying slowly
 * in the tank and topped up by fresh mains water whenever the float valve refills it, pH
 * 7.0–7.8, TDS 150–400 mg/L. The tank drains with the building's demand and refills between
 * about 55 % and 85 %; the booster pump runs through the peaks and cycles at night.
 */
import type { DeviceModel, ModelContext } from '../model.ts';
import { clamp, rngAt, rngFor, round, wander, type Rng } from '../random.ts';
import { mainsWaterTempC, plantRoomTempC, waterDemand } from '../cycles.ts';
import { commonMetrics, initCommon, type CommonState } from './common.ts';

const HOUR_S = 3600;
/** tank level drawn per hour at the day's highest demand, % */
const PEAK_DRAW_PCT_H = 10;
/** tank level added per hour while the float valve is open, % */
const FILL_PCT_H = 30;
/** chlorine's decay time in a closed tank, s (a half-life of about two days) */
const CHLORINE_TAU_S = 3 * 24 * HOUR_S;
/** the longest step integrated at once, s */
const SUBSTEP_S = 60;
const SALT_STEP = 6;
const SALT_READING = 7;
const SALT_PUMP = 8;

interface Constants {
  readonly turbidity: number;
  readonly ph: number;
  readonly tds: number;
  /** free chlorine of the incoming mains water, mg/L */
  readonly chlorineIn: number;
  readonly lowMark: number;
  readonly highMark: number;
  readonly setpoint: number;
}

export interface WaterState {
  readonly t: number;
  readonly c: Constants;
  readonly turbidity: number;
  readonly chlorine: number;
  readonly ph: number;
  readonly tds: number;
  readonly level: number;
  readonly filling: boolean;
  readonly pumpOn: boolean;
  /** when the pump next switches */
  readonly pumpUntil: number;
  readonly common: CommonState;
}

function constants(ctx: ModelContext): Constants {
  const r = rngFor(ctx.seed, 'water');
  return {
    turbidity: r.uniform(0.14, 0.22),
    ph: r.uniform(7.25, 7.5),
    tds: r.uniform(190, 330),
    chlorineIn: r.uniform(0.62, 0.7),
    lowMark: r.uniform(54, 60),
    highMark: r.uniform(83, 87),
    setpoint: r.uniform(0.29, 0.32),
  };
}

/** How long the pump stays in its new state: on through the peaks, short cycles at night. */
function pumpPeriod(on: boolean, t: number, rng: Rng): number {
  const d = waterDemand(t);
  const sec = on ? 120 + 1500 * d + rng.uniform(0, 120) : 60 + 900 * (1 - d) + rng.uniform(0, 120);
  return Math.round(sec * 1000);
}

export const waterModel: DeviceModel<WaterState> = {
  kind: 'water',

  init(ctx, t) {
    const c = constants(ctx);
    const rng = rngAt(ctx.seed, t, SALT_STEP);
    const pumpOn = rng.chance(waterDemand(t));
    return {
      t,
      c,
      turbidity: c.turbidity,
      chlorine: c.chlorineIn - rng.uniform(0.05, 0.15),
      ph: c.ph,
      tds: c.tds,
      level: rng.uniform(c.lowMark + 2, c.highMark - 2),
      filling: false,
      pumpOn,
      pumpUntil: t + Math.round(rng.uniform(0, pumpPeriod(pumpOn, t, rng))),
      common: initCommon(ctx, t),
    };
  },

  step(ctx, s, t) {
    let state = s;
    if (t > s.t) {
      const rng = rngAt(ctx.seed, t, SALT_STEP);
      const c = s.c;
      const dtAll = (t - s.t) / 1000;
      // The tank: integrated in short substeps so the float valve switches at its marks.
      let level = s.level;
      let filling = s.filling;
      let chlorine = s.chlorine;
      for (let done = 0; done < dtAll; ) {
        const dt = Math.min(SUBSTEP_S, dtAll - done);
        const at = s.t + (done + dt) * 1000;
        const draw = (PEAK_DRAW_PCT_H * waterDemand(at) * dt) / HOUR_S;
        const fill = filling ? (FILL_PCT_H * dt) / HOUR_S : 0;
        // Fresh water mixes in at the mains' chlorine; what stays in the tank decays.
        chlorine *= Math.exp(-dt / CHLORINE_TAU_S);
        if (fill > 0) chlorine += (c.chlorineIn - chlorine) * (fill / Math.max(level + fill, 1));
        level = clamp(level - draw + fill, 30, 95);
        if (level <= c.lowMark) filling = true;
        else if (level >= c.highMark) filling = false;
        done += dt;
      }
      let pumpOn = s.pumpOn;
      let pumpUntil = s.pumpUntil;
      while (pumpUntil <= t) {
        pumpOn = !pumpOn;
        pumpUntil += pumpPeriod(pumpOn, pumpUntil, rngAt(ctx.seed, pumpUntil, SALT_PUMP));
      }
      state = {
        ...s,
        t,
        turbidity: clamp(wander(s.turbidity, c.turbidity, 6 * HOUR_S, 0.03, dtAll, rng), 0.08, 0.32),
        chlorine: clamp(chlorine, 0.32, 0.78),
        ph: clamp(wander(s.ph, c.ph, 12 * HOUR_S, 0.07, dtAll, rng), 7.05, 7.75),
        tds: clamp(wander(s.tds, c.tds, 24 * HOUR_S, 10, dtAll, rng), 160, 390),
        level,
        filling,
        pumpOn,
        pumpUntil,
      };
    }
    const rng = rngAt(ctx.seed, t, SALT_READING);
    const tankTemp = 0.6 * mainsWaterTempC(t) + 0.4 * plantRoomTempC(t);
    const pressure = state.c.setpoint - (state.pumpOn ? 0 : 0.02) + rng.normal(0, 0.003);
    return {
      state,
      metrics: {
        turbidity_ntu: round(clamp(state.turbidity + rng.normal(0, 0.005), 0.05, 0.35), 3),
        chlorine_mgl: round(clamp(state.chlorine + rng.normal(0, 0.005), 0.3, 0.8), 3),
        ph: round(clamp(state.ph + rng.normal(0, 0.01), 7.0, 7.8), 2),
        tds_mgl: round(clamp(state.tds + rng.normal(0, 2), 150, 400), 0),
        temp_c: round(clamp(tankTemp + rng.normal(0, 0.1), 8, 30), 1),
        tank_level_pct: round(clamp(state.level + rng.normal(0, 0.15), 40, 90), 1),
        outlet_pressure_mpa: round(clamp(pressure, 0.25, 0.35), 3),
        pump_running: state.pumpOn,
        ...commonMetrics(state.common, t, rng),
      },
    };
  },
};
