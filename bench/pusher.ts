/**
 * OneNET pushes for the benchmark, in a process of its own so that its CPU is not the
 * service's: each push one signed classic data point (a pressure in kPa) of one of the
 * devices, in turn, at a fixed rate paced every 5 ms, over keep-alive connections; each
 * answer's latency is kept. Signed as OneNET signs (docs/adapters.md).
 *
 * argv: JSON {url, adapter, token, devices: string[], rate, seconds, atBase}
 * prints one JSON line at the end: {sent, ok, failed, p50, p99, max, seconds}
 */
import { createHash, randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';

interface Args {
  url: string;
  adapter: string;
  token: string;
  devices: string[];
  rate: number;
  seconds: number;
  atBase: number;
}

const args = JSON.parse(process.argv[2]!) as Args;
const target = new URL(`${args.url}/ingest/onenet/${args.adapter}`);
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
const latencies: number[] = [];
let sent = 0;
let ok = 0;
let failed = 0;

function push(i: number): Promise<void> {
  const device = args.devices[i % args.devices.length]!;
  const msg = JSON.stringify({ type: 1, dev_id: device, ds_id: 'pressure', at: args.atBase + i, value: 200 + (i % 100) });
  const nonce = randomBytes(6).toString('base64').slice(0, 8);
  const sig = createHash('md5').update(args.token + nonce + msg).digest('base64');
  const body = `{"msg":${msg},"nonce":"${nonce}","msg_signature":"${sig}"}`;
  const t0 = performance.now();
  sent++;
  return new Promise((resolve) => {
    const req = request(target, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => {
        latencies.push(performance.now() - t0);
        if (res.statusCode === 200) ok++;
        else failed++;
        resolve();
      });
    });
    req.on('error', () => {
      failed++;
      resolve();
    });
    req.end(body);
  });
}

const started = performance.now();
const total = Math.round(args.rate * args.seconds);
const inflight = new Set<Promise<void>>();
let i = 0;
await new Promise<void>((resolve) => {
  const tick = () => {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * args.rate));
    while (i < due) {
      const p = push(i++);
      inflight.add(p);
      void p.then(() => inflight.delete(p));
    }
    if (i >= total) resolve();
    else setTimeout(tick, 5);
  };
  tick();
});
await Promise.all(inflight);
const seconds = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)] ?? NaN;
agent.destroy();
process.stdout.write(`${JSON.stringify({ sent, ok, failed, p50: pct(50), p99: pct(99), max: latencies.at(-1) ?? NaN, seconds })}\n`);
