/**
 * Delivery: from "these notifications must reach these channels" to "they did, at least once
 * under one delivery id, or we gave up and said so". See docs/alerts-delivery.md.
 */
export type {
  Channel,
  ChannelSender,
  Delivery,
  DeliveryRecord,
  DeliveryStatus,
  DeliveryView,
  OutboxItem,
  OutboxStats,
  SendContext,
  SendResult,
  SenderSet,
} from './types.ts';
export { Outbox, DELIVERY_SCHEMA, type PendingRef } from './outbox.ts';
export { DeliveryWorker, type DeliveryWorkerDeps, type GiveUpReason, type OnGaveUp } from './worker.ts';
export { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.ts';
export { createSenders, type SenderOptions, DELIVERY_HEADER, SIGNATURE_HEADER, signBody } from './channels/index.ts';
export { signAckToken, verifyAckToken, type AckClaims, type AckTokenCode, type AckTokenResult } from './ack-token.ts';
export { redactChannel } from './redact.ts';
export { EVENT_LABELS, SEVERITY_LABELS, KIND_LABELS, formatTime, title as notificationTitle, type Lang } from './render.ts';
