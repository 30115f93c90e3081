/**
 * The outbox on a real operational store: what enqueue keeps, how attempts are recorded,
 * what the API may see, and that it survives closing and reopening the database.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OperationalStore } from '../../storage/index.ts';
import { Outbox } from './outbox.ts';
import { backoffDelay } from './backoff.ts';
import { sampleItem, sampleNotification, tempStore, type TempStore } from './testing/fixtures.ts';

let t: TempStore;
afterEach(() => t?.close());

const hook = { type: 'webhook' as const, url: 'http://127.0.0.1:9100/fire', secret: 's3cret' };
const robot = { type: 'wecom' as const, url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=robot-key' };

describe('outbox', () => {
  it('keeps each delivery with its body fixed, under an id per delivery, in one durable transaction', () => {
    t = tempStore();
    const outbox = new Outbox(t.store.db);
    const body = sampleNotification();
    const ids = outbox.enqueue([sampleItem(hook, { body, deadline: 2_000 }), sampleItem(robot, { deadline: 3_000 })], 1_000);
    expect(ids).toHaveLength(2);
    expect(ids[0]).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(ids[0]! < ids[1]!).toBe(true);
    expect(t.store.db.pragma('synchronous', { simple: true })).toBe(1); // restored to NORMAL after the synced commit
    t.store.close();

    const reopened = new OperationalStore(join(t.dir, 'operational.db'));
    try {
      const again = new Outbox(reopened.db);
      expect(again.get(ids[0]!)).toEqual({
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
      expect(again.pendingCount()).toBe(2);
    } finally {
      reopened.close();
    }
  });

  it('records retries, sends and failures, each once', () => {
    t = tempStore();
    const outbox = new Outbox(t.store.db);
    const [a, b, c] = outbox.enqueue([sampleItem(hook), sampleItem(hook), sampleItem(robot)], 1_000);
    outbox.markRetry(a!, 5_000, 1, 'HTTP 503');
    expect(outbox.due(4_999, 10).map((d) => d.id)).toEqual([b, c]);
    expect(outbox.due(5_000, 10).map((d) => d.id)).toEqual([b, c, a]);
    outbox.markSent(a!, 6_000);
    outbox.markSent(a!, 7_000); // already sent: nothing changes
    outbox.markFailed(a!, 8_000, 'late');
    expect(outbox.get(a!)).toMatchObject({ status: 'sent', attempts: 2, sentAt: 6_000, lastError: 'HTTP 503' });
    outbox.markFailed(b!, 9_000, 'HTTP 404: no such hook', 1);
    expect(outbox.get(b!)).toMatchObject({ status: 'failed', attempts: 1, failedAt: 9_000, lastError: 'HTTP 404: no such hook' });
    expect(outbox.pendingCount()).toBe(1);
    expect(outbox.stats()).toEqual({ pending: 1, sent: 1, failed: 1, oldestPendingAt: 1_000 });
    expect(outbox.pendingSince(0, 10).map((r) => r.id)).toEqual([c]);
  });

  it('shows an alert’s deliveries without bodies or secrets', () => {
    t = tempStore();
    const outbox = new Outbox(t.store.db);
    const body = sampleNotification();
    const [a, b] = outbox.enqueue([sampleItem(hook, { body }), sampleItem(robot, { body })], 1_000);
    outbox.enqueue([sampleItem(hook, { alertId: 'another' })]);
    const views = outbox.forAlert(body.alert.id);
    expect(views.map((v) => v.id)).toEqual([a, b]);
    expect(views[0]!.channel).toEqual({ type: 'webhook', target: 'http://127.0.0.1:9100/fire' });
    expect(views[1]!.channel).toEqual({ type: 'wecom', target: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=<secret>' });
    const text = JSON.stringify(views);
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain('robot-key');
    expect(text).not.toContain('/ack/');
  });

  it('the cursor of pending rows only moves forward, and pruning keeps the newest row', () => {
    t = tempStore();
    const outbox = new Outbox(t.store.db);
    const ids = outbox.enqueue([sampleItem(hook), sampleItem(hook), sampleItem(hook)], 1_000);
    const [first, ...rest] = outbox.pendingSince(0, 10);
    expect(outbox.pendingSince(first!.seq, 10)).toEqual(rest);
    for (const id of ids) outbox.markSent(id, 2_000);
    expect(outbox.prune(5_000)).toBe(2);
    const [next] = outbox.enqueue([sampleItem(hook)], 6_000);
    const refs = outbox.pendingSince(rest[1]!.seq, 10);
    expect(refs.map((r) => r.id)).toEqual([next]);
  });

  it('calls its listeners after each enqueue, and not for an empty one', () => {
    t = tempStore();
    const outbox = new Outbox(t.store.db);
    let calls = 0;
    const off = outbox.onEnqueue(() => calls++);
    outbox.enqueue([]);
    outbox.enqueue([sampleItem(hook)]);
    off();
    outbox.enqueue([sampleItem(hook)]);
    expect(calls).toBe(1);
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
});
