/**
 * `npm run bench`: ingest throughput through Mosquitto with its DEFAULT settings into a
 * real InfluxDB, 1,000 hydrants, at fixed rates, QoS 0 and QoS 1. For each rate it prints
 * readings landed of those sent, % landed by the time publishing ended, the service's CPU µs
 * per message and its peak RSS. Each run is bounded (`--seconds`, default 10).
 *
 * The service is started by `npm start` itself (bench/npm-start.ts), the compiled dist/main.js
 * with the start script's flags: what is measured is what an operator runs. Its CPU and RSS are
 * the service process's own; npm's process, which stays as its parent, is reported apart.
 *
 *   npm run bench                      # the full table
 *   npm run bench -- --seconds 5 --rates 0:30000,1:15000
 *   npm run bench -- --soak            # 10 min at 10,000 msg/s with faults (bench/soak.ts, docs/soak.md)
 *   npm run bench -- --soak --soak-minutes 2 --soak-rate 5000 --soak-png /tmp/soak.png
 *   npm run bench -- --only start      # npm start: spawn to /readyz 200 and RSS, median of 3 (bench/start.ts)
 *   npm run bench -- --only ingest,push --rates 1:1000 --push-rates 1000   # MQTT and HTTP pushes at one rate
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startInfluxd } from '../test/harness/influxd.ts';
import { startMosquitto } from '../test/harness/mosquitto.ts';
import { freePort, sleep, waitFor } from '../test/harness/ports.ts';
import { tempDir } from '../test/harness/service.ts';
import { alertLatency } from './alert-latency.ts';
import { fanout } from './fanout.ts';
import { npmStart } from './npm-start.ts';
import { pushBench, type PushRow } from './push.ts';
import { soak } from './soak.ts';
import { describeStart, measureStart } from './start.ts';

const ROOT = resolve(import.meta.dirname, '..');
const { values: opts } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rates: { type: 'string', default: '0:10000,0:20000,0:30000,1:5000,1:10000,1:15000' },
    devices: { type: 'string', default: '1000' },
    /** which parts: ingest, alerts, fanout, push, start (comma-separated; start only when named) */
    only: { type: 'string', default: 'ingest,alerts,fanout,push' },
    /** OneNET pushes a second, each rate for --seconds (bench/push.ts) */
    'push-rates': { type: 'string', default: '500,1000,2000' },
    /**
     * node flags for the service beyond those of `npm start` (package.json's start script has
     * --max-semi-space-size=8: a young generation of at most 8 MB per semi-space; at 30,000
     * msg/s V8 otherwise grows it to 16 MB each and peak RSS by about 60 MB, for no measurable
     * saving in CPU, docs/performance.md); they reach it through NODE_OPTIONS
     */
    'node-args': { type: 'string', default: '' },
    /** the soak instead of the rest (bench/soak.ts) */
    soak: { type: 'boolean', default: false },
    'soak-minutes': { type: 'string', default: '10' },
    'soak-rate': { type: 'string', default: '10000' },
    'soak-png': { type: 'string' },
  },
});
const SECONDS = Number(opts.seconds);
const DEVICES = Number(opts.devices);
const PARTS = new Set(opts.only!.split(','));
const NODE_ARGS = opts['node-args']!.split(' ').filter(Boolean);
const RATES = opts.rates!.split(',').map((r) => {
  const [q, rate] = r.split(':');
  return { qos: Number(q) as 0 | 1, rate: Number(rate) };
});

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK']).stdout.toString().trim() || 100);

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return Number(m?.[1] ?? 0);
}

function publish(args: object): Promise<{ sent: number; written: number; seconds: number }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/publisher.ts'), JSON.stringify(args)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolvePromise(JSON.parse(out.trim().split('\n').at(-1)!)) : reject(new Error(`publisher exited ${code}`))));
  });
}

async function main(): Promise<void> {
  if (!opts.soak) console.log(`Estate Sentinel ingest benchmark — ${DEVICES} hydrants, ${SECONDS} s per rate, Mosquitto with default settings, InfluxDB ${spawnSync('influxd', ['version']).stdout.toString().trim()}`);
  // What npm start runs before the service: the build of dist/ and dist/ui when missing or stale.
  // Done here first, so that no benchmark's clock runs while it builds.
  const build = spawnSync(process.execPath, [join(ROOT, 'scripts/ensure-build.mjs'), 'start'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('build failed');
  if (PARTS.has('start')) {
    console.log('npm start: spawn to /readyz 200 and RSS, 3 starts on the embedded defaults…');
    const r = await measureStart({ tree: ROOT, runs: 3, log: (l) => console.log(l) });
    console.log(describeStart(r));
    if ([...PARTS].every((p) => p === 'start')) return;
  }
  if (opts.soak) {
    const png = opts['soak-png'] ?? join(ROOT, 'bench-results', `soak-${new Date().toISOString().slice(0, 16).replace(/:/g, '')}.png`);
    await soak({ root: ROOT, minutes: Number(opts['soak-minutes']), rate: Number(opts['soak-rate']), png: resolve(png), nodeArgs: NODE_ARGS, cpuSeconds });
    return;
  }

  const [influx, broker] = await Promise.all([startInfluxd(), startMosquitto()]);
  const dir = tempDir('estate-bench-');
  const site = 'bench';
  const devices = Array.from({ length: DEVICES }, (_, i) => `H${String(i).padStart(4, '0')}`);
  const config = join(dir, 'estate.yaml');
  writeFileSync(
    config,
    `sites:\n  - id: ${site}\n    name: 压测小区\n    property: { name: 测试物业 }\n    devices:\n${devices.map((d, i) => `      - { id: ${d}, kind: hydrant, building: "${(i % 30) + 1}栋" }`).join('\n')}\n`,
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const service = await npmStart({
    root: ROOT,
    nodeArgs: NODE_ARGS,
    env: { CONFIG: config, DATA_DIR: join(dir, 'data'), MQTT_URL: broker.url, INFLUX_URL: influx.url, INFLUX_DB: 'bench', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', MQTT_CLIENT_ID: 'estate-bench' },
  });
  const pid = service.pid;
  const rows: string[][] = [];
  let groupPeakMb = 0;
  try {
    // Ready (it can serve) and subscribed: readings sent before the subscription would not reach a fresh session.
    await waitFor('the service', async () => {
      const r = await fetch(`${url}/readyz`).catch(() => undefined);
      return r?.status === 200 && ((await r.json()) as { broker?: { connected?: boolean } }).broker?.connected === true;
    }, 60_000, 100);
    let seqBase = 0;
    for (const { qos, rate } of PARTS.has('ingest') ? RATES : []) {
      await sleep(1000);
      const tsBase = Date.now() - 60_000;
      const cpu0 = cpuSeconds(pid);
      const msg0 = await metric(url, 'estate_mqtt_messages_total');
      const turns0 = await metric(url, 'estate_ingest_turn_messages_count');
      const memory: string[] = [];
      const sampler = setInterval(async () => {
        const text = await (await fetch(`${url}/metrics`).catch(() => undefined))?.text().catch(() => '');
        if (!text) return;
        const get = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0) / 1e6;
        groupPeakMb = Math.max(groupPeakMb, service.groupRssMb());
        memory.push(`rss ${get(/^process_resident_memory_bytes (\S+)/m).toFixed(0)} heap ${get(/^nodejs_heap_size_used_bytes (\S+)/m).toFixed(0)}/${get(/^nodejs_heap_size_total_bytes (\S+)/m).toFixed(0)} ext ${get(/^nodejs_external_memory_bytes (\S+)/m).toFixed(0)}`);
      }, 1000);
      const res = await publish({ url: broker.url, site, devices, rate, seconds: SECONDS, qos, connections: 4, tsBase, seqBase });
      // This run's readings only: their ts are tsBase + n * step, n counting from 0 (bench/publisher.ts).
      const step = Math.max(1, Math.floor(1000 / (rate / DEVICES)));
      const tsEnd = tsBase + (Math.ceil((rate * SECONDS) / DEVICES) + 2) * step;
      const countNow = async () => {
        const r = await influx.query(`SELECT count(pressure_mpa) FROM hydrant WHERE time >= ${tsBase}ms AND time < ${tsEnd}ms`, 'bench');
        return Number(r.results?.[0]?.series?.[0]?.values?.[0]?.[1] ?? 0);
      };
      clearInterval(sampler);
      if (process.env.BENCH_MEMORY) console.log(memory.join('\n'));
      const atEnd = await countNow();
      // Wait for the rest to land (or stop growing).
      let landed = atEnd;
      let stableSince = Date.now();
      const deadline = Date.now() + 60_000;
      while (landed < res.sent && Date.now() < deadline && Date.now() - stableSince < 5000) {
        await sleep(250);
        const c = await countNow();
        if (c !== landed) stableSince = Date.now();
        landed = c;
      }
      const cpu = cpuSeconds(pid) - cpu0;
      const turns = (await metric(url, 'estate_ingest_turn_messages_count')) - turns0;
      const messages = (await metric(url, 'estate_mqtt_messages_total')) - msg0;
      seqBase += Math.ceil((rate * SECONDS) / DEVICES) + 10;
      const row = [
        `QoS ${qos}`,
        rate.toLocaleString('en'),
        `${Math.round(res.sent / res.seconds).toLocaleString('en')}`,
        `${landed.toLocaleString('en')} / ${res.sent.toLocaleString('en')}`,
        `${((100 * landed) / res.sent).toFixed(2)} %`,
        `${((100 * atEnd) / res.sent).toFixed(1)} %`,
        messages > 0 ? ((cpu * 1e6) / messages).toFixed(1) : '-',
        peakRssMb(pid).toFixed(0),
        turns > 0 ? (messages / turns).toFixed(1) : '-',
      ];
      rows.push(row);
      console.log(row.join('  |  '));
    }
    if (rows.length > 0) console.log(`npm start's process group (the service and npm's own process, its parent): RSS at most ${groupPeakMb.toFixed(0)} MB, sampled every second; the service's own peak ${peakRssMb(pid).toFixed(0)} MB`);
  } finally {
    await service.stop();
  }
  let latency: Awaited<ReturnType<typeof alertLatency>> | undefined;
  let live: Awaited<ReturnType<typeof fanout>> | undefined;
  let pushes: PushRow[] = [];
  try {
    if (PARTS.has('alerts')) {
      console.log('alert latency: 60 trapped events, one a second, while 10,000 msg/s of telemetry flows…');
      latency = await alertLatency({ root: ROOT, influx, broker, nodeArgs: NODE_ARGS, publish });
    }
    if (PARTS.has('fanout')) {
      console.log('live fan-out: 200 socket.io clients on one site of 1,000 hydrants while 10,000 msg/s of telemetry flows for 30 s…');
      live = await fanout({ root: ROOT, influx, broker, nodeArgs: NODE_ARGS, publish, cpuSeconds, peakRssMb });
    }
    if (PARTS.has('push')) {
      console.log(`HTTP pushes: OneNET data pushes (signed, one data point each) from 1,000 devices, ${SECONDS} s per rate…`);
      pushes = await pushBench({ root: ROOT, influx, broker, nodeArgs: NODE_ARGS, cpuSeconds, rates: opts['push-rates']!.split(',').map(Number), seconds: SECONDS });
    }
  } finally {
    await Promise.all([broker.destroy(), influx.destroy()]);
  }
  if (latency) {
    console.log(`\nAlert latency, publish → webhook arrival, with ${latency.backgroundRate.toLocaleString('en')} msg/s of telemetry: p50 ${latency.p50.toFixed(1)} ms, p99 ${latency.p99.toFixed(1)} ms, max ${latency.max.toFixed(1)} ms (${latency.received} of ${latency.sent} arrived). Target: p99 ≤ 200 ms.`);
  }
  if (live) {
    console.log(
      `\nLive fan-out, publish → socket.io client, ${live.clients} clients, ${live.backgroundRate.toLocaleString('en')} msg/s for ${live.seconds} s: p50 ${live.p50.toFixed(1)} ms, p99 ${live.p99.toFixed(1)} ms, max ${live.max.toFixed(1)} ms (${live.arrived.toLocaleString('en')} of ${(live.probes * live.clients).toLocaleString('en')} client×probe arrivals); ` +
        `first client to show each probe p50 ${live.firstP50.toFixed(1)} ms, p99 ${live.firstP99.toFixed(1)} ms; service CPU ${live.cpuUsPerMessage.toFixed(1)} µs/msg (${(100 * live.cpuCores).toFixed(0)} % of a core), RSS under load ≤ ${live.loadRssMb.toFixed(0)} MB, peak RSS ${live.peakRssMb.toFixed(0)} MB; batches of ${live.batchItems} devices, ${live.batchKb.toFixed(0)} KB; the clients' process (${live.parse} parse) ${(100 * live.clientCores).toFixed(0)} % of a core; load average ${live.load.toFixed(1)} on ${live.cores} cores. Target: p99 ≤ 1 s.`,
    );
  }
  if (pushes.length > 0) {
    const head = ['target pushes/s', 'sent pushes/s', 'answered 200 / sent', 'landed in InfluxDB', 'answer p50 ms', 'answer p99 ms', 'service CPU µs/push'];
    console.log('\nHTTP pushes (OneNET), answered once durable and judged:\n| ' + head.join(' | ') + ' |\n|' + head.map(() => '---').join('|') + '|');
    for (const p of pushes) {
      console.log(`| ${p.rate.toLocaleString('en')} | ${Math.round(p.sentPerSec).toLocaleString('en')} | ${p.ok.toLocaleString('en')} / ${p.sent.toLocaleString('en')} | ${p.landed.toLocaleString('en')} | ${p.p50.toFixed(1)} | ${p.p99.toFixed(1)} | ${p.cpuUsPerPush.toFixed(0)} |`);
    }
    console.log('Target: at 1,000 pushes/s the median answer under 20 ms, nothing lost.');
  }
  if (rows.length === 0) return;
  const head = ['QoS', 'target msg/s', 'sent msg/s', 'landed / sent', 'landed', 'landed when publishing ended', 'service CPU µs/msg', 'peak RSS MB', 'messages per turn'];
  console.log('\n| ' + head.join(' | ') + ' |\n|' + head.map(() => '---').join('|') + '|');
  for (const r of rows) console.log('| ' + r.join(' | ') + ' |');
  console.log('\nTargets: lossless at 30,000 msg/s QoS 0 and 15,000 msg/s QoS 1; at most 15 µs CPU per message; at most 150 MB peak RSS.');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
