/**
 * For the crash test: a process with an operational store, an outbox and a delivery worker
 * on DATA_DIR, as the service has them, that a test can SIGKILL.
 *
 *   DATA_DIR=… RECEIVER_URL=… MODE=enqueue COUNT=20 node --import tsx outbox-child.ts
 *   DATA_DIR=… MODE=resume node --import tsx outbox-child.ts
 *
 * `enqueue` enqueues COUNT deliveries to RECEIVER_URL and prints `{"enqueued": [ids]}`;
 * `resume` only starts the worker, which resumes what is pending. Both then print the
 * outbox's stats as one JSON line every 100 ms until killed (SIGTERM stops cleanly).
 */
import { join } from 'node:path';
import { openOperationalStore } from '../../../storage/index.ts';
import { createSenders } from '../channels/index.ts';
import { DELIVERY_SCHEMA, Outbox } from '../outbox.ts';
import { DeliveryWorker } from '../worker.ts';
import { sampleItem, sampleNotification } from './fixtures.ts';

const dataDir = process.env.DATA_DIR;
if (!dataDir) throw new Error('DATA_DIR is required');
const mode = process.env.MODE ?? 'resume';

const db = await openOperationalStore(join(dataDir, 'operational.db'), [DELIVERY_SCHEMA]);
const outbox = new Outbox(db);
const senders = createSenders({ timeoutMs: 2_000 });
const worker = new DeliveryWorker({ outbox, senders, backoff: { baseMs: 100, capMs: 400 }, sweepMs: 1_000 });
const print = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

worker.start();
if (mode === 'enqueue') {
  const url = process.env.RECEIVER_URL;
  if (!url) throw new Error('RECEIVER_URL is required');
  const count = Number(process.env.COUNT ?? 20);
  const items = Array.from({ length: count }, (_, i) => {
    const body = sampleNotification();
    body.alert = { ...body.alert, id: `alert-${i}`, key: `jinfo-garden/HY-03/pressure_low#${i}` };
    return sampleItem({ type: 'webhook', url, secret: 'crash-secret' }, { body, alertId: body.alert.id });
  });
  print({ enqueued: await outbox.enqueue(items) });
}

const stats = setInterval(() => {
  outbox.stats().then(
    (s) => print({ stats: s }),
    (err: unknown) => process.stderr.write(`stats: ${String(err)}\n`),
  );
}, 100);
process.on('SIGTERM', () => {
  clearInterval(stats);
  void worker.stop(2_000).then(async () => {
    await senders.close();
    await db.close();
    process.exit(0);
  });
});
