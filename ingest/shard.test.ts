import { describe, expect, it } from 'vitest';
import { readEnv, parseEstate } from '../config/index.ts';
import { fnv1a64, jumpHash, planShard, shardEstate, shardOf } from './shard.ts';

const SITES = Array.from({ length: 40 }, (_, i) => `site-${i}`);

describe('shard i of N', () => {
  it('hashes site ids with 64-bit FNV-1a (published test vectors)', () => {
    expect(fnv1a64('')).toBe(0xcbf29ce484222325n);
    expect(fnv1a64('a')).toBe(0xaf63dc4c8601ec8cn);
    expect(fnv1a64('foobar')).toBe(0x85944171f73967e8n);
  });

  it('moves only the sites a new shard takes when N grows, and spreads them evenly', () => {
    const many = Array.from({ length: 4000 }, (_, i) => `compound-${i}`);
    for (let n = 1; n < 12; n++) {
      let moved = 0;
      for (const s of many) {
        const before = shardOf(s, n);
        const after = shardOf(s, n + 1);
        if (after !== before) {
          expect(after).toBe(n + 1);
          moved++;
        }
      }
      // About 1/(n + 1) of them; `hash mod N` would move about n/(n + 1).
      expect(moved / many.length).toBeGreaterThan(0.6 / (n + 1));
      expect(moved / many.length).toBeLessThan(1.4 / (n + 1));
    }
    const counts = new Map<number, number>();
    for (const s of many) counts.set(shardOf(s, 4), (counts.get(shardOf(s, 4)) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual([1, 2, 3, 4]);
    for (const c of counts.values()) expect(Math.abs(c - 1000)).toBeLessThan(150);
    expect(jumpHash(123456789n, 1)).toBe(0);
  });

  it('gives every site to exactly one shard, the same on every instance', () => {
    for (const n of [1, 2, 3, 4, 7]) {
      const plans = Array.from({ length: n }, (_, i) => planShard(SITES, { index: i + 1, count: n }, 'none'));
      const owners = SITES.map((s) => plans.filter((p) => p.own.includes(s)).length);
      expect(owners.every((o) => o === 1)).toBe(true);
      for (const s of SITES) expect(plans[shardOf(s, n) - 1]!.own).toContain(s);
    }
  });

  it('subscribes to its own sites only, or to estate/# when it takes the strays', () => {
    const two = planShard(SITES, { index: 2, count: 3 }, 'first');
    expect(two.filters).toEqual(two.own.map((s) => `estate/${s}/#`));
    expect(two.foreign).toBeUndefined();

    const one = planShard(SITES, { index: 1, count: 3 }, 'first');
    expect(one.filters).toEqual(['estate/#']);
    const mine = one.own[0]!;
    const theirs = SITES.find((s) => !one.own.includes(s))!;
    expect(one.foreign!(`estate/${theirs}/hydrant/H1/telemetry`)).toBe(true);
    expect(one.foreign!(`estate/${theirs}`)).toBe(true);
    expect(one.foreign!(`estate/${mine}/hydrant/H1/telemetry`)).toBe(false);
    // Strays stay with shard 1 to be refused as usual.
    expect(one.foreign!('estate/no-such-site/hydrant/H1/telemetry')).toBe(false);
    expect(one.foreign!('estate')).toBe(false);
    expect(one.foreign!('other/thing')).toBe(false);

    expect(planShard(SITES, { index: 1, count: 3 }, 'none').filters).toEqual(one.own.map((s) => `estate/${s}/#`));
    expect(planShard(SITES).filters).toEqual(['estate/#']);
  });

  it("gives the events session the same sites' event topics", () => {
    expect(planShard(SITES).eventFilters).toEqual(['estate/+/+/+/event']);
    // Shard 1 taking the strays: every event, the other shards' left alone as foreign.
    expect(planShard(SITES, { index: 1, count: 3 }, 'first').eventFilters).toEqual(['estate/+/+/+/event']);
    const two = planShard(SITES, { index: 2, count: 3 }, 'first');
    expect(two.eventFilters).toEqual(two.own.map((s) => `estate/${s}/+/+/event`));
    const none = planShard(SITES, { index: 1, count: 3 }, 'none');
    expect(none.eventFilters).toEqual(none.own.map((s) => `estate/${s}/+/+/event`));
  });

  it('gives the rest of the service an estate of its own sites', () => {
    const estate = parseEstate(
      `sites:
${SITES.slice(0, 6)
  .map((s, i) => `  - { id: ${s}, name: 小区${i}, property: { name: 物业${i} }, devices: [{ id: D${i}, kind: hydrant, building: "1栋" }] }`)
  .join('\n')}
`,
      'shard-test.yaml',
      {},
    );
    const plan = planShard(estate.sites.map((s) => s.id), { index: 2, count: 2 });
    const mine = shardEstate(estate, plan);
    expect(mine.sites.map((s) => s.id)).toEqual(plan.own);
    expect(mine.sites.length).toBeLessThan(6);
    expect(shardEstate(estate, planShard(estate.sites.map((s) => s.id))).sites).toHaveLength(6);
  });

  it('reads SHARD as i/N and refuses anything else', () => {
    const broker = { MQTT_URL: 'mqtt://127.0.0.1:1883' };
    expect(readEnv({ ...broker, SHARD: '2/4' }).SHARD).toEqual({ index: 2, count: 4 });
    expect(readEnv({ SHARD: '1/1' }).SHARD).toEqual({ index: 1, count: 1 });
    expect(() => readEnv({ SHARD: '2/4' })).toThrow('SHARD: shards share one broker: set MQTT_URL');
    expect(readEnv({}).SHARD).toBeUndefined();
    expect(readEnv({}).SHARD_STRAYS).toBe('first');
    for (const bad of ['0/4', '5/4', '2', '2/0', 'a/b', '-1/2']) expect(() => readEnv({ ...broker, SHARD: bad }), bad).toThrow(/SHARD: (must be i\/N|i must be between)/);
    expect(() => readEnv({ SHARD_STRAYS: 'all' })).toThrow(/SHARD_STRAYS/);
  });
});
