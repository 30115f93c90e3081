/**
 * The load of push-latency.test.ts: an estate of NB-IoT hydrants on OneNET and water analysers
 * on CTWing, pushes as those platforms send them (vendor.ts), and the pusher (pusher.ts) in a
 * process of its own; the service in a process of its own too, started as `npm start` starts it
 * (`node --max-semi-space-size=8`), so that neither the test runner's work nor its heap are the
 * service's.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startInfluxd, type Influxd } from '../harness/influxd.ts';
import { startMosquitto, type Mosquitto } from '../harness/mosquitto.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { ROOT, removeDir, tempDir } from '../harness/service.ts';
import { CTWING_SECRET } from './rig.ts';
import { ONENET_TOKEN, ctwingDataReport, onenetPoint, onenetPush } from './vendor.ts';

export const DEVICES = 100;
export const RATE = 1000;
export const SECONDS = 10;
export const MEDIAN_MS = 20;

export function estateYaml(): string {
  const devices: string[] = [];
  for (let i = 0; i < DEVICES; i++) {
    devices.push(`      - { id: NB-HY-${i}, kind: hydrant, building: "${(i % 20) + 1}栋", intervalSec: 86400, source: { adapter: cmcc, id: "${7_000_000 + i}" }, profile: nb-hydrant-x }`);
    devices.push(`      - { id: NB-WQ-${i}, kind: water, building: "泵房", intervalSec: 86400, source: { adapter: ctw, id: "wq${String(i).padStart(30, '0')}" }, profile: water-analyser }`);
  }
  return `
adapters:
  - { id: cmcc, type: onenet, token: "${ONENET_TOKEN}" }
  - { id: ctw, type: ctwing, secret: "${CTWING_SECRET}" }
profiles:
  nb-hydrant-x:
    kind: hydrant
    metrics: { pressure: { metric: pressure_mpa, scale: 0.001 }, bat: battery_pct }
  water-analyser:
    kind: water
    codec: water-quality-v1
    metrics: { turbidity: turbidity_ntu, chlorine: chlorine_mgl, ph: ph, battery: battery_pct }
sites:
  - id: load
    name: 压测小区
    property: { name: 测试物业 }
    devices:
${devices.join('\n')}
auth:
  tokens:
    - { name: admin, role: admin, sha256: cce7a2cf1ae045989cfc914fb95a41526f167a838b3c7d33745143614abace7c }
`;
}

/** `n` pushes from push number `from` on: even ones OneNET, odd ones CTWing, each reading at a time of its own. */
export function bodies(from: number, n: number, base: number): string {
  const lines: string[] = [];
  for (let i = from; i < from + n; i++) {
    const j = Math.floor(i / 2);
    const device = j % DEVICES;
    const at = base + j;
    if (i % 2 === 0) {
      lines.push(JSON.stringify({ path: '/ingest/onenet/cmcc', body: onenetPush(onenetPoint(7_000_000 + device, 'pressure', 300 + (j % 50), at)) }));
    } else {
      const frame = Buffer.from([0x01, 0x00, 20 + (j % 10), 0x00, 0x41, 0x02, 0xd5, 0x5a]).toString('base64');
      lines.push(JSON.stringify({ path: `/ingest/ctwing/ctw/${CTWING_SECRET}`, body: JSON.stringify(ctwingDataReport(`wq${String(device).padStart(30, '0')}`, `86997503${String(device).padStart(7, '0')}`, at, { APPdata: frame })) }));
    }
  }
  return lines.join('\n');
}

export interface PushRun {
  due: number;
  sent: number;
  answered: number;
  statuses: Record<string, number>;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** pushes that waited for a connection (maxInFlight answers outstanding) */
  queued: number;
  seconds: number;
  /** CPU over the run, % of one core: the pusher's, and this process's (the service's, when it runs in-process) */
  cpu: { pusher: number; here: number };
}

export function runPusher(url: string, file: string, rate: number): Promise<PushRun> {
  return new Promise((resolve, reject) => {
    let cpu0 = process.cpuUsage();
    let t0 = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/adapters/pusher.ts'), JSON.stringify({ bodies: file, base: url, rate, maxInFlight: 256, drainMs: 15_000 })], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      if (out === '' && d.toString().startsWith('start')) {
        cpu0 = process.cpuUsage();
        t0 = performance.now();
      }
      out += d;
    });
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const used = process.cpuUsage(cpu0);
      const wall = (performance.now() - t0) * 1000;
      if (code !== 0) return reject(new Error(`pusher exited ${code}: ${err}`));
      const r = JSON.parse(out.trim().split('\n').at(-1)!) as Omit<PushRun, 'cpu'> & { cpu: number };
      resolve({ ...r, cpu: { pusher: r.cpu, here: Math.round(((used.user + used.system) / wall) * 100) } });
    });
  });
}

export interface LoadRig {
  url: string;
  influx: Influxd;
  broker: Mosquitto;
  db: string;
  /** the service's output, for a failure's message */
  output(): string;
  stop(): Promise<void>;
}

/** influxd, Mosquitto and the service (main.ts) in a child process, on 127.0.0.1. */
export async function startLoadRig(name: string): Promise<LoadRig> {
  const dir = tempDir('estate-load-');
  const config = join(dir, 'estate.yaml');
  writeFileSync(config, estateYaml());
  const started = await Promise.allSettled([startInfluxd(), startMosquitto({ durable: true })]);
  const failed = started.find((p) => p.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((p) => (p.status === 'fulfilled' ? p.value.destroy() : undefined)));
    removeDir(dir);
    throw (failed as PromiseRejectedResult).reason;
  }
  const [influx, broker] = started.map((p) => (p as PromiseFulfilledResult<unknown>).value) as [Influxd, Mosquitto];
  const port = await freePort();
  const db = `${name}_${process.pid}`;
  const child = spawn(process.execPath, ['--max-semi-space-size=8', '--import', 'tsx', join(ROOT, 'main.ts')], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: String(port), CONFIG: config, DATA_DIR: join(dir, 'data'), MQTT_URL: broker.url, INFLUX_URL: influx.url, INFLUX_DB: db, MQTT_CLIENT_ID: `estate-load-${process.pid}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out = (out + d).slice(-20_000)));
  child.stderr.on('data', (d) => (out = (out + d).slice(-20_000)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
      });
    }
    await Promise.all([broker.destroy(), influx.destroy()]);
    removeDir(dir);
  };
  try {
    await waitFor(`the service on ${url}`, async () => {
      if (child.exitCode !== null) throw new Error(`the service exited ${child.exitCode}: ${out}`);
      const r = await fetch(`${url}/readyz`).catch(() => undefined);
      return r?.status === 200 && ((await r.json()) as { broker: { connected: boolean } }).broker.connected;
    }, 60_000, 100);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, influx, broker, db, output: () => out, stop };
}
