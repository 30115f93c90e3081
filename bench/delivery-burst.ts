// 351 deliveries of distinct alerts to one local webhook (answering after DELAY ms),
// enqueue -> arrival p50/p99, window 1 (one at a time) vs 8 (the default). Not a test:
// `DELAY=20 npx tsx bench/delivery-burst.ts` (docs/alerts-delivery.md).
import { createServer } from 'node:http';
import { createSenders, DeliveryWorker, Outbox } from '../alerts/delivery/index.ts';
import { sampleItem, sampleNotification, tempStore } from '../alerts/delivery/testing/fixtures.ts';

const DELAY = Number(process.env.DELAY ?? 0);
const pct = (s: number[], p: number) => s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
for (const window of [1, 8]) {
  const arrivals = new Map<string, number>();
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      arrivals.set(String(req.headers['x-estate-delivery']), performance.now());
      setTimeout(() => res.writeHead(204).end(), DELAY);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/property`;
  const t = await tempStore();
  const outbox = new Outbox(t.db);
  const w = new DeliveryWorker({ outbox, senders: createSenders(), webhookWindow: window });
  w.start();
  const items = Array.from({ length: 351 }, (_, i) => {
    const base = sampleNotification();
    const body = sampleNotification({ alert: { ...base.alert, id: `a-${i}` } });
    return sampleItem({ type: 'webhook', url }, { body, alertId: body.alert.id });
  });
  const t0 = performance.now();
  const ids = await outbox.enqueue(items);
  while (arrivals.size < ids.length) await new Promise((r) => setTimeout(r, 5));
  const lat = ids.map((id) => arrivals.get(id)! - t0).sort((a, b) => a - b);
  console.log(`window ${window}, receiver answers after ${DELAY} ms: enqueue -> arrival p50 ${pct(lat, 50).toFixed(0)} ms, p99 ${pct(lat, 99).toFixed(0)} ms, last ${lat.at(-1)!.toFixed(0)} ms`);
  await w.stop();
  server.closeAllConnections();
  server.close();
  await t.close();
}
