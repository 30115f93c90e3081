/**
 * What shard 1 pays for the strays (docs/scaling.md): with SHARD_STRAYS=first it subscribes to
 * `estate/#` and receives every other shard's messages too, only to leave them alone. This
 * measures its CPU per such message against the CPU per message it takes in full.
 *
 *   npx tsx test/scale/measure-foreign.ts [--rate 15000] [--seconds 10] [--qos 1] [--devices 1000]
 *
 * Its own Mosquitto (default settings) and InfluxDB; the service as a child process (tsx), the
 * publisher as another (bench/publisher.ts). Two runs of the same traffic to one site of 1,000
 * hydrants: "own", an instance with SHARD unset (it takes everything); "foreign", SHARD=1/2 with
 * the site on shard 2. CPU is user + system from /proc, from the start of publishing until it
 * stops rising, divided by the messages the broker acknowledged.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { shardOf } from '../../ingest/index.ts';
import { startInfluxd } from '../harness/influxd.ts';
import { startMosquitto } from '../harness/mosquitto.ts';
import { removeDir, spawnService, tempDir } from '../harness/service.ts';
import { sleep } from '../harness/ports.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const { values } = parseArgs({ options: { rate: { type: 'string', default: '15000' }, seconds: { type: 'string', default: '10' }, qos: { type: 'string', default: '1' }, devices: { type: 'string', default: '1000' } } });
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const QOS = Number(values.qos) as 0 | 1;
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim() || 100);

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

function publish(args: object): Promise<{ sent: number }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/publisher.ts'), JSON.stringify(args)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? res(JSON.parse(out.trim().split('\n').at(-1)!)) : rej(new Error(`publisher exited ${code}`))));
  });
}

async function main(): Promise<void> {
  const candidates = Array.from({ length: 50 }, (_, i) => `block-${i}`);
  const site = candidates.find((s) => shardOf(s, 2) === 2)!;
  const other = candidates.find((s) => shardOf(s, 2) === 1)!;
  const devices = Array.from({ length: Number(values.devices) }, (_, i) => `H${String(i).padStart(4, '0')}`);
  const dir = tempDir('estate-measure-');
  const config = join(dir, 'estate.yaml');
  writeFileSync(
    config,
    `sites:
  - id: ${site}
    name: 压测小区
    property: { name: 测试物业 }
    devices:
${devices.map((d, i) => `      - { id: ${d}, kind: hydrant, building: "${(i % 30) + 1}栋" }`).join('\n')}
  - id: ${other}
    name: 本分片小区
    property: { name: 测试物业 }
    devices:
      - { id: OWN-1, kind: hydrant, building: "1栋" }
`,
  );
  const [influx, broker] = await Promise.all([startInfluxd(), startMosquitto()]);
  const rows: string[] = [];
  try {
    for (const [name, shard] of [
      ['own (SHARD unset)', undefined],
      ['foreign (SHARD=1/2, site on shard 2)', '1/2'],
    ] as const) {
      const svc = await spawnService({
        CONFIG: config,
        DATA_DIR: join(dir, `data-${shard ? 'shard' : 'all'}`),
        MQTT_URL: broker.url,
        INFLUX_URL: influx.url,
        INFLUX_DB: 'measure',
        MQTT_CLIENT_ID: `estate-measure-${shard ? 'shard' : 'all'}`,
        ...(shard ? { SHARD: shard } : {}),
      });
      const pid = svc.child.pid!;
      await sleep(1000);
      const cpu0 = cpuSeconds(pid);
      const { sent } = await publish({ url: broker.url, site, devices, rate: RATE, seconds: SECONDS, qos: QOS, connections: 4, tsBase: Date.now() - 60_000, seqBase: 0 });
      // Until the service's CPU stops rising: it has taken what the broker had for it.
      let last = cpuSeconds(pid);
      for (;;) {
        await sleep(1000);
        const now = cpuSeconds(pid);
        if (now - last < 0.02) break;
        last = now;
      }
      const cpu = cpuSeconds(pid) - cpu0;
      rows.push(`| ${name} | QoS ${QOS} | ${RATE.toLocaleString('en')} | ${sent.toLocaleString('en')} | ${((cpu / sent) * 1e6).toFixed(1)} |`);
      await svc.kill();
    }
  } finally {
    await Promise.all([broker.destroy(), influx.destroy()]);
    removeDir(dir);
  }
  console.log(`| messages | QoS | msg/s | sent | service CPU µs/msg |\n|---|---|---|---|---|\n${rows.join('\n')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
