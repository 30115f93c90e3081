/**
 * When a device reports, and its `seq`. A device reports on a fixed grid of simulated time,
 * `k × period + phase`, and its `seq` is `k`: the same simulated times always carry the same
 * seq, seq grows by one per reading, and a restarted simulator continues above the seqs it
 * sent before (a seq that started again at 0 would look like a reboot or, within the
 * service's de-duplication window, like duplicates). The phase (fixed by the seed) spreads
 * the devices over the period so they do not all publish in the same millisecond.
 */
import { rngFor } from './random.ts';

export class Schedule {
  constructor(
    readonly periodMs: number,
    readonly phaseMs: number,
  ) {
    if (!(periodMs >= 1) || !Number.isFinite(periodMs)) throw new RangeError('a reporting period must be at least 1 ms');
  }

  /** The schedule of a device (by its seed) reporting every `periodMs`. */
  static of(deviceSeed: number, periodMs: number): Schedule {
    return new Schedule(periodMs, Math.floor(rngFor(deviceSeed, 'phase').next() * periodMs));
  }

  /** The first slot at or after `t`. */
  slotAtOrAfter(t: number): number {
    let k = Math.ceil((t - this.phaseMs) / this.periodMs);
    while (this.timeOf(k - 1) >= t) k--;
    while (this.timeOf(k) < t) k++;
    return k;
  }

  /** The simulated time of slot `k`, whole ms. */
  timeOf(k: number): number {
    return Math.round(k * this.periodMs + this.phaseMs);
  }
}
