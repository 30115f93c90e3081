/**
 * Readings coalesced per site for the live dashboard. Between two flushes it remembers only
 * which metrics of which devices changed; at the flush it takes their values from the
 * LatestCache, which already keeps the newest value of each metric by reading time. However
 * fast a device publishes, a flush carries one item for it; a reading that arrives late (an
 * older replayed buffer) never puts an older value on screen than the one already there.
 * Only sites somebody watches collect anything.
 */
import type { Reading } from '../../bus.ts';
import type { LatestCache } from './latest.ts';
import type { ReadingItem } from './protocol.ts';

export class ReadingBatches {
  /** site → device → metrics changed since the last flush; only sites being watched */
  private readonly sites = new Map<string, Map<string, Set<string>>>();

  constructor(private readonly latest: LatestCache) {}

  /** Starts collecting readings of a site (its room got its first socket). */
  watch(site: string): void {
    if (!this.sites.has(site)) this.sites.set(site, new Map());
  }

  /** Stops collecting and forgets what was pending (its room is empty). */
  unwatch(site: string): void {
    this.sites.delete(site);
  }

  watching(site: string): boolean {
    return this.sites.has(site);
  }

  add(r: Reading): void {
    const pending = this.sites.get(r.site);
    if (!pending) return;
    let metrics = pending.get(r.device);
    if (!metrics) {
      metrics = new Set();
      pending.set(r.device, metrics);
    }
    for (const m in r.metrics) metrics.add(m);
  }

  /** The items of every site with something pending, emptied. */
  *drain(): Generator<[site: string, items: ReadingItem[]]> {
    for (const [site, pending] of this.sites) {
      if (pending.size === 0) continue;
      const items = this.items(pending);
      pending.clear();
      if (items.length > 0) yield [site, items];
    }
  }

  private items(pending: Map<string, Set<string>>): ReadingItem[] {
    const items: ReadingItem[] = [];
    for (const [device, metrics] of pending) {
      const now = this.latest.get(device);
      if (!now) continue;
      const values: Record<string, number | boolean> = {};
      let ts = -Infinity;
      for (const m of metrics) {
        const v = now.values[m];
        if (!v) continue;
        values[m] = v[0];
        if (v[1] > ts) ts = v[1];
      }
      if (ts !== -Infinity) items.push({ device, ts: new Date(ts).toISOString(), values });
    }
    return items;
  }
}
