/**
 * What holds an alert's notifications back (STYLE.md: silences mute notifications, never the
 * record): a silence — a maintenance window over matchers and a time span — or an elevator in
 * inspection mode, where a technician is working.
 */
import type { AlertStore, SilenceRow } from './alert-store.ts';

export interface MuteSubject {
  site: string;
  device: string;
  kind: string;
  rule: string;
  severity: string;
}

export function silenceMatches(s: SilenceRow, a: MuteSubject): boolean {
  const m = s.matchers;
  return (
    (m.site === undefined || m.site === a.site) &&
    (m.device === undefined || m.device === a.device) &&
    (m.kind === undefined || m.kind === a.kind) &&
    (m.rule === undefined || m.rule === a.rule) &&
    (m.severity === undefined || m.severity === a.severity)
  );
}

export class Muting {
  private active: SilenceRow[] = [];

  constructor(
    private readonly store: AlertStore,
    private readonly now: () => number,
  ) {}

  /** Re-reads the silences in force (after a change, and every tick). */
  refresh(): void {
    const now = this.now();
    this.active = this.store.silences(now).filter((s) => s.startsAt <= now);
  }

  /** 'inspection', the id of the silence that mutes the alert, or null. */
  mutedBy(a: MuteSubject, inspection: boolean): string | null {
    if (inspection) return 'inspection';
    for (const s of this.active) if (silenceMatches(s, a)) return s.id;
    return null;
  }
}
