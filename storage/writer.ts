/**
 * Moves spooled records into the series store: batches by size and by time, at most
 * `maxInFlight` requests at once, retries with backoff while the store is away.
 *
 * Two modes. Live: records come from memory, as ingest appends them. Disk: records are read
 * back from the spool, oldest first; used at start for what a previous run left, and when the
 * store is away long enough that memory would overflow. When the disk reader catches up
 * with the spool's write position, the writer goes live again.
 *
 * Order: batches are dispatched in spool order, and a failed batch is retried before any later
 * one is sent; only a batch that was already in flight may land before an earlier one that failed.
 */
import type { Chunk, Spool } from './spool.ts';
import { splitLines } from './lines.ts';
import { StoreWriteError, type RejectedLine, type SeriesStore } from './series.ts';

export interface WriterEvents {
  /** lines the store refused for good */
  rejected(lines: RejectedLine[]): void;
  /** a batch landed */
  written(lines: number, seconds: number): void;
  /** the store went away or came back */
  storeState(up: boolean, error?: string): void;
}

export interface WriterOptions {
  store: SeriesStore;
  spool: Spool;
  batchSize: number;
  flushMs: number;
  maxInFlight?: number;
  /** records held in memory before the writer falls back to reading the spool */
  memoryLines?: number;
  events: WriterEvents;
  maxBackoffMs?: number;
}

interface Batch {
  /** dispatch order, so failed batches are retried oldest first */
  n: number;
  bodies: Buffer[];
  count: number;
  /** byte ranges to acknowledge per segment */
  acks: Map<number, number>;
}

export class SeriesWriter {
  private queue: Chunk[] = [];
  private queuedLines = 0;
  private queuedSince = 0;
  private mode: 'live' | 'disk' = 'live';
  private cursor = { seg: 0, offset: 0 };
  private inFlight = 0;
  /** batches that failed and wait to be sent again, oldest first; nothing new goes out meanwhile */
  private failed: Batch[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private dispatched = 0;
  private attempt = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private storeUp = true;
  private lastError: string | undefined;
  private stopping = false;
  private idleWaiters: (() => void)[] = [];
  private readonly maxInFlight: number;
  private readonly memoryLines: number;
  private readonly maxBackoffMs: number;

  constructor(private readonly opts: WriterOptions) {
    this.maxInFlight = opts.maxInFlight ?? 2;
    this.memoryLines = opts.memoryLines ?? 100_000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 5000;
  }

  start(): void {
    const oldest = this.opts.spool.oldest();
    const pos = this.opts.spool.position();
    if (oldest !== undefined && (oldest !== pos.seg || pos.offset > 0)) this.toDisk({ seg: oldest, offset: 0 });
    this.flushTimer = setInterval(() => this.pump(true), Math.max(10, Math.floor(this.opts.flushMs / 2)));
    this.flushTimer.unref();
    this.pump(false);
  }

  /** Records just appended to the spool. */
  push(chunk: Chunk): void {
    if (this.mode === 'disk') return; // the disk reader will get to them
    if (this.queuedLines === 0) this.queuedSince = Date.now();
    this.queue.push(chunk);
    this.queuedLines += chunk.count;
    if (this.queuedLines > this.memoryLines) this.toDisk({ seg: this.queue[0]!.seg, offset: this.queue[0]!.start });
    if (this.queuedLines >= this.opts.batchSize || (this.mode as string) === 'disk') this.pump(false);
  }

  private toDisk(from: { seg: number; offset: number }): void {
    this.mode = 'disk';
    this.cursor = from;
    this.queue = [];
    this.queuedLines = 0;
  }

  status(): { storeUp: boolean; mode: 'live' | 'disk'; queued: number; inFlight: number; lastError?: string } {
    return {
      storeUp: this.storeUp,
      mode: this.mode,
      queued: this.queuedLines,
      inFlight: this.inFlight,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  private pump(timer: boolean): void {
    if (this.failed.length > 0) {
      // Later batches wait until the failed ones land, so what reaches the store keeps spool order.
      if (!this.retryTimer && this.inFlight === 0) this.send(this.failed.shift()!);
      return;
    }
    while (this.inFlight < this.maxInFlight) {
      const batch = this.mode === 'live' ? this.takeLive(timer || this.stopping) : this.takeDisk();
      if (!batch) break;
      this.send(batch);
    }
    if (this.inFlight === 0 && this.queuedLines === 0 && this.mode === 'live') {
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private takeLive(flushDue: boolean): Batch | undefined {
    if (this.queuedLines === 0) return undefined;
    if (this.queuedLines < this.opts.batchSize && !(flushDue && Date.now() - this.queuedSince >= this.opts.flushMs) && !this.stopping) return undefined;
    const bodies: Buffer[] = [];
    let count = 0;
    const acks = new Map<number, number>();
    while (this.queue.length > 0 && count < this.opts.batchSize) {
      const c = this.queue.shift()!;
      bodies.push(c.body);
      count += c.count;
      acks.set(c.seg, (acks.get(c.seg) ?? 0) + (c.end - c.start));
      this.queuedLines -= c.count;
    }
    this.queuedSince = Date.now();
    return { n: ++this.dispatched, bodies, count, acks };
  }

  private takeDisk(): Batch | undefined {
    const spool = this.opts.spool;
    for (;;) {
      const { seg, offset } = this.cursor;
      const size = spool.sizeOf(seg);
      if (size === undefined || offset >= size) {
        if (spool.isCurrent(seg) || size === undefined && seg >= spool.position().seg) {
          // Caught up with the write position: from here on, records come from memory.
          this.mode = 'live';
          this.cursor = spool.position();
          return undefined;
        }
        const next = spool.next(seg);
        if (next === undefined) {
          this.mode = 'live';
          return undefined;
        }
        this.cursor = { seg: next, offset: 0 };
        continue;
      }
      const chunk = spool.read(seg, offset, this.opts.batchSize);
      if (chunk.count === 0) {
        if (spool.isCurrent(seg)) return undefined; // a record is being appended
        // A torn last record of a segment closed by a crash: nothing whole is left in it.
        spool.ack(seg, size - offset);
        this.cursor = { seg, offset: size };
        continue;
      }
      this.cursor = { seg, offset: chunk.end };
      return { n: ++this.dispatched, bodies: [chunk.body], count: chunk.count, acks: new Map([[seg, chunk.end - chunk.start]]) };
    }
  }

  private send(batch: Batch): void {
    this.inFlight++;
    const started = process.hrtime.bigint();
    const body = batch.bodies.length === 1 ? batch.bodies[0]! : Buffer.concat(batch.bodies);
    batch.bodies = [body];
    this.opts.store.writeBatch(body, batch.count).then(
      (rejected) => {
        this.inFlight--;
        this.attempt = 0;
        if (!this.storeUp) {
          this.storeUp = true;
          this.lastError = undefined;
          this.opts.events.storeState(true);
        }
        if (rejected.length > 0) this.opts.events.rejected(rejected);
        for (const [seg, bytes] of batch.acks) this.opts.spool.ack(seg, bytes);
        this.opts.events.written(batch.count - rejected.length, Number(process.hrtime.bigint() - started) / 1e9);
        this.pump(false);
      },
      (err: unknown) => {
        this.inFlight--;
        const retriable = !(err instanceof StoreWriteError) || err.retriable;
        const message = err instanceof Error ? err.message : String(err);
        if (!retriable) {
          // Nothing about the batch can be said (a query error, say): record each line as refused.
          this.opts.events.rejected(splitLines(body).map((line) => ({ line, reason: message })));
          for (const [seg, bytes] of batch.acks) this.opts.spool.ack(seg, bytes);
          this.pump(false);
          return;
        }
        if (this.storeUp || this.lastError !== message) {
          this.storeUp = false;
          this.lastError = message;
          this.opts.events.storeState(false, message);
        }
        this.scheduleRetry(batch);
      },
    );
  }

  private scheduleRetry(batch: Batch): void {
    // Both batches in flight may fail: keep every failed one, oldest first, behind one timer.
    this.failed.push(batch);
    this.failed.sort((a, b) => a.n - b.n);
    if (this.retryTimer) return;
    this.attempt++;
    const delay = Math.min(this.maxBackoffMs, 100 * 2 ** Math.min(this.attempt, 10)) * (0.75 + Math.random() * 0.5);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.pump(false);
    }, this.stopping ? Math.min(delay, 200) : delay);
    this.retryTimer.unref();
  }

  /** Resolves once everything in memory has reached the store (or `timeoutMs` passed). */
  async drain(timeoutMs: number): Promise<boolean> {
    this.stopping = true;
    this.pump(true);
    if (this.inFlight === 0 && this.queuedLines === 0 && this.failed.length === 0 && this.mode === 'live') return true;
    return new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  stop(): void {
    this.stopping = true;
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }
}

