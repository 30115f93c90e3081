/**
 * Pushes recently taken, by a key of each (OneNET's nonce and signature, a hash of a CTWing
 * body): a platform that did not see our 200 in time sends the same push again, and it is
 * taken once (docs/adapters.md, "Retries"). Kept for `ttlMs` (15 min) and at most `max`
 * (100,000) keys, oldest out first; in memory: a push retried across a restart of the service
 * is taken again, which stores the same points again (InfluxDB keeps one) and judges them
 * again (rules restored from the open alerts: nothing is announced twice).
 */
export class RecentPushes {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly ttlMs = 15 * 60_000,
    private readonly max = 100_000,
  ) {}

  /** True when `key` was taken within the window; otherwise records it and answers false. */
  seenBefore(key: string, now: number): boolean {
    const at = this.seen.get(key);
    if (at !== undefined && now - at < this.ttlMs) return true;
    if (at !== undefined) this.seen.delete(key);
    this.seen.set(key, now);
    this.prune(now);
    return false;
  }

  /** Forgets a key (its push could not be made durable: the retry must be taken). */
  forget(key: string): void {
    this.seen.delete(key);
  }

  private prune(now: number): void {
    for (const [k, at] of this.seen) {
      if (this.seen.size <= this.max && now - at < this.ttlMs) break;
      this.seen.delete(k);
    }
  }
}
