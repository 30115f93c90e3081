/**
 * What the worker's tests share: real local receivers, a temporary outbox and a started worker,
 * each closed after the test (`useCleanups()` in the test file registers that).
 */
import { afterEach } from 'vitest';
import { createSenders, DeliveryWorker, Outbox, type Delivery, type GiveUpReason } from '../index.ts';
import { tempStore, type TempStore } from './fixtures.ts';
import { HoldingReceiver } from './holding-receiver.ts';
import { Receiver, type Answer } from './receiver.ts';

export const cleanups: (() => Promise<void> | void)[] = [];

/** Closes what each test opened, newest first; call once at the top of a test file. */
export function useCleanups(): void {
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
}

export interface GaveUp {
  delivery: Delivery;
  error: string;
  reason: GiveUpReason;
}

export async function receiver(respond: (i: number) => Answer): Promise<Receiver> {
  const rec = new Receiver((_r, i) => respond(i));
  await rec.listen();
  cleanups.push(() => rec.close());
  return rec;
}

export async function store(): Promise<{ t: TempStore; outbox: Outbox }> {
  const t = await tempStore();
  cleanups.push(() => t.close());
  return { t, outbox: new Outbox(t.db) };
}

export function worker(outbox: Outbox, gaveUp: GaveUp[] = [], baseMs = 50): DeliveryWorker {
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

export const hook = (rec: Receiver, path = '/hook') => ({ type: 'webhook' as const, url: rec.url(path) });

export async function holding(): Promise<HoldingReceiver> {
  const rec = new HoldingReceiver();
  await rec.listen();
  cleanups.push(() => rec.close());
  return rec;
}
