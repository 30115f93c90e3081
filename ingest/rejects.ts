/**
 * The reject log: every message or field ingest refused, with its reason, topic and raw
 * payload (capped at 16 KiB), kept in the operational store (newest `keep` of them) and
 * counted by reason. Writes are batched: at most one transaction every 100 ms.
 */
import type { OperationalStore, RejectRow } from '../storage/index.ts';
import type { Reject } from './decode.ts';

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

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), 100);
    this.timer.unref();
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer.length > 0) {
      const rows = this.buffer;
      this.buffer = [];
      this.ops.insertRejects(rows);
      this.written += rows.length;
      if (this.written >= 10_000) {
        this.written = 0;
        this.ops.pruneRejects(this.keep);
      }
    }
    if (this.unregistered.size > 0) {
      const rows = [...this.unregistered.values()];
      this.unregistered.clear();
      this.ops.upsertUnregistered(rows);
    }
  }
}
