/**
 * Notification as a pipeline of stages (docs/alerts.md, "Who is told"; after Alertmanager's
 * notify/notify.go): every announcement of an alert goes through
 *
 *   route → inhibit → silence → group → outbox
 *
 * - route: `alert.firing` goes where the routing tree sends the alert at its severity now, and
 *   to the site's own recipient; escalation to housing and everyone told; reminders,
 *   acknowledgements and the end to everyone told (`notified`);
 * - inhibit and silence: a firing, reminder or escalation that an inhibition or a silence (or
 *   an elevator's inspection mode) covers is recorded as held back (`muted`), not sent; the
 *   engine announces it once what held it ends. Acknowledgements and ends always reach those
 *   who were told, so no receiver keeps an alert open that is over;
 * - group: housekeeping announcements wait `alerting.group.waitSec` in a group per recipient,
 *   site, rule and event, then go as one `alert.group` (or as themselves, when alone); an
 *   alert about people or safety is never grouped or delayed;
 * - outbox: one delivery per channel of each recipient, written in the same transaction as
 *   the change (work.ts, commit.ts).
 */
import type { Estate, Registry } from '../../config/index.ts';
import type { GroupEntry } from '../alert-store.ts';
import type { OutboxItem } from '../delivery/index.ts';
import { newId } from '../ids.ts';
import type { Announcement } from '../lifecycle.ts';
import type { Recipients, Target } from '../recipients.ts';
import { buildRouteTree, route, type RouteNode } from '../routing.ts';
import type { Alert, AlertBody, AlertEvent, Notification } from '../types.ts';
import type { Work } from '../work.ts';
import { alertBody, alertNotification, groupNotification } from './bodies.ts';
import type { Inhibitor } from './inhibit.ts';
import type { Silences } from './silence.ts';

export interface NotifierDeps {
  estate: Estate;
  registry: Registry;
  recipients: Recipients;
  inhibitor: Inhibitor;
  silences: Silences;
  /** the signed acknowledgement link of (alert, recipient), or null for none */
  ackUrl: (alertId: string, recipient: string) => string | null;
  /** the rule's own departments for an alert (its default department; a site's outage: those of the kinds that went dark) */
  ruleDepartments: (a: Alert) => readonly string[];
  /** whether an elevator is in inspection mode now (its fault alerts are held back) */
  inspecting: (device: string) => boolean;
}

/** Events that inhibitions, silences and inspection hold back. */
const HOLDABLE = new Set<AlertEvent>(['alert.firing', 'alert.reminder', 'alert.escalated']);
/** Elevator rules that are not faults: inspection mode does not hold them back. */
const NOT_FAULTS = new Set(['device_silent', 'battery_low']);

/** A group: one recipient (a maintainer by name: devices of one site may have different ones), site, rule and event. */
export function groupKey(recipient: string, name: string, site: string, rule: string, event: AlertEvent): string {
  return `${recipient}|${name}|${site}|${rule}|${event}`;
}

export class Notifier {
  private readonly tree: RouteNode;
  private readonly deadlineMs: number;
  private readonly waitMs: number;

  constructor(private readonly deps: NotifierDeps) {
    this.tree = buildRouteTree(deps.estate.routes);
    this.deadlineMs = deps.estate.alerting.deliveryDeadlineMin * 60_000;
    this.waitMs = deps.estate.alerting.group.waitSec * 1000;
  }

  /** route: who hears of the alert firing now (the tree at its current severity, and the site's own recipient). */
  routeOf(a: Alert): string[] {
    if (a.kind === 'system') return [this.deps.estate.alerting.operators ? 'operators' : 'property'];
    const device = a.device ? this.deps.registry.device(a.device) : undefined;
    const out = route(this.tree, {
      site: a.site,
      device: a.device,
      kind: a.kind,
      rule: a.rule,
      severity: a.severity,
      building: a.building,
      departments: this.deps.ruleDepartments(a),
      municipal: device?.attributes.municipal === true,
    });
    const local = this.deps.recipients.local(a.site);
    if (local && !out.includes(local)) out.push(local);
    // A maintainer the estate file does not name is nobody: housekeeping then reaches the site's own recipient alone.
    return out.filter((r) => r !== 'maintainer' || this.deps.recipients.resolve(a, r).length > 0);
  }

  /** inhibit, then silence (and inspection): what holds this alert's announcements back now, or null. */
  heldBy(w: Work, a: Alert): string | null {
    if (a.kind === 'system') return null;
    const inhibited = this.deps.inhibitor.heldBy(a, w);
    if (inhibited) return `inhibited:${inhibited}`;
    if (a.kind === 'elevator' && !NOT_FAULTS.has(a.rule) && this.deps.inspecting(a.device)) return 'inspection';
    return this.deps.silences.mutedBy({ site: a.site, device: a.device, kind: a.kind, rule: a.rule, severity: a.severity });
  }

  /** Runs one announcement through the stages, into `w`; returns the alert as it leaves them. */
  announce(w: Work, alert: Alert, ann: Announcement): Alert {
    let a = alert;
    const event = ann.event;
    let to: string[];
    if (event === 'alert.firing') to = [...(ann.only ?? this.routeOf(a))];
    else if (event === 'alert.escalated') to = [...new Set([...a.notified, 'housing'])];
    // Housekeeping reminders go to those on site (the property company or sub-district office, the maintainer), not to departments.
    else if (event === 'alert.reminder' && a.housekeeping) to = a.notified.filter((r) => r === 'property' || r === 'subdistrict' || r === 'maintainer');
    else to = [...a.notified];
    if (HOLDABLE.has(event)) {
      const held = this.heldBy(w, a);
      if (held) {
        a = { ...a, mutedBy: held, departments: union(a.departments, to) };
        w.put(a, [{ alertId: a.id, at: w.now, transition: 'muted', severity: a.severity, actor: null, detail: `${event} held back: ${held}` }], 'muted');
        return a;
      }
    }
    a = { ...a, mutedBy: HOLDABLE.has(event) ? null : a.mutedBy, departments: union(a.departments, to) };
    const direct: string[] = [];
    for (const r of to) {
      // Housekeeping waits in its group; a site's outage (itself the group of its devices) and the
      // department hearing that monitoring was lost do not.
      if (a.housekeeping && a.kind !== 'site' && this.waitMs > 0 && !ann.only) this.enqueue(w, a, r, event);
      else direct.push(r);
    }
    if (direct.length > 0) {
      const body = alertBody(a);
      const items: OutboxItem[] = [];
      for (const t of this.deps.recipients.targets(a, direct)) items.push(...this.items(a.id, event, t, alertNotification(body, event, t, w.now, this.link(a, t.id)), w.now));
      w.deliver(items);
      a = this.told(a, direct, event, w.now);
    }
    w.put(a, [], null);
    return a;
  }

  private link(a: Pick<Alert, 'id' | 'kind' | 'state'>, recipient: string): string | null {
    return a.state === 'resolved' || a.kind === 'system' ? null : this.deps.ackUrl(a.id, recipient);
  }

  private items(alertId: string, event: OutboxItem['event'], t: Target, body: Notification, now: number): OutboxItem[] {
    return t.channels.map((channel) => ({ alertId, event, recipient: t.id, channel, body, deadline: now + this.deadlineMs }));
  }

  /** The recipients now know of the alert (a firing): they will hear of its acknowledgement and its end. */
  private told(a: Alert, recipients: readonly string[], event: AlertEvent, now: number): Alert {
    if (event !== 'alert.firing' && event !== 'alert.escalated') return a;
    return { ...a, notified: union(a.notified, recipients), announcedAt: a.announcedAt ?? now };
  }

  /** group: the announcement waits with the others of its recipient, site, rule and event. */
  private enqueue(w: Work, a: Alert, recipient: string, event: AlertEvent): void {
    const name = this.deps.recipients.resolve(a, recipient)[0]?.name ?? '';
    const key = groupKey(recipient, name, a.site, a.rule, event);
    const waiting = w.group(key);
    if (waiting.some((e) => e.alertId === a.id)) return;
    w.addToGroup({ id: newId(w.now), groupKey: key, recipient, alertId: a.id, event, createdAt: w.now, dueAt: waiting[0]?.dueAt ?? w.now + this.waitMs, body: alertBody(a) });
  }

  /**
   * A group is due: what still holds goes out, as one `alert.group` per recipient (as itself
   * when alone). A firing or reminder whose alert ended meanwhile, or that is held back now
   * (a site's outage began), is dropped: nobody was told of it.
   */
  flush(w: Work, key: string): void {
    const entries = w.group(key);
    if (entries.length === 0) return;
    w.removeFromGroup(key, new Set(entries.map((e) => e.id)));
    const { recipient, event } = entries[0]!;
    const going: { entry: GroupEntry; alert: Alert | undefined; body: AlertBody }[] = [];
    for (const e of entries) {
      const open = w.byId(e.alertId);
      const live = open && open.state !== 'resolved' && open.state !== 'pending' ? open : undefined;
      if (HOLDABLE.has(event)) {
        if (!live) continue;
        const held = this.heldBy(w, live);
        if (held) {
          w.put({ ...live, mutedBy: held }, [{ alertId: live.id, at: w.now, transition: 'muted', severity: live.severity, actor: null, detail: `${event} held back: ${held}` }], 'muted');
          continue;
        }
      }
      going.push({ entry: e, alert: live, body: live ? alertBody(live) : e.body });
    }
    if (going.length === 0) return;
    const targets = this.deps.recipients.resolve({ site: going[0]!.body.site, device: going[0]!.body.device }, recipient);
    for (const t of targets) {
      if (going.length === 1) {
        const g = going[0]!;
        w.deliver(this.items(g.entry.alertId, event, t, alertNotification(g.body, event, t, w.now, g.alert ? this.link(g.alert, t.id) : null), w.now));
      } else {
        const id = `group:${newId(w.now)}`;
        w.deliver(this.items(id, 'alert.group', t, groupNotification(going.map((g) => g.body), event, t, w.now), w.now));
      }
    }
    for (const g of going) if (g.alert) w.put(this.told(g.alert, [recipient], event, w.now), [], null);
  }

  /** Groups whose wait is over at `now`. */
  static due(groups: ReadonlyMap<string, readonly GroupEntry[]>, now: number): string[] {
    const out: string[] = [];
    for (const [key, list] of groups) if (list.length > 0 && list[0]!.dueAt <= now) out.push(key);
    return out;
  }
}

function union(a: readonly string[], b: readonly string[]): string[] {
  const out = [...a];
  for (const x of b) if (!out.includes(x)) out.push(x);
  return out;
}

