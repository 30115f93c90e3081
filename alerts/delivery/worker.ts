/**
 * The delivery worker: takes pending deliveries from the outbox and sends them, one queue per
 * target (a URL, or the SMTP server), so a slow or dead department never delays another's
 * deliveries.
 *
 * - Happy path: `Outbox.enqueue` wakes the worker (so does `wake()`), which sends at once: no
 *   polling delay.
 * - A window per target: up to `WEBHOOK_WINDOW` (8) deliveries to one webhook URL are in
 *   flight at once; a WeCom or DingTalk robot (20 messages a minute each) and the SMTP server
 *   (one nodemailer connection, no pool) get one at a time. Deliveries start in enqueue order
 *   as the window allows; with a window above 1 they may arrive in another order, except:
 * - Per alert order: a delivery never starts while an earlier-enqueued delivery of the same
 *   alert (`alertId`) to the same target is still pending (in flight, or waiting for its
 *   retry), so "firing" arrives before that alert's reminders, escalation and "resolved".
 *   Deliveries of different alerts (and of different reports) do not wait for each other.
 * - A dead receiver is not hammered: a retriable failure puts the whole target in backoff —
 *   no delivery to it starts before the failed one's retry time (exponential backoff with
 *   jitter; several failures: the latest of their retry times). After that the target is
 *   probed with one delivery at a time (the earliest one due) until one is accepted; an
 *   accepted delivery opens the window again. A pending delivery found with a retry time
 *   still ahead (it failed before, e.g. in the process before a restart) puts its target in
 *   that same backoff and probing.
 * - A delivery is given up (marked failed, `onGaveUp` called) when its receiver refuses it
 *   (not retriable), or when its deadline comes: no attempt starts at or after the deadline,
 *   and none is scheduled past it. A delivery given up sets no backoff.
 * - A delivery is marked sent only after the receiver accepted it (2xx, errcode 0, SMTP 250).
 *   If the process dies between that answer and the record, the next start sends it again
 *   under the same delivery id: at least once, and receivers deduplicate by X-Estate-Delivery.
 * - `start()` resumes everything pending (after a crash too), keeping each retry's schedule.
 *   A sweep every `sweepMs` picks up pending rows that arrived without a wake.
 * - `stop()` starts nothing more and waits for every attempt in flight, up to its timeout;
 *   then abandons them (they stay pending, resent after the next start under the same id).
 */
import type { Logger } from 'pino';
import { backoffDelay, type BackoffOptions } from './backoff.ts';
import type { Outbox, PendingRef } from './outbox.ts';
import { redactChannel } from './redact.ts';
import type { Delivery, DeliveryRecord, SendResult, SenderSet } from './types.ts';
import { crashPoint } from '../../crash-points.ts';

export type GiveUpReason = 'rejected' | 'deadline';

/** Called once for each delivery given up; `delivery.attempts` counts every attempt made. */
export type OnGaveUp = (delivery: Delivery, error: string, reason: GiveUpReason) => void | Promise<void>;

/** Observers of what the worker does (metrics); called after the outbox recorded it, never awaited, their errors ignored. */
export interface DeliveryObserver {
  /** the receiver accepted the delivery at `at` (epoch ms) */
  sent?: (delivery: DeliveryRecord, at: number) => void;
  /** an attempt failed in a way worth retrying, and the next is scheduled at `nextAt` */
  retried?: (delivery: DeliveryRecord, error: string, nextAt: number) => void;
}

/** Deliveries in flight at once to one webhook URL (robots and e-mail: 1). */
export const WEBHOOK_WINDOW = 8;

export interface DeliveryWorkerDeps {
  outbox: Outbox;
  senders: SenderSet;
  onGaveUp?: OnGaveUp;
  /** sends and retries as they are recorded (given up: `onGaveUp`) */
  observe?: DeliveryObserver;
  /** [1 s doubling, up to 30 s] */
  backoff?: BackoffOptions;
  /** how often pending rows are looked for without a wake [10 s] */
  sweepMs?: number;
  /** deliveries in flight at once to one webhook URL [`WEBHOOK_WINDOW`]; robots and e-mail always 1 */
  webhookWindow?: number;
  log?: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
  now?: () => number;
  random?: () => number;
}

interface Entry {
  seq: number;
  id: string;
  /** '' when the row has none: then it waits for no other delivery */
  alertId: string;
  nextAt: number;
  inflight: boolean;
}

interface Queue {
  target: string;
  /** the most deliveries in flight at once when the target is well */
  window: number;
  /** in enqueue order (by seq), those in flight included */
  entries: Entry[];
  inflight: number;
  /** alerts with a delivery in flight to this target */
  busyAlerts: Set<string>;
  /** backoff of the whole target: nothing starts before it */
  blockedUntil: number;
  /** after a retriable failure: one delivery at a time until one is accepted */
  probing: boolean;
  timer: NodeJS.Timeout | null;
}

const PAGE = 500;
const MAX_TIMER_MS = 2 ** 31 - 1;
/** How far into a queue a pass looks for a delivery it may start (bounds the work per pass). */
const LOOKAHEAD = 1_000;

export class DeliveryWorker {
  private readonly queues = new Map<string, Queue>();
  private readonly known = new Set<string>();
  /** every attempt in flight, for stop() to wait on */
  private readonly inflight = new Set<Promise<void>>();
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
  private readonly webhookWindow: number;

  constructor(private readonly deps: DeliveryWorkerDeps) {
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
    this.webhookWindow = Math.max(1, Math.floor(deps.webhookWindow ?? WEBHOOK_WINDOW));
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
   * Starts no new attempt and waits up to `timeoutMs` for all those in flight; then abandons
   * them (they stay pending and are sent again after the next start). Touches the outbox no
   * more once it resolves.
   */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.unsubscribe?.();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const q of this.queues.values()) if (q.timer) clearTimeout(q.timer);
    const inflight = [...this.inflight];
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      Promise.allSettled(inflight).then(() => true),
      new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    this.generation++;
    if (!finished) {
      this.abort.abort();
      this.deps.log?.warn({ inflight: this.inflight.size }, 'delivery worker stopped with sends in flight; they stay pending');
    }
    this.inflight.clear();
    this.queues.clear();
    this.known.clear();
    this.cursor = 0;
  }

  /** How many pending deliveries the worker holds in its queues (for diagnostics). */
  queued(): number {
    return this.known.size;
  }

  private refilling: Promise<void> | null = null;
  private refillAgain: 'none' | 'new' | 'full' = 'none';

  /** Reads pending rows into the queues (`full`: all of them, else those after the cursor); one read at a time. */
  private refill(full: boolean): void {
    if (this.refilling) {
      if (full || this.refillAgain === 'none') this.refillAgain = full ? 'full' : 'new';
      return;
    }
    this.refilling = this.read(full).finally(() => {
      this.refilling = null;
      const again = this.refillAgain;
      this.refillAgain = 'none';
      if (again !== 'none' && this.started) this.refill(again === 'full');
    });
  }

  private async read(full: boolean): Promise<void> {
    const gen = this.generation;
    try {
      let seq = full ? 0 : this.cursor;
      const touched = new Set<Queue>();
      for (;;) {
        const rows = await this.deps.outbox.pendingSince(seq, PAGE);
        if (gen !== this.generation || !this.started) return;
        for (const r of rows) {
          seq = r.seq;
          if (!this.known.has(r.id)) touched.add(this.add(r));
        }
        if (rows.length < PAGE) break;
      }
      this.cursor = Math.max(this.cursor, seq);
      for (const q of touched) this.pump(q);
    } catch (err) {
      this.deps.log?.error({ err }, 'delivery worker could not read the outbox');
    }
  }

  private windowOf(r: PendingRef): number {
    return r.channel.type === 'webhook' ? this.webhookWindow : 1;
  }

  private add(r: PendingRef): Queue {
    let target: string;
    try {
      target = this.deps.senders.targetOf(r.channel);
    } catch {
      target = `unknown:${r.id}`;
    }
    const window = this.windowOf(r);
    let q = this.queues.get(target);
    if (!q) {
      q = { target, window, entries: [], inflight: 0, busyAlerts: new Set(), blockedUntil: 0, probing: false, timer: null };
      this.queues.set(target, q);
    }
    q.window = Math.min(q.window, window);
    const e: Entry = { seq: r.seq, id: r.id, alertId: r.alertId, nextAt: r.nextAt, inflight: false };
    let i = q.entries.length;
    while (i > 0 && q.entries[i - 1]!.seq > e.seq) i--;
    q.entries.splice(i, 0, e);
    this.known.add(r.id);
    // It failed before (in this process or the last): its target backs off until its retry.
    if (r.nextAt > r.createdAt && r.nextAt > this.now()) {
      q.blockedUntil = Math.max(q.blockedUntil, r.nextAt);
      q.probing = true;
    }
    return q;
  }

  /**
   * Starts what the queue allows now: deliveries due, in enqueue order, within the window (1
   * while probing), none of an alert with an earlier delivery still pending; and sets the
   * timer for when more may start.
   */
  private pump(q: Queue): void {
    // A queue of an earlier start (a timer that outlived stop()) is not this start's to run.
    if (!this.started || this.queues.get(q.target) !== q) return;
    if (q.timer) clearTimeout(q.timer);
    q.timer = null;
    const now = this.now();
    let wakeAt = Infinity;
    const starting: Entry[] = [];
    if (q.blockedUntil > now) {
      wakeAt = q.blockedUntil;
    } else {
      const room = (q.probing ? 1 : q.window) - q.inflight;
      /** alerts with an earlier delivery still pending in this pass */
      const held = new Set<string>();
      const n = Math.min(q.entries.length, LOOKAHEAD);
      for (let i = 0; i < n && starting.length < room; i++) {
        const e = q.entries[i]!;
        const free = !e.inflight && (e.alertId === '' || (!held.has(e.alertId) && !q.busyAlerts.has(e.alertId)));
        if (e.alertId !== '') held.add(e.alertId);
        if (!free) continue;
        if (e.nextAt > now) {
          wakeAt = Math.min(wakeAt, e.nextAt);
          continue;
        }
        starting.push(e);
      }
    }
    for (const e of starting) this.launch(q, e);
    // The end of each attempt pumps again; the timer is for a backoff or a retry coming due.
    if (wakeAt !== Infinity) {
      q.timer = setTimeout(() => {
        q.timer = null;
        this.pump(q);
      }, Math.min(Math.max(wakeAt - now, 0), MAX_TIMER_MS));
    }
    if (q.entries.length === 0 && q.inflight === 0 && !q.timer) this.queues.delete(q.target);
  }

  private launch(q: Queue, e: Entry): void {
    e.inflight = true;
    q.inflight++;
    if (e.alertId !== '') q.busyAlerts.add(e.alertId);
    const run = this.run(q, e);
    this.inflight.add(run);
    void run.finally(() => this.inflight.delete(run));
  }

  private async run(q: Queue, e: Entry): Promise<void> {
    const gen = this.generation;
    try {
      await this.attempt(q, e);
    } catch (err) {
      // The outbox itself failed (a full disk, a closed database): try the target again later.
      this.deps.log?.error({ err }, 'delivery worker failed; retrying');
      if (gen === this.generation) q.blockedUntil = Math.max(q.blockedUntil, this.now() + (this.deps.backoff?.baseMs ?? 1_000));
    } finally {
      e.inflight = false;
      q.inflight--;
      if (e.alertId !== '') q.busyAlerts.delete(e.alertId);
      if (gen === this.generation) this.pump(q);
    }
  }

  private async attempt(q: Queue, e: Entry): Promise<void> {
    const d = await this.deps.outbox.get(e.id);
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
      q.probing = false;
      crashPoint('mid-delivery');
      await this.deps.outbox.markSent(d.id, at);
      this.observed(() => this.deps.observe?.sent?.(d, at));
      this.deps.log?.debug({ delivery: d.id, alert: d.alertId, recipient: d.recipient, channel: where, attempts }, 'delivered');
      return this.forget(q, e);
    }
    if (!result.retriable) return this.giveUp(q, e, d, attempts, result.error, 'rejected');
    q.probing = true;
    const delay = backoffDelay(attempts, this.deps.backoff, this.random);
    if (at + delay >= d.deadline) {
      return this.giveUp(q, e, d, attempts, `deadline reached after ${attempts} attempts; last error: ${result.error}`, 'deadline');
    }
    await this.deps.outbox.markRetry(d.id, at + delay, attempts, result.error);
    const error = result.error;
    this.observed(() => this.deps.observe?.retried?.(d, error, at + delay));
    e.nextAt = at + delay;
    // The whole target backs off: nothing new starts to it before this retry.
    q.blockedUntil = Math.max(q.blockedUntil, e.nextAt);
    this.deps.log?.warn({ delivery: d.id, alert: d.alertId, recipient: d.recipient, channel: where, attempts, retryInMs: delay, nextAt: e.nextAt, error: result.error }, 'delivery failed; will retry');
  }

  private observed(call: () => void): void {
    try {
      call();
    } catch (err) {
      this.deps.log?.error({ err }, 'a delivery observer failed');
    }
  }

  private forget(q: Queue, e: Entry): void {
    const i = q.entries.indexOf(e);
    if (i >= 0) q.entries.splice(i, 1);
    this.known.delete(e.id);
  }

  private async giveUp(q: Queue, e: Entry, d: DeliveryRecord, attempts: number, error: string, reason: GiveUpReason): Promise<void> {
    await this.deps.outbox.markFailed(d.id, this.now(), error, attempts);
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
