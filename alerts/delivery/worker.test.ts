/**
 * The delivery worker with real local receivers: what it gives up and when, the order of
 * deliveries to one target, one target's trouble never holding up another, stop() and resume;
 * the window of parallel webhook deliveries (per alert order kept), the whole target backing
 * off after a failure, and stop() with several sends in flight.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep, waitFor } from '../../test/harness/ports.ts';
import { createSenders, DeliveryWorker, Outbox, type Delivery, type GiveUpReason, type OutboxItem, type SenderSet } from './index.ts';
import { WEBHOOK_WINDOW } from './worker.ts';
import { sampleItem, sampleNotification, tempStore, type TempStore } from './testing/fixtures.ts';
import { Receiver, type Answer } from './testing/receiver.ts';

interface GaveUp {
  delivery: Delivery;
  error: string;
  reason: GiveUpReason;
}

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function receiver(respond: (i: number) => Answer): Promise<Receiver> {
  const rec = new Receiver((_r, i) => respond(i));
  await rec.listen();
  cleanups.push(() => rec.close());
  return rec;
}

function store(): { t: TempStore; outbox: Outbox } {
  const t = tempStore();
  cleanups.push(() => t.close());
  return { t, outbox: new Outbox(t.store.db) };
}

function worker(outbox: Outbox, gaveUp: GaveUp[] = [], baseMs = 50): DeliveryWorker {
  const w = new DeliveryWorker({
    outbox,
    senders: createSenders({ timeoutMs: 10_000 }),
    backoff: { baseMs, capMs: 4 * baseMs },
    onGaveUp: (delivery, error, reason) => void gaveUp.push({ delivery, error, reason }),
  });
  w.start();
  cleanups.push(() => w.stop(1_000));
  return w;
}

const hook = (rec: Receiver, path = '/hook') => ({ type: 'webhook' as const, url: rec.url(path) });

describe('delivery worker', () => {
  it('gives up a delivery the receiver refuses (4xx) at once, and says so', async () => {
    const rec = await receiver(() => ({ status: 400, body: '{"error":"unknown department"}' }));
    const { outbox } = store();
    const gaveUp: GaveUp[] = [];
    worker(outbox, gaveUp);
    const [id] = outbox.enqueue([sampleItem(hook(rec))]);
    await waitFor('give-up', () => gaveUp.length === 1, 10_000);
    expect(gaveUp[0]).toMatchObject({ reason: 'rejected', delivery: { id, attempts: 1 }, error: expect.stringContaining('HTTP 400') });
    expect(gaveUp[0]!.error).toContain('unknown department');
    expect(outbox.get(id!)).toMatchObject({ status: 'failed', attempts: 1, lastError: gaveUp[0]!.error });
    expect(outbox.get(id!)!.failedAt).toBeGreaterThan(0);
    await sleep(300);
    expect(rec.received).toHaveLength(1);
    expect(gaveUp).toHaveLength(1);
  });

  it('retries a receiver that answers 503 until the deadline, then gives up', async () => {
    const rec = await receiver(() => ({ status: 503 }));
    const { outbox } = store();
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
    const [id] = outbox.enqueue([sampleItem(hook(rec), { deadline })]);
    await waitFor('give-up', () => gaveUp.length === 1, 10_000);
    expect(gaveUp[0]!.reason).toBe('deadline');
    // Given up either when the next retry would fall past the deadline ("reached"), or, when a
    // late timer (a loaded machine) wakes after it, at the next look ("passed"): both name the 503.
    expect(gaveUp[0]!.error).toMatch(/deadline (reached|passed) after \d+ attempts; last error: HTTP 503/);
    const row = outbox.get(id!)!;
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
    const { outbox } = store();
    const gaveUp: GaveUp[] = [];
    worker(outbox, gaveUp);
    const [id] = outbox.enqueue([sampleItem(hook(rec), { deadline: Date.now() - 1 })]);
    await waitFor('give-up', () => gaveUp.length === 1, 10_000);
    expect(gaveUp[0]).toMatchObject({ reason: 'deadline', delivery: { id, attempts: 0 } });
    expect(rec.received).toHaveLength(0);
  });

  it('delivers to one target in enqueue order, later ones waiting behind a retry', async () => {
    const rec = await receiver((i) => ({ status: i < 2 ? 503 : 204 }));
    const { outbox } = store();
    worker(outbox);
    const ids = outbox.enqueue(Array.from({ length: 5 }, () => sampleItem(hook(rec))));
    await waitFor('all sent', () => outbox.stats().sent === 5, 10_000);
    const order = rec.received.map((r) => r.headers['x-estate-delivery']);
    expect(order).toEqual([ids[0], ids[0], ...ids]);
    expect(outbox.get(ids[0]!)).toMatchObject({ status: 'sent', attempts: 3, lastError: 'HTTP 503 Service Unavailable' });
  });

  it('one slow department does not hold up another', async () => {
    const slow = await receiver(() => ({ status: 204, delayMs: 8_000 }));
    const fast = await receiver(() => ({ status: 204 }));
    const { outbox } = store();
    worker(outbox);
    const slowIds = outbox.enqueue([sampleItem(hook(slow)), sampleItem(hook(slow))]);
    const fastIds = outbox.enqueue([sampleItem(hook(fast)), sampleItem(hook(fast)), sampleItem(hook(fast))]);
    await waitFor('the fast department', () => fast.received.length === 3, 5_000);
    expect(fast.received.map((r) => r.headers['x-estate-delivery'])).toEqual(fastIds);
    expect(slow.received.map((r) => r.headers['x-estate-delivery'])).toEqual([slowIds[0]]);
    expect(outbox.get(slowIds[0]!)!.status).toBe('pending');
  });

  it('stop() waits for a send in flight; a send cut off stays pending and is resumed by the next start', async () => {
    let delay = 600;
    const rec = await receiver(() => ({ status: 204, delayMs: delay }));
    const { outbox } = store();
    const senders = createSenders();
    const w1 = new DeliveryWorker({ outbox, senders });
    w1.start();
    const [first] = outbox.enqueue([sampleItem(hook(rec))]);
    await waitFor('the first request', () => rec.received.length === 1, 5_000);
    await w1.stop(5_000); // waits for the 600 ms answer
    expect(outbox.get(first!)).toMatchObject({ status: 'sent', attempts: 1 });

    delay = 5_000;
    const w2 = new DeliveryWorker({ outbox, senders });
    w2.start();
    const [second] = outbox.enqueue([sampleItem(hook(rec))]);
    await waitFor('the second request', () => rec.received.length === 2, 5_000);
    const t0 = Date.now();
    await w2.stop(200); // gives up waiting, abandons the send
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(outbox.get(second!)).toMatchObject({ status: 'pending', attempts: 0 });

    delay = 0;
    const w3 = new DeliveryWorker({ outbox, senders });
    w3.start();
    cleanups.push(() => w3.stop());
    await waitFor('the resumed delivery', () => outbox.get(second!)?.status === 'sent', 10_000);
    expect(rec.received.map((r) => r.headers['x-estate-delivery'])).toEqual([first, second, second]);
  });

  it('picks up pending rows that arrived without a wake, on the sweep', async () => {
    const rec = await receiver(() => ({ status: 204 }));
    const { t, outbox } = store();
    const w = new DeliveryWorker({ outbox, senders: createSenders(), sweepMs: 200 });
    w.start();
    cleanups.push(() => w.stop());
    // Another writer on the same database (a second Outbox: its enqueue does not wake `w`).
    const [id] = new Outbox(t.store.db).enqueue([sampleItem(hook(rec))]);
    await waitFor('the swept delivery', () => outbox.get(id!)?.status === 'sent', 5_000);
    expect(rec.received).toHaveLength(1);
  });

  it('a failing onGaveUp does not stop the worker', async () => {
    const rec = await receiver(() => ({ status: 404 }));
    const { outbox } = store();
    const w = new DeliveryWorker({
      outbox,
      senders: createSenders(),
      onGaveUp: () => {
        throw new Error('engine is down');
      },
    });
    w.start();
    cleanups.push(() => w.stop());
    outbox.enqueue([sampleItem(hook(rec)), sampleItem(hook(rec))]);
    await waitFor('both given up', () => outbox.stats().failed === 2, 5_000);
  });
});

/** One request the holding receiver got and has not answered yet. */
interface Held {
  id: string;
  alertId: string;
  event: string;
  res: ServerResponse;
}

/**
 * A real HTTP receiver on 127.0.0.1 that holds every request until the test releases it, and
 * notes at each arrival how many it holds and whether another of the same alert is held.
 */
class HoldingReceiver {
  readonly held: Held[] = [];
  /** every request, in order of arrival */
  readonly arrived: { id: string; alertId: string; event: string; holding: number }[] = [];
  /** arrivals while another request of the same alert was held */
  readonly sameAlertAtOnce: string[] = [];
  maxHeld = 0;
  /** answered (released) ids, in order */
  readonly answered: string[] = [];
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;

  async listen(): Promise<void> {
    const server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
      req.on('end', () => {
        const body = JSON.parse(raw) as { event?: string; alert?: { id: string } };
        const h: Held = { id: String(req.headers['x-estate-delivery'] ?? ''), alertId: body.alert?.id ?? '', event: body.event ?? '', res };
        if (h.alertId && this.held.some((o) => o.alertId === h.alertId)) this.sameAlertAtOnce.push(h.id);
        this.held.push(h);
        this.maxHeld = Math.max(this.maxHeld, this.held.length);
        this.arrived.push({ id: h.id, alertId: h.alertId, event: h.event, holding: this.held.length });
      });
    });
    server.on('connection', (sock) => {
      this.sockets.add(sock);
      sock.on('close', () => this.sockets.delete(sock));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    this.server = server;
    this.port = (server.address() as { port: number }).port;
  }

  url(): string {
    return `http://127.0.0.1:${this.port}/hold`;
  }

  /** Answers the held request at `index` (default the oldest). */
  release(index = 0, status = 204, body?: string): Held {
    const [h] = this.held.splice(index, 1);
    if (!h) throw new Error('nothing held');
    this.answered.push(h.id);
    h.res.writeHead(status, body ? { 'content-type': 'application/json' } : {}).end(body);
    return h;
  }

  releaseAll(status = 204): void {
    while (this.held.length) this.release(0, status);
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    for (const sock of this.sockets) sock.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

async function holding(): Promise<HoldingReceiver> {
  const rec = new HoldingReceiver();
  await rec.listen();
  cleanups.push(() => rec.close());
  return rec;
}

/** A delivery of `event` about alert `alertId`, to `url`. */
function alertItem(url: string, alertId: string, event: 'alert.firing' | 'alert.reminder' | 'alert.resolved'): OutboxItem {
  const base = sampleNotification();
  const body = sampleNotification({ event, alert: { ...base.alert, id: alertId, state: event === 'alert.resolved' ? 'resolved' : 'firing' } });
  return sampleItem({ type: 'webhook', url }, { body, alertId, event });
}

describe('parallel deliveries to one webhook', () => {
  it(`a burst has up to ${WEBHOOK_WINDOW} in flight at once, never two of one alert, and each alert's firing before its reminder and resolved`, async () => {
    const rec = await holding();
    const { outbox } = store();
    worker(outbox);
    const alerts = Array.from({ length: 12 }, (_, i) => `alert-${i}`);
    // As a burst comes: every alert fires, then reminders of half of them, then all resolve.
    const items = [
      ...alerts.map((a) => alertItem(rec.url(), a, 'alert.firing')),
      ...alerts.filter((_, i) => i % 2 === 0).map((a) => alertItem(rec.url(), a, 'alert.reminder')),
      ...alerts.map((a) => alertItem(rec.url(), a, 'alert.resolved')),
    ];
    const ids = outbox.enqueue(items);

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
    await waitFor('all recorded as sent', () => outbox.stats().sent === ids.length, 10_000);

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
    const { outbox } = store();
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
    const ids = outbox.enqueue(Array.from({ length: 10 }, (_, i) => alertItem(rec.url(), `alert-${i}`, 'alert.firing')));
    await waitFor('a dozen retries scheduled', () => events.filter((e) => e.kind === 'retry').length >= 12, 20_000);
    down = false;
    await waitFor('all sent', () => outbox.stats().sent === ids.length, 20_000);

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
    const { outbox } = store();
    const senders = createSenders();
    const w1 = new DeliveryWorker({ outbox, senders });
    w1.start();
    const first = outbox.enqueue(Array.from({ length: WEBHOOK_WINDOW + 2 }, (_, i) => alertItem(rec.url(), `a-${i}`, 'alert.firing')));
    await waitFor('a full window', () => rec.held.length === WEBHOOK_WINDOW, 10_000);
    let stopped = false;
    const stopping = w1.stop(30_000).then(() => (stopped = true));
    // Answer all but one: stop() still waits for that one.
    while (rec.held.length > 1) rec.release(0);
    await sleep(300);
    expect(stopped).toBe(false);
    rec.release(0);
    await stopping;
    for (const id of first.slice(0, WEBHOOK_WINDOW)) expect(outbox.get(id)).toMatchObject({ status: 'sent', attempts: 1 });
    // Nothing started once stop() was called.
    for (const id of first.slice(WEBHOOK_WINDOW)) expect(outbox.get(id)).toMatchObject({ status: 'pending', attempts: 0 });
    expect(rec.arrived).toHaveLength(WEBHOOK_WINDOW);

    // A second worker resumes the two left; with 6 more, the window fills again; stop() gives up waiting.
    const w2 = new DeliveryWorker({ outbox, senders });
    w2.start();
    const more = outbox.enqueue(Array.from({ length: 6 }, (_, i) => alertItem(rec.url(), `b-${i}`, 'alert.firing')));
    await waitFor('a full window again', () => rec.held.length === WEBHOOK_WINDOW, 10_000);
    const cut = rec.held.map((h) => h.id);
    expect(new Set(cut)).toEqual(new Set([...first.slice(WEBHOOK_WINDOW), ...more]));
    await w2.stop(200);
    for (const id of cut) expect(outbox.get(id)).toMatchObject({ status: 'pending', attempts: 0 });
    rec.releaseAll(); // too late: that worker records nothing more
    await sleep(200);
    for (const id of cut) expect(outbox.get(id)!.status).toBe('pending');

    // A third start resends each under its id.
    const w3 = new DeliveryWorker({ outbox, senders });
    w3.start();
    cleanups.push(() => w3.stop(1_000));
    await waitFor('the resent window', () => rec.held.length === WEBHOOK_WINDOW, 10_000);
    expect(new Set(rec.held.map((h) => h.id))).toEqual(new Set(cut));
    rec.releaseAll();
    await waitFor('all sent', () => outbox.stats().sent === first.length + more.length, 10_000);
    expect(outbox.stats().pending).toBe(0);
  }, 60_000);

  it('WeCom and DingTalk robots get one delivery at a time (20 messages a minute each)', async () => {
    const wecom = await holding();
    const dingtalk = await holding();
    const { outbox } = store();
    worker(outbox);
    const robotItem = (type: 'wecom' | 'dingtalk', url: string, i: number) => ({ ...alertItem(url, `${type}-${i}`, 'alert.firing'), channel: { type, url } });
    outbox.enqueue([0, 1, 2, 3].flatMap((i) => [robotItem('wecom', wecom.url(), i), robotItem('dingtalk', dingtalk.url(), i)]));
    for (let i = 0; i < 4; i++) {
      await waitFor('the next request to each robot', () => wecom.held.length === 1 && dingtalk.held.length === 1, 10_000);
      await sleep(100);
      expect([wecom.held.length, dingtalk.held.length]).toEqual([1, 1]);
      for (const r of [wecom, dingtalk]) r.release(0, 200, '{"errcode":0,"errmsg":"ok"}');
    }
    await waitFor('all sent', () => outbox.stats().sent === 8, 10_000);
    expect([wecom.maxHeld, dingtalk.maxHeld]).toEqual([1, 1]);
    expect([wecom.arrived.length, dingtalk.arrived.length]).toEqual([4, 4]);
  }, 30_000);

  it('with a window of 1, a webhook gets one at a time in strict enqueue order', async () => {
    const hook = await holding();
    const { outbox } = store();
    const w = new DeliveryWorker({ outbox, senders: createSenders(), webhookWindow: 1 });
    w.start();
    cleanups.push(() => w.stop(1_000));
    const ids = outbox.enqueue(Array.from({ length: 4 }, (_, i) => alertItem(hook.url(), `c-${i}`, 'alert.firing')));
    for (const id of ids) {
      await waitFor('the next request', () => hook.held.length === 1, 10_000);
      expect(hook.held[0]!.id).toBe(id);
      hook.release(0);
    }
    await waitFor('all sent', () => outbox.stats().sent === ids.length, 10_000);
    expect(hook.maxHeld).toBe(1);
  }, 30_000);
});
