/**
 * The silence stage (docs/alerts.md, "Muting"; silences mute notifications, never the
 * record): a silence is a maintenance window over matchers and a time span. An elevator in
 * inspection mode (service_mode 2, a technician at work) holds back its own fault alerts the
 * same way. The silences in force are read from the store after every change and every tick.
 */
import type { AlertStore, SilenceRow } from '../alert-store.ts';

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

export class Silences {
  private active: SilenceRow[] = [];

  constructor(
    private readonly store: Pick<AlertStore, 'silences'>,
    private readonly now: () => number,
  ) {}

  /** Re-reads the silences in force (after a change, and every tick); a store that refuses keeps the last ones. */
  async refresh(): Promise<void> {
    const now = this.now();
    const all = await this.store.silences(now);
    this.active = all.filter((s) => s.startsAt <= now && s.endsAt > now);
  }

  /** The id of the silence that mutes the alert, or null. */
  mutedBy(a: MuteSubject): string | null {
    const now = this.now();
    for (const s of this.active) if (s.startsAt <= now && s.endsAt > now && silenceMatches(s, a)) return s.id;
    return null;
  }
}
