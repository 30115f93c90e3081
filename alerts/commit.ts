/**
 * The committer (docs/alerts.md, "Every problem once"): the one place alert changes are
 * written. A change is a function over a `Work` (and the batch's transaction, for what it
 * must read there); changes queue and go in batches, one batch at a time, each batch in one
 * transaction: the alerts, their history, acknowledgements, group entries and deliveries
 * together. Only after the commit do the book, the bus, the alerts measurement and the
 * delivery worker hear of it, and do the callers' promises resolve.
 *
 * A store that refuses (PostgreSQL away, the disk full) leaves everything as it was. A change
 * submitted with `retry` (what a reading or a timer caused) is tried again, with the changes
 * that came after it, until the store takes it; its caller's promise waits (so a message's
 * PUBACK waits). Any other change (an acknowledgement through the API) fails with the store's
 * error, and its caller answers 503.
 */
import { crashPoint } from '../crash-points.ts';
import { isStoreUnavailable, type OpDb, type Queryable } from '../storage/index.ts';
import type { AlertStore } from './alert-store.ts';
import type { AlertBook } from './book.ts';
import type { Outbox } from './delivery/index.ts';
import { Work, type Changed } from './work.ts';

export type Change<T> = (w: Work, tx: Queryable) => T | Promise<T>;

interface Item {
  run: Change<unknown>;
  retry: boolean;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export interface CommitterDeps {
  db: OpDb;
  store: AlertStore;
  outbox: Outbox;
  book: AlertBook;
  /** after each commit, with what changed, in order */
  committed: (changed: readonly Changed[], w: Work) => void;
  /** the store refused a batch (`up` false) or took one again after refusing (`up` true, with how long it was away) */
  storeState: (up: boolean, error: string, downMs: number) => void;
  log: { error(o: object, m: string): void };
  now?: () => number;
}

/** Most changes in one transaction. */
const MAX_BATCH = 500;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5000;

export class Committer {
  private readonly queue: Item[] = [];
  private running = false;
  private stopped = false;
  private downSince: number | null = null;
  private retryMs = RETRY_MIN_MS;
  private wake: (() => void) | null = null;
  private readonly now: () => number;

  constructor(private readonly deps: CommitterDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Whether the last batch was refused by the store (and its changes wait). */
  get storeDown(): boolean {
    return this.downSince !== null;
  }

  /** Changes waiting for a commit. */
  get waiting(): number {
    return this.queue.length;
  }

  submit<T>(run: Change<T>, opts: { retry: boolean }): Promise<T> {
    if (this.stopped) return Promise.reject(new Error('the alert engine is stopping'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, retry: opts.retry, resolve: resolve as (v: unknown) => void, reject });
      if (!this.running) void this.drain();
    });
  }

  /** Starts nothing more; waits for the batch in flight; what still waits is rejected (its messages stay unacknowledged). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    while (this.running) await new Promise((r) => setTimeout(r, 5));
    for (const item of this.queue.splice(0)) item.reject(new Error('the alert engine stopped'));
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.stopped) {
        const batch = this.queue.splice(0, MAX_BATCH);
        const work = new Work(this.deps.book, this.now());
        const results = new Map<Item, { ok: true; value: unknown } | { ok: false; error: unknown }>();
        try {
          await this.deps.db.transaction(async (tx) => {
            for (const item of batch) {
              const mark = work.mark();
              try {
                results.set(item, { ok: true, value: await item.run(work, tx) });
              } catch (error) {
                if (isStoreUnavailable(error)) throw error;
                work.rollback(mark);
                results.set(item, { ok: false, error });
              }
            }
            await this.write(work, tx);
          });
        } catch (error) {
          this.refused(batch, error);
          await this.pause();
          continue;
        }
        if (work.deliveries.length > 0 || work.changed.length > 0) crashPoint('after-commit');
        this.recovered();
        work.applyTo(this.deps.book);
        try {
          this.deps.committed(work.changed, work);
        } catch (err) {
          this.deps.log.error({ err }, 'after an alert commit: a listener failed');
        }
        if (work.deliveries.length > 0) this.deps.outbox.notify();
        for (const item of batch) {
          const r = results.get(item)!;
          if (r.ok) item.resolve(r.value);
          else item.reject(r.error);
        }
      }
    } finally {
      this.running = false;
    }
    if (this.queue.length > 0 && !this.stopped) void this.drain();
  }

  private async write(w: Work, tx: Queryable): Promise<void> {
    const store = this.deps.store;
    for (const id of w.discards) await store.discard(tx, id);
    for (const { alert, history } of w.writes.values()) await store.save(tx, alert, history);
    for (const ack of w.acks) await store.addAck(tx, ack);
    await store.removeGroupEntries(tx, w.groupRemovals);
    await store.addGroupEntries(tx, w.groupAdds);
    if (w.deliveries.length > 0) await this.deps.outbox.insert(tx, w.deliveries, w.now);
  }

  /** The store refused the batch: changes to retry go back in front, the others fail. */
  private refused(batch: Item[], error: unknown): void {
    const again = batch.filter((i) => i.retry);
    for (const i of batch) if (!i.retry) i.reject(error);
    this.queue.unshift(...again);
    const first = this.downSince === null;
    if (first) this.downSince = this.now();
    this.deps.storeState(false, (error as Error)?.message ?? String(error), this.now() - this.downSince!);
    if (first || this.retryMs >= RETRY_MAX_MS) this.deps.log.error({ err: error, waiting: this.queue.length }, 'the operational store refused alert changes; they wait and are tried again');
  }

  private recovered(): void {
    this.retryMs = RETRY_MIN_MS;
    if (this.downSince === null) return;
    const downMs = this.now() - this.downSince;
    this.downSince = null;
    this.deps.storeState(true, '', downMs);
  }

  private pause(): Promise<void> {
    const ms = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }
}
