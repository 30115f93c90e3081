/**
 * The webhook channel against a real local receiver: the body is the Notification, the
 * signature is the HMAC of the raw body bytes, X-Estate-Delivery is the enqueued id, and each
 * answer is judged retriable or not as docs/interfaces.md#headers-retries-signatures and STYLE point 6 say.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, waitFor } from '../../test/harness/ports.ts';
import { createSenders, DeliveryWorker, Outbox, signBody } from './index.ts';
import { WebhookSender } from './channels/webhook.ts';
import { pickHeaders, stablePort, writeExample } from './testing/examples.ts';
import { FIXED, sampleDelivery, sampleGroup, sampleItem, sampleNotification, sampleReport, tempStore, type TempStore } from './testing/fixtures.ts';
import { Receiver, type Received } from './testing/receiver.ts';

const SECRET = 's3cret';
const ctx = { signal: new AbortController().signal, now: () => FIXED.now };

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function receiver(r?: Receiver): Promise<Receiver> {
  const rec = r ?? new Receiver();
  await rec.listen();
  cleanups.push(() => rec.close());
  return rec;
}

async function setup(): Promise<{ t: TempStore; outbox: Outbox; worker: DeliveryWorker }> {
  const t = await tempStore();
  const outbox = new Outbox(t.db);
  const worker = new DeliveryWorker({ outbox, senders: createSenders(), backoff: { baseMs: 50, capMs: 200 } });
  worker.start();
  cleanups.push(async () => {
    await worker.stop();
    await t.close();
  });
  return { t, outbox, worker };
}

/** What a receiver does: recompute the HMAC over the raw bytes and compare in constant time. */
function verify(secret: string, r: Received): boolean {
  const header = String(r.headers['x-estate-signature'] ?? '');
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(r.raw).digest('hex')}`);
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

describe('webhook delivery', () => {
  it('signs every delivery over its raw body; the body is the Notification; the delivery id is the enqueued one', async () => {
    const rec = await receiver();
    const { outbox } = await setup();
    const bodies = ['alert.firing', 'alert.acknowledged', 'alert.resolved'].map((event, i) =>
      sampleNotification({ event: event as 'alert.firing', sentAt: new Date(FIXED.now + i).toISOString() }),
    );
    const ids = await outbox.enqueue(bodies.map((body) => sampleItem({ type: 'webhook', url: rec.url('/fire'), secret: SECRET }, { body, event: body.event })));
    await waitFor('3 deliveries', () => rec.received.length === 3, 10_000);

    expect(rec.received.map((r) => r.headers['x-estate-delivery'])).toEqual(ids);
    for (const [i, r] of rec.received.entries()) {
      expect(r.method).toBe('POST');
      expect(r.url).toBe('/fire');
      expect(r.headers['content-type']).toBe('application/json');
      expect(verify(SECRET, r)).toBe(true);
      expect(verify('another secret', r)).toBe(false);
      expect(r.json).toEqual(bodies[i]);
    }
    await waitFor('all marked sent', async () => (await outbox.stats()).sent === 3, 5_000);
  });

  it('posts a group and a report as they are, signed, each under its delivery id', async () => {
    const rec = await receiver();
    const { outbox } = await setup();
    const channel = { type: 'webhook' as const, url: rec.url('/property'), secret: SECRET };
    const group = sampleGroup();
    const report = sampleReport();
    const ids = await outbox.enqueue([
      { alertId: group.group.key, event: 'alert.group', recipient: 'property', channel, body: group, deadline: Date.now() + 60_000 },
      { alertId: report.report.id, event: 'report.ready', recipient: 'property', channel, body: report, deadline: Date.now() + 60_000 },
    ]);
    await waitFor('2 deliveries', () => rec.received.length === 2, 10_000);
    const byId = new Map(rec.received.map((r) => [r.headers['x-estate-delivery'], r]));
    expect(byId.get(ids[0])!.json).toEqual(group);
    expect(byId.get(ids[1])!.json).toEqual(report);
    for (const r of rec.received) expect(verify(SECRET, r)).toBe(true);
    await waitFor('both marked sent', async () => (await outbox.stats()).sent === 2, 5_000);
  });

  it('sends no signature header when the channel has no secret', async () => {
    const rec = await receiver();
    const { outbox } = await setup();
    const [id] = await outbox.enqueue([sampleItem({ type: 'webhook', url: rec.url('/plain') })]);
    await waitFor('the delivery', () => rec.received[0], 10_000);
    expect(rec.received[0]!.headers['x-estate-delivery']).toBe(id);
    expect(rec.received[0]!.headers['x-estate-signature']).toBeUndefined();
    expect(rec.received[0]!.json).toEqual(sampleNotification());
  });

  it('arrives without polling: the enqueue wakes the worker', async () => {
    const rec = await receiver();
    const t = await tempStore();
    const outbox = new Outbox(t.db);
    const worker = new DeliveryWorker({ outbox, senders: createSenders(), sweepMs: 600_000 });
    worker.start();
    cleanups.push(async () => {
      await worker.stop();
      await t.close();
    });
    await new Promise((r) => setTimeout(r, 50));
    const start = Date.now();
    await outbox.enqueue([sampleItem({ type: 'webhook', url: rec.url() })]);
    await waitFor('the delivery', () => rec.received[0], 5_000, 2);
    // The 200 ms budget is for reading-to-arrival; this part takes a few ms. Generous bound here.
    expect(rec.received[0]!.at - start).toBeLessThan(1_000);
  });

  it.each([
    [200, 'ok'],
    [204, 'ok'],
    [301, 'refused'],
    [400, 'refused'],
    [401, 'refused'],
    [404, 'refused'],
    [410, 'refused'],
    [408, 'retriable'],
    [425, 'retriable'],
    [429, 'retriable'],
    [500, 'retriable'],
    [502, 'retriable'],
    [503, 'retriable'],
  ] as const)('an answer %i is %s', async (status, expected) => {
    const rec = await receiver(new Receiver(() => ({ status, body: status >= 300 ? '{"message":"nope"}' : '' })));
    const result = await new WebhookSender().send(sampleDelivery({ type: 'webhook', url: rec.url() }), ctx);
    if (expected === 'ok') expect(result).toEqual({ ok: true });
    else expect(result).toMatchObject({ ok: false, retriable: expected === 'retriable', error: expect.stringContaining(`HTTP ${status}`) });
  });

  it('a refused connection and a receiver that does not answer in time are retriable', async () => {
    const port = await freePort();
    const refused = await new WebhookSender().send(sampleDelivery({ type: 'webhook', url: `http://127.0.0.1:${port}/x` }), ctx);
    expect(refused).toMatchObject({ ok: false, retriable: true, error: expect.stringContaining('ECONNREFUSED') });

    const slow = await receiver(new Receiver(() => ({ status: 204, delayMs: 5_000 })));
    const timedOut = await new WebhookSender({ timeoutMs: 300 }).send(sampleDelivery({ type: 'webhook', url: slow.url() }), ctx);
    expect(timedOut).toEqual({ ok: false, retriable: true, error: 'no answer within 300 ms' });
  });

  it('writes docs/examples/webhook.json: the contract example as the receiver got it', async () => {
    const rec = await receiver();
    const d = sampleDelivery({ type: 'webhook', url: rec.url('/fire'), secret: SECRET });
    expect(await new WebhookSender().send(d, ctx)).toEqual({ ok: true });
    const r = rec.received[0]!;
    expect(r.headers['x-estate-signature']).toBe(signBody(SECRET, r.raw));
    const example = {
      request: `POST ${stablePort(rec.url('/fire'), rec.port)}`,
      headers: pickHeaders(r.headers, ['Content-Type', 'Content-Length', 'User-Agent', 'X-Estate-Delivery', 'X-Estate-Signature']),
      secret: SECRET,
      body: r.json,
    };
    writeExample('webhook.json', `${JSON.stringify(example, null, 2)}\n`);
    // The exact bytes the signature covers: `openssl dgst -sha256 -hmac s3cret webhook-body.json`.
    writeExample('webhook-body.json', r.raw.toString('utf8'));
  });
});
