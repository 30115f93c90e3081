/**
 * A platform pushing at a fixed rate, in a process of its own (push-latency.test.ts), so that
 * neither its CPU nor its timers are the service's: every body is built before the clock
 * starts; then, paced every 2 ms, whatever is due is POSTed over keep-alive connections,
 * without waiting for earlier answers (an open loop, as a platform with many devices pushes),
 * up to `maxInFlight` at once; beyond that, due pushes wait their turn, in order. Each answer's
 * latency is from the moment its push was due, so time spent waiting for a connection because
 * the service was slow counts against the service, not for it.
 *
 * argv[2]: JSON {bodies: file with one JSON line per push: {path, body}, base, rate, maxInFlight, drainMs}
 * stdout: `start` when its clock starts, then one JSON line at the end
 * {due, sent, answered, statuses, p50, p90, p99, max, queued (pushes that had to wait for a connection), seconds, cpu: its own CPU, % of one core}
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';

interface Args {
  bodies: string;
  base: string;
  rate: number;
  maxInFlight: number;
  drainMs: number;
}

const args = JSON.parse(process.argv[2]!) as Args;
const pushes = readFileSync(args.bodies, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => {
    const p = JSON.parse(l) as { path: string; body: string };
    return { path: p.path, body: Buffer.from(p.body) };
  });
const base = new URL(args.base);
const agent = new Agent({ keepAlive: true, maxSockets: args.maxInFlight });
const latencies: number[] = [];
const statuses: Record<string, number> = {};
let inFlight = 0;
let sent = 0;
let queued = 0;
/** due, not yet sent: waiting for a connection */
const waiting: number[] = [];

function send(i: number, due: number): void {
  const p = pushes[i]!;
  inFlight++;
  sent++;
  const req = request(
    { host: base.hostname, port: base.port, path: p.path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': p.body.length } },
    (res) => {
      res.resume();
      res.on('end', () => {
        inFlight--;
        latencies.push(performance.now() - due);
        statuses[res.statusCode ?? 0] = (statuses[res.statusCode ?? 0] ?? 0) + 1;
        sendWaiting();
      });
    },
  );
  req.on('error', (err) => {
    inFlight--;
    statuses[err.message] = (statuses[err.message] ?? 0) + 1;
    sendWaiting();
  });
  req.end(p.body);
}

const dueAt = (i: number) => start + (i * 1000) / args.rate;

function sendWaiting(): void {
  while (waiting.length > 0 && inFlight < args.maxInFlight) {
    const i = waiting.shift()!;
    send(i, dueAt(i));
  }
}

const pct = (sorted: number[], q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : NaN);

process.stdout.write('start\n');
const cpu0 = process.cpuUsage();
const start = performance.now();
let next = 0;
const tick = setInterval(() => {
  const now = performance.now();
  // Every push due by now: push i is due at start + i / rate.
  while (next < pushes.length && dueAt(next) <= now) {
    if (inFlight >= args.maxInFlight || waiting.length > 0) {
      waiting.push(next);
      queued++;
    } else send(next, dueAt(next));
    next++;
  }
  if (next >= pushes.length && waiting.length === 0) {
    clearInterval(tick);
    const sendEnd = performance.now();
    const deadline = sendEnd + args.drainMs;
    const wait = setInterval(() => {
      if (inFlight > 0 && performance.now() < deadline) return;
      clearInterval(wait);
      const sorted = latencies.slice().sort((a, b) => a - b);
      const r = (x: number) => Math.round(x * 100) / 100;
      const cpu = process.cpuUsage(cpu0);
      process.stdout.write(
        `${JSON.stringify({ due: pushes.length, sent, answered: latencies.length, statuses, p50: r(pct(sorted, 0.5)), p90: r(pct(sorted, 0.9)), p99: r(pct(sorted, 0.99)), max: r(sorted.at(-1) ?? NaN), queued, seconds: r((sendEnd - start) / 1000), cpu: Math.round(((cpu.user + cpu.system) / 1000 / (performance.now() - start)) * 100) })}\n`,
      );
      agent.destroy();
      process.exit(0);
    }, 20);
  }
}, 2);
