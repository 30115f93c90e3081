/**
 * A platform's HTTP pushes of one device to the service, in order, one at a time: a push that
 * is not answered 200 is sent again, the same bytes (a retry), after a pause that doubles up
 * to 30 s, as long as the platform's policy allows (OneNET: until a 200; CTWing: 3 more times,
 * then it is given up). The queue is bounded; when full the oldest go.
 */
import type { LinkStats } from './link.ts';
import { newLinkStats } from './link.ts';

export interface Push {
  /** the path under the service's base URL */
  path: string;
  body: string;
  /** readings it carries (0 for an online or offline message) */
  readings: number;
  tries: number;
}

export interface HttpPusherOptions {
  /** the service's base URL, e.g. http://127.0.0.1:8080 */
  base: string;
  /** retries after the first try; Infinity: until a 200 */
  retries: number;
  /** readings kept waiting at most */
  limit: number;
  /** what the pushes are, for messages: "OneNET pushes to http://…/ingest/onenet/cmcc" (no secret) */
  label: string;
  /** a problem worth telling the user, e.g. the service unreachable */
  onError: (message: string) => void;
  /** the first pause before a retry, ms [1000] */
  retryMs?: number;
}

const MAX_PAUSE_MS = 30_000;
const TIMEOUT_MS = 10_000;

export class HttpPusher {
  readonly stats: LinkStats = newLinkStats();
  /** the last push was answered 200 */
  ok = false;
  private readonly queue: Push[] = [];
  private busy = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** a stop began: what is queued is tried once more, silently, and not retried */
  private closing = false;
  private idle: (() => void)[] = [];

  constructor(private readonly opts: HttpPusherOptions) {}

  push(path: string, body: string, readings: number): void {
    if (this.closed) return;
    this.queue.push({ path, body, readings, tries: 0 });
    this.stats.buffered += readings;
    while (this.stats.buffered > this.opts.limit && this.queue.length > 1) {
      const dropped = this.queue.splice(this.busy ? 1 : 0, 1)[0]!;
      this.stats.buffered -= dropped.readings;
      this.stats.dropped += dropped.readings;
    }
    this.next();
  }

  private next(): void {
    if (this.closed) return;
    if (this.busy || this.timer || this.queue.length === 0) {
      if (!this.busy && !this.timer && this.queue.length === 0) for (const fn of this.idle.splice(0)) fn();
      return;
    }
    const p = this.queue[0]!;
    this.busy = true;
    p.tries++;
    fetch(`${this.opts.base}${p.path}`, { method: 'POST', body: p.body, headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(TIMEOUT_MS) })
      .then(async (r) => {
        await r.arrayBuffer().catch(() => undefined);
        return r.status === 200 ? undefined : `HTTP ${r.status}`;
      })
      .catch((err: Error) => (err.cause instanceof Error ? err.cause.message : err.message))
      .then((problem) => {
        this.busy = false;
        if (problem === undefined) {
          this.ok = true;
          this.queue.shift();
          this.stats.buffered -= p.readings;
          this.stats.sent += p.readings;
          if (p.tries > 1) this.stats.replayed += p.readings;
          this.stats.messages++;
          return this.next();
        }
        this.ok = false;
        if (this.closing) {
          this.queue.shift();
          this.stats.buffered -= p.readings;
          this.stats.dropped += p.readings;
          return this.next();
        }
        this.opts.onError(`${this.opts.label}: ${problem}${p.tries <= this.opts.retries ? ' (retrying)' : ' (given up)'}`);
        if (p.tries > this.opts.retries) {
          this.queue.shift();
          this.stats.buffered -= p.readings;
          this.stats.dropped += p.readings;
          return this.next();
        }
        const pause = Math.min(MAX_PAUSE_MS, (this.opts.retryMs ?? 1000) * 2 ** (p.tries - 1));
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.next();
        }, pause);
      });
  }

  /** Sends what is queued once more (no retries, no messages), resolves once done or after `ms`; then nothing more is sent. */
  async close(ms: number): Promise<void> {
    this.closing = true;
    if (this.queue.length > 0 || this.busy) {
      // Waiting pauses are cut short: what is queued is tried once more now.
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = undefined;
        this.next();
      }
      await Promise.race([new Promise<void>((r) => this.idle.push(r)), new Promise<void>((r) => setTimeout(r, ms).unref())]);
    }
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
