/**
 * Daily and seasonal cycles of a compound in Chongqing, judged in Asia/Shanghai time
 * (UTC+8, no daylight saving): when people take the lift, draw water, park in the fire
 * lane, and how warm it is. Pure functions of the simulated time in epoch ms.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const SHANGHAI_OFFSET_MS = 8 * HOUR_MS;
const YEAR_DAYS = 365.2425;

/** Local time of day in Asia/Shanghai, in hours [0, 24). */
export function localHour(t: number): number {
  const ms = (((t + SHANGHAI_OFFSET_MS) % DAY_MS) + DAY_MS) % DAY_MS;
  return ms / HOUR_MS;
}

/** A bump of height 1 at `center` hours with spread `sd` hours, wrapping around midnight. */
function bump(h: number, center: number, sd: number): number {
  let d = Math.abs(h - center);
  if (d > 12) d = 24 - d;
  return Math.exp(-(d * d) / (2 * sd * sd));
}

/** 1 while people are up (07:00–23:00), 0 at night, with smooth edges. */
function awake(h: number): number {
  const up = 1 / (1 + Math.exp(-(h - 6.5) * 2.5));
  const down = 1 / (1 + Math.exp((h - 23) * 2.5));
  return up * down;
}

/**
 * Elevator calls per hour for one car: a morning peak (people leaving for work and school),
 * a smaller one at lunch, an evening peak (coming home), a trickle at night.
 */
export function elevatorCallsPerHour(t: number): number {
  const h = localHour(t);
  return 1.5 + 10 * awake(h) + 38 * bump(h, 7.8, 0.7) + 10 * bump(h, 12.2, 0.8) + 34 * bump(h, 18.6, 1.0);
}

/** Whether, at this hour, most trips go down to the lobby (morning) or up from it (evening). */
export function tripBias(t: number): 'down' | 'up' | 'mixed' {
  const h = localHour(t);
  if (h >= 6 && h < 9.5) return 'down';
  if (h >= 16.5 && h < 21.5) return 'up';
  return 'mixed';
}

/** Water demand of a residential building, 0.1 (night) … 1 (morning and evening peaks). */
export function waterDemand(t: number): number {
  const h = localHour(t);
  const d = 0.08 + 0.2 * awake(h) + 0.7 * bump(h, 7.3, 0.9) + 0.4 * bump(h, 12, 1.0) + 0.8 * bump(h, 20.2, 1.4);
  return Math.min(1, d);
}

/** Vehicles stopping in a fire lane per hour: deliveries and drop-offs, most in the evening. */
export function laneStopsPerHour(t: number): number {
  const h = localHour(t);
  return 0.2 + 1.2 * awake(h) + 1.5 * bump(h, 8, 1) + 2.5 * bump(h, 19, 1.5);
}

/** −1 in mid-January (coldest) … +1 in mid-July (warmest). */
export function season(t: number): number {
  const days = (t + SHANGHAI_OFFSET_MS) / DAY_MS;
  const dayOfYear = ((days % YEAR_DAYS) + YEAR_DAYS) % YEAR_DAYS;
  return -Math.cos((2 * Math.PI * (dayOfYear - 15)) / YEAR_DAYS);
}

/** −1 at 03:00 (coolest) … +1 at 15:00 (warmest). */
export function daily(t: number): number {
  return Math.cos((2 * Math.PI * (localHour(t) - 15)) / 24);
}

/** Outdoor air in Chongqing, °C: about 8 in January nights, 35 on July afternoons. */
export function airTempC(t: number): number {
  return 18.5 + 10 * season(t) + 4 * daily(t);
}

/** Water in buried mains and hydrant risers, °C: follows the season, barely the day. */
export function mainsWaterTempC(t: number): number {
  return 18 + 8 * season(t) + 0.6 * daily(t);
}

/** A machine room or pump room, °C: sheltered, warmer than the air in winter. */
export function plantRoomTempC(t: number): number {
  return 21 + 7 * season(t) + 2 * daily(t);
}
