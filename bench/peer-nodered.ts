/**
 * `npm run bench -- --peer nodered`: the hydrants load through Node-RED beside the service, on
 * the same Mosquitto (default settings) and the same InfluxDB within one run, and through two
 * bare subscribers for what the broker itself passes (bench/bare-sub.ts with mqtt.js,
 * bench/bare-packet-sub.ts with mqtt-packet on a plain socket) (issue 13, City scale).
 *
 * Node-RED and node-red-contrib-influxdb come from the npm registry at the versions pinned
 * in bench/nodered.ts, installed once into os.tmpdir()/estate-peer-nodered-<versions>; a later run finds them
 * there. Node-RED runs as a Node-RED user starts it, `node red.js --userDir DIR --port PORT`,
 * with Node-RED's own default settings.js (the file a fresh install copies into its user dir),
 * bound to 127.0.0.1. Its flow, what a Node-RED user would build for the job:
 *
 *   mqtt in         estate/+/hydrant/+/telemetry at the phase's QoS, output "a parsed JSON
 *                   object"; its broker node as the editor makes it (MQTT 3.1.1, clean session,
 *                   a generated client id, keepalive 60)
 *   function        the reading judged as the service judges it in kind (hydrantFunction): site
 *                   and device from the topic, ts a number within 5 min ahead and 30 days back,
 *                   each metric the catalog's type and range (config/catalog.ts), the others
 *                   dropped; the point {measurement hydrant, tags site/device, the fields, ts}
 *   join            5,000 points or 200 ms after the first, into one array: the service's own
 *                   batch (STORE_BATCH_SIZE, STORE_FLUSH_MS); without it every reading is a request
 *   influxdb batch  InfluxDB's 1.x API (1.6 has no /api/v2/write for the "1.8-flux" mode), its
 *                   own database `nodered`, precision ms
 *
 * What the flow does not do that the service does: it has no estate file (any device is
 * taken), de-duplicates nothing, acknowledges QoS 1 on arrival rather than once the reading is
 * in a spool on disk, writes several batches at once where the service keeps one in flight,
 * and raises no alerts and feeds no live view. Its broker node speaks MQTT 3.1.1, for which
 * Mosquitto keeps 20 QoS 1 messages in flight (max_inflight_messages) and queues 1,000 more;
 * the service and the bare subscriber speak MQTT 5 with a receive maximum of 65,535.
 *
 * Per rate, three phases one after the other, each on a consumer started for it and stopped
 * after it, so that only one is subscribed at a time and each row's peak RSS is that phase's:
 * the service (`npm start`, bench/npm-start.ts, into database `bench`), Node-RED, and the bare
 * subscriber. Each starts, connects, and takes the rate for 2 s unmeasured (at least one
 * reading from every device), then the rate for the given seconds from the benchmark's
 * publisher. A phase counts what landed in its consumer's own database within its own window
 * of timestamps (the bare subscriber: what it received); CPU is the consumer's utime+stime from
 * before the publishing until nothing more lands, ÷ what landed. The persistent sessions (the
 * service's, the bare subscriber's) are dropped after their phase, so that Mosquitto queues
 * nothing for them during the others.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { startInfluxd, type Influxd } from '../test/harness/influxd.ts';
import { startMosquitto, type Mosquitto } from '../test/harness/mosquitto.ts';
import { freePort, sleep } from '../test/harness/ports.ts';
import { sum } from '../test/harness/prometheus.ts';
import { removeDir, tempDir } from '../test/harness/service.ts';
import { Fleet, type FleetSpec } from './fleet.ts';
import { npmStart } from './npm-start.ts';
import { countLanded, procKb, type Publish } from './scale.ts';
import { PEER_DB, ended, hydrantFlow, installNodeRed, startNodeRed, type NodeRedInstall } from './nodered.ts';

export { HYDRANT_TOPIC, INFLUXDB_NODES_VERSION, NODE_RED_VERSION, hydrantFlow, hydrantFunction } from './nodered.ts';

const SERVICE_DB = 'bench';
const SERVICE_CLIENT = 'estate-bench';
const BARE_CLIENT = 'bare-sub'; // bench/bare-sub.ts's own
/** s of the phase's load before it is measured: a process started for the phase has its code optimised by then */
const WARMUP_S = 2;

/** One subscriber of a phase: its process, what it has received so far where it can tell, and what it stored. */
interface Consumer {
  pid: number;
  received(): Promise<number | null>;
  /** readings in its own database with times in [from, to); absent for one that stores nothing */
  landed?(from: number, to: number): Promise<number>;
  /** what went wrong meanwhile (Node-RED's errors in its log) */
  problems?(): string[];
  stop(): Promise<void>;
}

const countHydrants = (influx: Influxd, db: string, from: number, to: number) => countLanded(influx, db, ['hydrant'], from, to);

/** Ends a persistent session: a clean connect under its client id, then a disconnect. */
async function dropSession(url: string, clientId: string): Promise<void> {
  const c = mqtt.connect(url, { clientId, clean: true, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 });
  await new Promise<void>((resolve) => {
    c.once('connect', () => resolve());
    c.once('error', () => resolve());
    setTimeout(resolve, 5000).unref();
  });
  await c.endAsync().catch(() => undefined);
}


interface Env {
  root: string;
  tree: string;
  nodeArgs: string[];
  broker: Mosquitto;
  influx: Influxd;
  estate: string;
  install: NodeRedInstall;
  topic?: string;
  countReceived?: boolean;
  startTimeoutMs: number;
}

async function startServiceConsumer(e: Env): Promise<Consumer> {
  const dataDir = tempDir('estate-peer-service-');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const svc = await npmStart({
    root: e.tree,
    nodeArgs: e.nodeArgs,
    env: { CONFIG: e.estate, DATA_DIR: dataDir, MQTT_URL: e.broker.url, INFLUX_URL: e.influx.url, INFLUX_DB: SERVICE_DB, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', MQTT_CLIENT_ID: SERVICE_CLIENT },
  });
  const stop = async () => {
    await svc.stop();
    await dropSession(e.broker.url, SERVICE_CLIENT);
    removeDir(dataDir);
  };
  try {
    const deadline = Date.now() + e.startTimeoutMs;
    for (;;) {
      const r = await fetch(`${url}/readyz`).catch(() => undefined);
      const body = r?.status === 200 ? ((await r.json().catch(() => ({}))) as { broker?: { connected?: boolean } }) : undefined;
      if (body?.broker?.connected === true) break;
      if (svc.npm.exitCode !== null) throw new Error(`npm start exited ${svc.npm.exitCode} before ready`);
      if (Date.now() > deadline) throw new Error(`not ready and connected within ${e.startTimeoutMs / 1000} s`);
      await sleep(100);
    }
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return {
    pid: svc.pid,
    received: async () => sum(await (await fetch(`${url}/metrics`)).text(), 'estate_mqtt_messages_total'),
    landed: (from, to) => countHydrants(e.influx, SERVICE_DB, from, to),
    stop,
  };
}


async function startNodeRedConsumer(e: Env, qos: 0 | 1): Promise<Consumer> {
  const countReceived = e.countReceived ?? true;
  const nr = await startNodeRed(e.install, hydrantFlow({ brokerUrl: e.broker.url, influxUrl: e.influx.url, qos, topic: e.topic, countReceived }), e.startTimeoutMs);
  return {
    pid: nr.child.pid!,
    async received() {
      if (!countReceived) return null;
      // The admin API's view of the function node's context: {msg: "123", format: "number"}
      const r = (await (await fetch(`${nr.url}/context/node/judge/received`)).json().catch(() => ({}))) as { msg?: string };
      const n = Number(r.msg);
      return Number.isFinite(n) ? n : 0; // nothing reached it yet
    },
    landed: (from, to) => countHydrants(e.influx, PEER_DB, from, to),
    problems: () => nr.problems,
    stop: () => nr.stop(),
  };
}

/**
 * A subscriber that does nothing with its messages: bench/bare-sub.ts (mqtt.js), or
 * bench/bare-packet-sub.ts (mqtt-packet on a plain socket, the receive path without mqtt.js).
 */
async function startBareConsumer(e: Env, script = 'bench/bare-sub.ts'): Promise<Consumer> {
  // Node's own type stripping rather than tsx: the process is the MQTT client and nothing else.
  const child = spawn(process.execPath, [join(e.root, script), e.broker.url, BARE_CLIENT], { cwd: e.root, stdio: ['ignore', 'pipe', 'inherit'] });
  let n: number | undefined;
  let ready = false;
  let partial = '';
  const waiters: (() => void)[] = [];
  child.stdout!.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    for (const l of lines) {
      if (l === 'ready') ready = true;
      else if (l.startsWith('{')) {
        n = (JSON.parse(l) as { n: number }).n;
        waiters.splice(0).forEach((w) => w());
      }
    }
  });
  // Gone, it reports no more: a wait for its next report ends with the last.
  child.once('exit', () => waiters.splice(0).forEach((w) => w()));
  const stop = async () => {
    await ended(child, 'SIGTERM', 5000);
    await dropSession(e.broker.url, BARE_CLIENT);
  };
  const deadline = Date.now() + e.startTimeoutMs;
  while (!ready) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error('the bare subscriber did not subscribe');
    }
    await sleep(20);
  }
  return {
    pid: child.pid!,
    // It reports once a second: the next report, so that nothing received before this call is left out of it.
    received: () => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve(n ?? 0) : new Promise<number>((r) => waiters.push(() => r(n ?? 0)))),
    stop,
  };
}

export interface SideFigures {
  sent: number;
  /** what reached it (the service's estate_mqtt_messages_total, the function node's count, the bare subscriber's) */
  received: number | null;
  /** readings in its own database (the bare subscriber: what it received) */
  landed: number;
  /** s from the end of the publishing until the last reading landed, when all did */
  catchUpS: number | null;
  /** CPU ÷ landed */
  cpuUsPerMessage: number | null;
  /** VmHWM at the end of the phase (the process started for it) */
  peakRssMb: number | null;
  problems: string[];
  error?: string;
}

export interface PeerRow {
  qos: 0 | 1;
  rate: number;
  service: SideFigures;
  nodered: SideFigures;
  bare: SideFigures;
  /** the same with mqtt-packet directly (bench/bare-packet-sub.ts) */
  packet: SideFigures;
  load1: number;
}

export interface PeerResult {
  devices: number;
  seconds: number;
  node: string;
  nodeRed: string;
  influxNodes: string;
  cores: number;
  loadavgAtStart: number[];
  loadavgAtEnd: number[];
  rows: PeerRow[];
}

export interface PeerOptions {
  /** this checkout: bench/bare-sub.ts */
  root: string;
  /** the checkout whose npm start is the service (built there first) */
  tree?: string;
  rates: { qos: 0 | 1; rate: number }[];
  seconds: number;
  devices?: number;
  nodeArgs: string[];
  publish: Publish;
  cpuSeconds: (pid: number) => number;
  startTimeoutMs?: number;
  /** Node-RED's subscription, HYDRANT_TOPIC unless told (a wrong one: the check of a broken flow) */
  topic?: string;
  /** count in Node-RED's function node what reaches it (default true) */
  countReceived?: boolean;
  log?: (line: string) => void;
}

function vmHwmMb(pid: number): number | null {
  return procKb(pid, 'VmHWM') / 1024 || null;
}

export async function comparePeer(o: PeerOptions): Promise<PeerResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  const install = installNodeRed(log);
  const devices = o.devices ?? 1000;
  const spec: FleetSpec = { load: 'hydrants', devices };
  const dir = tempDir('estate-peer-');
  const estate = join(dir, 'estate.yaml');
  writeFileSync(estate, new Fleet(spec).estateYaml());
  const result: PeerResult = { devices, seconds: o.seconds, node: process.version, nodeRed: install.nodeRed, influxNodes: install.influxNodes, cores: cpus().length, loadavgAtStart: loadavg(), loadavgAtEnd: [], rows: [] };
  const [influx, broker] = await Promise.all([startInfluxd(), startMosquitto()]);
  const e: Env = { root: o.root, tree: o.tree ?? o.root, nodeArgs: o.nodeArgs, broker, influx, estate, install, topic: o.topic, countReceived: o.countReceived, startTimeoutMs: o.startTimeoutMs ?? 120_000 };
  // Each publishing its own window of timestamps, moving forward from 10 min ago.
  let cursor = Date.now() - 10 * 60_000;
  let seqBase = 1;
  const window = (qos: 0 | 1, rate: number, seconds: number) => {
    const total = Math.round(rate * seconds);
    const step = Math.max(1, Math.floor(1000 / (rate / devices)));
    const tsBase = cursor;
    const tsEnd = tsBase + (Math.ceil(total / devices) + 2) * step;
    cursor = tsEnd + 1000;
    const args = { url: broker.url, fleet: spec, rate, seconds, qos, connections: 4, tsBase, seqBase };
    seqBase += Math.ceil(total / devices) + 1;
    return { args, tsBase, tsEnd };
  };
  /** What landed (or was received), once all of it has or nothing more has for `quietMs`. */
  const settle = async (count: () => Promise<number>, target: number, quietMs: number) => {
    const from = performance.now();
    let n = await count();
    let last = performance.now();
    while (n < target && performance.now() - from < 60_000 && performance.now() - last < quietMs) {
      await sleep(250);
      const x = await count();
      if (x !== n) last = performance.now();
      n = x;
    }
    return { n, catchUpS: n >= target ? Math.max(0, last - from) / 1000 : null };
  };
  const phase = async (name: string, start: () => Promise<Consumer>, qos: 0 | 1, rate: number): Promise<SideFigures> => {
    const side: SideFigures = { sent: 0, received: null, landed: 0, catchUpS: null, cpuUsPerMessage: null, peakRssMb: null, problems: [] };
    let c: Consumer | undefined;
    try {
      c = await start();
      const consumer = c;
      /** what landed in the window, or (the bare subscriber) what it received from now on */
      const counter = async (w: { tsBase: number; tsEnd: number }) => {
        if (consumer.landed) return () => consumer.landed!(w.tsBase, w.tsEnd);
        const r0 = (await consumer.received()) ?? 0;
        return async () => ((await consumer.received()) ?? 0) - r0;
      };
      const quietMs = consumer.landed ? 5000 : 2500;
      // The warm-up, not measured: the rate for WARMUP_S, or long enough for every device to send once.
      const warm = window(qos, rate, Math.max(WARMUP_S, devices / rate));
      const warmCount = await counter(warm);
      await settle(warmCount, (await o.publish(warm.args)).sent, 2000);
      await sleep(500);
      const w = window(qos, rate, o.seconds);
      const count = await counter(w);
      const cpu0 = o.cpuSeconds(c.pid);
      const received0 = consumer.landed ? await c.received() : 0;
      const res = await o.publish(w.args);
      const s = await settle(count, res.sent, quietMs);
      const cpu = o.cpuSeconds(c.pid) - cpu0;
      const received1 = consumer.landed ? await c.received() : s.n;
      side.sent = res.sent;
      side.landed = s.n;
      side.catchUpS = s.catchUpS;
      side.received = received0 === null || received1 === null ? null : received1 - received0;
      side.cpuUsPerMessage = s.n > 0 ? (cpu * 1e6) / s.n : null;
      side.peakRssMb = vmHwmMb(c.pid);
      side.problems = c.problems?.() ?? [];
      log(
        `  ${name} QoS ${qos} ${rate.toLocaleString('en')} msg/s: ${consumer.landed ? 'landed' : 'received'} ${s.n.toLocaleString('en')} of ${res.sent.toLocaleString('en')} sent` +
          (consumer.landed && side.received !== null ? ` (received ${side.received.toLocaleString('en')})` : '') +
          `, ${side.cpuUsPerMessage?.toFixed(1) ?? '-'} µs/msg, peak RSS ${side.peakRssMb?.toFixed(0) ?? '-'} MB` +
          (side.problems.length ? `; ${side.problems.length} errors/warnings in its log, the first: ${side.problems[0]}` : ''),
      );
    } catch (err) {
      side.error = err instanceof Error ? err.message : String(err);
      if (c) side.peakRssMb = vmHwmMb(c.pid);
      log(`  ${name} QoS ${qos} ${rate.toLocaleString('en')} msg/s: ${side.error}`);
    } finally {
      await c?.stop().catch((err) => log(`  stopping ${name}: ${err instanceof Error ? err.message : err}`));
    }
    return side;
  };
  try {
    await influx.query(`CREATE DATABASE ${PEER_DB}`);
    for (const { qos, rate } of o.rates) {
      log(`QoS ${qos} ${rate.toLocaleString('en')} msg/s, ${o.seconds} s each: the service, Node-RED ${install.nodeRed}, the bare subscriber…`);
      const service = await phase('service', () => startServiceConsumer(e), qos, rate);
      const nodered = await phase('Node-RED', () => startNodeRedConsumer(e, qos), qos, rate);
      const bare = await phase('bare subscriber', () => startBareConsumer(e), qos, rate);
      const packet = await phase('bare mqtt-packet subscriber', () => startBareConsumer(e, 'bench/bare-packet-sub.ts'), qos, rate);
      result.rows.push({ qos, rate, service, nodered, bare, packet, load1: loadavg()[0]! });
    }
  } finally {
    await Promise.all([broker.destroy(), influx.destroy()]);
    removeDir(dir);
  }
  result.loadavgAtEnd = loadavg();
  return result;
}

const num = (x: number | null | undefined, d = 0) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toLocaleString('en', { minimumFractionDigits: d, maximumFractionDigits: d }));

function ofSent(s: SideFigures): string {
  if (s.error) return `failed: ${s.error.slice(0, 80)}`;
  return `${num(s.landed)} / ${num(s.sent)}`;
}

/** The side-by-side table: a row per rate, for each consumer what landed of what was sent, CPU per message landed, peak RSS. */
export function peerTable(r: PeerResult): string {
  const side = (name: string) => [`${name} landed / sent`, 'received', 'caught up s', 'CPU µs/msg', 'peak RSS MB'];
  const head = ['QoS', 'msg/s', ...side('service'), ...side('Node-RED'), 'bare subscriber received / sent', 'CPU µs/msg', 'peak RSS MB', 'mqtt-packet subscriber received / sent', 'CPU µs/msg', 'service ÷ Node-RED CPU'];
  const lines = ['| ' + head.join(' | ') + ' |', '|' + head.map(() => '---').join('|') + '|'];
  for (const x of r.rows) {
    const cells = (s: SideFigures) => [ofSent(s), num(s.received), num(s.catchUpS, 1), num(s.cpuUsPerMessage, 1), num(s.peakRssMb)];
    const ratio = x.service.cpuUsPerMessage !== null && x.nodered.cpuUsPerMessage !== null ? x.service.cpuUsPerMessage / x.nodered.cpuUsPerMessage : null;
    lines.push('| ' + [String(x.qos), num(x.rate), ...cells(x.service), ...cells(x.nodered), ofSent(x.bare), num(x.bare.cpuUsPerMessage, 1), num(x.bare.peakRssMb), ofSent(x.packet), num(x.packet.cpuUsPerMessage, 1), num(ratio, 2)].join(' | ') + ' |');
  }
  return lines.join('\n');
}

/** The table with its heading and what its columns mean. */
export function peerReport(r: PeerResult): string {
  return [
    `Hydrants side by side (${r.devices.toLocaleString('en')} hydrants, ${r.seconds} s per rate; Node-RED ${r.nodeRed} with node-red-contrib-influxdb ${r.influxNodes}; ${r.node}; ${r.cores} cores; load average ${r.loadavgAtStart.map((x) => x.toFixed(2)).join(' ')} at the start, ${r.loadavgAtEnd.map((x) => x.toFixed(2)).join(' ')} at the end):`,
    peerTable(r),
    'Per rate, one after the other on the same Mosquitto (default settings) and InfluxDB, each in a process started for it: the service (npm start, database bench), ' +
      'Node-RED (mqtt in → function → join → influxdb batch, database nodered), the bare subscriber (bench/bare-sub.ts, mqtt.js), the same with mqtt-packet on a plain socket (bench/bare-packet-sub.ts). Landed: readings counted in the consumer\'s own database ' +
      "within the rate's own timestamps; received: the service's estate_mqtt_messages_total, the count in Node-RED's function node, what the bare subscriber counted. " +
      'Caught up: s from the end of the publishing until the last reading landed (when all did). CPU: the process\'s utime+stime from before the publishing until nothing ' +
      'more landed, ÷ what landed (the bare subscriber: ÷ what it received). Peak RSS: VmHWM of the process at the end of its phase. Each phase first warms its consumer ' +
      'up with 2 s of the same load, not counted.',
    ...r.rows.flatMap((x) =>
      (['service', 'nodered', 'bare', 'packet'] as const).flatMap((k) => (x[k].problems.length ? [`note: QoS ${x.qos} ${x.rate.toLocaleString('en')}, ${k}: ${x[k].problems.length} errors or warnings in its log, the first: ${x[k].problems[0]}`] : [])),
    ),
  ].join('\n');
}
