/**
 * The lifecycle of alerts: one open alert per (site, device, rule); pending while a duration
 * runs, firing, acknowledged, resolved. Every change is saved, recorded (the `alerts`
 * measurement, the bus) and, unless muted, announced: once per change per recipient.
 * A rise in severity is announced again; a fall is recorded only. An alert that fires too
 * often is held as flapping: announced once, and resolved only after it has stayed clear for
 * the flapping window.
 */
import type { Alerting, Severity } from '../config/index.ts';
import type { AlertStore } from './alert-store.ts';
import { newId } from './ids.ts';
import type { Notifier } from './notify.ts';
import type { Alert, AlertEvent, LocalizedText } from './types.ts';

export interface Opening {
  key: string;
  site: string;
  siteName: string;
  building: string;
  device: string;
  kind: Alert['kind'];
  rule: string;
  metric: string | null;
  unit: string | null;
  departments: string[];
  source: string;
  /** rules whose unacknowledged alerts escalate on the trapped deadline */
  trapped?: boolean;
}

export interface Change {
  severity: Severity | 'pending';
  since: number;
  value: number | null;
  threshold: number | null;
  summary: LocalizedText;
  /** why notifications are held back (a silence id, 'inspection', 'outage'), or null */
  mutedBy: string | null;
}

export interface BookDeps {
  store: AlertStore;
  notifier: Notifier;
  alerting: Alerting;
  /** called after every saved change: the alerts measurement, the bus */
  onChange: (alert: Alert, transition: string) => void;
  now: () => number;
}

const RANK = { warning: 1, critical: 2 } as const;

export class AlertBook {
  private readonly open = new Map<string, Alert>();
  private readonly fires = new Map<string, number[]>();
  private readonly clearSince = new Map<string, number>();
  private readonly lastReminder = new Map<string, number>();
  private readonly trapped = new Set<string>();

  constructor(private readonly deps: BookDeps) {}

  /** Open alerts from before a restart. */
  load(): void {
    for (const a of this.deps.store.open()) this.open.set(a.key, a);
  }

  get(key: string): Alert | undefined {
    return this.open.get(key);
  }

  all(): Alert[] {
    return [...this.open.values()];
  }

  private save(a: Alert, transition: string, extra: { actor?: string; detail?: string } = {}): void {
    this.deps.store.save(a, { at: this.deps.now(), name: transition, ...extra });
    this.deps.onChange(a, transition);
  }

  private announce(a: Alert, event: AlertEvent, only?: readonly string[]): void {
    if (a.mutedBy) {
      this.deps.store.save(a, { at: this.deps.now(), name: 'muted', detail: `${event} held back: ${a.mutedBy}` });
      return;
    }
    this.deps.notifier.send(a, event, this.deps.now(), only);
  }

  private deadline(a: Alert, now: number): number {
    const m = this.deps.alerting.escalateAfterMin;
    const min = this.trapped.has(a.key) ? m.trapped : a.severity === 'critical' ? m.critical : m.warning;
    return now + min * 60_000;
  }

  /** A rule's outcome for a device: pending, firing at a severity. */
  raise(o: Opening, c: Change): Alert {
    const now = this.deps.now();
    if (o.trapped) this.trapped.add(o.key);
    let a = this.open.get(o.key);
    this.clearSince.delete(o.key);
    if (!a) {
      a = {
        id: newId(now),
        key: o.key,
        site: o.site,
        siteName: o.siteName,
        building: o.building,
        device: o.device,
        kind: o.kind,
        rule: o.rule,
        metric: o.metric,
        severity: c.severity === 'pending' ? 'warning' : c.severity,
        state: 'pending',
        value: c.value,
        threshold: c.threshold,
        unit: o.unit,
        startsAt: c.since,
        firedAt: null,
        endsAt: null,
        ackDeadline: null,
        ackedAt: null,
        ackedBy: null,
        ackNote: null,
        escalatedAt: null,
        departments: o.departments,
        summary: c.summary,
        mutedBy: c.mutedBy,
        flapping: false,
        source: o.source,
      };
      this.open.set(o.key, a);
      if (c.severity === 'pending') {
        this.save(a, 'pending');
        return a;
      }
    }
    if (c.severity === 'pending') return a; // already pending or firing: nothing new
    const severity = c.severity;
    if (a.state === 'pending') {
      a.state = 'firing';
      a.severity = severity;
      a.firedAt = now;
      a.value = c.value;
      a.threshold = c.threshold;
      a.summary = c.summary;
      a.mutedBy = c.mutedBy;
      a.ackDeadline = this.deadline(a, now);
      a.flapping = this.flapped(o.key, now);
      if (a.flapping) a.summary = { 'zh-CN': `${a.summary['zh-CN']}（频繁波动）`, en: `${a.summary.en} (flapping)` };
      this.save(a, 'firing');
      this.announce(a, 'alert.firing');
      return a;
    }
    // Firing or acknowledged already.
    if (severity === a.severity) return a;
    const rising = RANK[severity] > RANK[a.severity];
    a.severity = severity;
    a.value = c.value;
    a.threshold = c.threshold;
    a.summary = c.summary;
    this.save(a, 'severity', { detail: rising ? 'rose' : 'fell' });
    if (rising) this.announce(a, 'alert.firing');
    return a;
  }

  private flapped(key: string, now: number): boolean {
    const window = this.deps.alerting.flapping.windowMin * 60_000;
    const list = (this.fires.get(key) ?? []).filter((t) => now - t < window);
    list.push(now);
    this.fires.set(key, list);
    return list.length > this.deps.alerting.flapping.transitions;
  }

  /** The rule's condition is gone. */
  clear(key: string, summary?: LocalizedText): void {
    const a = this.open.get(key);
    if (!a) return;
    const now = this.deps.now();
    if (a.state === 'pending') {
      this.open.delete(key);
      this.deps.store.discard(a.id);
      return;
    }
    if (a.flapping) {
      if (!this.clearSince.has(key)) this.clearSince.set(key, now);
      return; // resolved by tick() once it has stayed clear
    }
    this.resolve(a, now, summary);
  }

  private resolve(a: Alert, now: number, summary?: LocalizedText): void {
    a.state = 'resolved';
    a.endsAt = now;
    if (summary) a.summary = summary;
    this.open.delete(a.key);
    this.clearSince.delete(a.key);
    this.lastReminder.delete(a.key);
    this.save(a, 'resolved');
    this.announce(a, 'alert.resolved');
  }

  /**
   * An acknowledgement by one recipient (a department id or 'property'). The first one
   * acknowledges the alert and stops escalation; each is recorded.
   */
  acknowledge(a: Alert, recipients: readonly string[], actor: string, via: 'api' | 'link', note: string | null): 'ok' | 'already' | 'resolved' {
    if (a.state === 'resolved' || a.state === 'pending') return 'resolved';
    const now = this.deps.now();
    let added = false;
    for (const r of recipients) added = this.deps.store.addAck({ alertId: a.id, department: r, at: now, actor, via, note }) || added;
    if (!added) return 'already';
    const live = this.open.get(a.key);
    const target = live && live.id === a.id ? live : a;
    if (target.state === 'firing') {
      target.state = 'acknowledged';
      target.ackedAt = now;
      target.ackedBy = actor;
      target.ackNote = note;
    }
    this.save(target, 'acknowledged', { actor, detail: `${recipients.join(',')} via ${via}${note ? `: ${note}` : ''}` });
    this.announce(target, 'alert.acknowledged');
    return 'ok';
  }

  /** Escalation, reminders, flapping alerts that stayed clear, silences that ended. */
  tick(isMuted: (a: Alert) => string | null): void {
    const now = this.deps.now();
    const { reminderEveryMin, flapping } = this.deps.alerting;
    for (const a of [...this.open.values()]) {
      if (a.state === 'pending') continue;
      const cleared = this.clearSince.get(a.key);
      if (a.flapping && cleared !== undefined && now - cleared >= flapping.windowMin * 60_000) {
        this.resolve(a, now);
        continue;
      }
      const wasMuted = a.mutedBy;
      a.mutedBy = isMuted(a);
      if (wasMuted && !a.mutedBy && a.state === 'firing') {
        // A silence ended while the alert still fires: announce it now.
        this.save(a, 'unmuted');
        this.announce(a, 'alert.firing');
      }
      if (a.state !== 'firing' || a.mutedBy) continue;
      if (a.ackDeadline !== null && now >= a.ackDeadline && a.escalatedAt === null) {
        a.escalatedAt = now;
        if (!a.departments.includes('housing')) a.departments.push('housing');
        this.save(a, 'escalated');
        this.announce(a, 'alert.escalated');
        continue;
      }
      if (reminderEveryMin > 0) {
        const last = this.lastReminder.get(a.key) ?? a.firedAt ?? now;
        if (now - last >= reminderEveryMin * 60_000) {
          this.lastReminder.set(a.key, now);
          this.deps.store.save(a, { at: now, name: 'reminder' });
          this.announce(a, 'alert.reminder');
        }
      }
    }
  }
}
