/**
 * Deadlines in time order: a binary min-heap of (time, item), so that the clock finds what is
 * due without looking at what is not (docs/alerts.md, "Silent and offline devices"). The alert
 * engine keeps one entry per device whose silence it watches, at the time the device would
 * count as silent if nothing came; a message does not move the entry (that would cost a heap
 * operation per message): when the entry comes due, the engine looks at the device's real
 * deadline and, if it has moved on, puts the device back at it. A device's deadline only
 * ever moves later, so an entry is never due after the moment it stands for.
 *
 * An item is in the heap at most once: `slot` on the item is its index while it is in (-1
 * when it is not), which also makes `has` free.
 */
export interface Timed {
  /** index in the heap while scheduled, -1 otherwise (owned by Deadlines) */
  slot: number;
}

export class Deadlines<T extends Timed> {
  private readonly at: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  has(item: T): boolean {
    return item.slot >= 0;
  }

  /** Schedules `item` at `time`; an item already in keeps the earlier of its two times. */
  add(item: T, time: number): void {
    if (item.slot >= 0) {
      if (time < this.at[item.slot]!) {
        this.at[item.slot] = time;
        this.up(item.slot);
      }
      return;
    }
    this.items.push(item);
    this.at.push(time);
    item.slot = this.items.length - 1;
    this.up(item.slot);
  }

  /** The earliest item due at or before `now`, taken out of the heap; undefined when none is. */
  pop(now: number): T | undefined {
    if (this.items.length === 0 || this.at[0]! > now) return undefined;
    const top = this.items[0]!;
    const lastItem = this.items.pop()!;
    const lastAt = this.at.pop()!;
    if (this.items.length > 0) {
      this.items[0] = lastItem;
      this.at[0] = lastAt;
      lastItem.slot = 0;
      this.down(0);
    }
    top.slot = -1;
    return top;
  }

  private up(i: number): void {
    const item = this.items[i]!;
    const time = this.at[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.at[p]! <= time) break;
      this.move(p, i);
      i = p;
    }
    this.place(item, time, i);
  }

  private down(i: number): void {
    const n = this.items.length;
    const item = this.items[i]!;
    const time = this.at[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.at[r]! < this.at[l]! ? r : l;
      if (this.at[c]! >= time) break;
      this.move(c, i);
      i = c;
    }
    this.place(item, time, i);
  }

  private move(from: number, to: number): void {
    const it = this.items[from]!;
    this.items[to] = it;
    this.at[to] = this.at[from]!;
    it.slot = to;
  }

  private place(item: T, time: number, i: number): void {
    this.items[i] = item;
    this.at[i] = time;
    item.slot = i;
  }
}
