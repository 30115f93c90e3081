/**
 * HTTP pushes (docs/adapters.md): OneNET data pushes, one data point each, at fixed rates
 * into the whole service started by `npm start` (bench/npm-start.ts), for 10 s each, from a separate process
 * (bench/pusher.ts); for each rate: pushes answered 200 of those sent, the answer's p50 and
 * p99, the service's CPU µs per push (user + system, /proc), and the readings landed in
 * InfluxDB (every push is one reading). Targets: the median answer under 20 ms at 1,000/s,
 * nothing lost (docs/adapters.md).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Influxd } from '../test/harness/influxd.ts';
import type { Mosquitto } from '../test/harness/mosquitto.ts';
import { freePort, sleep, waitFor } from '../test/harness/ports.ts';
import { tempDir } from '../test/harness/service.ts';
import { npmStart } from './npm-start.ts';

export interface PushRow {
  rate: number;
  sent: number;
  ok: number;
  landed: number;
  p50: number;
  p99: number;
  cpuUsPerPush: number;
  sentPerSec: number;
}

export interface PushBenchOptions {
  root: string;
  influx: Influxd;
  broker: Mosquitto;
  /** node flags beyond the start script's (bench/run.ts --node-args) */
  nodeArgs?: readonly string[];
  cpuSeconds: (pid: number) => number;
  rates?: number[];
  seconds?: number;
}

const TOKEN = 'bench-onenet-token';

export async function pushBench(opts: PushBenchOptions): Promise<PushRow[]> {
  const rates = opts.rates ?? [500, 1000, 2000];
  const seconds = opts.seconds ?? 10;
  const dir = tempDir('estate-bench-push-');
  const devices = Array.from({ length: 1000 }, (_, i) => String(592300000 + i));
  const config = join(dir, 'estate.yaml');
  writeFileSync(
    config,
    `adapters:
  - { id: cmcc, type: onenet, token: "${TOKEN}" }
profiles:
  nb-hydrant: { kind: hydrant, metrics: { pressure: { metric: pressure_mpa, scale: 0.001 } } }
sites:
  - id: bench
    name: 压测小区
    property: { name: 测试物业 }
    devices:
${devices.map((d, i) => `      - { id: NB${String(i).padStart(4, '0')}, kind: hydrant, building: "1栋", intervalSec: 3600, source: { adapter: cmcc, id: "${d}" }, profile: nb-hydrant }`).join('\n')}
`,
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const db = 'bench_push';
  const service = await npmStart({
    root: opts.root,
    ...(opts.nodeArgs ? { nodeArgs: opts.nodeArgs } : {}),
    env: { CONFIG: config, DATA_DIR: join(dir, 'data'), MQTT_URL: opts.broker.url, INFLUX_URL: opts.influx.url, INFLUX_DB: db, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', MQTT_CLIENT_ID: 'estate-bench-push' },
  });
  const rows: PushRow[] = [];
  try {
    await waitFor('the service', async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200, 60_000, 100);
    let atBase = Date.now() - 3600_000;
    let landedBefore = 0;
    for (const rate of rates) {
      const cpu0 = opts.cpuSeconds(service.pid);
      const out = await new Promise<{ sent: number; ok: number; p50: number; p99: number; seconds: number }>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', join(opts.root, 'bench/pusher.ts'), JSON.stringify({ url, adapter: 'cmcc', token: TOKEN, devices, rate, seconds, atBase })], { cwd: opts.root, stdio: ['ignore', 'pipe', 'inherit'] });
        let text = '';
        child.stdout.on('data', (d) => (text += d));
        child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(text.trim().split('\n').at(-1)!)) : reject(new Error(`pusher exited ${code}`))));
      });
      atBase += out.sent + 1000;
      const expected = landedBefore + out.ok;
      let landed = 0;
      await waitFor(
        'the pushes in InfluxDB',
        async () => {
          const r = await opts.influx.query('SELECT count(pressure_mpa) FROM hydrant', db);
          landed = Number(r?.results?.[0]?.series?.[0]?.values?.[0]?.[1] ?? 0);
          return landed >= expected;
        },
        30_000,
        250,
      ).catch(() => undefined);
      await sleep(500);
      const cpu = opts.cpuSeconds(service.pid) - cpu0;
      rows.push({ rate, sent: out.sent, ok: out.ok, landed: landed - landedBefore, p50: out.p50, p99: out.p99, cpuUsPerPush: (cpu * 1e6) / Math.max(1, out.sent), sentPerSec: out.sent / out.seconds });
      landedBefore = landed;
    }
  } finally {
    await service.stop();
  }
  return rows;
}
