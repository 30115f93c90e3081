/**
 * The window of parallel webhook deliveries to one target: up to WEBHOOK_WINDOW in flight,
 * one alert's deliveries in order, the whole target backing off after a failure, stop() with
 * several sends in flight; robots and e-mail one at a time. Real local receivers.
 */
import { describe, expect, it } from 'vitest';
import { sleep, waitFor } from '../../test/harness/ports.ts';
import { createSenders, DeliveryWorker, type OutboxItem, type SenderSet } from './index.ts';
import { WEBHOOK_WINDOW } from './worker.ts';
import { sampleItem, sampleNotification } from './testing/fixtures.ts';
import { cleanups, holding, receiver, store, useCleanups, worker } from './testing/worker-harness.ts';

useCleanups();

/** A delivery of `event` about alert `alertId`, to `url`. */
function alertItem(url: string, alertId: string, event: 'alert.firing' | 'alert.reminder' | 'alert.resolved'): OutboxItem {
  const base = sampleNotification();
  const body = sampleNotification({ event, alert: { ...base.alert, id: alertId, state: event === 'alert.resolved' ? 'resolved' : 'firing' } });
  return sampleItem({ type: 'webhook', url }, { body, alertId, event });
}

describe('parallel deliveries to one webhook', () => {
  it(`a burst has up to ${WEBHOOK_WINDOW} in flight at once, never two of one alert, and each alert's firing before its reminder and resolved`, async () => {
    const rec = await holding();
    const { outbox } = await store();
    worker(outbox);
    const alerts = Array.from({ length: 12 }, (_, i) => `alert-${i}`);
    // As a burst comes: every alert fires, then reminders of half of them, then all resolve.
    const items = [
      ...alerts.map((a) => alertItem(rec.url(), a, 'alert.firing')),
      ...alerts.filter((_, i) => i % 2 === 0).map((a) => alertItem(rec.url(), a, 'alert.reminder')),
      ...alerts.map((a) => alertItem(rec.url(), a, 'alert.resolved')),
    ];
    const ids = await outbox.enqueue(items);

    // The window fills with the first firings, and nothing more starts while it is full.
    await waitFor('a full window', () => rec.held.length === WEBHOOK_WINDOW, 10_000);
    await sleep(300);
    expect(rec.held).toHaveLength(WEBHOOK_WINDOW);
    expect(rec.held.map((h) => h.id)).toEqual(ids.slice(0, WEBHOOK_WINDOW));

    // Answer them one at a time, from the newest, the oldest or the middle in turn; alert-0's
    // firing only when nothing else is left in flight, so its reminder and resolved wait.
    for (let n = 0; rec.answered.length < ids.length && n < 10 * ids.length; n++) {
      await waitFor('a request to answer', () => rec.held.length > 0, 10_000);
      const others = rec.held.map((h, i) => ({ h, i })).filter(({ h }) => h.id !== ids[0]);
      if (others.length > 0) rec.release(others[[0, others.length - 1, Math.floor(others.length / 2)][n % 3]!]!.i);
      else if (rec.arrived.length >= ids.length - 2) rec.release(0);
      else await waitFor('another request', () => rec.held.some((h) => h.id !== ids[0]) || rec.arrived.length >= ids.length - 2, 10_000);
    }
    await waitFor('all recorded as sent', async () => (await outbox.stats()).sent === ids.length, 10_000);

    expect(rec.sameAlertAtOnce).toEqual([]);
    expect(rec.maxHeld).toBe(WEBHOOK_WINDOW);
    expect(rec.arrived.every((a) => a.holding <= WEBHOOK_WINDOW)).toBe(true);
    // Every delivery once (nothing failed), and per alert in enqueue order.
    expect([...rec.arrived.map((a) => a.id)].sort()).toEqual([...ids].sort());
    for (const a of alerts) {
      const mine = rec.arrived.filter((r) => r.alertId === a).map((r) => r.event);
      expect(mine).toEqual(items.filter((it) => it.alertId === a).map((it) => it.event));
    }
    // The rest did not wait for alert-0: its reminder and resolved came last, after everything
    // else, though they were enqueued before most of it.
    expect(rec.arrived.slice(-2).map((a) => [a.alertId, a.event])).toEqual([
      ['alert-0', 'alert.reminder'],
      ['alert-0', 'alert.resolved'],
    ]);
  }, 60_000);

  it('a failing target backs off as a whole: nothing starts before the retry time, then one at a time until one is accepted', async () => {
    let down = true;
    const rec = await receiver(() => ({ status: down ? 503 : 204 }));
    const { outbox } = await store();
    // The real senders, noting each start and end in order, with the worker's clock.
    const real = createSenders();
    type Event = { kind: 'start' | 'end'; id: string; at: number; ok?: boolean } | { kind: 'retry'; id: string; nextAt: number };
    const events: Event[] = [];
    const senders: SenderSet = {
      ...real,
      senderFor: (c) => ({
        send: async (d, ctx) => {
          events.push({ kind: 'start', id: d.id, at: ctx.now() });
          const r = await real.senderFor(c).send(d, ctx);
          events.push({ kind: 'end', id: d.id, at: ctx.now(), ok: r.ok });
          return r;
        },
      }),
    };
    const log = {
      debug: () => {},
      info: () => {},
      error: () => {},
      // Logged once the worker has scheduled the retry (and backed the target off until then).
      warn: (o: object) => {
        const f = o as { delivery?: string; nextAt?: number };
        if (f.delivery && f.nextAt) events.push({ kind: 'retry', id: f.delivery, nextAt: f.nextAt });
      },
    };
    const w = new DeliveryWorker({ outbox, senders, backoff: { baseMs: 20, capMs: 80 }, log: log as never });
    w.start();
    cleanups.push(() => w.stop(1_000));
    const ids = await outbox.enqueue(Array.from({ length: 10 }, (_, i) => alertItem(rec.url(), `alert-${i}`, 'alert.firing')));
    await waitFor('a dozen retries scheduled', () => events.filter((e) => e.kind === 'retry').length >= 12, 20_000);
    down = false;
    await waitFor('all sent', async () => (await outbox.stats()).sent === ids.length, 20_000);

    // Before anything failed, the window: the first 8 started together.
    const firstEnd = events.findIndex((e) => e.kind !== 'start');
    expect(events.slice(0, firstEnd).map((e) => e.id)).toEqual(ids.slice(0, WEBHOOK_WINDOW));
    // Replay: after a retry is scheduled, no start before its time; after a failure and until
    // a delivery is accepted, a start only when nothing else is in flight.
    let blockedUntil = 0;
    let probing = false;
    let inflight = 0;
    let starts = 0;
    let maxAfterRecovery = 0;
    let recovered = false;
    for (const e of events) {
      if (e.kind === 'retry') {
        blockedUntil = Math.max(blockedUntil, e.nextAt);
        probing = true;
      } else if (e.kind === 'start') {
        expect(e.at).toBeGreaterThanOrEqual(blockedUntil);
        if (probing) expect(inflight).toBe(0);
        inflight++;
        starts++;
        if (recovered) maxAfterRecovery = Math.max(maxAfterRecovery, inflight);
      } else {
        inflight--;
        if (e.ok) {
          probing = false;
          recovered = true;
        }
      }
    }
    expect(starts).toBe(rec.received.length);
    // Once the receiver accepted one, the window opened again for the rest.
    expect(maxAfterRecovery).toBeGreaterThan(1);
    expect(rec.acceptedBy('x-estate-delivery')).toEqual(new Map(ids.map((id) => [id, 1])));
  }, 60_000);

  it('stop() waits for every send in flight; cut off, they stay pending and are resent under the same ids', async () => {
    const rec = await holding();
    const { outbox } = await store();
    const senders = createSenders();
    const w1 = new DeliveryWorker({ outbox, senders });
    w1.start();
    const first = await outbox.enqueue(Array.from({ length: WEBHOOK_WINDOW + 2 }, (_, i) => alertItem(rec.url(), `a-${i}`, 'alert.firing')));
    await waitFor('a full window', () => rec.held.length === WEBHOOK_WINDOW, 10_000);
    let stopped = false;
    const stopping = w1.stop(30_000).then(() => (stopped = true));
    // Answer all but one: stop() still waits for that one.
    while (rec.held.length > 1) rec.release(0);
    await sleep(300);
    expect(stopped).toBe(false);
    rec.release(0);
    await stopping;
    for (const id of first.slice(0, WEBHOOK_WINDOW)) expect(await outbox.get(id)).toMatchObject({ status: 'sent', attempts: 1 });
    // Nothing started once stop() was called.
    for (const id of first.slice(WEBHOOK_WINDOW)) expect(await outbox.get(id)).toMatchObject({ status: 'pending', attempts: 0 });
    expect(rec.arrived).toHaveLength(WEBHOOK_WINDOW);

    // A second worker resumes the two left; with 6 more, the window fills again; stop() gives up waiting.
    const w2 = new DeliveryWorker({ outbox, senders });
    w2.start();
    const more = await outbox.enqueue(Array.from({ length: 6 }, (_, i) => alertItem(rec.url(), `b-${i}`, 'alert.firing')));
    await waitFor('a full window again', () => rec.held.length === WEBHOOK_WINDOW, 10_000);
    const cut = rec.held.map((h) => h.id);
    expect(new Set(cut)).toEqual(new Set([...first.slice(WEBHOOK_WINDOW), ...more]));
    await w2.stop(200);
    for (const id of cut) expect(await outbox.get(id)).toMatchObject({ status: 'pending', attempts: 0 });
    rec.releaseAll(); // too late: that worker records nothing more
    await sleep(200);
    for (const id of cut) expect((await outbox.get(id))!.status).toBe('pending');

    // A third start resends each under its id.
    const w3 = new DeliveryWorker({ outbox, senders });
    w3.start();
    cleanups.push(() => w3.stop(1_000));
    await waitFor('the resent window', () => rec.held.length === WEBHOOK_WINDOW, 10_000);
    expect(new Set(rec.held.map((h) => h.id))).toEqual(new Set(cut));
    rec.releaseAll();
    await waitFor('all sent', async () => (await outbox.stats()).sent === first.length + more.length, 10_000);
    expect((await outbox.stats()).pending).toBe(0);
  }, 60_000);

  it('WeCom and DingTalk robots get one delivery at a time (20 messages a minute each)', async () => {
    const wecom = await holding();
    const dingtalk = await holding();
    const { outbox } = await store();
    worker(outbox);
    const robotItem = (type: 'wecom' | 'dingtalk', url: string, i: number) => ({ ...alertItem(url, `${type}-${i}`, 'alert.firing'), channel: { type, url } });
    await outbox.enqueue([0, 1, 2, 3].flatMap((i) => [robotItem('wecom', wecom.url(), i), robotItem('dingtalk', dingtalk.url(), i)]));
    for (let i = 0; i < 4; i++) {
      await waitFor('the next request to each robot', () => wecom.held.length === 1 && dingtalk.held.length === 1, 10_000);
      await sleep(100);
      expect([wecom.held.length, dingtalk.held.length]).toEqual([1, 1]);
      for (const r of [wecom, dingtalk]) r.release(0, 200, '{"errcode":0,"errmsg":"ok"}');
    }
    await waitFor('all sent', async () => (await outbox.stats()).sent === 8, 10_000);
    expect([wecom.maxHeld, dingtalk.maxHeld]).toEqual([1, 1]);
    expect([wecom.arrived.length, dingtalk.arrived.length]).toEqual([4, 4]);
  }, 30_000);

  it('with a window of 1, a webhook gets one at a time in strict enqueue order', async () => {
    const hook = await holding();
    const { outbox } = await store();
    const w = new DeliveryWorker({ outbox, senders: createSenders(), webhookWindow: 1 });
    w.start();
    cleanups.push(() => w.stop(1_000));
    const ids = await outbox.enqueue(Array.from({ length: 4 }, (_, i) => alertItem(hook.url(), `c-${i}`, 'alert.firing')));
    for (const id of ids) {
      await waitFor('the next request', () => hook.held.length === 1, 10_000);
      expect(hook.held[0]!.id).toBe(id);
      hook.release(0);
    }
    await waitFor('all sent', async () => (await outbox.stats()).sent === ids.length, 10_000);
    expect(hook.maxHeld).toBe(1);
  }, 30_000);
});
