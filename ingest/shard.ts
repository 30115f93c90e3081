/**
 * Shard i of N (docs/scaling.md): which sites an instance owns and which MQTT topic filters it
 * subscribes to. A site belongs to shard `jump(fnv1a64(site id), N) + 1`: a stable hash of the
 * id alone, so every instance computes the same owner from the same N without talking to the
 * others, and a site's owner changes only when N does. Jump consistent hashing (Lamping and
 * Veach, 2014) rather than `hash mod N`: going from N to N + 1 shards moves only the sites the
 * new shard takes (about 1/(N + 1) of them), where `mod` would move about N/(N + 1).
 *
 * MQTT cannot subtract one filter from another, so topics of no shard's site (a site not in
 * the estate file, a topic that does not parse) reach only an instance subscribed to
 * `estate/#`. With `strays: 'first'` shard 1 is that instance: it subscribes to `estate/#`,
 * takes its own sites, refuses the strays as usual (bad_topic, unknown_device) and drops the
 * sites of other shards without a word (they are theirs). With `strays: 'none'` every shard
 * subscribes to its own sites only, and the broker's ACL must keep devices to their topics.
 * The events session (ingest/subscribers.ts) subscribes to the same sites' event topics.
 */
import type { Estate } from '../config/index.ts';

export interface Shard {
  /** 1-based */
  index: number;
  count: number;
}

export type Strays = 'first' | 'none';

export interface ShardPlan {
  shard: Shard;
  /** the sites this instance owns, in the estate file's order */
  own: readonly string[];
  /** topic filters to subscribe to */
  filters: readonly string[];
  /** the filters of the events session (ingest/subscribers.ts): the same sites' `estate/…/+/+/event` */
  eventFilters: readonly string[];
  /** true for a message on another shard's site that this instance receives (through estate/#) and must leave alone */
  foreign: ((topic: string) => boolean) | undefined;
}

const MASK64 = (1n << 64n) - 1n;

/** 64-bit FNV-1a of a string's UTF-16 code units, as a BigInt (computed once per site at start). */
export function fnv1a64(s: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < s.length; i++) {
    h ^= BigInt(s.charCodeAt(i));
    h = (h * 0x100000001b3n) & MASK64;
  }
  return h;
}

/** Jump consistent hash: the 0-based bucket of a 64-bit key among `buckets`. */
export function jumpHash(key: bigint, buckets: number): number {
  let b = -1;
  let j = 0;
  let k = key & MASK64;
  while (j < buckets) {
    b = j;
    k = (k * 2862933555777941757n + 1n) & MASK64;
    j = Math.floor((b + 1) * (2 ** 31 / (Number(k >> 33n) + 1)));
  }
  return b;
}

/** The 1-based shard that owns a site among `count`. */
export function shardOf(site: string, count: number): number {
  return jumpHash(fnv1a64(site), count) + 1;
}

const WHOLE: Shard = { index: 1, count: 1 };
const ALL_EVENTS = 'estate/+/+/+/event';

export function planShard(siteIds: readonly string[], shard: Shard = WHOLE, strays: Strays = 'first'): ShardPlan {
  if (shard.count === 1) return { shard, own: [...siteIds], filters: ['estate/#'], eventFilters: [ALL_EVENTS], foreign: undefined };
  const own = siteIds.filter((s) => shardOf(s, shard.count) === shard.index);
  if (strays === 'first' && shard.index === 1) {
    const others = new Set(siteIds.filter((s) => shardOf(s, shard.count) !== shard.index));
    const foreign = (topic: string): boolean => {
      // estate/<site>/…: only the site segment matters, and no allocation on the hot path but the slice.
      if (!topic.startsWith('estate/')) return false;
      const end = topic.indexOf('/', 7);
      return others.has(end < 0 ? topic.slice(7) : topic.slice(7, end));
    };
    return { shard, own, filters: ['estate/#'], eventFilters: [ALL_EVENTS], foreign };
  }
  return { shard, own, filters: own.map((s) => `estate/${s}/#`), eventFilters: own.map((s) => `estate/${s}/+/+/event`), foreign: undefined };
}

/** The estate as this shard sees it: its own sites only. Everything else in the file stays. */
export function shardEstate(estate: Estate, plan: ShardPlan): Estate {
  if (plan.own.length === estate.sites.length) return estate;
  const own = new Set(plan.own);
  return { ...estate, sites: estate.sites.filter((s) => own.has(s.id)) };
}
