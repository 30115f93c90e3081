/**
 * When a scheduled report is made, its links go to the property companies of its sites (and,
 * for accountability, to `housing`), through the alerts' durable delivery outbox: retried
 * with backoff, under one delivery id, signed where the channel has a secret.
 *
 * The body is a small webhook event of its own (docs/contract-notes.md):
 *   {"version": 1, "event": "report.ready", "sentAt", "report": {"id", "kind", "from", "to", "formats"}}
 * The outbox's webhook sender posts a body as it was stored, so webhook channels carry it as
 * it is; the WeCom, DingTalk and e-mail senders render an alert, so those channels are not
 * given report bodies.
 */
import type { Channel, Estate } from '../config/index.ts';
import type { DeliverySink, Notification, OutboxItem } from '../alerts/index.ts';
import type { ReportFormat, ReportMeta } from './types.ts';
import { iso } from './time.ts';

export interface ReportReady {
  version: 1;
  event: 'report.ready';
  sentAt: string;
  report: { id: string; kind: string; from: string; to: string; formats: Record<ReportFormat, string> };
}

export interface ReportRecipient {
  id: string;
  channels: readonly Channel[];
}

/** Who hears of a report: the property company of each of its sites, and housing for accountability. */
export function recipientsOf(meta: ReportMeta, estate: Estate): ReportRecipient[] {
  const out: ReportRecipient[] = [];
  for (const site of estate.sites) {
    if (meta.sites === null || meta.sites.includes(site.id)) out.push({ id: 'property', channels: site.property.channels });
  }
  if (meta.kind === 'accountability') {
    const housing = estate.departments.find((d) => d.id === 'housing');
    if (housing) out.push({ id: 'housing', channels: housing.channels });
  }
  return out;
}

export function readyBody(meta: ReportMeta, formats: Record<ReportFormat, string>, now: number): ReportReady {
  return { version: 1, event: 'report.ready', sentAt: new Date(now).toISOString(), report: { id: meta.id, kind: meta.kind, from: iso(meta.from), to: iso(meta.to), formats } };
}

/**
 * The outbox entries of one report: one per webhook channel of each recipient. The outbox is
 * typed for alert notifications; this body goes only to the webhook sender, which serialises
 * whatever body it is given, and `alertId` holds the report's id (ids never collide).
 */
export function readyItems(meta: ReportMeta, formats: Record<ReportFormat, string>, estate: Estate, now: number, deadlineMs: number): OutboxItem[] {
  const body = readyBody(meta, formats, now);
  const items: OutboxItem[] = [];
  for (const r of recipientsOf(meta, estate)) {
    for (const channel of r.channels) {
      if (channel.type !== 'webhook') continue;
      items.push({ alertId: meta.id, event: 'report.ready' as OutboxItem['event'], recipient: r.id, channel, body: body as unknown as Notification, deadline: now + deadlineMs });
    }
  }
  return items;
}

/** Queues the report's deliveries; returns how many. */
export function announce(sink: DeliverySink, items: OutboxItem[]): number {
  if (items.length === 0) return 0;
  sink.enqueue(items);
  sink.wake();
  return items.length;
}
