/**
 * The durable outbox (the delivery part's `outbox` table): every notification that must reach
 * a channel, from the moment it is decided until it was delivered or given up. Deliveries are
 * written in the transaction of the change that decided them (the committer's, commit.ts),
 * so an alert's change and who must hear of it are kept together or not at all. The worker
 * reads from it and records each attempt in it, so a restart resumes where the last process
 * stopped, with the same delivery ids.
 */
import type { OpDb, Queryable, Schema } from '../../storage/index.ts';
import type { Channel } from '../../config/index.ts';
import { newId } from '../ids.ts';
import type { Delivery, DeliveryRecord, DeliveryStatus, DeliveryView, OutboxItem, OutboxStats } from './types.ts';
import { redactChannel } from './redact.ts';

export const DELIVERY_SCHEMA: Schema = {
  part: 'delivery',
  migrations: [
    `
  CREATE TABLE outbox (
    id TEXT PRIMARY KEY,            -- the delivery id (X-Estate-Delivery), the same on every retry
    alert_id TEXT NOT NULL,
    event TEXT NOT NULL,
    recipient TEXT NOT NULL,        -- a department id, or 'property'
    channel TEXT NOT NULL,          -- JSON of the channel as configured when enqueued
    body TEXT NOT NULL,             -- JSON Notification, fixed across retries
    created_at INTEGER NOT NULL,
    next_at INTEGER NOT NULL,
    deadline INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending',   -- pending | sent | failed
    sent_at INTEGER,
    last_error TEXT
  );
  CREATE INDEX outbox_due ON outbox (status, next_at);
  CREATE INDEX outbox_alert ON outbox (alert_id);
  `,
  ],
};

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

/** rows per INSERT */
const ROWS_PER_INSERT = 50;

export class Outbox {
  private readonly listeners = new Set<() => void>();

  constructor(private readonly db: OpDb) {}

  /**
   * Writes the deliveries in `tx` and returns their ids, in the order given. Call `notify()`
   * once the transaction committed, so the worker sends them.
   */
  async insert(tx: Queryable, items: readonly OutboxItem[], now: number): Promise<string[]> {
    const ids = items.map(() => newId(now));
    for (let i = 0; i < items.length; i += ROWS_PER_INSERT) {
      const chunk = items.slice(i, i + ROWS_PER_INSERT);
      await tx.query(
        `INSERT INTO outbox (id, alert_id, event, recipient, channel, body, created_at, next_at, deadline) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
        chunk.flatMap((it, j) => [ids[i + j], it.alertId, it.event, it.recipient, JSON.stringify(it.channel), JSON.stringify(it.body), now, now, it.deadline]),
      );
    }
    return ids;
  }

  /** Stores the deliveries in a transaction of their own, then wakes the worker; returns their ids. */
  async enqueue(items: readonly OutboxItem[], now = Date.now()): Promise<string[]> {
    if (items.length === 0) return [];
    const ids = await this.db.transaction((tx) => this.insert(tx, items, now));
    this.notify();
    return ids;
  }

  /** Tells the worker that deliveries were committed. */
  notify(): void {
    for (const fn of this.listeners) fn();
  }

  /** Calls `fn` after deliveries were committed (the worker wakes on it); returns the unsubscriber. */
  onEnqueue(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async get(id: string): Promise<DeliveryRecord | undefined> {
    const r = await this.db.query<Row>(`SELECT ${COLUMNS} FROM outbox WHERE id = ?`, [id]);
    return r.rows[0] ? record(r.rows[0]) : undefined;
  }

  /** Pending deliveries whose next attempt is due at `now`, soonest first. */
  async due(now: number, limit: number): Promise<DeliveryRecord[]> {
    const r = await this.db.query<Row>(`SELECT ${COLUMNS} FROM outbox WHERE status = 'pending' AND next_at <= ? ORDER BY next_at, rowid LIMIT ?`, [now, limit]);
    return r.rows.map(record);
  }

  /** Pending deliveries inserted after `seq` (0: all), in insertion order, without their bodies. */
  async pendingSince(seq: number, limit: number): Promise<PendingRef[]> {
    const r = await this.db.query<Pick<Row, 'seq' | 'id' | 'alert_id' | 'channel' | 'created_at' | 'next_at'>>(
      `SELECT rowid AS seq, id, alert_id, channel, created_at, next_at FROM outbox WHERE status = 'pending' AND rowid > ? ORDER BY rowid LIMIT ?`,
      [seq, limit],
    );
    return r.rows.map((x) => ({ seq: Number(x.seq), id: x.id, alertId: x.alert_id ?? '', channel: JSON.parse(x.channel) as Channel, createdAt: Number(x.created_at), nextAt: Number(x.next_at) }));
  }

  /** Records a delivery the receiver accepted (that attempt included in `attempts`). */
  async markSent(id: string, at: number): Promise<void> {
    await this.db.query(`UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1 WHERE id = ? AND status = 'pending'`, [at, id]);
  }

  /** Records a failed attempt to be tried again at `nextAt`. */
  async markRetry(id: string, nextAt: number, attempts: number, error: string): Promise<void> {
    await this.db.query(`UPDATE outbox SET next_at = ?, attempts = ?, last_error = ? WHERE id = ? AND status = 'pending'`, [nextAt, attempts, error.slice(0, MAX_ERROR), id]);
  }

  /** Gives a delivery up: refused by the receiver, or out of time. `attempts` if one was just made. */
  async markFailed(id: string, at: number, error: string, attempts?: number): Promise<void> {
    await this.db.query(`UPDATE outbox SET status = 'failed', next_at = ?, last_error = ?, attempts = coalesce(?, attempts) WHERE id = ? AND status = 'pending'`, [
      at,
      error.slice(0, MAX_ERROR),
      attempts ?? null,
      id,
    ]);
  }

  async pendingCount(): Promise<number> {
    const r = await this.db.query<{ n: number }>(`SELECT count(*) AS n FROM outbox WHERE status = 'pending'`);
    return Number(r.rows[0]?.n ?? 0);
  }

  /** The deliveries of one alert, oldest first, as the API may show them (no body, no secrets). */
  async forAlert(alertId: string): Promise<DeliveryView[]> {
    const r = await this.db.query<Row>(`SELECT ${COLUMNS} FROM outbox WHERE alert_id = ? ORDER BY rowid`, [alertId]);
    return r.rows.map((row) => {
      const d = record(row);
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

  async stats(): Promise<OutboxStats> {
    const counts = { pending: 0, sent: 0, failed: 0 };
    const r = await this.db.query<{ status: string; n: number }>('SELECT status, count(*) AS n FROM outbox GROUP BY status');
    for (const x of r.rows) if (x.status in counts) counts[x.status as DeliveryStatus] = Number(x.n);
    const oldest = await this.db.query<{ t: number | null }>(`SELECT min(created_at) AS t FROM outbox WHERE status = 'pending'`);
    const t = oldest.rows[0]?.t;
    return { ...counts, oldestPendingAt: t === null || t === undefined ? null : Number(t) };
  }

  /**
   * Deletes finished (sent or failed) deliveries created before `before` (and with them the
   * acknowledgement links their bodies carried); returns how many. The newest row is always
   * kept, so rowids never go back (the worker's cursor relies on it).
   */
  async prune(before: number): Promise<number> {
    const r = await this.db.query(`DELETE FROM outbox WHERE status <> 'pending' AND created_at < ? AND rowid < (SELECT max(rowid) FROM outbox)`, [before]);
    return r.changes;
  }
}
