/**
 * The reject log: every message or field ingest refused, with its reason, topic and raw
 * payload (capped at 16 KiB), kept in the operational store (newest `keep` of them) and
 * counted by reason. Writes are batched: at most one transaction every 100 ms. When the store
 * refuses a write (PostgreSQL away, say), the rows wait in memory, the newest `MAX_WAITING`
 * of them, and the write is tried again a second later: the counts on /metrics stay whole.
 */
import type { OperationalStore, RejectRow } from '../storage/index.ts';
import type { Reject } from './decode.ts';

/** Rows held in memory while the operational store refuses writes. */
export const MAX_WAITING = 10_000;

export class RejectLog {
  private buffer: RejectRow[] = [];
  private unregistered = new Map<string, { device: string; site: string; kind: string; topic: string; lastSeen: number; reason: string; count: number }>();
  private timer: NodeJS.Timeout | undefined;
  private written = 0;
  readonly counts = new Map<string, number>();

  constructor(
    private readonly ops: OperationalStore,
    private readonly onCount: (reason: string, n: number) => void,
    private readonly keep = 100_000,
    private readonly onError: (err: unknown, waiting: number) => void = () => undefined,
  ) {}

  add(r: Reject, at: number): void {
    const site = /^estate\/([a-z0-9][a-z0-9-]{0,63})\//.exec(r.topic)?.[1] ?? null;
    this.buffer.push({ at, reason: r.reason, site, topic: r.topic, detail: r.detail, payload: r.payload });
    this.counts.set(r.reason, (this.counts.get(r.reason) ?? 0) + 1);
    this.onCount(r.reason, 1);
    this.schedule();
  }

  unknownDevice(t: { site: string; kind: string; device: string }, topic: string, at: number, reason: string): void {
    const key = `${t.device}\u0000${t.site}\u0000${t.kind}`;
    const count = (this.unregistered.get(key)?.count ?? 0) + 1;
    this.unregistered.set(key, { device: t.device, site: t.site, kind: t.kind, topic, lastSeen: at, reason, count });
    this.schedule();
  }

  private schedule(delayMs = 100): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), delayMs);
    this.timer.unref();
  }

  /** Writes what waits; never throws (a refused write is kept and tried again in a second). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    try {
      if (this.buffer.length > 0) {
        this.ops.insertRejects(this.buffer);
        this.written += this.buffer.length;
        this.buffer = [];
        if (this.written >= 10_000) {
          this.written = 0;
          this.ops.pruneRejects(this.keep);
        }
      }
      if (this.unregistered.size > 0) {
        this.ops.upsertUnregistered([...this.unregistered.values()]);
        this.unregistered.clear();
      }
    } catch (err) {
      if (this.buffer.length > MAX_WAITING) this.buffer.splice(0, this.buffer.length - MAX_WAITING);
      this.onError(err, this.buffer.length);
      this.schedule(1000);
    }
  }
}
