/**
 * Turns an alert's change into deliveries: one Notification (the webhook body of CONTRACT
 * section 4) per recipient, one outbox entry per channel of that recipient. Recipients are
 * the departments the alert is routed to that the estate file names (one it leaves out is
 * simply not notified), and the site's property company as `{"id": "property"}`.
 */
import type { Channel, Estate } from '../config/index.ts';
import type { Alert, AlertEvent, Notification, Recipient } from './types.ts';
import type { OutboxItem } from './delivery/types.ts';

export type { OutboxItem };

/** Where deliveries go: the durable outbox, and a nudge to its worker. */
export interface DeliverySink {
  enqueue(items: OutboxItem[]): string[];
  wake(): void;
}

interface Target extends Recipient {
  channels: readonly Channel[];
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export class Notifier {
  private readonly departments: Map<string, Target>;

  constructor(
    private readonly estate: Estate,
    private readonly sink: DeliverySink,
    /** the signed acknowledgement link for (alert, recipient), or null for none */
    private readonly ackUrl: (alertId: string, recipient: string) => string | null,
    private readonly deadlineMs: number,
  ) {
    this.departments = new Map(estate.departments.map((d) => [d.id, { id: d.id, name: d.name, channels: d.channels }]));
  }

  /** The recipients of an alert, each with its channels. */
  targets(alert: Alert, only?: readonly string[]): Target[] {
    const out: Target[] = [];
    for (const id of alert.departments) {
      if (only && !only.includes(id)) continue;
      if (id === 'property') {
        // A system alert (no site) goes to every property company when no operators are named.
        for (const site of this.estate.sites) {
          if (alert.site && site.id !== alert.site) continue;
          out.push({ id: 'property', name: site.property.name, channels: site.property.channels });
        }
      } else if (id === 'operators') {
        const ops = this.estate.alerting.operators;
        if (ops) out.push({ id: 'operators', name: ops.name, channels: ops.channels });
      } else {
        const d = this.departments.get(id);
        if (d) out.push(d);
      }
    }
    return out;
  }

  body(alert: Alert, event: AlertEvent, to: Recipient, now: number): Notification {
    return {
      version: 1,
      event,
      sentAt: new Date(now).toISOString(),
      department: { id: to.id, name: to.name },
      alert: {
        id: alert.id,
        key: alert.key,
        site: alert.site,
        siteName: alert.siteName,
        building: alert.building,
        device: alert.device,
        kind: alert.kind,
        rule: alert.rule,
        metric: alert.metric,
        severity: alert.severity,
        state: alert.state,
        value: alert.value,
        threshold: alert.threshold,
        unit: alert.unit,
        startsAt: iso(alert.firedAt ?? alert.startsAt)!,
        endsAt: iso(alert.endsAt),
        summary: alert.summary,
        ackDeadline: iso(alert.ackDeadline),
      },
      ackUrl: alert.state === 'resolved' || alert.kind === 'system' ? null : this.ackUrl(alert.id, to.id),
    };
  }

  /** Queues the deliveries of one change; returns how many. */
  send(alert: Alert, event: AlertEvent, now: number, only?: readonly string[]): number {
    const items: OutboxItem[] = [];
    for (const t of this.targets(alert, only)) {
      const body = this.body(alert, event, t, now);
      for (const channel of t.channels) items.push({ alertId: alert.id, event, recipient: t.id, channel, body, deadline: now + this.deadlineMs });
    }
    if (items.length === 0) return 0;
    this.sink.enqueue(items);
    this.sink.wake();
    return items.length;
  }
}
