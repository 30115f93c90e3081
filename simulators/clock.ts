/**
 * The simulators' time base. Devices read the simulated time from a clock and ask it to
 * wake them at a simulated time, so the same fleet runs in real time (the default), time-
 * compressed (a scaled clock: a day in minutes), or stepped by hand in tests.
 */

export interface Clock {
  /** simulated time, epoch ms */
  now(): number;
  /** calls `fn` once the simulated time reaches `at`; returns a function that cancels it */
  at(at: number, fn: () => void): () => void;
}

/**
 * Calls `fn` once `now()` has reached `at`, `speed` simulated ms to a wall-clock ms. A Node
 * timer can fire up to a millisecond before `Date.now()` says its delay has passed (it counts
 * from the event loop's cached time), so a wake-up that comes early waits again for the rest.
 */
function wake(now: () => number, speed: number, at: number, fn: () => void): () => void {
  let h: NodeJS.Timeout;
  const arm = () => {
    const left = at - now();
    if (left <= 0) return void fn();
    h = setTimeout(arm, Math.max(1, left / speed));
  };
  h = setTimeout(arm, Math.max(0, (at - now()) / speed));
  return () => clearTimeout(h);
}

/** Wall-clock time. */
export const realClock: Clock = {
  now: () => Date.now(),
  at: (at, fn) => wake(Date.now, 1, at, fn),
};

/**
 * Time that runs `speed` times faster than the wall clock, from `start` (simulated epoch ms,
 * default now) at the moment the clock is made.
 */
export function scaledClock(opts: { speed: number; start?: number }): Clock {
  if (!(opts.speed > 0) || !Number.isFinite(opts.speed)) throw new RangeError('clock speed must be a positive number');
  const origin = Date.now();
  const start = opts.start ?? origin;
  const now = () => start + (Date.now() - origin) * opts.speed;
  return {
    now,
    at: (at, fn) => wake(now, opts.speed, at, fn),
  };
}

/**
 * A scaled clock that stands still at `start` until `begin()`: devices connect first and the
 * run's simulated time begins only once they can publish (scenarios).
 */
export class DeferredClock implements Clock {
  private origin: number | undefined;
  private waiting: { at: number; fn: () => void; cancelled: boolean }[] = [];

  constructor(
    readonly speed: number,
    private readonly start: number,
  ) {
    if (!(speed > 0) || !Number.isFinite(speed)) throw new RangeError('clock speed must be a positive number');
  }

  get started(): boolean {
    return this.origin !== undefined;
  }

  /** simulated epoch ms where the run begins (or began) */
  get startTime(): number {
    return this.start;
  }

  begin(): void {
    if (this.origin !== undefined) return;
    this.origin = Date.now();
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) if (!w.cancelled) this.at(w.at, w.fn);
  }

  now(): number {
    return this.origin === undefined ? this.start : this.start + (Date.now() - this.origin) * this.speed;
  }

  /** The wall-clock time at which the simulated time is `t` (once begun). */
  wallTimeOf(t: number): number {
    return (this.origin ?? Date.now()) + (t - this.start) / this.speed;
  }

  at(at: number, fn: () => void): () => void {
    if (this.origin === undefined) {
      const w = { at, fn, cancelled: false };
      this.waiting.push(w);
      return () => {
        w.cancelled = true;
      };
    }
    return wake(() => this.now(), this.speed, at, fn);
  }
}

/** A clock that moves only when told to, for tests. */
export class ManualClock implements Clock {
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private ids = 0;

  constructor(private t: number) {}

  now(): number {
    return this.t;
  }

  at(at: number, fn: () => void): () => void {
    const id = ++this.ids;
    this.timers.push({ at, fn, id });
    return () => {
      this.timers = this.timers.filter((x) => x.id !== id);
    };
  }

  /** Moves time forward by `ms`, firing every timer due on the way, in time order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const due = this.timers[0];
      if (!due || due.at > end) break;
      this.timers.shift();
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = end;
  }
}
