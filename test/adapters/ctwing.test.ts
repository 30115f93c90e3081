/**
 * CTWing end to end (docs/adapters.md, "CTWing"): subscription pushes as CTWing sends them
 * (test/adapters/vendor.ts) posted to the real service's secret push URL; what they carry in
 * a real influxd, their alerts at real receivers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, waitFor } from '../harness/ports.ts';
import { sum } from '../harness/prometheus.ts';
import { CTWING_SECRET, alerts, delivered, deviceJson, metricsText, post, rejects, rows, rowsAtLeast, startRig, type Rig } from './rig.ts';
import { ctwingDataReport, ctwingEventReport, ctwingOnlineOffline } from './vendor.ts';

let rig: Rig;
let push: (body: unknown, secret?: string) => Promise<Response>;
const T0 = Date.now() - 20 * 60_000;
const WQ1 = 'a1b2c3d4e5f64a2b8e1d1b2c3d4e5f6a';
const WQ1_IMEI = '869975030000001';
/** HY-C1 is known to the estate file by its IMEI only. */
const HYC1_IMEI = '869975031234567';
const b64 = (...bytes: number[]) => Buffer.from(bytes).toString('base64');

beforeAll(async () => {
  rig = await startRig('ctwing');
  push = (body, secret = CTWING_SECRET) => post(`${rig.url}/ingest/ctwing/ctw/${secret}`, typeof body === 'string' ? body : JSON.stringify(body));
}, 60_000);

afterAll(async () => {
  await rig?.stop();
}, 60_000);

describe('the secret push URL (CTWing signs nothing)', () => {
  it('refuses a wrong secret with 401: nothing stored, nothing in the reject log, counted', async () => {
    const before = sum(await metricsText(rig), 'estate_adapter_auth_failures_total', { adapter: 'ctw' });
    const report = ctwingDataReport(WQ1, WQ1_IMEI, T0 - 60_000, { APPdata: b64(0x01, 0x00, 0x1e, 0x00, 0x41, 0x02, 0xd5, 0x5a) });
    for (const secret of ['ctw-Secret_0123456789abcdeF', 'ctw-Secret_0123456789abcde', 'x'.repeat(40)]) expect((await push(report, secret)).status).toBe(401);
    expect((await post(`${rig.url}/ingest/ctwing/ctw`, JSON.stringify(report))).status).toBe(404);
    await sleep(500);
    expect(await rows(rig, `SELECT * FROM water WHERE device = 'WQ-1'`)).toEqual([]);
    expect((await rejects(rig)).filter((r) => r.topic === 'ctwing/ctw')).toEqual([]);
    expect(sum(await metricsText(rig), 'estate_adapter_auth_failures_total', { adapter: 'ctw' }) - before).toBe(3);
  });
});

describe('dataReport', () => {
  it("APPdata through the profile's codec (water-quality-v1), at the report's timestamp", async () => {
    // 0x001e → 0.30 NTU, 0x0041 → 0.65 mg/L, 0x02d5 → pH 7.25, 0x5a → 90 %
    expect((await push(ctwingDataReport(WQ1, WQ1_IMEI, T0, { APPdata: b64(0x01, 0x00, 0x1e, 0x00, 0x41, 0x02, 0xd5, 0x5a) }))).status).toBe(200);
    expect(await rowsAtLeast(rig, `SELECT turbidity_ntu, chlorine_mgl, ph, battery_pct, site, building FROM water WHERE device = 'WQ-1'`)).toEqual([
      { time: T0, turbidity_ntu: 0.3, chlorine_mgl: 0.65, ph: 7.25, battery_pct: 90, site: 'garden', building: '二次供水泵房' },
    ]);
  });

  it('hydrant-pressure-v1 on a device found by its IMEI: its leak flag raises the critical leak alert at fire rescue', async () => {
    // 0x0050 = 80 kPa, 0x4b = 75 %, flags 0b10: leak
    expect((await push(ctwingDataReport('0000000000000000000000000000cafe', HYC1_IMEI, T0, { APPdata: b64(0x01, 0x00, 0x50, 0x4b, 0x02) }))).status).toBe(200);
    expect(await rowsAtLeast(rig, `SELECT pressure_mpa, battery_pct, leak, tamper FROM hydrant WHERE device = 'HY-C1'`)).toEqual([{ time: T0, pressure_mpa: 0.08, battery_pct: 75, leak: true, tamper: false }]);
    await waitFor('the leak alert at fire rescue', () => delivered(rig, '/fire', 'HY-C1').some((d) => d.alert?.rule === 'leak_metric' && d.alert.severity === 'critical'), 15_000);
  });

  it("the thing model's fields, by the catalog's names on a device without a profile", async () => {
    expect((await push(ctwingDataReport('f00dfeed00000000000000000000000b', '869975030000002', T0, { turbidity_ntu: 0.42, chlorine_mgl: 0.31, ph: 7.4 }))).status).toBe(200);
    expect(await rowsAtLeast(rig, `SELECT turbidity_ntu, chlorine_mgl, ph FROM water WHERE device = 'WQ-2'`)).toEqual([{ time: T0, turbidity_ntu: 0.42, chlorine_mgl: 0.31, ph: 7.4 }]);
  });

  it.each([
    ['too short', b64(0x01, 0x00, 0x1e), 'adapter ctw: water-quality-v1: a frame of 3 bytes, expected 8'],
    ['of another version', b64(0x02, 0x00, 0x1e, 0x00, 0x41, 0x02, 0xd5, 0x5a), 'adapter ctw: water-quality-v1: version 2, expected 1'],
  ])('a frame %s: bad_payload naming the adapter, with the raw body; answered 200, nothing stored', async (_what, appdata, detail) => {
    const at = T0 + (appdata.length === 4 ? 1000 : 2000);
    const body = JSON.stringify(ctwingDataReport(WQ1, WQ1_IMEI, at, { APPdata: appdata }));
    expect((await push(body)).status).toBe(200);
    const rej = await waitFor('the reject', async () => (await rejects(rig)).find((r) => r.topic === 'ctwing/ctw' && r.detail === detail));
    expect(rej).toMatchObject({ reason: 'bad_payload', payload: body });
    expect(await rows(rig, `SELECT * FROM water WHERE device = 'WQ-1' AND time = ${at}ms`)).toEqual([]);
  });

  it('the same body twice (a retry) is taken once', async () => {
    const before = sum(await metricsText(rig), 'estate_records_accepted_total');
    const body = JSON.stringify(ctwingDataReport(WQ1, WQ1_IMEI, T0 + 60_000, { APPdata: b64(0x01, 0x00, 0x1f, 0x00, 0x40, 0x02, 0xd6, 0x5a) }));
    expect((await push(body)).status).toBe(200);
    expect((await push(body)).status).toBe(200);
    const text = await metricsText(rig);
    expect(sum(text, 'estate_records_accepted_total') - before).toBe(1);
    expect(sum(text, 'estate_adapter_pushes_total', { adapter: 'ctw', outcome: 'duplicate' })).toBe(1);
  });
});

describe('deviceOnlineOfflineReport and eventReport', () => {
  it('offline (eventType 0): offline, its alert raised; online (eventType 1): online, the alert resolved', async () => {
    const t = T0 + 5 * 60_000;
    expect((await push(ctwingOnlineOffline(WQ1, WQ1_IMEI, t, false))).status).toBe(200);
    expect((await deviceJson(rig, 'WQ-1')).online).toBe(false);
    const offline = (await alerts(rig, 'active')).find((a) => a.device === 'WQ-1' && a.rule === 'device_silent');
    expect(offline).toMatchObject({ state: 'firing' });
    expect((await push(ctwingOnlineOffline(WQ1, WQ1_IMEI, t + 10_000, true))).status).toBe(200);
    expect((await deviceJson(rig, 'WQ-1')).online).toBe(true);
    await waitFor('the offline alert resolved', async () => (await alerts(rig)).find((a) => a.id === offline!.id)?.state === 'resolved', 10_000);
    expect(await rowsAtLeast(rig, `SELECT online, kind FROM status WHERE device = 'WQ-1'`, 2)).toEqual([
      { time: t, online: false, kind: 'water' },
      { time: t + 10_000, online: true, kind: 'water' },
    ]);
  });

  it('an event by its serviceId, mapped by the profile', async () => {
    expect((await push(ctwingEventReport('0000000000000000000000000000cafe', HYC1_IMEI, T0 + 120_000, 'tamperAlarm', { level: 2 }))).status).toBe(200);
    expect(await rowsAtLeast(rig, `SELECT active, code FROM events WHERE device = 'HY-C1'`)).toEqual([{ time: T0 + 120_000, active: true, code: 'tamper' }]);
    await waitFor('the tamper alert at fire rescue', () => delivered(rig, '/fire', 'HY-C1').some((d) => d.alert?.rule === 'tamper'), 15_000);
  });

  it('an unknown device: unknown_device naming the adapter, with the raw body', async () => {
    const body = JSON.stringify(ctwingOnlineOffline('ffffffffffffffffffffffffffffffff', '869975039999999', T0, true));
    expect((await push(body)).status).toBe(200);
    const rej = await waitFor('the reject', async () => (await rejects(rig)).find((r) => r.topic === 'ctwing/ctw' && r.reason === 'unknown_device'));
    expect(rej.detail).toBe('adapter ctw: no device has source id "ffffffffffffffffffffffffffffffff" (IMEI "869975039999999") on this adapter');
    expect(rej.payload).toBe(body);
  });
});
