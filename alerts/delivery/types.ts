/**
 * The vocabulary of delivery: a delivery (one notification to one channel of one recipient,
 * as the outbox keeps it), what a channel answers when asked to send it, and the senders.
 */
import type { Channel } from '../../config/index.ts';
import type { DeliveryEvent, Notification } from '../types.ts';

export type { Channel };

/**
 * One notification on its way to one channel. `id` is the X-Estate-Delivery header, the same
 * on every attempt; `body` was fixed when it was enqueued and never changes across retries.
 * Times are epoch ms.
 */
export interface Delivery {
  id: string;
  /** the alert it is about; a group's or a report's id for `alert.group` and `report.ready` */
  alertId: string;
  event: DeliveryEvent;
  /** a department id, or 'property', 'subdistrict', 'maintainer', 'operators' */
  recipient: string;
  /** the channel as configured when the delivery was enqueued (secrets included: never log it) */
  channel: Channel;
  body: Notification;
  /** attempts made so far */
  attempts: number;
  createdAt: number;
  /** no attempt is started at or after it; the delivery is given up instead */
  deadline: number;
}

export type DeliveryStatus = 'pending' | 'sent' | 'failed';

/** A delivery with where it stands, as the outbox has it. */
export interface DeliveryRecord extends Delivery {
  status: DeliveryStatus;
  /** pending: when the next attempt is due */
  nextAt: number;
  sentAt: number | null;
  /** failed: when it was given up */
  failedAt: number | null;
  lastError: string | null;
}

/**
 * A delivery as the HTTP API may show it: no body (its ackUrl carries the recipient's ack
 * token) and no secrets (the channel is reduced to its type and a redacted target).
 */
export interface DeliveryView {
  id: string;
  alertId: string;
  event: DeliveryEvent;
  recipient: string;
  channel: { type: Channel['type']; target: string };
  status: DeliveryStatus;
  attempts: number;
  createdAt: number;
  nextAt: number | null;
  sentAt: number | null;
  failedAt: number | null;
  deadline: number;
  lastError: string | null;
}

/** What `Outbox.enqueue` takes: one notification for one channel of one recipient. */
export interface OutboxItem {
  alertId: string;
  event: DeliveryEvent;
  recipient: string;
  channel: Channel;
  body: Notification;
  /** epoch ms after which no attempt is made (`alerting.deliveryDeadlineMin` after now) */
  deadline: number;
}

export interface OutboxStats {
  pending: number;
  sent: number;
  failed: number;
  /** createdAt of the oldest pending delivery, null when none is pending */
  oldestPendingAt: number | null;
}

/**
 * A channel's answer. `retriable` says whether trying the same delivery again later may
 * succeed (the receiver is down, busy or rate limiting) or cannot (it refused the request:
 * a wrong URL, a bad key, a message it will never take).
 */
export type SendResult = { ok: true } | { ok: false; retriable: boolean; error: string };

export interface SendContext {
  /** aborted when the worker stops and will not wait any longer */
  signal: AbortSignal;
  /** the clock (DingTalk's signature and the e-mail Date header use it) */
  now(): number;
}

/** One kind of channel. A sender never throws for a failure of the receiver: it answers. */
export interface ChannelSender {
  send(d: Delivery, ctx: SendContext): Promise<SendResult>;
  /** releases connections, if it holds any */
  close?(): Promise<void>;
}

/** Picks the sender for a channel, and names the target its queue is keyed by. */
export interface SenderSet {
  senderFor(channel: Channel): ChannelSender;
  /**
   * The receiving end a channel talks to: its URL, or the SMTP server for e-mail. One queue
   * per target, so a dead department never delays another's deliveries.
   */
  targetOf(channel: Channel): string;
  close(): Promise<void>;
}
