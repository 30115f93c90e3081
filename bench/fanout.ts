/**
 * Live fan-out under load (the socket.io issue): 200 socket.io clients (websocket transport)
 * subscribed to one site of 1,000 hydrants while 10,000 msg/s of their telemetry flows for
 * 30 s; the delay from publish to client, and the service's CPU and peak RSS. Target: p99 ≤ 1 s.
 *
 * The background publisher's readings carry synthetic times, so a probe in this process
 * measures the delay: every 100 ms it publishes one reading of its own device with a new
 * pressure value (index k), and each client notes when it first shows probe k or a later one
 * (coalescing may replace k by k + 1 within a batch: what the client shows is then newer than
 * k). Delay = that moment − the publish of k, on this process's clock. The delay therefore
 * includes the wait for the next batch (up to 250 ms).
 *
 * The clients find the probe in each batch's raw text instead of parsing all of it
 * (lazy-decoder.ts says why); `BENCH_FANOUT_PARSE=full` makes them parse every batch.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import mqtt from 'mqtt';
import { io, type Socket } from 'socket.io-client';
import type { Influxd } from '../test/harness/influxd.ts';
import type { Mosquitto } from '../test/harness/mosquitto.ts';
import { freePort, sleep, waitFor } from '../test/harness/ports.ts';
import { batchSize, lazyParser, valueIn } from './lazy-decoder.ts';
import { tempDir } from '../test/harness/service.ts';
import { npmStart } from './npm-start.ts';

export interface FanoutResult {
  clients: number;
  backgroundRate: number;
  seconds: number;
  probes: number;
  /** (client, probe) pairs that arrived, of clients × probes */
  arrived: number;
  p50: number;
  p99: number;
  max: number;
  /** the same for the first client to show each probe: the service's part, without the clients' queue */
  firstP50: number;
  firstP99: number;
  /** the service's CPU per MQTT message during the run, µs */
  cpuUsPerMessage: number;
  /** the service's CPU during the run, share of one core */
  cpuCores: number;
  /** VmHWM: the service's peak since it started (subscribing 200 clients, their snapshots, included) */
  peakRssMb: number;
  /** the service's highest RSS sampled every 100 ms while the load ran */
  loadRssMb: number;
  /** this process (the 200 clients and the probe), share of one core */
  clientCores: number;
  /** the largest reading batch while the load ran, as a client saw it: devices in it and JSON bytes */
  batchItems: number;
  batchKb: number;
  /** the machine's 1-minute load average at the end, and its cores: other work skews the figures */
  load: number;
  cores: number;
  /** how the clients decoded reading batches */
  parse: 'lazy' | 'full';
}

export interface FanoutOptions {
  root: string;
  influx: Influxd;
  broker: Mosquitto;
  nodeArgs: string[];
  publish: (args: object) => Promise<unknown>;
  cpuSeconds: (pid: number) => number;
  peakRssMb: (pid: number) => number;
  clients?: number;
  seconds?: number;
  backgroundRate?: number;
  devices?: number;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
const SITE = 'bench';
const PROBE = 'PROBE';
/** probe k publishes pressure 0.3 + k / 100,000 MPa: in range, and no rule fires */
const probeValue = (k: number) => Number((0.3 + k / 100_000).toFixed(5));
const probeIndex = (v: number) => Math.round((v - 0.3) * 100_000);

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

/** a reading batch: raw JSON text with the lazy parser, parsed with the default one */
type Batch = string | { items: { device: string; values: Record<string, number | boolean> }[] };
const FULL_PARSE = process.env.BENCH_FANOUT_PARSE === 'full';
const weight = (b: Batch | undefined) => (b === undefined ? 0 : typeof b === 'string' ? b.length : b.items.length);

interface Watcher {
  socket: Socket;
  /** the newest probe index shown */
  upTo: number;
}

export async function fanout(opts: FanoutOptions): Promise<FanoutResult> {
  const clients = opts.clients ?? 200;
  const seconds = opts.seconds ?? 30;
  const rate = opts.backgroundRate ?? 10_000;
  const hydrants = Array.from({ length: opts.devices ?? 1000 }, (_, i) => `H${String(i).padStart(4, '0')}`);
  const dir = tempDir('estate-bench-fanout-');
  const config = join(dir, 'estate.yaml');
  writeFileSync(
    config,
    `sites:
  - id: ${SITE}
    name: 压测小区
    property: { name: 测试物业 }
    devices:
${[...hydrants, PROBE].map((d, i) => `      - { id: ${d}, kind: hydrant, building: "${(i % 30) + 1}栋", intervalSec: 3600 }`).join('\n')}
auth:
  tokens:
    - { name: admin, role: admin, sha256: cce7a2cf1ae045989cfc914fb95a41526f167a838b3c7d33745143614abace7c }
`,
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const service = await npmStart({
    root: opts.root,
    nodeArgs: opts.nodeArgs,
    env: { CONFIG: config, DATA_DIR: join(dir, 'data'), MQTT_URL: opts.broker.url, INFLUX_URL: opts.influx.url, INFLUX_DB: 'bench_fanout', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', MQTT_CLIENT_ID: 'estate-bench-fanout' },
  });
  const pid = service.pid;
  const sent: number[] = [];
  const delays: number[] = [];
  /** per probe, when the first client showed it */
  const first: number[] = [];
  const watchers: Watcher[] = [];
  /** the largest batch seen while the load ran */
  let lastBatch: Batch | undefined;
  let loading = false;
  try {
    // Ready (it can serve) and subscribed: readings sent before the subscription would not reach a fresh session.
    await waitFor('the service', async () => {
      const r = await fetch(`${url}/readyz`).catch(() => undefined);
      return r?.status === 200 && ((await r.json()) as { broker?: { connected?: boolean } }).broker?.connected === true;
    }, 60_000, 100);

    // 200 clients, connected and subscribed 20 at a time.
    for (let i = 0; i < clients; i += 20) {
      await Promise.all(Array.from({ length: Math.min(20, clients - i) }, () => watch(url, sent, delays, first, watchers, (b) => {
        if (loading && weight(b) > weight(lastBatch)) lastBatch = b;
      })));
    }

    const probe = await mqtt.connectAsync(opts.broker.url, { clientId: 'bench-fanout-probe', protocolVersion: 4 });
    const metric = async (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? 0);
    const cpu0 = opts.cpuSeconds(pid);
    const msg0 = await metric('estate_mqtt_messages_total');
    const own0 = process.cpuUsage();
    let loadRss = 0;
    const sampler = setInterval(() => (loadRss = Math.max(loadRss, rssMb(pid))), 100);
    const t0 = performance.now();
    loading = true;
    const background = opts.publish({ url: opts.broker.url, fleet: { load: 'hydrants', site: SITE, devices: hydrants.length }, rate, seconds, qos: 0, connections: 4, tsBase: Date.now() - 60_000, seqBase: 0 });
    // Probes from 2 s in (the load has settled) until 1 s before its end.
    await sleep(2000);
    const until = t0 + (seconds - 1) * 1000;
    while (performance.now() < until) {
      const k = sent.length;
      sent.push(performance.now());
      probe.publish(`estate/${SITE}/hydrant/${PROBE}/telemetry`, JSON.stringify({ ts: Date.now(), metrics: { pressure_mpa: probeValue(k) } }), { qos: 0 });
      await sleep(Math.max(0, t0 + 2000 + (k + 1) * 100 - performance.now()));
    }
    await background;
    loading = false;
    clearInterval(sampler);
    const cpu = opts.cpuSeconds(pid) - cpu0;
    const wall = (performance.now() - t0) / 1000;
    const own = process.cpuUsage(own0);
    const messages = (await metric('estate_mqtt_messages_total')) - msg0;
    await waitFor('every client to show the last probe', () => watchers.every((w) => w.upTo >= sent.length - 1), 10_000, 50).catch(() => undefined);
    await probe.endAsync();
    const sorted = delays.sort((a, b) => a - b);
    const firstDelays = first.map((t, k) => t - sent[k]!);
    if (process.env.BENCH_FANOUT_TRACE) console.log(`first client's delay per probe, ms, from ${((sent[0]! - t0) / 1000).toFixed(1)} s, every 100 ms:\n${firstDelays.map((d) => d.toFixed(0)).join(' ')}`);
    const firstSorted = firstDelays.filter((d) => !Number.isNaN(d)).sort((a, b) => a - b);
    return {
      clients: watchers.length,
      backgroundRate: rate,
      seconds,
      probes: sent.length,
      arrived: sorted.length,
      p50: pct(sorted, 50),
      p99: pct(sorted, 99),
      max: sorted.at(-1) ?? NaN,
      firstP50: pct(firstSorted, 50),
      firstP99: pct(firstSorted, 99),
      cpuUsPerMessage: messages > 0 ? (cpu * 1e6) / messages : NaN,
      cpuCores: cpu / wall,
      peakRssMb: opts.peakRssMb(pid),
      loadRssMb: loadRss,
      clientCores: (own.user + own.system) / 1e6 / wall,
      batchItems: lastBatch ? batchSize(lastBatch).items : 0,
      batchKb: lastBatch ? batchSize(lastBatch).bytes / 1024 : 0,
      load: loadavg()[0]!,
      cores: cpus().length,
      parse: FULL_PARSE ? 'full' : 'lazy',
    };
  } finally {
    for (const w of watchers) w.socket.disconnect();
    await service.stop();
  }
}

/** One client: connects, subscribes to the site and records when each probe (or a later one) shows. */
async function watch(url: string, sent: readonly number[], delays: number[], first: number[], watchers: Watcher[], onBatch: (b: Batch) => void): Promise<void> {
  const socket = io(url, { path: '/socket.io', transports: ['websocket'], forceNew: true, reconnection: false, auth: { token: 'demo-admin' }, ...(FULL_PARSE ? {} : { parser: lazyParser }) });
  const w: Watcher = { socket, upTo: -1 };
  socket.on('reading', (b: Batch) => {
    const at = performance.now();
    onBatch(b);
    const v = valueIn(b, PROBE, 'pressure_mpa');
    if (v === undefined) return;
    const k = Math.min(probeIndex(v), sent.length - 1);
    for (let j = w.upTo + 1; j <= k; j++) {
      delays.push(at - sent[j]!);
      first[j] ??= at;
    }
    if (k > w.upTo) w.upTo = k;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  const reply = (await socket.timeout(30_000).emitWithAck('subscribe', { site: SITE })) as { devices?: unknown[]; error?: { message: string } };
  if (!reply.devices) throw new Error(`subscribe: ${reply.error?.message}`);
  watchers.push(w);
}
