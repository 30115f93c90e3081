/**
 * A department's receiver is down for 30 s (nothing listens on its port), then comes back on
 * the same port: the delivery arrives afterwards, exactly once, under the delivery id that was
 * enqueued, with a valid signature. Real time (about 35 s): the backoff cap is 2 s, so the
 * worker keeps knocking while the receiver is away.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, sleep, waitFor } from '../../test/harness/ports.ts';
import { createSenders, DeliveryWorker, Outbox, signBody } from './index.ts';
import { sampleItem, tempStore, type TempStore } from './testing/fixtures.ts';
import { Receiver } from './testing/receiver.ts';

const OUTAGE_MS = 30_000;
const CAP_MS = 2_000;
const SECRET = 'fire-secret';

describe('a receiver that is down for 30 s', () => {
  const rec = new Receiver();
  let t: TempStore;
  let outbox: Outbox;
  let worker: DeliveryWorker;

  beforeAll(async () => {
    t = await tempStore();
    outbox = new Outbox(t.db);
    worker = new DeliveryWorker({ outbox, senders: createSenders(), backoff: { baseMs: 250, capMs: CAP_MS } });
  });

  afterAll(async () => {
    await worker?.stop();
    await rec.close();
    await t?.close();
  });

  it('gets its delivery afterwards, exactly once, under one delivery id', async () => {
    const port = await freePort();
    worker.start();
    const [id] = await outbox.enqueue([sampleItem({ type: 'webhook', url: `http://127.0.0.1:${port}/fire`, secret: SECRET })]);

    await sleep(OUTAGE_MS);
    const during = (await outbox.get(id!))!;
    expect(during.status).toBe('pending');
    // 30 s with waits of at most 2 s: well over 10 attempts, however slow the machine.
    expect(during.attempts).toBeGreaterThanOrEqual(10);
    expect(during.lastError).toContain('ECONNREFUSED');

    await rec.listen(port);
    await waitFor('the delivery to be recorded as sent', async () => (await outbox.get(id!))?.status === 'sent', 30_000, 50);
    // Longer than the longest backoff: a second copy would have come by now.
    await sleep(CAP_MS + 1_000);

    expect(rec.received).toHaveLength(1);
    const r = rec.received[0]!;
    expect(r.headers['x-estate-delivery']).toBe(id);
    expect(r.headers['x-estate-signature']).toBe(signBody(SECRET, r.raw));
    expect((await outbox.get(id!))!.attempts).toBeGreaterThan(during.attempts);
    expect(await outbox.stats()).toMatchObject({ pending: 0, sent: 1, failed: 0 });
  }, 90_000);
});
