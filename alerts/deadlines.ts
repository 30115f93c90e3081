/**
 * Deadlines in time order: a binary min-heap of (time, item), so that the clock finds what is
 * due without looking at what is not (docs/alerts.md, "Silent and offline devices"). The items
 * are the numbers 0 to `count` − 1 (the devices' registry indexes): the device watches keep one
 * entry per device whose silence they watch, at the time the device would count as silent if
 * nothing came; a message does not move the entry (that would cost a heap operation per
 * message): when the entry comes due, the watches look at the device's real deadline and, if it
 * has moved on, put the device back at it. A device's deadline only ever moves later, so an
 * entry is never due after the moment it stands for.
 *
 * An item is in the heap at most once: `slots` holds each item's index in the heap while it is
 * in (-1 when it is not), which also makes `has` free; no object per item.
 */
export class Deadlines {
  private readonly at: number[] = [];
  private readonly items: number[] = [];
  private readonly slots: Int32Array;

  constructor(count: number) {
    this.slots = new Int32Array(count).fill(-1);
  }

  get size(): number {
    return this.items.length;
  }

  has(item: number): boolean {
    return this.slots[item]! >= 0;
  }

  /** Schedules `item` at `time`; an item already in keeps the earlier of its two times. */
  add(item: number, time: number): void {
    const slot = this.slots[item]!;
    if (slot >= 0) {
      if (time < this.at[slot]!) {
        this.at[slot] = time;
        this.up(slot);
      }
      return;
    }
    this.items.push(item);
    this.at.push(time);
    this.up(this.items.length - 1);
  }

  /** The earliest item due at or before `now`, taken out of the heap; -1 when none is. */
  pop(now: number): number {
    if (this.items.length === 0 || this.at[0]! > now) return -1;
    const top = this.items[0]!;
    const lastItem = this.items.pop()!;
    const lastAt = this.at.pop()!;
    if (this.items.length > 0) {
      this.items[0] = lastItem;
      this.at[0] = lastAt;
      this.slots[lastItem] = 0;
      this.down(0);
    }
    this.slots[top] = -1;
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
    this.slots[it] = to;
  }

  private place(item: number, time: number, i: number): void {
    this.items[i] = item;
    this.at[i] = time;
    this.slots[item] = i;
  }
}
