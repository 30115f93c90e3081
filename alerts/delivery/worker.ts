/**
 * The delivery worker: takes pending deliveries from the outbox and sends them, one queue per
 * target (a URL, or the SMTP server), so a slow or dead department never delays another's
 * deliveries, and each target gets its deliveries in the order they were enqueued.
 *
 * - Happy path: `Outbox.enqueue` wakes the worker (so does `wake()`), which sends at once: no
 *   polling delay.
 * - A retriable failure keeps the delivery at the head of its target's queue and retries it
 *   with exponential backoff and jitter; later deliveries to that target wait behind it.
 * - A delivery is given up (marked failed, `onGaveUp` called) when its receiver refuses it
 *   (not retriable), or when its deadline comes: no attempt starts at or after the deadline,
 *   and none is scheduled past it.
 * - A delivery is marked sent only after the receiver accepted it (2xx, errcode 0, SMTP 250).
 *   If the process dies between that answer and the record, the next start sends it again
 *   under the same delivery id: at least once, and receivers deduplicate by X-Estate-Delivery.
 * - `start()` resumes everything pending (after a crash too), keeping each retry's schedule.
 *   A sweep every `sweepMs` picks up pending rows that arrived without a wake.
 */
import type { Logger } from 'pino';
import { backoffDelay, type BackoffOptions } from './backoff.ts';
import type { Outbox, PendingRef } from './outbox.ts';
import { redactChannel } from './redact.ts';
import type { Delivery, DeliveryRecord, SendResult, SenderSet } from './types.ts';

export type GiveUpReason = 'rejected' | 'deadline';

/** Called once for each delivery given up; `delivery.attempts` counts every attempt made. */
export type OnGaveUp = (delivery: Delivery, error: string, reason: GiveUpReason) => void | Promise<void>;

export interface DeliveryWorkerDeps {
  outbox: Outbox;
  senders: SenderSet;
  onGaveUp?: OnGaveUp;
  /** [1 s doubling, up to 5 min] */
  backoff?: BackoffOptions;
  /** how often pending rows are looked for without a wake [10 s] */
  sweepMs?: number;
  log?: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
  now?: () => number;
  random?: () => number;
}

interface Entry {
  seq: number;
  id: string;
  nextAt: number;
}

interface Queue {
  target: string;
  /** in enqueue order (by seq); while busy, the head may be in flight */
  entries: Entry[];
  busy: boolean;
  done: Promise<void>;
  timer: NodeJS.Timeout | null;
}

const PAGE = 500;
const MAX_TIMER_MS = 2 ** 31 - 1;

export class DeliveryWorker {
  private readonly queues = new Map<string, Queue>();
  private readonly known = new Set<string>();
  private cursor = 0;
  private started = false;
  /** bumped by stop(): an attempt from an older generation records nothing */
  private generation = 0;
  private abort = new AbortController();
  private sweepTimer: NodeJS.Timeout | null = null;
  private wakePending = false;
  private unsubscribe: (() => void) | null = null;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly deps: DeliveryWorkerDeps) {
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
  }

  /** Resumes every pending delivery and sends from then on. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.abort = new AbortController();
    this.unsubscribe = this.deps.outbox.onEnqueue(() => this.wake());
    this.refill(true);
    this.sweepTimer = setInterval(() => this.refill(true), this.deps.sweepMs ?? 10_000);
    this.sweepTimer.unref();
  }

  /** Sends what was just enqueued (Outbox.enqueue already calls it). */
  wake(): void {
    if (!this.started || this.wakePending) return;
    this.wakePending = true;
    queueMicrotask(() => {
      this.wakePending = false;
      if (this.started) this.refill(false);
    });
  }

  /**
   * Starts no new attempt and waits up to `timeoutMs` for those in flight; then abandons them
   * (they stay pending and are sent again after the next start). Touches the outbox no more
   * once it resolves.
   */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.unsubscribe?.();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const q of this.queues.values()) if (q.timer) clearTimeout(q.timer);
    const inflight = [...this.queues.values()].filter((q) => q.busy).map((q) => q.done);
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      Promise.allSettled(inflight).then(() => true),
      new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    this.generation++;
    if (!finished) {
      this.abort.abort();
      this.deps.log?.warn({ inflight: inflight.length }, 'delivery worker stopped with sends in flight; they stay pending');
    }
    this.queues.clear();
    this.known.clear();
    this.cursor = 0;
  }

  /** How many pending deliveries the worker holds in its queues (for diagnostics). */
  queued(): number {
    return this.known.size;
  }

  private refill(full: boolean): void {
    try {
      let seq = full ? 0 : this.cursor;
      const touched = new Set<Queue>();
      for (;;) {
        const rows = this.deps.outbox.pendingSince(seq, PAGE);
        for (const r of rows) {
          seq = r.seq;
          if (!this.known.has(r.id)) touched.add(this.add(r));
        }
        if (rows.length < PAGE) break;
      }
      this.cursor = Math.max(this.cursor, seq);
      for (const q of touched) this.kick(q);
    } catch (err) {
      this.deps.log?.error({ err }, 'delivery worker could not read the outbox');
    }
  }

  private add(r: PendingRef): Queue {
    let target: string;
    try {
      target = this.deps.senders.targetOf(r.channel);
    } catch {
      target = `unknown:${r.id}`;
    }
    let q = this.queues.get(target);
    if (!q) {
      q = { target, entries: [], busy: false, done: Promise.resolve(), timer: null };
      this.queues.set(target, q);
    }
    const e: Entry = { seq: r.seq, id: r.id, nextAt: r.nextAt };
    // Never ahead of a head that is in flight.
    const floor = Math.min(q.busy ? 1 : 0, q.entries.length);
    let i = q.entries.length;
    while (i > floor && q.entries[i - 1]!.seq > e.seq) i--;
    q.entries.splice(i, 0, e);
    this.known.add(r.id);
    return q;
  }

  private kick(q: Queue): void {
    // A queue of an earlier start (a timer that outlived stop()) is not this start's to run.
    if (q.busy || !this.started || this.queues.get(q.target) !== q) return;
    if (q.timer) clearTimeout(q.timer);
    q.timer = null;
    q.busy = true;
    q.done = this.drain(q);
  }

  private async drain(q: Queue): Promise<void> {
    const gen = this.generation;
    try {
      for (;;) {
        if (!this.started || gen !== this.generation) return;
        const head = q.entries[0];
        if (!head) return;
        const wait = head.nextAt - this.now();
        if (wait > 0) {
          q.timer = setTimeout(() => {
            q.timer = null;
            this.kick(q);
          }, Math.min(wait, MAX_TIMER_MS));
          return;
        }
        await this.attempt(q, head);
      }
    } catch (err) {
      // The outbox itself failed (a full disk, a closed database): try the queue again later.
      this.deps.log?.error({ err }, 'delivery worker failed; retrying');
      if (this.started && gen === this.generation) {
        q.timer = setTimeout(() => {
          q.timer = null;
          this.kick(q);
        }, this.deps.backoff?.baseMs ?? 1_000);
      }
    } finally {
      q.busy = false;
      if (q.entries.length === 0 && !q.timer && this.queues.get(q.target) === q) this.queues.delete(q.target);
    }
  }

  private async attempt(q: Queue, e: Entry): Promise<void> {
    const d = this.deps.outbox.get(e.id);
    if (!d || d.status !== 'pending') return this.forget(q, e);
    if (this.now() >= d.deadline) {
      return this.giveUp(q, e, d, d.attempts, `deadline passed after ${d.attempts} attempts${d.lastError ? `; last error: ${d.lastError}` : ''}`, 'deadline');
    }
    const sender = this.deps.senders.senderFor(d.channel);
    if (!sender) return this.giveUp(q, e, d, d.attempts, `no sender for channel type ${String(d.channel.type)}`, 'rejected');

    const gen = this.generation;
    let result: SendResult;
    try {
      result = await sender.send(d, { signal: this.abort.signal, now: this.now });
    } catch (err) {
      result = { ok: false, retriable: true, error: `sender failed: ${String(err)}` };
    }
    if (gen !== this.generation) return; // stop() gave up waiting: the delivery stays pending as it was

    const at = this.now();
    const attempts = d.attempts + 1;
    const where = redactChannel(d.channel);
    if (result.ok) {
      this.deps.outbox.markSent(d.id, at);
      this.deps.log?.debug({ delivery: d.id, alert: d.alertId, recipient: d.recipient, channel: where, attempts }, 'delivered');
      return this.forget(q, e);
    }
    if (!result.retriable) return this.giveUp(q, e, d, attempts, result.error, 'rejected');
    const delay = backoffDelay(attempts, this.deps.backoff, this.random);
    if (at + delay >= d.deadline) {
      return this.giveUp(q, e, d, attempts, `deadline reached after ${attempts} attempts; last error: ${result.error}`, 'deadline');
    }
    this.deps.outbox.markRetry(d.id, at + delay, attempts, result.error);
    e.nextAt = at + delay;
    this.deps.log?.warn({ delivery: d.id, alert: d.alertId, recipient: d.recipient, channel: where, attempts, retryInMs: delay, error: result.error }, 'delivery failed; will retry');
  }

  private forget(q: Queue, e: Entry): void {
    const i = q.entries.indexOf(e);
    if (i >= 0) q.entries.splice(i, 1);
    this.known.delete(e.id);
  }

  private giveUp(q: Queue, e: Entry, d: DeliveryRecord, attempts: number, error: string, reason: GiveUpReason): void {
    this.deps.outbox.markFailed(d.id, this.now(), error, attempts);
    this.forget(q, e);
    this.deps.log?.error({ delivery: d.id, alert: d.alertId, recipient: d.recipient, channel: redactChannel(d.channel), attempts, reason, error }, 'delivery given up');
    const gaveUp = this.deps.onGaveUp;
    if (!gaveUp) return;
    const delivery: Delivery = {
      id: d.id,
      alertId: d.alertId,
      event: d.event,
      recipient: d.recipient,
      channel: d.channel,
      body: d.body,
      attempts,
      createdAt: d.createdAt,
      deadline: d.deadline,
    };
    try {
      void Promise.resolve(gaveUp(delivery, error, reason)).catch((err: unknown) => this.deps.log?.error({ err }, 'onGaveUp failed'));
    } catch (err) {
      this.deps.log?.error({ err }, 'onGaveUp failed');
    }
  }
}
