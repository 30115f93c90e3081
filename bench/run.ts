/**
 * `npm run bench`: ingest through Mosquitto with its DEFAULT settings into a real InfluxDB, at
 * one or more estate sizes (`--devices 1000,10000,100000`, bench/scale.ts): for each, a fresh
 * Mosquitto and InfluxDB, a generated estate file and the service; start to ready, RSS before
 * the first reading, peak and steady RSS, KB per device, and per rate the readings landed of
 * those sent, the service's CPU µs per message and the event loop's delay p99. Each rate is
 * bounded (`--seconds`, default 10). `--json FILE` writes the figures, `--png FILE` a plot of them.
 *
 * The load (`--load`, bench/fleet.ts): `mix` (the default) is sites of 100 devices, 40
 * hydrants, 30 elevators, 15 fire lanes, 15 water analysers, about 9 metrics a message, at
 * 10,000 msg/s QoS 1 unless `--rates` says otherwise; `hydrants` is the old load, one site of
 * hydrants of 4 metrics a message, at the old six rates (QoS 0 10,000–30,000, QoS 1 5,000–15,000).
 * The publisher generates the devices from the same spec, so any number of devices works.
 *
 * The service is started by `npm start` itself (bench/npm-start.ts), the compiled dist/main.js
 * with the start script's flags: what is measured is what an operator runs. Its CPU and RSS are
 * the service process's own; npm's process, which stays as its parent, is reported apart.
 *
 *   npm run bench                      # the full table
 *   npm run bench -- --seconds 5 --rates 0:30000,1:15000
 *   npm run bench -- --only ingest --devices 1000,10000,100000 --rates 1:5000,1:10000 --json /tmp/scale.json
 *   npm run bench -- --only ingest --devices 1000,10000,100000 --json /tmp/scale.json --png /tmp/scale.png   # and a plot (bench/scale-plot.ts)
 *   npm run bench -- --only ingest --load hydrants   # the old 1,000-hydrant load at the old rates
 *   npm run bench -- --only ingest --tree /tmp/landed  # npm start in another checkout (built there first)
 *   npm run bench -- --soak            # 10 min at 10,000 msg/s with faults (bench/soak.ts, docs/soak.md)
 *   npm run bench -- --soak --soak-minutes 2 --soak-rate 5000 --soak-png /tmp/soak.png
 *   npm run bench -- --only start      # npm start: spawn to /readyz 200 and RSS, median of 3 (bench/start.ts)
 *   npm run bench -- --only ingest,push --rates 1:1000 --push-rates 1000   # MQTT and HTTP pushes at one rate
 *   npm run bench -- --peer nodered    # hydrants through the service, Node-RED and a bare subscriber side by side (bench/peer-nodered.ts)
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startInfluxd } from '../test/harness/influxd.ts';
import { startMosquitto } from '../test/harness/mosquitto.ts';
import { alertLatency } from './alert-latency.ts';
import { fanout } from './fanout.ts';
import type { Load } from './fleet.ts';
import { comparePeer, peerReport } from './peer-nodered.ts';
import { pushBench, type PushRow } from './push.ts';
import { scaleIngest, scaleTable, type PublishResult } from './scale.ts';
import { scaleSvg } from './scale-plot.ts';
import { renderPng } from './soak-plot.ts';
import { soak } from './soak.ts';
import { describeStart, measureStart } from './start.ts';

const ROOT = resolve(import.meta.dirname, '..');
const { values: opts } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    /** QoS:rate,…; default 1:10000 for the mix, the old six rates for hydrants */
    rates: { type: 'string' },
    /** estate sizes, comma-separated: a fresh broker, InfluxDB and service for each */
    devices: { type: 'string', default: '1000' },
    /** mix (sites of 100: 40 hydrants, 30 elevators, 15 fire lanes, 15 water) or hydrants (the old load) */
    load: { type: 'string', default: 'mix' },
    'site-size': { type: 'string', default: '100' },
    seed: { type: 'string', default: '1' },
    /** the figures of the ingest part as JSON, for a plot */
    json: { type: 'string' },
    /** the figures of the ingest part as a PNG plot against devices (bench/scale-plot.ts) */
    png: { type: 'string' },
    /** s to wait for /readyz 200 at each size before giving it up */
    'start-timeout': { type: 'string', default: '300' },
    /** the checkout whose npm start the ingest part runs (default this one); built there first */
    tree: { type: 'string' },
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
    /**
     * instead of the rest: the hydrants load (its six rates unless --rates) through the service
     * and through a peer, on the same Mosquitto and InfluxDB, with a bare subscriber for the
     * broker's own limit; `nodered` (Node-RED and node-red-contrib-influxdb, installed from the
     * npm registry into the temp dir on first use, bench/peer-nodered.ts)
     */
    peer: { type: 'string' },
  },
});
const SECONDS = Number(opts.seconds);
const COUNTS = opts.devices!.split(',').map((d) => Number(d.replace(/_/g, '')));
if (COUNTS.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--devices: whole numbers ≥ 1, comma-separated, not ${opts.devices}`);
if (opts.peer !== undefined && opts.peer !== 'nodered') throw new Error(`--peer: nodered, not ${opts.peer}`);
if (opts.peer && COUNTS.length !== 1) throw new Error(`--peer: one estate size, not ${opts.devices}`);
const LOAD = (opts.peer ? 'hydrants' : opts.load) as Load;
if (LOAD !== 'mix' && LOAD !== 'hydrants') throw new Error(`--load: mix or hydrants, not ${opts.load}`);
const PARTS = new Set(opts.only!.split(','));
const NODE_ARGS = opts['node-args']!.split(' ').filter(Boolean);
const TREE = resolve(opts.tree ?? ROOT);
const RATES = (opts.rates ?? (LOAD === 'mix' ? '1:10000' : '0:10000,0:20000,0:30000,1:5000,1:10000,1:15000')).split(',').map((r) => {
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

/** bench/publisher.ts in its own process; `args` is its PublishArgs (a fleet spec, not a device list). */
function publish(args: object): Promise<PublishResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/publisher.ts'), JSON.stringify(args)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolvePromise(JSON.parse(out.trim().split('\n').at(-1)!)) : reject(new Error(`publisher exited ${code}`))));
  });
}

async function main(): Promise<void> {
  if (!opts.soak) {
    console.log(
      `Estate Sentinel ingest benchmark — ${LOAD === 'mix' ? 'the mix (sites of 100: 40 hydrants, 30 elevators, 15 fire lanes, 15 water)' : 'hydrants'} at ${COUNTS.map((n) => n.toLocaleString('en')).join(', ')} devices, ${SECONDS} s per rate, Mosquitto with default settings, InfluxDB ${spawnSync('influxd', ['version']).stdout.toString().trim()}, Node ${process.version}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}` +
        (TREE !== ROOT ? `, npm start in ${TREE}` : ''),
    );
  }
  // What npm start runs before the service: the build of dist/ and dist/ui when missing or stale.
  // Done here first, so that no benchmark's clock runs while it builds.
  const trees = new Set<string>();
  if (PARTS.has('ingest') && !opts.soak) trees.add(TREE);
  if (opts.soak || ['start', 'alerts', 'fanout', 'push'].some((p) => PARTS.has(p))) trees.add(ROOT);
  for (const tree of trees) {
    const build = spawnSync(process.execPath, [join(tree, 'scripts/ensure-build.mjs'), 'start'], { cwd: tree, stdio: 'inherit' });
    if (build.status !== 0) throw new Error(`build failed in ${tree}`);
  }
  if (opts.peer) {
    const peer = await comparePeer({ root: ROOT, tree: TREE, rates: RATES, seconds: SECONDS, devices: COUNTS[0]!, nodeArgs: NODE_ARGS, publish, cpuSeconds, startTimeoutMs: Number(opts['start-timeout']) * 1000 });
    console.log('\n' + peerReport(peer));
    if (opts.json) {
      writeFileSync(resolve(opts.json), JSON.stringify(peer, null, 1) + '\n');
      console.log(`figures written to ${resolve(opts.json)}`);
    }
    return;
  }
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

  if (PARTS.has('ingest')) {
    const scale = await scaleIngest({
      root: TREE,
      load: LOAD,
      counts: COUNTS,
      rates: RATES,
      seconds: SECONDS,
      siteSize: Number(opts['site-size']),
      seed: Number(opts.seed),
      nodeArgs: NODE_ARGS,
      publish,
      cpuSeconds,
      startTimeoutMs: Number(opts['start-timeout']) * 1000,
    });
    console.log(`\nIngest at scale (${LOAD}; ${SECONDS} s per rate; ${scale.cores} cores; load average ${scale.loadavgAtStart.map((x) => x.toFixed(2)).join(' ')} at the start, ${scale.loadavgAtEnd.map((x) => x.toFixed(2)).join(' ')} at the end):`);
    console.log(scaleTable(scale));
    console.log(
      'start to ready: spawn of npm start → first /readyz 200. RSS: the service process (VmRSS; peak VmHWM). RSS before the 1st reading: once ready and subscribed. ' +
        'Steady RSS: 2 s after the last rate landed, every device having sent (a prime of one reading each first). KB/device: (steady RSS − the empty estate\'s steady RSS) ÷ devices; ' +
        'marginal: (steady RSS − the previous size\'s) ÷ (devices − the previous size\'s). CPU: the service\'s utime+stime over a rate and its landing ÷ the messages it counted. ' +
        "Event loop p99 and max: prom-client's nodejs_eventloop_lag_p99_seconds and _max_seconds over the publishing (it samples every 10 ms, so an idle loop reads about 10 ms). " +
        'Received by the service: its estate_mqtt_messages_total over the rate; fewer than sent (acknowledged by the broker) is what Mosquitto dropped from its queue for the service (max_queued_messages 1000 by default).',
    );
    for (const c of scale.counts) {
      if (c.alertsOpen || c.rejects) console.log(`note: at ${c.devices.toLocaleString('en')} devices ${c.alertsOpen} alerts open and ${c.rejects} rejects at the end (the load is meant to raise none): ${Object.entries(c.alertsByRule).map(([k, v]) => `${k} ${v}`).join('; ')}`);
    }
    if (opts.json) {
      writeFileSync(resolve(opts.json), JSON.stringify(scale, null, 1) + '\n');
      console.log(`figures written to ${resolve(opts.json)}`);
    }
    if (opts.png) {
      await renderPng(scaleSvg([{ label: 'this run', result: scale }]), resolve(opts.png));
      console.log(`plot written to ${resolve(opts.png)}`);
    }
  }
  const rest = ['alerts', 'fanout', 'push'].filter((p) => PARTS.has(p));
  if (rest.length === 0) return;
  const [influx, broker] = await Promise.all([startInfluxd(), startMosquitto()]);
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
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
