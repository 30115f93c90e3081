/**
 * The reject log: every message or field ingest refused, with its reason, topic and raw
 * payload (capped at 16 KiB), kept in the operational store (newest `keep` of them) and
 * counted by reason. Writes are batched: at most one write every 100 ms, one at a time. When
 * the store refuses a write (PostgreSQL away, say), the rows wait in memory, the newest
 * `MAX_WAITING` of them, and the write is tried again a second later: the counts on /metrics
 * stay whole, and nothing on the way of a message waits for the store.
 */
import type { Reject } from './decode.ts';
import type { RejectRow, RejectStore } from './reject-store.ts';

/** Rows held in memory while the operational store refuses writes. */
export const MAX_WAITING = 10_000;

type Unregistered = { device: string; site: string; kind: string; topic: string; lastSeen: number; reason: string; count: number };

export class RejectLog {
  private buffer: RejectRow[] = [];
  private unregistered = new Map<string, Unregistered>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private written = 0;
  readonly counts = new Map<string, number>();

  constructor(
    private readonly store: Pick<RejectStore, 'insertRejects' | 'pruneRejects' | 'upsertUnregistered'>,
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
    this.timer = setTimeout(() => void this.flush(), delayMs);
    this.timer.unref();
  }

  /** Writes what waits; never rejects (a refused write is kept and tried again in a second). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    // One write at a time: a flush asked for while one runs follows it.
    const run = (this.writing ?? Promise.resolve()).then(() => this.write());
    this.writing = run;
    void run.then(() => {
      if (this.writing === run) this.writing = undefined;
    });
    return run;
  }

  private async write(): Promise<void> {
    const rows = this.buffer;
    const unregistered = [...this.unregistered.values()];
    this.buffer = [];
    this.unregistered = new Map();
    try {
      if (rows.length > 0) {
        await this.store.insertRejects(rows);
        this.written += rows.length;
        if (this.written >= 10_000) {
          this.written = 0;
          await this.store.pruneRejects(this.keep);
        }
      }
      if (unregistered.length > 0) await this.store.upsertUnregistered(unregistered);
    } catch (err) {
      // Back in front of what arrived meanwhile, in order; the newest MAX_WAITING kept.
      this.buffer = rows.concat(this.buffer);
      if (this.buffer.length > MAX_WAITING) this.buffer.splice(0, this.buffer.length - MAX_WAITING);
      for (const u of unregistered) {
        const key = `${u.device}\u0000${u.site}\u0000${u.kind}`;
        const later = this.unregistered.get(key);
        this.unregistered.set(key, later ? { ...later, count: later.count + u.count } : u);
      }
      this.onError(err, this.buffer.length);
      this.schedule(1000);
    }
  }
}
