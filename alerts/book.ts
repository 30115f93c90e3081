/**
 * The alerts as committed: every open alert (pending, firing, acknowledged) by key, with
 * indexes by id and by rule; the announcements waiting in groups; the recent firings of each
 * key (for flapping). Only the committer changes it, after a commit (commit.ts); a batch of
 * changes works on a `Work` over it and is applied when its transaction committed.
 */
import type { GroupEntry } from './alert-store.ts';
import type { Alert } from './types.ts';

export class AlertBook {
  private readonly open = new Map<string, Alert>();
  private readonly ids = new Map<string, string>();
  private readonly rules = new Map<string, Set<string>>();
  /** group key → its waiting entries, in the order they came */
  readonly groups = new Map<string, GroupEntry[]>();
  /** key → times it fired recently (the flapping window) */
  readonly fires = new Map<string, number[]>();
  /** key → since when a flapping alert's condition has been clear */
  readonly clearSince = new Map<string, number>();
  /** key → when its last reminder went */
  readonly lastReminder = new Map<string, number>();

  get(key: string): Alert | undefined {
    return this.open.get(key);
  }

  byId(id: string): Alert | undefined {
    const key = this.ids.get(id);
    return key === undefined ? undefined : this.open.get(key);
  }

  all(): IterableIterator<Alert> {
    return this.open.values();
  }

  get size(): number {
    return this.open.size;
  }

  /** Open alerts of one rule. */
  *ofRule(rule: string): Iterable<Alert> {
    const keys = this.rules.get(rule);
    if (!keys) return;
    for (const k of keys) {
      const a = this.open.get(k);
      if (a) yield a;
    }
  }

  /** Puts an alert as it is now: kept while open, dropped once resolved or discarded. */
  set(a: Alert, gone = false): void {
    const before = this.open.get(a.key);
    if (before && before.id !== a.id) this.ids.delete(before.id);
    if (gone || a.state === 'resolved') {
      if (before?.id === a.id) {
        this.open.delete(a.key);
        this.ids.delete(a.id);
        this.rules.get(a.rule)?.delete(a.key);
      }
      return;
    }
    this.open.set(a.key, a);
    this.ids.set(a.id, a.key);
    let r = this.rules.get(a.rule);
    if (!r) this.rules.set(a.rule, (r = new Set()));
    r.add(a.key);
  }
}
