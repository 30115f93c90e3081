/**
 * The delivery worker with real local receivers: what it gives up and when, the order of
 * deliveries to one target, one target's trouble never holding up another, stop() and resume.
 * The window of parallel webhook deliveries is in worker-window.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { sleep, waitFor } from '../../test/harness/ports.ts';
import { createSenders, DeliveryWorker, Outbox, type SenderSet } from './index.ts';
import { sampleItem } from './testing/fixtures.ts';
import { cleanups, hook, receiver, store, useCleanups, worker, type GaveUp } from './testing/worker-harness.ts';

useCleanups();

describe('delivery worker', () => {
  it('gives up a delivery the receiver refuses (4xx) at once, and says so', async () => {
    const rec = await receiver(() => ({ status: 400, body: '{"error":"unknown department"}' }));
    const { outbox } = await store();
    const gaveUp: GaveUp[] = [];
    worker(outbox, gaveUp);
    const [id] = await outbox.enqueue([sampleItem(hook(rec))]);
    await waitFor('give-up', () => gaveUp.length === 1, 10_000);
    expect(gaveUp[0]).toMatchObject({ reason: 'rejected', delivery: { id, attempts: 1 }, error: expect.stringContaining('HTTP 400') });
    expect(gaveUp[0]!.error).toContain('unknown department');
    expect(await outbox.get(id!)).toMatchObject({ status: 'failed', attempts: 1, lastError: gaveUp[0]!.error });
    expect((await outbox.get(id!))!.failedAt).toBeGreaterThan(0);
    await sleep(300);
    expect(rec.received).toHaveLength(1);
    expect(gaveUp).toHaveLength(1);
  });

  it('retries a receiver that answers 503 until the deadline, then gives up', async () => {
    const rec = await receiver(() => ({ status: 503 }));
    const { outbox } = await store();
    const gaveUp: GaveUp[] = [];
    // The real senders, noting when each attempt starts (a request may arrive a little later).
    const real = createSenders();
    const starts: number[] = [];
    const senders: SenderSet = {
      ...real,
      senderFor: (c) => ({
        send: (d, ctx) => {
          starts.push(ctx.now());
          return real.senderFor(c).send(d, ctx);
        },
      }),
    };
    const w = new DeliveryWorker({ outbox, senders, backoff: { baseMs: 100, capMs: 400 }, onGaveUp: (delivery, error, reason) => void gaveUp.push({ delivery, error, reason }) });
    w.start();
    cleanups.push(() => w.stop(1_000));
    const deadline = Date.now() + 1_500;
    const [id] = await outbox.enqueue([sampleItem(hook(rec), { deadline })]);
    await waitFor('give-up', () => gaveUp.length === 1, 10_000);
    expect(gaveUp[0]!.reason).toBe('deadline');
    // Given up either when the next retry would fall past the deadline ("reached"), or, when a
    // late timer (a loaded machine) wakes after it, at the next look ("passed"): both name the 503.
    expect(gaveUp[0]!.error).toMatch(/deadline (reached|passed) after \d+ attempts; last error: HTTP 503/);
    const row = (await outbox.get(id!))!;
    expect(row.status).toBe('failed');
    expect(row.attempts).toBeGreaterThanOrEqual(3);
    expect(rec.received).toHaveLength(row.attempts);
    expect(starts).toHaveLength(row.attempts);
    // No attempt was started at or after the deadline.
    expect(Math.max(...starts)).toBeLessThan(deadline);
    expect(new Set(rec.received.map((r) => r.headers['x-estate-delivery']))).toEqual(new Set([id]));
  });

  it('does not start a delivery whose deadline has already passed', async () => {
    const rec = await receiver(() => ({ status: 204 }));
    const { outbox } = await store();
    const gaveUp: GaveUp[] = [];
    worker(outbox, gaveUp);
    const [id] = await outbox.enqueue([sampleItem(hook(rec), { deadline: Date.now() - 1 })]);
    await waitFor('give-up', () => gaveUp.length === 1, 10_000);
    expect(gaveUp[0]).toMatchObject({ reason: 'deadline', delivery: { id, attempts: 0 } });
    expect(rec.received).toHaveLength(0);
  });

  it('delivers to one target in enqueue order, later ones waiting behind a retry', async () => {
    const rec = await receiver((i) => ({ status: i < 2 ? 503 : 204 }));
    const { outbox } = await store();
    worker(outbox);
    const ids = await outbox.enqueue(Array.from({ length: 5 }, () => sampleItem(hook(rec))));
    await waitFor('all sent', async () => (await outbox.stats()).sent === 5, 10_000);
    const order = rec.received.map((r) => r.headers['x-estate-delivery']);
    expect(order).toEqual([ids[0], ids[0], ...ids]);
    expect(await outbox.get(ids[0]!)).toMatchObject({ status: 'sent', attempts: 3, lastError: 'HTTP 503 Service Unavailable' });
  });

  it('one slow department does not hold up another', async () => {
    const slow = await receiver(() => ({ status: 204, delayMs: 8_000 }));
    const fast = await receiver(() => ({ status: 204 }));
    const { outbox } = await store();
    worker(outbox);
    const slowIds = await outbox.enqueue([sampleItem(hook(slow)), sampleItem(hook(slow))]);
    const fastIds = await outbox.enqueue([sampleItem(hook(fast)), sampleItem(hook(fast)), sampleItem(hook(fast))]);
    await waitFor('the fast department', () => fast.received.length === 3, 5_000);
    expect(fast.received.map((r) => r.headers['x-estate-delivery'])).toEqual(fastIds);
    expect(slow.received.map((r) => r.headers['x-estate-delivery'])).toEqual([slowIds[0]]);
    expect((await outbox.get(slowIds[0]!))!.status).toBe('pending');
  });

  it('stop() waits for a send in flight; a send cut off stays pending and is resumed by the next start', async () => {
    let delay = 600;
    const rec = await receiver(() => ({ status: 204, delayMs: delay }));
    const { outbox } = await store();
    const senders = createSenders();
    const w1 = new DeliveryWorker({ outbox, senders });
    w1.start();
    const [first] = await outbox.enqueue([sampleItem(hook(rec))]);
    await waitFor('the first request', () => rec.received.length === 1, 5_000);
    await w1.stop(5_000); // waits for the 600 ms answer
    expect(await outbox.get(first!)).toMatchObject({ status: 'sent', attempts: 1 });

    delay = 5_000;
    const w2 = new DeliveryWorker({ outbox, senders });
    w2.start();
    const [second] = await outbox.enqueue([sampleItem(hook(rec))]);
    await waitFor('the second request', () => rec.received.length === 2, 5_000);
    const t0 = Date.now();
    await w2.stop(200); // gives up waiting, abandons the send
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(await outbox.get(second!)).toMatchObject({ status: 'pending', attempts: 0 });

    delay = 0;
    const w3 = new DeliveryWorker({ outbox, senders });
    w3.start();
    cleanups.push(() => w3.stop());
    await waitFor('the resumed delivery', async () => (await outbox.get(second!))?.status === 'sent', 10_000);
    expect(rec.received.map((r) => r.headers['x-estate-delivery'])).toEqual([first, second, second]);
  });

  it('picks up pending rows that arrived without a wake, on the sweep', async () => {
    const rec = await receiver(() => ({ status: 204 }));
    const { t, outbox } = await store();
    const w = new DeliveryWorker({ outbox, senders: createSenders(), sweepMs: 200 });
    w.start();
    cleanups.push(() => w.stop());
    // Another writer on the same database (a second Outbox: its enqueue does not wake `w`).
    const [id] = await new Outbox(t.db).enqueue([sampleItem(hook(rec))]);
    await waitFor('the swept delivery', async () => (await outbox.get(id!))?.status === 'sent', 5_000);
    expect(rec.received).toHaveLength(1);
  });

  it('a failing onGaveUp does not stop the worker', async () => {
    const rec = await receiver(() => ({ status: 404 }));
    const { outbox } = await store();
    const w = new DeliveryWorker({
      outbox,
      senders: createSenders(),
      onGaveUp: () => {
        throw new Error('engine is down');
      },
    });
    w.start();
    cleanups.push(() => w.stop());
    await outbox.enqueue([sampleItem(hook(rec)), sampleItem(hook(rec))]);
    await waitFor('both given up', async () => (await outbox.stats()).failed === 2, 5_000);
  });
});
