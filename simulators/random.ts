/**
 * Deterministic randomness for the device models. A model never keeps a random generator
 * in its state: it asks for the stream of (device seed, simulated time) or (device seed,
 * purpose), so a reading is a pure function of the run's seed, the device, the simulated
 * time and the previous state, whatever the order in which devices are stepped.
 */

/** A 32-bit finaliser (MurmurHash3 fmix32): spreads every input bit over the output. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over the UTF-16 code units of `s`, finalised. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

/** Combines two 32-bit values into one, order-sensitive. */
export function combine(a: number, b: number): number {
  return mix32((a ^ Math.imul(b >>> 0, 0x9e3779b1) ^ 0x27d4eb2f) >>> 0);
}

/** The seed of one device's streams: the run's seed (any integer) and the device id. */
export function deviceSeed(runSeed: number, deviceId: string): number {
  const lo = runSeed >>> 0;
  const hi = Math.floor(runSeed / 2 ** 32) >>> 0;
  return combine(combine(hashString(deviceId), lo), hi);
}

/** mulberry32: small, fast and good enough for simulated sensors. */
export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** uniform in [0, 1) */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  uniform(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** an integer in [min, max] */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** standard normal (Box–Muller) */
  gaussian(): number {
    const u = 1 - this.next(); // (0, 1]: log(0) is -Infinity
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  normal(mean: number, sd: number): number {
    return mean + sd * this.gaussian();
  }

  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

/** The stream of a device at a simulated time (integer ms); `salt` separates purposes. */
export function rngAt(seed: number, t: number, salt = 0): Rng {
  const ms = Math.floor(t);
  const lo = ms >>> 0;
  const hi = Math.floor(ms / 2 ** 32) >>> 0;
  return new Rng(combine(combine(combine(seed, salt), lo), hi));
}

/** The stream of a device for a fixed purpose (its constants: base pressure, signal, …). */
export function rngFor(seed: number, purpose: string): Rng {
  return new Rng(combine(seed, hashString(purpose)));
}

/**
 * One step of an Ornstein–Uhlenbeck process (a value that wanders around `mean` and is
 * pulled back to it), exact for any step length: `tauSec` is the pull-back time, `sd` the
 * spread the process settles to.
 */
export function wander(x: number, mean: number, tauSec: number, sd: number, dtSec: number, rng: Rng): number {
  if (dtSec <= 0) return x;
  const k = Math.exp(-dtSec / tauSec);
  return mean + (x - mean) * k + sd * Math.sqrt(1 - k * k) * rng.gaussian();
}

export function clamp(x: number, min: number, max: number): number {
  return x < min ? min : x > max ? max : x;
}

/** Rounds to `digits` decimals (what a sensor reports). */
export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
