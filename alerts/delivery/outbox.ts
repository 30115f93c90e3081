/**
 * The durable outbox (the `outbox` table of migration 2): every notification that must reach
 * a channel, from the moment it is decided until it was delivered or given up. The worker
 * reads from it and records each attempt in it, so a restart resumes where the last process
 * stopped, with the same delivery ids.
 */
import type { OpDb as Database, OpStatement as Statement } from '../../storage/index.ts';
import type { Channel } from '../../config/index.ts';
import { newId } from '../ids.ts';
import type { Delivery, DeliveryRecord, DeliveryStatus, DeliveryView, OutboxItem, OutboxStats } from './types.ts';
import { redactChannel } from './redact.ts';

interface Row {
  seq: number;
  id: string;
  alert_id: string;
  event: string;
  recipient: string;
  channel: string;
  body: string;
  created_at: number;
  next_at: number;
  deadline: number;
  attempts: number;
  status: string;
  sent_at: number | null;
  last_error: string | null;
}

/** What the worker keeps in memory of a pending delivery: enough to order and schedule it. */
export interface PendingRef {
  /** the row's rowid: grows with every insert, a cursor for "what is new" */
  seq: number;
  id: string;
  /** the alert it is about (a report's id for `report.ready`); one alert's deliveries go in order */
  alertId: string;
  channel: Channel;
  createdAt: number;
  nextAt: number;
}

const COLUMNS = 'rowid AS seq, id, alert_id, event, recipient, channel, body, created_at, next_at, deadline, attempts, status, sent_at, last_error';
/** Longest error text kept per delivery. */
const MAX_ERROR = 1000;

function record(r: Row): DeliveryRecord {
  const status = r.status as DeliveryStatus;
  return {
    id: r.id,
    alertId: r.alert_id,
    event: r.event as Delivery['event'],
    recipient: r.recipient,
    channel: JSON.parse(r.channel) as Channel,
    body: JSON.parse(r.body) as Delivery['body'],
    attempts: r.attempts,
    createdAt: r.created_at,
    deadline: r.deadline,
    status,
    nextAt: r.next_at,
    sentAt: r.sent_at,
    // A finished row has no next attempt; a failed one keeps the time it was given up there.
    failedAt: status === 'failed' ? r.next_at : null,
    lastError: r.last_error,
  };
}

export class Outbox {
  private readonly listeners = new Set<() => void>();
  private readonly insert: Statement;
  private readonly byId: Statement;
  private readonly sent: Statement;
  private readonly retry: Statement;
  private readonly failed: Statement;

  constructor(private readonly db: Database) {
    this.insert = db.prepare(
      `INSERT INTO outbox (id, alert_id, event, recipient, channel, body, created_at, next_at, deadline)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.byId = db.prepare(`SELECT ${COLUMNS} FROM outbox WHERE id = ?`);
    this.sent = db.prepare(`UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1 WHERE id = ? AND status = 'pending'`);
    this.retry = db.prepare(`UPDATE outbox SET next_at = ?, attempts = ?, last_error = ? WHERE id = ? AND status = 'pending'`);
    this.failed = db.prepare(
      `UPDATE outbox SET status = 'failed', next_at = ?, last_error = ?, attempts = coalesce(?, attempts) WHERE id = ? AND status = 'pending'`,
    );
  }

  /**
   * Stores the deliveries in one transaction and returns their ids, in the order given. The
   * commit is synced to disk before it returns (the connection's `synchronous` is raised to
   * FULL for it), so an enqueued delivery survives a crash of the process and of the machine.
   */
  enqueue(items: readonly OutboxItem[], now = Date.now()): string[] {
    if (items.length === 0) return [];
    const ids = items.map(() => newId(now));
    const level = this.db.pragma('synchronous', { simple: true }) as number;
    if (level < 2) this.db.pragma('synchronous = FULL');
    try {
      this.db.transaction(() => {
        items.forEach((it, i) => {
          this.insert.run(ids[i], it.alertId, it.event, it.recipient, JSON.stringify(it.channel), JSON.stringify(it.body), now, now, it.deadline);
        });
      })();
    } finally {
      if (level < 2) this.db.pragma(`synchronous = ${level}`);
    }
    for (const fn of this.listeners) fn();
    return ids;
  }

  /** Calls `fn` after every enqueue (the worker wakes on it); returns the unsubscriber. */
  onEnqueue(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get(id: string): DeliveryRecord | undefined {
    const r = this.byId.get(id) as Row | undefined;
    return r ? record(r) : undefined;
  }

  /** Pending deliveries whose next attempt is due at `now`, soonest first. */
  due(now: number, limit: number): DeliveryRecord[] {
    return (
      this.db
        .prepare(`SELECT ${COLUMNS} FROM outbox WHERE status = 'pending' AND next_at <= ? ORDER BY next_at, rowid LIMIT ?`)
        .all(now, limit) as Row[]
    ).map(record);
  }

  /** Pending deliveries inserted after `seq` (0: all), in insertion order, without their bodies. */
  pendingSince(seq: number, limit: number): PendingRef[] {
    const rows = this.db
      .prepare(`SELECT rowid AS seq, id, alert_id, channel, created_at, next_at FROM outbox WHERE status = 'pending' AND rowid > ? ORDER BY rowid LIMIT ?`)
      .all(seq, limit) as Pick<Row, 'seq' | 'id' | 'alert_id' | 'channel' | 'created_at' | 'next_at'>[];
    return rows.map((r) => ({ seq: r.seq, id: r.id, alertId: r.alert_id ?? '', channel: JSON.parse(r.channel) as Channel, createdAt: r.created_at, nextAt: r.next_at }));
  }

  /** Records a delivery the receiver accepted (that attempt included in `attempts`). */
  markSent(id: string, at: number): void {
    this.sent.run(at, id);
  }

  /** Records a failed attempt to be tried again at `nextAt`. */
  markRetry(id: string, nextAt: number, attempts: number, error: string): void {
    this.retry.run(nextAt, attempts, error.slice(0, MAX_ERROR), id);
  }

  /** Gives a delivery up: refused by the receiver, or out of time. `attempts` if one was just made. */
  markFailed(id: string, at: number, error: string, attempts?: number): void {
    this.failed.run(at, error.slice(0, MAX_ERROR), attempts ?? null, id);
  }

  pendingCount(): number {
    return (this.db.prepare(`SELECT count(*) AS n FROM outbox WHERE status = 'pending'`).get() as { n: number }).n;
  }

  /** The deliveries of one alert, oldest first, as the API may show them (no body, no secrets). */
  forAlert(alertId: string): DeliveryView[] {
    const rows = this.db.prepare(`SELECT ${COLUMNS} FROM outbox WHERE alert_id = ? ORDER BY rowid`).all(alertId) as Row[];
    return rows.map((r) => {
      const d = record(r);
      return {
        id: d.id,
        alertId: d.alertId,
        event: d.event,
        recipient: d.recipient,
        channel: redactChannel(d.channel),
        status: d.status,
        attempts: d.attempts,
        createdAt: d.createdAt,
        nextAt: d.status === 'pending' ? d.nextAt : null,
        sentAt: d.sentAt,
        failedAt: d.failedAt,
        deadline: d.deadline,
        lastError: d.lastError,
      };
    });
  }

  stats(): OutboxStats {
    const counts = { pending: 0, sent: 0, failed: 0 };
    for (const r of this.db.prepare('SELECT status, count(*) AS n FROM outbox GROUP BY status').all() as { status: string; n: number }[]) {
      if (r.status in counts) counts[r.status as DeliveryStatus] = r.n;
    }
    const oldest = this.db.prepare(`SELECT min(created_at) AS t FROM outbox WHERE status = 'pending'`).get() as { t: number | null };
    return { ...counts, oldestPendingAt: oldest.t };
  }

  /**
   * Deletes finished (sent or failed) deliveries created before `before`; returns how many.
   * The newest row is always kept, so rowids never go back (the worker's cursor relies on it).
   */
  prune(before: number): number {
    return this.db
      .prepare(`DELETE FROM outbox WHERE status <> 'pending' AND created_at < ? AND rowid < (SELECT max(rowid) FROM outbox)`)
      .run(before).changes;
  }
}
