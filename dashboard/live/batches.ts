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

/** A device of a watched site: each metric it has sent, with the flush generation it last changed in. */
interface Pending {
  device: string;
  metrics: Map<string, number>;
  /** the generation it was queued in, or -1 */
  queued: number;
}

interface SitePending {
  devices: Map<string, Pending>;
  /** devices with something to send, in the order they first reported */
  queue: Pending[];
}

export class ReadingBatches {
  /** only sites being watched; the per-device records are kept and reused, so that a reading allocates nothing */
  private readonly sites = new Map<string, SitePending>();
  private generation = 0;

  constructor(private readonly latest: LatestCache) {}

  /** Starts collecting readings of a site (its room got its first socket). */
  watch(site: string): void {
    if (!this.sites.has(site)) this.sites.set(site, { devices: new Map(), queue: [] });
  }

  /** Stops collecting and forgets what was pending (its room is empty). */
  unwatch(site: string): void {
    this.sites.delete(site);
  }

  watching(site: string): boolean {
    return this.sites.has(site);
  }

  add(r: Reading): void {
    const site = this.sites.get(r.site);
    if (!site) return;
    let p = site.devices.get(r.device);
    if (!p) {
      p = { device: r.device, metrics: new Map(), queued: -1 };
      site.devices.set(r.device, p);
    }
    const gen = this.generation;
    for (const m in r.metrics) p.metrics.set(m, gen);
    if (p.queued !== gen) {
      p.queued = gen;
      site.queue.push(p);
    }
  }

  /** The items of every site with something pending, emptied. */
  *drain(): Generator<[site: string, items: ReadingItem[]]> {
    const gen = this.generation++;
    for (const [id, site] of this.sites) {
      if (site.queue.length === 0) continue;
      const items = this.items(site.queue, gen);
      site.queue.length = 0;
      if (items.length > 0) yield [id, items];
    }
  }

  private items(queue: readonly Pending[], gen: number): ReadingItem[] {
    const items: ReadingItem[] = [];
    for (const p of queue) {
      const values: Record<string, number | boolean> = {};
      let ts = -Infinity;
      for (const [m, changed] of p.metrics) {
        if (changed !== gen) continue;
        const v = this.latest.value(p.device, m);
        if (!v) continue;
        values[m] = v[0];
        if (v[1] > ts) ts = v[1];
      }
      if (ts !== -Infinity) items.push({ device: p.device, ts: new Date(ts).toISOString(), values });
    }
    return items;
  }
}
