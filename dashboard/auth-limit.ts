/**
 * Rate limiting of failed authentication: an address that presents `max` bad tokens
 * within `windowMs` is answered 429 for `blockMs`, whatever it presents, so a token cannot be
 * guessed by trying. Good tokens are never counted. In memory, per instance.
 */
export interface AuthLimitOptions {
  max: number;
  windowMs: number;
  blockMs: number;
}

export class AuthLimiter {
  private readonly failures = new Map<string, number[]>();
  private readonly blocked = new Map<string, number>();

  constructor(
    private readonly opts: AuthLimitOptions = { max: 10, windowMs: 60_000, blockMs: 300_000 },
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds to wait, or 0 when this address may try. */
  retryAfter(address: string): number {
    const until = this.blocked.get(address);
    if (until === undefined) return 0;
    const left = until - this.now();
    if (left <= 0) {
      this.blocked.delete(address);
      return 0;
    }
    return Math.ceil(left / 1000);
  }

  fail(address: string): void {
    const now = this.now();
    const list = (this.failures.get(address) ?? []).filter((t) => now - t < this.opts.windowMs);
    list.push(now);
    if (list.length >= this.opts.max) {
      this.blocked.set(address, now + this.opts.blockMs);
      this.failures.delete(address);
    } else this.failures.set(address, list);
    // Bounded: forget the oldest addresses under a flood of distinct ones.
    if (this.failures.size > 10_000) this.failures.delete(this.failures.keys().next().value!);
  }
}
