/**
 * A push answered in milliseconds (docs/adapters.md, "Answer fast": CTWing stops pushing for a
 * minute to a receiver that is slow or fails 10 % of its pushes in 10 s): 1,000 pushes/s for
 * 10 s, half OneNET data points (signed), half CTWing reports (a binary frame through a codec),
 * from a pusher in a process of its own over keep-alive connections, to the whole service (in
 * a process of its own, as `npm start` runs it) with Mosquitto and influxd. Each answer means
 * the push is in the spool and judged; the median answer stays under 20 ms and every reading
 * is in InfluxDB.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/ports.ts';
import { sum } from '../harness/prometheus.ts';
import { metricsText, rows } from './rig.ts';
import { MEDIAN_MS, RATE, SECONDS, bodies, runPusher, startLoadRig, type LoadRig } from './load.ts';

let rig: LoadRig;
let dir: string;

beforeAll(async () => {
  rig = await startLoadRig('pushlatency');
  dir = mkdtempSync(join(tmpdir(), 'estate-pusher-'));
}, 90_000);

afterAll(async () => {
  await rig?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe(`pushes at ${RATE}/s for ${SECONDS} s`, () => {
  it(`are answered with a median under ${MEDIAN_MS} ms, and every reading is in InfluxDB`, async () => {
    const base = Date.now() - 3 * 3600_000;
    // Warm-up (JIT, connections, the store's first writes): 1,000 pushes at 500/s, stored too.
    const warm = join(dir, 'warm.jsonl');
    writeFileSync(warm, bodies(0, 1000, base));
    const w = await runPusher(rig.url, warm, 500);
    expect(w.statuses, JSON.stringify(w)).toEqual({ 200: 1000 });

    const main = join(dir, 'main.jsonl');
    const n = RATE * SECONDS;
    writeFileSync(main, bodies(1000, n, base));
    const cpu0 = sum(await metricsText(rig), 'process_cpu_seconds_total');
    const t0 = performance.now();
    const r = await runPusher(rig.url, main, RATE);
    const serviceCpu = Math.round(((sum(await metricsText(rig), 'process_cpu_seconds_total') - cpu0) / ((performance.now() - t0) / 1000)) * 100);
    process.stdout.write(
      `push latency at ${RATE}/s for ${SECONDS} s (half OneNET, half CTWing): p50 ${r.p50} ms, p90 ${r.p90} ms, p99 ${r.p99} ms, max ${r.max} ms, over ${r.seconds} s, ${r.queued} waited for one of 256 connections; ` +
        `CPU: the service ${serviceCpu} %, the pusher ${r.cpu.pusher} % of one core (warm-up at 500/s: p50 ${w.p50} ms, p99 ${w.p99} ms)\n`,
    );
    expect(r.statuses).toEqual({ 200: n });
    // Sent at the rate: the last push left within a second of its time.
    expect(r.seconds).toBeLessThan(SECONDS + 1);
    expect(r.p50).toBeLessThan(MEDIAN_MS);

    // Lossless: every reading answered 200 is in InfluxDB, the warm-up's too.
    const total = 1000 + n;
    const count = async (q: string) => Number((await rows(rig, q))[0]?.count ?? 0);
    await waitFor('every reading in InfluxDB', async () => (await count(`SELECT count(pressure_mpa) FROM hydrant`)) + (await count(`SELECT count(turbidity_ntu) FROM water`)) >= total, 30_000, 250);
    expect(await count(`SELECT count(pressure_mpa) FROM hydrant`)).toBe(total / 2);
    expect(await count(`SELECT count(turbidity_ntu) FROM water`)).toBe(total / 2);
  }, 120_000);
});
