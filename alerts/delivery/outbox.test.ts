/**
 * The outbox on a real operational store: what enqueue keeps, how attempts are recorded,
 * what the API may see, that deliveries written in a transaction are kept with it or not at
 * all, and that it survives closing and reopening the database.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openOperationalStore } from '../../storage/index.ts';
import { DELIVERY_SCHEMA, Outbox } from './outbox.ts';
import { backoffDelay, DEFAULT_BACKOFF } from './backoff.ts';
import { sampleItem, sampleNotification, tempStore, type TempStore } from './testing/fixtures.ts';

let t: TempStore | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const hook = { type: 'webhook' as const, url: 'http://127.0.0.1:9100/fire', secret: 's3cret' };
const robot = { type: 'wecom' as const, url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=robot-key' };

async function outboxOnTemp(): Promise<Outbox> {
  t = await tempStore();
  return new Outbox(t.db);
}

describe('outbox', () => {
  it('keeps each delivery with its body fixed, under an id per delivery, in one durable transaction', async () => {
    const outbox = await outboxOnTemp();
    const body = sampleNotification();
    const ids = await outbox.enqueue([sampleItem(hook, { body, deadline: 2_000 }), sampleItem(robot, { deadline: 3_000 })], 1_000);
    expect(ids).toHaveLength(2);
    expect(ids[0]).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(ids[0]! < ids[1]!).toBe(true);
    // every commit of the SQLite store is on disk before its promise resolves (synchronous = FULL)
    expect((await t!.db.query('PRAGMA synchronous')).rows).toEqual([{ synchronous: 2 }]);
    await t!.db.close();

    const reopened = await openOperationalStore(join(t!.dir, 'operational.db'), [DELIVERY_SCHEMA]);
    try {
      const again = new Outbox(reopened);
      expect(await again.get(ids[0]!)).toEqual({
        id: ids[0],
        alertId: body.alert.id,
        event: 'alert.firing',
        recipient: 'fire-rescue',
        channel: hook,
        body,
        attempts: 0,
        createdAt: 1_000,
        deadline: 2_000,
        status: 'pending',
        nextAt: 1_000,
        sentAt: null,
        failedAt: null,
        lastError: null,
      });
      expect(await again.pendingCount()).toBe(2);
    } finally {
      await reopened.close();
    }
  });

  it('records retries, sends and failures, each once', async () => {
    const outbox = await outboxOnTemp();
    const [a, b, c] = await outbox.enqueue([sampleItem(hook), sampleItem(hook), sampleItem(robot)], 1_000);
    await outbox.markRetry(a!, 5_000, 1, 'HTTP 503');
    expect((await outbox.due(4_999, 10)).map((d) => d.id)).toEqual([b, c]);
    expect((await outbox.due(5_000, 10)).map((d) => d.id)).toEqual([b, c, a]);
    await outbox.markSent(a!, 6_000);
    await outbox.markSent(a!, 7_000); // already sent: nothing changes
    await outbox.markFailed(a!, 8_000, 'late');
    expect(await outbox.get(a!)).toMatchObject({ status: 'sent', attempts: 2, sentAt: 6_000, lastError: 'HTTP 503' });
    await outbox.markFailed(b!, 9_000, 'HTTP 404: no such hook', 1);
    expect(await outbox.get(b!)).toMatchObject({ status: 'failed', attempts: 1, failedAt: 9_000, lastError: 'HTTP 404: no such hook' });
    expect(await outbox.pendingCount()).toBe(1);
    expect(await outbox.stats()).toEqual({ pending: 1, sent: 1, failed: 1, oldestPendingAt: 1_000 });
    expect((await outbox.pendingSince(0, 10)).map((r) => r.id)).toEqual([c]);
  });

  it('shows an alert’s deliveries without bodies or secrets', async () => {
    const outbox = await outboxOnTemp();
    const body = sampleNotification();
    const [a, b] = await outbox.enqueue([sampleItem(hook, { body }), sampleItem(robot, { body })], 1_000);
    await outbox.enqueue([sampleItem(hook, { alertId: 'another' })]);
    const views = await outbox.forAlert(body.alert.id);
    expect(views.map((v) => v.id)).toEqual([a, b]);
    expect(views[0]!.channel).toEqual({ type: 'webhook', target: 'http://127.0.0.1:9100/fire' });
    expect(views[1]!.channel).toEqual({ type: 'wecom', target: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=<secret>' });
    const text = JSON.stringify(views);
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain('robot-key');
    expect(text).not.toContain('/ack/');
  });

  it('the cursor of pending rows only moves forward, and pruning keeps the newest row', async () => {
    const outbox = await outboxOnTemp();
    const ids = await outbox.enqueue([sampleItem(hook), sampleItem(hook), sampleItem(hook)], 1_000);
    const [first, ...rest] = await outbox.pendingSince(0, 10);
    expect(await outbox.pendingSince(first!.seq, 10)).toEqual(rest);
    for (const id of ids) await outbox.markSent(id, 2_000);
    expect(await outbox.prune(5_000)).toBe(2);
    const [next] = await outbox.enqueue([sampleItem(hook)], 6_000);
    const refs = await outbox.pendingSince(rest[1]!.seq, 10);
    expect(refs.map((r) => r.id)).toEqual([next]);
  });

  it('calls its listeners after each enqueue, and not for an empty one', async () => {
    const outbox = await outboxOnTemp();
    let calls = 0;
    const off = outbox.onEnqueue(() => calls++);
    await outbox.enqueue([]);
    await outbox.enqueue([sampleItem(hook)]);
    off();
    await outbox.enqueue([sampleItem(hook)]);
    expect(calls).toBe(1);
  });

  it('keeps deliveries written in a transaction with it: gone if it rolls back, and told only by notify() once committed', async () => {
    const outbox = await outboxOnTemp();
    const db = t!.db;
    let calls = 0;
    outbox.onEnqueue(() => calls++);
    await expect(
      db.transaction(async (tx) => {
        await outbox.insert(tx, [sampleItem(hook), sampleItem(robot)], 1_000);
        throw new Error('the change was not committed');
      }),
    ).rejects.toThrow('the change was not committed');
    expect(await outbox.stats()).toEqual({ pending: 0, sent: 0, failed: 0, oldestPendingAt: null });
    const ids = await db.transaction((tx) => outbox.insert(tx, [sampleItem(hook), sampleItem(robot)], 1_000));
    expect(calls).toBe(0);
    outbox.notify();
    expect(calls).toBe(1);
    expect((await outbox.pendingSince(0, 10)).map((r) => r.id)).toEqual(ids);
    // more than one INSERT's worth in one transaction, in order
    const many = await db.transaction((tx) => outbox.insert(tx, Array.from({ length: 120 }, () => sampleItem(hook)), 2_000));
    expect((await outbox.pendingSince(0, 200)).map((r) => r.id)).toEqual([...ids, ...many]);
  });
});

describe('backoff', () => {
  it('doubles from the base up to the cap, drawn from the upper half', () => {
    const opts = { baseMs: 1_000, capMs: 300_000 };
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, opts, () => 1))).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect([1, 2, 3].map((n) => backoffDelay(n, opts, () => 0))).toEqual([500, 1_000, 2_000]);
    expect(backoffDelay(30, opts, () => 1)).toBe(300_000);
    expect(backoffDelay(1_000, opts, () => 0.5)).toBe(225_000);
    expect(backoffDelay(1, {}, () => 1)).toBe(1_000);
  });

  it('by default waits 1 s after the first failure and at most 30 s, so a receiver back is tried again within half a minute', () => {
    expect(DEFAULT_BACKOFF).toEqual({ baseMs: 1_000, capMs: 30_000 });
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, {}, () => 1))).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000]);
    expect(backoffDelay(1_000, {}, () => 1)).toBe(30_000);
    expect(backoffDelay(1_000, {}, () => 0)).toBe(15_000);
  });
});
