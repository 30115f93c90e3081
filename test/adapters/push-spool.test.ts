/**
 * A push is answered 200 only when what it carried can be kept (docs/adapters.md): with
 * InfluxDB away and the spool at its cap (SPOOL_MAX_BYTES), ingest takes nothing more, as it
 * holds MQTT acknowledgements back, so a push is 503 and the platform sends it again; once the
 * store is back and the spool drained, the same push is taken. Nothing answered 200 is lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/ports.ts';
import { sum } from '../harness/prometheus.ts';
import { CTWING_SECRET, metricsText, post, rowsAtLeast, startRig, type Rig } from './rig.ts';
import { ctwingDataReport } from './vendor.ts';

let rig: Rig;
const T0 = Date.now() - 60 * 60_000;
const WQ1 = 'a1b2c3d4e5f64a2b8e1d1b2c3d4e5f6a';

beforeAll(async () => {
  rig = await startRig('pushspool', { env: { SPOOL_MAX_BYTES: '4096' } });
}, 60_000);

afterAll(async () => {
  await rig?.stop();
}, 60_000);

const report = (i: number) => JSON.stringify(ctwingDataReport(WQ1, '869975030000001', T0 + i * 1000, { turbidity: 0.2 + (i % 10) / 100, chlorine: 0.5, ph: 7.3, battery: 90 }));

describe('the spool at its cap', () => {
  it('a push is 503 (the platform retries) until the store is back; then the retry is taken, and every push answered 200 is stored', async () => {
    await rig.influx.stop();
    const push = (i: number) => post(`${rig.url}/ingest/ctwing/ctw/${CTWING_SECRET}`, report(i));
    const ok: number[] = [];
    let refused: { i: number; r: Response } | undefined;
    for (let i = 0; i < 2000 && !refused; i++) {
      const r = await push(i);
      if (r.status === 200) ok.push(i);
      else refused = { i, r };
    }
    expect(refused, 'a push refused once the spool reached its cap').toBeDefined();
    expect(refused!.r.status).toBe(503);
    expect(((await refused!.r.json()) as { error: { code: string } }).error.code).toBe('SPOOL_UNAVAILABLE');
    expect(ok.length).toBeGreaterThan(5);
    expect(sum(await metricsText(rig), 'estate_adapter_pushes_total', { adapter: 'ctw', outcome: 'failed' })).toBeGreaterThanOrEqual(1);
    // Still refused while the store is away.
    expect((await push(refused!.i)).status).toBe(503);

    await rig.influx.start();
    const retry = await waitFor('the retry taken once the spool drained', async () => {
      const r = await push(refused!.i);
      return r.status === 200 ? r : undefined;
    }, 30_000, 250);
    expect(retry.status).toBe(200);
    const stored = await rowsAtLeast(rig, `SELECT turbidity_ntu FROM water WHERE device = 'WQ-1'`, ok.length + 1, 30_000);
    expect(stored.map((s) => s.time)).toEqual([...ok, refused!.i].map((i) => T0 + i * 1000));
  }, 90_000);
});
