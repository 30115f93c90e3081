/**
 * An elevator car in normal service. Its day is a chain of segments: idle at a landing,
 * doors open (passengers board or leave), travel to another landing, with the calls
 * following the day's traffic (down to the lobby in the morning, up from it in the evening).
 * A reading samples the current segment, so any reporting rate gives consistent values.
 *
 * Landings: `floors` landings from `lowestFloor` up, skipping floor 0 as Chinese numbering
 * does (lowestFloor −1 and 18 floors serve −1, 1, 2, …, 17).
 */
import type { DeviceModel, Metrics, ModelContext } from '../model.ts';
import { numberAttr } from '../model.ts';
import { clamp, rngAt, rngFor, round, type Rng } from '../random.ts';
import { elevatorCallsPerHour, plantRoomTempC, tripBias } from '../cycles.ts';
import { commonMetrics, initCommon, type CommonState } from './common.ts';

const FLOOR_HEIGHT_M = 3;
const ACCEL_MPS2 = 0.8;
const PERSON_PCT = 7.5; // 75 kg of a 1,000 kg rated load
const MAX_PEOPLE = 10;
const DUTY_TAU_MS = 20 * 60_000;
const DOOR_ZONE_M = 0.1;
const SALT_SEGMENT = 1;
const SALT_READING = 2;

type Phase = 'idle' | 'doors' | 'travel';

export interface Segment {
  readonly phase: Phase;
  readonly start: number;
  readonly end: number;
  /** landing indexes; equal except while travelling */
  readonly from: number;
  readonly to: number;
  /** people in the car while travelling; boarding or leaving at doors */
  readonly people: number;
  /** doors: true when people board here (then travel on to `dest`) */
  readonly boarding: boolean;
  /** the landing the current call goes to, once its passengers are picked up */
  readonly dest: number;
  /** an empty run to a call: how many people wait there */
  readonly waiting: number;
  /** travel: peak speed of the profile, m/s */
  readonly vPeak: number;
}

export interface ElevatorState {
  readonly t: number;
  readonly seg: Segment;
  readonly runCount: number;
  readonly doorCycles: number;
  /** running share of the last ~20 min, which warms the motor */
  readonly duty: number;
  readonly common: CommonState;
}

interface Car {
  readonly landings: readonly number[];
  readonly ratedSpeed: number;
  /** the cruise speed as a share of rated speed, a property of the drive's tuning */
  readonly cruise: number;
  readonly lobby: number;
}

const cars = new WeakMap<ModelContext, Car>();

export function landingsOf(lowestFloor: number, floors: number): number[] {
  const out: number[] = [];
  for (let f = lowestFloor; out.length < floors; f++) if (f !== 0) out.push(f);
  return out;
}

function carOf(ctx: ModelContext): Car {
  let car = cars.get(ctx);
  if (!car) {
    const landings = landingsOf(
      Math.round(numberAttr(ctx.spec, 'lowestFloor', 1)),
      Math.max(2, Math.round(numberAttr(ctx.spec, 'floors', 18))),
    );
    const lobby = Math.max(0, landings.indexOf(1));
    car = { landings, ratedSpeed: numberAttr(ctx.spec, 'ratedSpeedMps', 1.75), cruise: rngFor(ctx.seed, 'cruise').uniform(0.965, 0.985), lobby };
    cars.set(ctx, car);
  }
  return car;
}

function idle(at: number, start: number, rng: Rng): Segment {
  // Time to the next call, by the traffic at this hour; at least a few seconds.
  const mean = 3_600_000 / elevatorCallsPerHour(start);
  const wait = Math.min(3 * 3_600_000, 4000 + rng.exponential(mean));
  return { phase: 'idle', start, end: start + Math.round(wait), from: at, to: at, people: 0, boarding: false, dest: at, waiting: 0, vPeak: 0 };
}

function doors(at: number, start: number, people: number, boarding: boolean, dest: number, rng: Rng): Segment {
  // Opening 2.5 s, people step in or out, closing 2.5 s; now and then someone holds the door.
  let dwell = 2 + people * 0.7 + rng.exponential(1.5);
  if (rng.chance(0.03)) dwell += rng.uniform(10, 40);
  return { phase: 'doors', start, end: start + Math.round((5 + dwell) * 1000), from: at, to: at, people, boarding, dest, waiting: 0, vPeak: 0 };
}

function travel(car: Car, from: number, to: number, start: number, people: number, dest: number, waiting = 0): Segment {
  const d = Math.abs(to - from) * FLOOR_HEIGHT_M;
  const vmax = car.ratedSpeed * car.cruise;
  let vPeak: number;
  let sec: number;
  if (d >= (vmax * vmax) / ACCEL_MPS2) {
    vPeak = vmax;
    sec = d / vmax + vmax / ACCEL_MPS2;
  } else {
    vPeak = Math.sqrt(d * ACCEL_MPS2);
    sec = (2 * vPeak) / ACCEL_MPS2;
  }
  return { phase: 'travel', start, end: start + Math.round(sec * 1000), from, to, people, boarding: false, dest, waiting, vPeak };
}

/** A new call: where the passengers wait, where they go, how many they are. */
function call(car: Car, t: number, rng: Rng): { origin: number; dest: number; people: number } {
  const n = car.landings.length;
  const lobbies = [car.lobby, ...(car.lobby > 0 && rng.chance(0.3) ? [rng.int(0, car.lobby - 1)] : [])];
  const ground = lobbies[lobbies.length - 1]!;
  const upper = () => (n - 1 > car.lobby ? rng.int(car.lobby + 1, n - 1) : rng.int(0, n - 1));
  const any = () => rng.int(0, n - 1);
  const bias = tripBias(t);
  let origin: number;
  let dest: number;
  if (bias === 'down' && rng.chance(0.75)) [origin, dest] = [upper(), ground];
  else if (bias === 'up' && rng.chance(0.7)) [origin, dest] = [ground, upper()];
  else if (rng.chance(0.4)) [origin, dest] = [ground, any()];
  else if (rng.chance(0.6)) [origin, dest] = [any(), ground];
  else [origin, dest] = [any(), any()];
  if (dest === origin) dest = origin === 0 ? n - 1 : 0;
  const busy = bias === 'mixed' ? 0.5 : 1.3;
  const people = Math.min(MAX_PEOPLE, 1 + Math.floor(rng.exponential(busy)));
  return { origin, dest, people };
}

/** The segment after `seg`, drawn from the device's stream at the moment `seg` ends. */
function next(ctx: ModelContext, car: Car, seg: Segment): Segment {
  const t = seg.end;
  const rng = rngAt(ctx.seed, t, SALT_SEGMENT);
  switch (seg.phase) {
    case 'idle': {
      const c = call(car, t, rng);
      if (c.origin === seg.to) return doors(seg.to, t, c.people, true, c.dest, rng);
      return travel(car, seg.to, c.origin, t, 0, c.dest, c.people);
    }
    case 'travel':
      // An empty run to a call picks the people up; a loaded run lets them out.
      return seg.people === 0 ? doors(seg.to, t, seg.waiting, true, seg.dest, rng) : doors(seg.to, t, seg.people, false, seg.to, rng);
    case 'doors':
      return seg.boarding ? travel(car, seg.to, seg.dest, t, seg.people, seg.dest) : idle(seg.to, t, rng);
  }
}

/** Position (m above the lowest landing) and speed of a travelling car at `t`. */
function motion(seg: Segment, t: number): { pos: number; speed: number } {
  const T = (seg.end - seg.start) / 1000;
  const tau = clamp((t - seg.start) / 1000, 0, T);
  const d = Math.abs(seg.to - seg.from) * FLOOR_HEIGHT_M;
  const a = ACCEL_MPS2;
  const v = seg.vPeak;
  const ta = v / a;
  let s: number;
  if (tau < ta) s = 0.5 * a * tau * tau;
  else if (tau <= T - ta) s = 0.5 * a * ta * ta + v * (tau - ta);
  else s = d - 0.5 * a * (T - tau) * (T - tau);
  s = clamp(s, 0, d);
  const dir = seg.to > seg.from ? 1 : -1;
  return { pos: seg.from * FLOOR_HEIGHT_M + dir * s, speed: Math.max(0, Math.min(a * tau, v, a * (T - tau))) };
}

function overlap(a0: number, a1: number, b0: number, b1: number): number {
  return Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
}

function readings(ctx: ModelContext, car: Car, s: ElevatorState, t: number): Metrics {
  const rng = rngAt(ctx.seed, t, SALT_READING);
  const seg = s.seg;
  const rated = car.ratedSpeed;
  let floor = car.landings[seg.to]!;
  let running = false;
  let speed = 0;
  let doorOpen = false;
  let inDoorZone = true;
  let people = 0;
  let vibration = 0.04 + Math.abs(rng.normal(0, 0.02));
  if (seg.phase === 'travel') {
    const m = motion(seg, t);
    const index = clamp(Math.round(m.pos / FLOOR_HEIGHT_M), 0, car.landings.length - 1);
    floor = car.landings[index]!;
    running = true;
    speed = Math.min(rated, round(Math.max(0, m.speed + rng.normal(0, 0.004 * rated)), 3));
    inDoorZone = Math.abs(m.pos - index * FLOOR_HEIGHT_M) < DOOR_ZONE_M;
    people = seg.people;
    const accelerating = m.speed < seg.vPeak - 0.01 ? 0.2 : 0;
    vibration = 0.25 + 0.55 * (speed / rated) + accelerating + Math.abs(rng.normal(0, 0.06));
  } else if (seg.phase === 'doors') {
    doorOpen = true;
    const share = (t - seg.start) / (seg.end - seg.start);
    // Boarding: the car fills halfway through; leaving: it empties halfway through.
    people = seg.boarding === share >= 0.45 ? seg.people : 0;
    vibration += 0.1;
  }
  const load = people > 0 ? clamp(people * PERSON_PCT + rng.normal(0, 1), 1, 100) : 0;
  return {
    floor,
    speed_mps: speed,
    door_open: doorOpen,
    running,
    in_door_zone: inDoorZone,
    service_mode: 1,
    load_pct: round(load, 1),
    vibration_mms: round(clamp(vibration, 0.01, 5), 2),
    motor_temp_c: round(plantRoomTempC(t) + 26 * s.duty + rng.normal(0, 0.15), 1),
    run_count: s.runCount,
    door_cycles: s.doorCycles,
    passengers_present: people > 0,
    ...commonMetrics(s.common, t, rng),
  };
}

export const elevatorModel: DeviceModel<ElevatorState> = {
  kind: 'elevator',

  init(ctx, t) {
    const car = carOf(ctx);
    const consts = rngFor(ctx.seed, 'counters');
    const rng = rngAt(ctx.seed, t, SALT_SEGMENT);
    const at = rng.int(0, car.landings.length - 1);
    // A car in service for a few years already; about two door cycles per run.
    const runCount = consts.int(50_000, 900_000);
    return { t, seg: idle(at, t, rng), runCount, doorCycles: runCount * 2 + consts.int(0, 5000), duty: 0.1, common: initCommon(ctx, t) };
  },

  step(ctx, s, t) {
    const car = carOf(ctx);
    let state = s;
    if (t > s.t) {
      let seg = s.seg;
      let runCount = s.runCount;
      let doorCycles = s.doorCycles;
      let runningMs = 0;
      for (;;) {
        if (seg.phase === 'travel') runningMs += overlap(seg.start, seg.end, s.t, t);
        if (seg.end > t) break;
        seg = next(ctx, car, seg);
        if (seg.phase === 'travel') runCount++;
        else if (seg.phase === 'doors') doorCycles++;
      }
      const dt = t - s.t;
      const k = 1 - Math.exp(-dt / DUTY_TAU_MS);
      const duty = s.duty + (runningMs / dt - s.duty) * k;
      state = { t, seg, runCount, doorCycles, duty, common: s.common };
    }
    return { state, metrics: readings(ctx, car, state, t) };
  },
};
