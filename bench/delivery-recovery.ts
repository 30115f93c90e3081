// A receiver down for OUTAGE_SEC (120) while alerts keep coming (one critical alert every 2 s),
// then back: how long after it is back until it has its whole backlog. The worker, outbox and
// senders the service runs, with their default backoff. Not a test (it takes the outage's
// length): `npx tsx bench/delivery-recovery.ts` (docs/alerts-delivery.md).
import { createServer, type Server } from 'node:http';
import { createSenders, DeliveryWorker, Outbox } from '../alerts/delivery/index.ts';
import { sampleItem, sampleNotification, tempStore } from '../alerts/delivery/testing/fixtures.ts';

const OUTAGE_SEC = Number(process.env.OUTAGE_SEC ?? 120);
const arrivals = new Map<string, number>();
let up = true;
const server: Server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (!up) return void res.writeHead(503).end();
    arrivals.set(String(req.headers['x-estate-delivery']), Date.now());
    res.writeHead(204).end();
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/property`;
const t = await tempStore();
const outbox = new Outbox(t.db);
const worker = new DeliveryWorker({ outbox, senders: createSenders() });
worker.start();
const ids: string[] = [];
let n = 0;
const enqueue = async () => {
  const base = sampleNotification();
  const body = sampleNotification({ alert: { ...base.alert, id: `a-${n}`, severity: 'critical' } });
  n++;
  ids.push(...(await outbox.enqueue([sampleItem({ type: 'webhook', url }, { body, alertId: body.alert.id })])));
};
up = false;
const downAt = Date.now();
const every = setInterval(() => void enqueue(), 2000);
await new Promise((r) => setTimeout(r, OUTAGE_SEC * 1000));
clearInterval(every);
up = true;
const upAt = Date.now();
while (ids.some((id) => !arrivals.has(id))) await new Promise((r) => setTimeout(r, 50));
const last = Math.max(...ids.map((id) => arrivals.get(id)!));
console.log(`receiver down ${Math.round((upAt - downAt) / 1000)} s with ${ids.length} critical alerts queued; after it came back: the first arrived ${((Math.min(...ids.map((id) => arrivals.get(id)!)) - upAt) / 1000).toFixed(1)} s, the whole backlog ${((last - upAt) / 1000).toFixed(1)} s`);
await worker.stop();
server.closeAllConnections();
server.close();
await t.close();
