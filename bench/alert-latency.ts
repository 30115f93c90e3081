/**
 * Alert latency under load (the alerts issue): while 10,000 msg/s of normal hydrant telemetry
 * flows, a `trapped` event is published every second for 60 s, each for another elevator, and
 * the time from publish to the webhook's arrival at a local receiver is measured (one clock:
 * this process publishes and receives). Target: p99 ≤ 200 ms (GB 25506 allows 10 s).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { Influxd } from '../test/harness/influxd.ts';
import type { Mosquitto } from '../test/harness/mosquitto.ts';
import { freePort, sleep, waitFor } from '../test/harness/ports.ts';
import { tempDir } from '../test/harness/service.ts';
import { alertReceiver, percentile } from './alert-receiver.ts';
import { npmStart } from './npm-start.ts';

export interface LatencyResult {
  sent: number;
  received: number;
  p50: number;
  p99: number;
  max: number;
  backgroundRate: number;
}

export async function alertLatency(opts: { root: string; influx: Influxd; broker: Mosquitto; nodeArgs: string[]; seconds?: number; backgroundRate?: number; publish: (args: object) => Promise<unknown> }): Promise<LatencyResult> {
  const seconds = opts.seconds ?? 60;
  const rate = opts.backgroundRate ?? 10_000;
  const receiver = await alertReceiver('/market');
  const arrivals = receiver.arrivals;

  const dir = tempDir('estate-bench-alerts-');
  const hydrants = Array.from({ length: 1000 }, (_, i) => `H${String(i).padStart(4, '0')}`);
  const elevators = Array.from({ length: seconds }, (_, i) => `EL${String(i).padStart(3, '0')}`);
  const config = join(dir, 'estate.yaml');
  writeFileSync(
    config,
    `sites:
  - id: bench
    name: 压测小区
    property: { name: 测试物业, channels: [ { type: webhook, url: "${receiver.url}/property" } ] }
    devices:
${hydrants.map((d) => `      - { id: ${d}, kind: hydrant, building: "1栋", intervalSec: 3600 }`).join('\n')}
${elevators.map((d) => `      - { id: ${d}, kind: elevator, building: "2栋", intervalSec: 3600 }`).join('\n')}
departments:
  - { id: market-supervision, name: 区市场监管局, channels: [ { type: webhook, url: "${receiver.url}/market", secret: bench } ] }
`,
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const service = await npmStart({
    root: opts.root,
    nodeArgs: opts.nodeArgs,
    env: { CONFIG: config, DATA_DIR: join(dir, 'data'), MQTT_URL: opts.broker.url, INFLUX_URL: opts.influx.url, INFLUX_DB: 'bench_alerts', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', MQTT_CLIENT_ID: 'estate-bench-alerts' },
  });
  const sent = new Map<string, number>();
  try {
    // Ready (it can serve) and subscribed: readings sent before the subscription would not reach a fresh session.
    await waitFor('the service', async () => {
      const r = await fetch(`${url}/readyz`).catch(() => undefined);
      return r?.status === 200 && ((await r.json()) as { broker?: { connected?: boolean } }).broker?.connected === true;
    }, 60_000, 100);
    const client = await mqtt.connectAsync(opts.broker.url, { clientId: 'bench-events', protocolVersion: 4 });
    const background = opts.publish({ url: opts.broker.url, fleet: { load: 'hydrants', site: 'bench', devices: hydrants.length }, rate, seconds: seconds + 5, qos: 0, connections: 4, tsBase: Date.now() - 60_000, seqBase: 0 });
    await sleep(3000);
    for (const el of elevators) {
      const payload = JSON.stringify({ code: 'trapped', active: true, detail: 'bench' });
      sent.set(el, performance.timeOrigin + performance.now());
      await client.publishAsync(`estate/bench/elevator/${el}/event`, payload, { qos: 1 });
      await sleep(1000);
    }
    await background;
    await waitFor('the last webhooks', () => arrivals.size >= elevators.length, 30_000, 100).catch(() => undefined);
    await client.endAsync();
  } finally {
    await service.stop();
    await receiver.close();
  }
  const latencies = [...sent].filter(([d]) => arrivals.has(d)).map(([d, t]) => arrivals.get(d)! - t).sort((a, b) => a - b);
  return { sent: sent.size, received: latencies.length, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) ?? NaN, backgroundRate: rate };
}
