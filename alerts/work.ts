/**
 * One batch of alert changes on its way to a commit (commit.ts): the committed book seen
 * through the batch's own changes, and everything the batch will write — alerts with their
 * history, acknowledgements, deliveries, group entries. Nothing reaches the book, the bus or
 * the outbox's worker until the batch's transaction has committed; a batch whose transaction
 * fails is dropped whole. `mark()` and `rollback()` undo the part of one change that failed.
 */
import type { AckRow, GroupEntry, HistoryRow } from './alert-store.ts';
import type { AlertBook } from './book.ts';
import type { OutboxItem } from './delivery/index.ts';
import type { Alert } from './types.ts';

export interface Changed {
  alert: Alert;
  transition: string;
}

export class Work {
  /** key → the alert as this batch left it (null: no longer open) */
  private readonly overlay = new Map<string, Alert | null>();
  private readonly groupOverlay = new Map<string, GroupEntry[]>();
  private readonly firesOverlay = new Map<string, number[]>();
  private readonly clearOverlay = new Map<string, number | undefined>();
  private readonly reminderOverlay = new Map<string, number>();
  /** alert id → what to write (the latest state; history rows in order) */
  readonly writes = new Map<string, { alert: Alert; history: HistoryRow[] }>();
  readonly discards = new Set<string>();
  readonly acks: AckRow[] = [];
  readonly deliveries: OutboxItem[] = [];
  readonly groupAdds: GroupEntry[] = [];
  readonly groupRemovals: string[] = [];
  /** what the bus and the alerts measurement hear of, in order */
  readonly changed: Changed[] = [];
  private readonly undo: (() => void)[] = [];

  constructor(
    private readonly book: AlertBook,
    readonly now: number,
  ) {}

  mark(): number {
    return this.undo.length;
  }

  rollback(mark: number): void {
    while (this.undo.length > mark) this.undo.pop()!();
  }

  private setIn<K, V>(map: Map<K, V>, key: K, value: V): void {
    const had = map.has(key);
    const before = map.get(key);
    map.set(key, value);
    this.undo.push(() => (had ? map.set(key, before as V) : map.delete(key)));
  }

  private push<T>(list: T[], item: T): void {
    list.push(item);
    this.undo.push(() => void list.pop());
  }

  /** The open alert of a key, as this batch sees it. */
  get(key: string): Alert | undefined {
    if (this.overlay.has(key)) return this.overlay.get(key) ?? undefined;
    return this.book.get(key);
  }

  /** An alert by id: open (as this batch sees it), or changed by this batch. */
  byId(id: string): Alert | undefined {
    const w = this.writes.get(id);
    if (w) return w.alert;
    const a = this.book.byId(id);
    return a && this.overlay.has(a.key) ? (this.overlay.get(a.key) ?? undefined) : a;
  }

  *all(): Iterable<Alert> {
    for (const a of this.overlay.values()) if (a) yield a;
    for (const a of this.book.all()) if (!this.overlay.has(a.key)) yield a;
  }

  *ofRule(rule: string): Iterable<Alert> {
    for (const a of this.overlay.values()) if (a && a.rule === rule) yield a;
    for (const a of this.book.ofRule(rule)) if (!this.overlay.has(a.key)) yield a;
  }

  /**
   * Records an alert as it is after a change, with its new history rows; `transition` names
   * the change for the bus (null: nothing anyone watches). A resolved alert leaves the open set.
   */
  put(a: Alert, history: readonly HistoryRow[], transition: string | null): void {
    this.setIn(this.overlay, a.key, a.state === 'resolved' ? null : a);
    const w = this.writes.get(a.id);
    this.setIn(this.writes, a.id, { alert: a, history: [...(w?.history ?? []), ...history] });
    if (transition) this.push(this.changed, { alert: a, transition });
    else {
      // What the bus hears of is the alert as the batch leaves it (after the notifier's stages).
      for (let i = this.changed.length - 1; i >= 0; i--) {
        const c = this.changed[i]!;
        if (c.alert.id !== a.id) continue;
        const before = c.alert;
        c.alert = a;
        this.undo.push(() => (c.alert = before));
        break;
      }
    }
  }

  /** A pending alert that never fired: deleted, as if it never was. */
  discard(a: Alert): void {
    this.setIn(this.overlay, a.key, null);
    if (this.writes.has(a.id)) {
      const before = this.writes.get(a.id)!;
      this.writes.delete(a.id);
      this.undo.push(() => this.writes.set(a.id, before));
    }
    if (!this.discards.has(a.id)) {
      this.discards.add(a.id);
      this.undo.push(() => this.discards.delete(a.id));
    }
    this.push(this.changed, { alert: a, transition: 'discarded' });
  }

  ack(row: AckRow): void {
    this.push(this.acks, row);
  }

  deliver(items: readonly OutboxItem[]): void {
    for (const it of items) this.push(this.deliveries, it);
  }

  group(key: string): readonly GroupEntry[] {
    return this.groupOverlay.get(key) ?? this.book.groups.get(key) ?? [];
  }

  addToGroup(e: GroupEntry): void {
    this.setIn(this.groupOverlay, e.groupKey, [...this.group(e.groupKey), e]);
    this.push(this.groupAdds, e);
  }

  removeFromGroup(key: string, ids: ReadonlySet<string>): void {
    this.setIn(
      this.groupOverlay,
      key,
      this.group(key).filter((e) => !ids.has(e.id)),
    );
    for (const id of ids) {
      // An entry added in this very batch is simply not added.
      const i = this.groupAdds.findIndex((e) => e.id === id);
      if (i >= 0) {
        const [gone] = this.groupAdds.splice(i, 1);
        this.undo.push(() => this.groupAdds.splice(i, 0, gone!));
      } else this.push(this.groupRemovals, id);
    }
  }

  fires(key: string): number[] {
    return this.firesOverlay.get(key) ?? this.book.fires.get(key) ?? [];
  }

  setFires(key: string, list: number[]): void {
    this.setIn(this.firesOverlay, key, list);
  }

  clearSince(key: string): number | undefined {
    return this.clearOverlay.has(key) ? this.clearOverlay.get(key) : this.book.clearSince.get(key);
  }

  setClearSince(key: string, t: number | undefined): void {
    this.setIn(this.clearOverlay, key, t);
  }

  lastReminder(key: string): number | undefined {
    return this.reminderOverlay.get(key) ?? this.book.lastReminder.get(key);
  }

  setLastReminder(key: string, t: number): void {
    this.setIn(this.reminderOverlay, key, t);
  }

  /** Whether the batch has anything to write. */
  get empty(): boolean {
    return this.writes.size === 0 && this.discards.size === 0 && this.acks.length === 0 && this.deliveries.length === 0 && this.groupAdds.length === 0 && this.groupRemovals.length === 0;
  }

  /** After the commit: the book takes the batch's changes. */
  applyTo(book: AlertBook): void {
    for (const [key, a] of this.overlay) {
      if (a) book.set(a);
      else {
        const open = book.get(key);
        if (open) book.set(open, true);
      }
    }
    for (const [key, list] of this.groupOverlay) {
      if (list.length > 0) book.groups.set(key, list);
      else book.groups.delete(key);
    }
    for (const [key, list] of this.firesOverlay) book.fires.set(key, list);
    for (const [key, t] of this.clearOverlay) {
      if (t === undefined) book.clearSince.delete(key);
      else book.clearSince.set(key, t);
    }
    for (const [key, t] of this.reminderOverlay) book.lastReminder.set(key, t);
  }
}
