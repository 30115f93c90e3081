/**
 * Exponential backoff with jitter: after the n-th failed attempt wait base × 2^(n−1), capped,
 * then drawn uniformly from its upper half, so many deliveries failing together (a receiver
 * coming back) do not retry in lockstep, yet none retries much sooner than planned.
 */
export interface BackoffOptions {
  /** wait after the first failure [1 s] */
  baseMs?: number;
  /** longest wait [30 s]: a receiver that comes back is tried again within half a minute, so it gets its backlog within a minute (docs/interfaces.md#headers-retries-signatures) */
  capMs?: number;
}

export const DEFAULT_BACKOFF = { baseMs: 1_000, capMs: 30_000 } as const;

export function backoffDelay(attempts: number, opts: BackoffOptions = {}, random: () => number = Math.random): number {
  const base = opts.baseMs ?? DEFAULT_BACKOFF.baseMs;
  const cap = opts.capMs ?? DEFAULT_BACKOFF.capMs;
  const exp = Math.min(cap, base * 2 ** Math.min(Math.max(attempts - 1, 0), 40));
  return Math.round(exp / 2 + random() * (exp / 2));
}
