/**
 * Moves spooled records into the series store: batches by size and by time, at most
 * `maxInFlight` requests at once, retries with backoff while the store is away.
 *
 * One path for everything: the writer reads its batches back from the spool, from a cursor,
 * oldest first, into a few reused buffers. Live traffic, what a previous run left behind and
 * the backlog of an outage all go the same way. Reading back costs one read from the page
 * cache per batch; holding the records in memory instead kept every turn's buffer alive for
 * a few hundred milliseconds, long enough to be promoted to V8's old generation, and peak RSS
 * grew by tens of MB at 30,000 msg/s.
 *
 * Order: batches are dispatched in spool order, and a failed batch is retried before any later
 * one is sent. With one request in flight (the default), what reaches the store is exactly in
 * spool order. With two (STORE_MAX_IN_FLIGHT=2, the most InfluxDB takes before answering
 * "engine: error syncing wal"), a batch already in flight may land before an earlier one that
 * failed. One keeps up with 30,000 msg/s here (docs/performance.md).
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
  events: WriterEvents;
  maxBackoffMs?: number;
  /** size of each read buffer; a batch is at most this many bytes */
  batchBytes?: number;
}

interface Batch {
  /** dispatch order, so failed batches are retried oldest first */
  n: number;
  buffer: Buffer;
  body: Buffer;
  count: number;
  seg: number;
  bytes: number;
}

export interface WriterStatus {
  storeUp: boolean;
  /** bytes in the spool not yet written to the store */
  backlogBytes: number;
  inFlight: number;
  lastError?: string;
}

export class SeriesWriter {
  private cursor = { seg: 0, offset: 0 };
  /** records appended since the cursor last caught up (a lower bound; unknown for a previous run's) */
  private pending = 0;
  private pendingSince = 0;
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
  private readonly pool: Buffer[] = [];
  private readonly maxInFlight: number;
  private readonly maxBackoffMs: number;
  private readonly batchBytes: number;

  constructor(private readonly opts: WriterOptions) {
    this.maxInFlight = opts.maxInFlight ?? 1;
    this.maxBackoffMs = opts.maxBackoffMs ?? 5000;
    this.batchBytes = opts.batchBytes ?? 2 * 1024 * 1024;
  }

  start(): void {
    this.cursor = { seg: this.opts.spool.oldest() ?? this.opts.spool.position().seg, offset: 0 };
    this.flushTimer = setInterval(() => this.pump(true), Math.max(10, Math.floor(this.opts.flushMs / 2)));
    this.flushTimer.unref();
    this.pump(false);
  }

  /** Records were just appended to the spool. */
  push(chunk: Chunk): void {
    if (this.pending === 0) this.pendingSince = Date.now();
    this.pending += chunk.count;
    if (this.pending >= this.opts.batchSize) this.pump(false);
  }

  status(): WriterStatus {
    return {
      storeUp: this.storeUp,
      backlogBytes: this.backlogBytes(),
      inFlight: this.inFlight,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  private backlogBytes(): number {
    const spool = this.opts.spool;
    const pos = spool.position();
    let bytes = 0;
    for (let seg: number | undefined = this.cursor.seg; seg !== undefined && seg <= pos.seg; seg = spool.next(seg)) {
      bytes += (spool.sizeOf(seg) ?? 0) - (seg === this.cursor.seg ? this.cursor.offset : 0);
    }
    for (const b of this.failed) bytes += b.bytes;
    return bytes;
  }

  private caughtUp(): boolean {
    const pos = this.opts.spool.position();
    return this.cursor.seg === pos.seg && this.cursor.offset >= pos.offset;
  }

  private pump(timer: boolean): void {
    if (this.failed.length > 0) {
      // Later batches wait until the failed ones land, so what reaches the store keeps spool order.
      if (!this.retryTimer && this.inFlight === 0) this.send(this.failed.shift()!);
      return;
    }
    while (this.inFlight < this.maxInFlight && !this.caughtUp()) {
      // A previous run's segments or an outage's backlog go at once; live records wait for a
      // full batch or for flushMs.
      const backlog = this.cursor.seg !== this.opts.spool.position().seg;
      const due = backlog || this.stopping || this.pending >= this.opts.batchSize || (timer && Date.now() - this.pendingSince >= this.opts.flushMs);
      if (!due) break;
      const batch = this.read();
      if (!batch) break;
      this.send(batch);
    }
    if (this.caughtUp()) {
      this.pending = 0;
      if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** The next batch at the cursor, or undefined when there is nothing whole to read. */
  private read(): Batch | undefined {
    const spool = this.opts.spool;
    for (;;) {
      const { seg, offset } = this.cursor;
      const size = spool.sizeOf(seg);
      if (size === undefined || offset >= size) {
        if (spool.isCurrent(seg)) return undefined;
        const next = spool.next(seg);
        if (next === undefined) return undefined;
        this.cursor = { seg: next, offset: 0 };
        continue;
      }
      const buffer = this.pool.pop() ?? Buffer.allocUnsafeSlow(this.batchBytes);
      const chunk = spool.read(seg, offset, this.opts.batchSize, buffer);
      if (chunk.count === 0) {
        this.pool.push(buffer);
        if (spool.isCurrent(seg)) return undefined; // a record is being appended
        // A torn last record of a segment closed by a crash: nothing whole is left in it.
        spool.ack(seg, size - offset);
        this.cursor = { seg, offset: size };
        continue;
      }
      this.cursor = { seg, offset: chunk.end };
      this.pending = Math.max(0, this.pending - chunk.count);
      this.pendingSince = Date.now();
      return { n: ++this.dispatched, buffer, body: chunk.body, count: chunk.count, seg, bytes: chunk.end - chunk.start };
    }
  }

  private done(batch: Batch): void {
    this.opts.spool.ack(batch.seg, batch.bytes);
    if (this.pool.length < this.maxInFlight + 1) this.pool.push(batch.buffer);
  }

  private send(batch: Batch): void {
    this.inFlight++;
    const started = process.hrtime.bigint();
    this.opts.store.writeBatch(batch.body, batch.count).then(
      (rejected) => {
        this.inFlight--;
        this.attempt = 0;
        if (!this.storeUp) {
          this.storeUp = true;
          this.lastError = undefined;
          this.opts.events.storeState(true);
        }
        if (rejected.length > 0) this.opts.events.rejected(rejected);
        this.done(batch);
        this.opts.events.written(batch.count - rejected.length, Number(process.hrtime.bigint() - started) / 1e9);
        this.pump(false);
      },
      (err: unknown) => {
        this.inFlight--;
        const retriable = !(err instanceof StoreWriteError) || err.retriable;
        const message = err instanceof Error ? err.message : String(err);
        if (!retriable) {
          // Nothing about the batch can be said (a query error, say): record each line as refused.
          this.opts.events.rejected(splitLines(batch.body).map((line) => ({ line, reason: message })));
          this.done(batch);
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

  /** Resolves once everything in the spool has reached the store (or `timeoutMs` passed). */
  async drain(timeoutMs: number): Promise<boolean> {
    this.stopping = true;
    this.pump(true);
    if (this.inFlight === 0 && this.failed.length === 0 && this.caughtUp()) return true;
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
