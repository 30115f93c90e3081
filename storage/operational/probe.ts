/**
 * Whether the operational store answers, for /readyz (docs/interfaces.md#probes-and-metrics):
 * the service's one probe of it, its verdict cached so that a readiness check never waits on
 * the store.
 */
import type { OpDb } from './db.ts';

/** The operational store's cheap check for /readyz: `SELECT 1` this often, given this long to answer. */
export const OPS_PROBE_EVERY_MS = 5000;
export const OPS_PROBE_TIMEOUT_MS = 2000;

/**
 * Whether the operational store answers: a `SELECT 1` every OPS_PROBE_EVERY_MS, its result
 * kept, so /readyz reads a cached answer and never waits on the store. A probe unanswered
 * after OPS_PROBE_TIMEOUT_MS counts as down (PostgreSQL stalled) until one answers again.
 */
export class OpsProbe {
  up = true;
  checkedAt: number | null = null;
  error: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;

  constructor(private readonly db: OpDb) {}

  start(): void {
    this.checkedAt = Date.now();
    this.timer = setInterval(() => this.check(), OPS_PROBE_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Usable now: open, its last probe answered. */
  get usable(): boolean {
    return this.db.open && this.up;
  }

  check(): void {
    if (this.inFlight) return; // the one in flight sets its own verdict, on time or late
    this.inFlight = true;
    let settled = false;
    const late = setTimeout(() => {
      if (settled) return;
      this.up = false;
      this.error = `no answer within ${OPS_PROBE_TIMEOUT_MS} ms`;
    }, OPS_PROBE_TIMEOUT_MS);
    late.unref();
    void this.db
      .query('SELECT 1 AS one')
      .then(
        () => {
          this.up = true;
          this.error = undefined;
          this.checkedAt = Date.now();
        },
        (err: unknown) => {
          this.up = false;
          this.error = err instanceof Error ? err.message : String(err);
        },
      )
      .finally(() => {
        settled = true;
        clearTimeout(late);
        this.inFlight = false;
      });
  }
}
