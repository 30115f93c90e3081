/**
 * OneNET end to end (docs/adapters.md, "OneNET"): pushes built as OneNET builds them
 * (test/adapters/vendor.ts, after its receiver SDK github.com/cm-heclouds/data-push) posted to
 * the real service, which stores in a real influxd and delivers to real webhook receivers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, waitFor } from '../harness/ports.ts';
import { sum } from '../harness/prometheus.ts';
import { ADMIN, alerts, delivered, deviceJson, metricsText, post, rejects, rows, rowsAtLeast, startRig, type Rig } from './rig.ts';
import { ONENET_AES_KEY, ONENET_TOKEN, onenetLogin, onenetNonce, onenetPoint, onenetPush, onenetSignature } from './vendor.ts';

let rig: Rig;
let push: (body: string) => Promise<Response>;
/** Readings a few minutes back, each test on devices and times of its own. */
const T0 = Date.now() - 20 * 60_000;

beforeAll(async () => {
  rig = await startRig('onenet');
  push = (body) => post(`${rig.url}/ingest/onenet/cmcc`, body);
}, 60_000);

afterAll(async () => {
  await rig?.stop();
}, 60_000);

describe("OneNET's URL verification (Util.java checkToken)", () => {
  const verify = (query: string) => fetch(`${rig.url}/ingest/onenet/cmcc?${query}`);

  it('answers 200 with msg itself as the body when the signature is Base64(MD5(token + nonce + msg))', async () => {
    const msg = 'fvkTp2nEjQ';
    const nonce = 'aE3k9Zq1';
    const r = await verify(`msg=${msg}&nonce=${nonce}&signature=${encodeURIComponent(onenetSignature(ONENET_TOKEN, nonce, msg))}`);
    expect(r.status).toBe(200);
    // The body is msg as it is: not JSON-quoted (data_push_demo.js: "需去掉" the quotes some frameworks add).
    expect(await r.text()).toBe(msg);
  });

  it('takes a + of the signature that arrived as a space (the SDK\'s signature.replace(\' \', \'+\'))', async () => {
    const msg = 'plusTest';
    const nonce = ['aaaaaaaa', 'bbbbbbbb', 'cccccccc', 'dddddddd', 'eeeeeeee', 'ffffffff', 'gggggggg', 'hhhhhhhh', 'iiiiiiii', 'jjjjjjjj', 'kkkkkkkk'].find((n) => onenetSignature(ONENET_TOKEN, n, msg).includes('+'))!;
    expect(nonce).toBeDefined();
    // Not percent-encoded: in a query string a raw + is a space.
    const r = await verify(`msg=${msg}&nonce=${nonce}&signature=${onenetSignature(ONENET_TOKEN, nonce, msg)}`);
    expect(r.status).toBe(200);
    expect(await r.text()).toBe(msg);
  });

  it('answers 401 to a wrong signature, another token\'s, or none; 404 to an adapter that does not exist', async () => {
    const msg = 'fvkTp2nEjQ';
    const nonce = 'aE3k9Zq1';
    expect((await verify(`msg=${msg}&nonce=${nonce}&signature=${encodeURIComponent(onenetSignature('another-token', nonce, msg))}`)).status).toBe(401);
    expect((await verify(`msg=${msg}x&nonce=${nonce}&signature=${encodeURIComponent(onenetSignature(ONENET_TOKEN, nonce, msg))}`)).status).toBe(401);
    expect((await verify(`msg=${msg}&nonce=${nonce}`)).status).toBe(401);
    expect((await fetch(`${rig.url}/ingest/onenet/nope?msg=${msg}&nonce=${nonce}&signature=x`)).status).toBe(404);
  });
});

describe('a push that fails authentication', () => {
  it('is 401, stores nothing, leaves nothing in the reject log, and is counted', async () => {
    const before = sum(await metricsText(rig), 'estate_adapter_auth_failures_total', { adapter: 'cmcc' });
    const msg = onenetPoint(592310945, 'pressure', 50, T0 - 60_000);
    // Signed with another token.
    const r1 = await push(onenetPush(msg, { token: 'not-the-token' }));
    expect(r1.status).toBe(401);
    // Signed with the token, then changed on the way (the value 310 became 50).
    const nonce = onenetNonce();
    const text = JSON.stringify(onenetPoint(592310945, 'pressure', 310, T0 - 60_000));
    const r2 = await push(`{"msg":${text.replace('310', '50')},"nonce":"${nonce}","msg_signature":"${onenetSignature(ONENET_TOKEN, nonce, text)}"}`);
    expect(r2.status).toBe(401);
    // Safe mode, the signature over another enc_msg.
    const enc = JSON.parse(onenetPush(msg, { aesKey: ONENET_AES_KEY })) as { enc_msg: string; nonce: string };
    const r3 = await push(JSON.stringify({ enc_msg: enc.enc_msg, nonce: enc.nonce, msg_signature: onenetSignature(ONENET_TOKEN, enc.nonce, `${enc.enc_msg}x`) }));
    expect(r3.status).toBe(401);
    // No signature at all.
    expect((await push(JSON.stringify({ msg, nonce: onenetNonce() }))).status).toBe(401);
    await sleep(500); // the writer flushes every 50 ms: anything taken would be in InfluxDB by now
    expect(await rows(rig, `SELECT * FROM hydrant WHERE device = 'HY-07'`)).toEqual([]);
    expect((await rejects(rig)).filter((r) => r.topic === 'onenet/cmcc')).toEqual([]);
    expect(sum(await metricsText(rig), 'estate_adapter_auth_failures_total', { adapter: 'cmcc' }) - before).toBe(4);
  });
});

describe('data points', () => {
  it("a hydrant's pressure below 0.10 MPa for 60 s of its own timestamps: critical pressure_low to fire rescue; stored with its tags and times", async () => {
    // kPa, as the NB-IoT hydrant reports them (the profile scales by 0.001).
    const points = [
      [T0, 300],
      [T0 + 10_000, 80],
      [T0 + 40_000, 80],
      [T0 + 71_000, 80],
    ] as const;
    for (const [i, [at, kpa]] of points.entries()) {
      const r = await push(onenetPush(onenetPoint(592310945, 'pressure', kpa, at), { signatureField: i % 2 ? 'signature' : 'msg_signature' }));
      expect(r.status).toBe(200);
      // Answered once judged: after 30 s below, nothing has fired yet.
      if (i === 2) expect((await alerts(rig)).filter((a) => a.device === 'HY-07' && a.severity === 'critical')).toEqual([]);
    }
    // Answered once judged: the alert is there when the last push is answered.
    const fired = (await alerts(rig, 'active')).find((a) => a.device === 'HY-07' && a.rule === 'pressure_low');
    expect(fired).toMatchObject({ severity: 'critical', state: 'firing' });
    expect(fired!.departments).toContain('fire-rescue');
    await waitFor('the alert at fire rescue', () => delivered(rig, '/fire', 'HY-07').length > 0, 15_000);
    expect(delivered(rig, '/fire', 'HY-07')[0]).toMatchObject({ event: 'alert.firing', department: { id: 'fire-rescue' }, alert: { rule: 'pressure_low', severity: 'critical' } });
    const stored = await rowsAtLeast(rig, `SELECT pressure_mpa, site, building FROM hydrant WHERE device = 'HY-07'`, 4);
    expect(stored).toEqual(points.map(([at, kpa]) => ({ time: at, pressure_mpa: kpa / 1000, site: 'garden', building: '7栋' })));
  });

  it("safe mode (enc_msg): decrypted with the EncodingAESKey and stored, Studio's thing model too", async () => {
    const r = await push(onenetPush([onenetPoint(592310946, 'pressure', 315, T0), onenetPoint(592310946, 'bat', 88, T0)], { aesKey: ONENET_AES_KEY }));
    expect(r.status).toBe(200);
    const studio = { messageType: 'notify', notifyType: 'property', productId: 'pQ8Ks2', deviceName: '592310946', messageId: '1765', data: { id: '1765', params: { pressure: { value: 318, time: T0 + 60_000 }, bat: { value: 87, time: T0 + 60_000 } } } };
    expect((await push(onenetPush(studio, { aesKey: ONENET_AES_KEY }))).status).toBe(200);
    const stored = await rowsAtLeast(rig, `SELECT pressure_mpa, battery_pct FROM hydrant WHERE device = 'HY-08'`, 2);
    expect(stored).toEqual([
      { time: T0, pressure_mpa: 0.315, battery_pct: 88 },
      { time: T0 + 60_000, pressure_mpa: 0.318, battery_pct: 87 },
    ]);
  });

  it('the same push twice (OneNET retries until it gets a 200) is answered 200 both times and taken once', async () => {
    const text = await metricsText(rig);
    const accepted = sum(text, 'estate_records_accepted_total');
    const duplicates = sum(text, 'estate_adapter_pushes_total', { adapter: 'cmcc', outcome: 'duplicate' });
    const body = onenetPush(onenetPoint(592310947, 'pressure', 305, T0));
    expect((await push(body)).status).toBe(200);
    const again = await push(body);
    expect(again.status).toBe(200);
    const after = await metricsText(rig);
    expect(sum(after, 'estate_adapter_pushes_total', { adapter: 'cmcc', outcome: 'duplicate' }) - duplicates).toBe(1);
    expect(sum(after, 'estate_records_accepted_total') - accepted).toBe(1);
    expect(await rowsAtLeast(rig, `SELECT pressure_mpa FROM hydrant WHERE device = 'HY-09'`)).toEqual([{ time: T0, pressure_mpa: 0.305 }]);
    // A new push with the same content is another push (another nonce): taken.
    expect((await push(onenetPush(onenetPoint(592310947, 'pressure', 305, T0)))).status).toBe(200);
    expect(sum(await metricsText(rig), 'estate_records_accepted_total') - accepted).toBe(2);
  });
});

describe('online and offline', () => {
  it('offline (type 2, status 0) raises the offline alert; a data point brings the device online again and resolves it', async () => {
    const t = T0 + 5 * 60_000;
    expect((await push(onenetPush(onenetLogin(592310946, false, t)))).status).toBe(200);
    expect((await deviceJson(rig, 'HY-08')).online).toBe(false);
    const offline = (await alerts(rig, 'active')).find((a) => a.device === 'HY-08' && a.rule === 'device_silent');
    expect(offline).toMatchObject({ state: 'firing' });
    expect((await push(onenetPush(onenetPoint(592310946, 'pressure', 320, t + 30_000)))).status).toBe(200);
    await waitFor('HY-08 online', async () => (await deviceJson(rig, 'HY-08')).online === true, 10_000);
    await waitFor('its offline alert resolved', async () => (await alerts(rig, 'all')).find((a) => a.id === offline!.id)?.state === 'resolved', 10_000);
    const statuses = await rowsAtLeast(rig, `SELECT online FROM status WHERE device = 'HY-08'`, 2);
    expect(statuses[0]).toEqual({ time: t, online: false });
    expect(statuses.at(-1)).toMatchObject({ online: true });
  });
});

describe('what is refused', () => {
  it('names the adapter and keeps the message as OneNET sent it; what is good in the same push is stored', async () => {
    const msg = [
      onenetPoint(111111111, 'pressure', 300, T0), // no such device on this adapter
      onenetPoint(592310947, 'humidity', 40, T0 + 1000), // a data stream the profile does not map
      onenetPoint(592310947, 'pressure', -50, T0 + 2000), // -0.05 MPa: outside the catalog's range
      onenetPoint(592310947, 'pressure', 290, T0 + 3000),
    ];
    const body = onenetPush(msg);
    expect((await push(body)).status).toBe(200);
    const text = JSON.stringify(msg);
    const mine = await waitFor('three rejects', async () => {
      const r = (await rejects(rig)).filter((x) => x.topic === 'onenet/cmcc');
      return r.length >= 3 ? r : undefined;
    });
    expect(mine.map((r) => [r.reason, r.detail]).sort()).toEqual([
      ['bad_metric', 'adapter cmcc: field humidity of HY-09 is not mapped by its profile'],
      ['bad_metric', expect.stringMatching(/^adapter cmcc: .*pressure_mpa: -0\.05 is outside its physical range/)],
      ['unknown_device', 'adapter cmcc: no device has source id 111111111 on this adapter'],
    ].sort());
    for (const r of mine) expect(r.payload).toBe(text);
    expect(body).toContain(text);
    await rowsAtLeast(rig, `SELECT pressure_mpa FROM hydrant WHERE device = 'HY-09' AND time = ${T0 + 3000}ms`);
  });

  it('a signed push it cannot read is refused with its reason and answered 200 (a retry would not mend it)', async () => {
    const body = onenetPush({ type: 9, dev_id: 592310947, at: T0 });
    const r = await push(body);
    expect(r.status).toBe(200);
    const rej = await waitFor('the reject', async () => (await rejects(rig)).find((x) => x.topic === 'onenet/cmcc' && x.reason === 'bad_payload'));
    expect(rej.detail).toMatch(/^adapter cmcc: a message OneNET does not document/);
    expect(rej.payload).toBe(JSON.stringify({ type: 9, dev_id: 592310947, at: T0 }));
    // An unknown adapter: 404, nothing else.
    expect((await post(`${rig.url}/ingest/onenet/nope`, body)).status).toBe(404);
    expect((await fetch(`${rig.url}/api/ingest/rejects?limit=5`, { headers: ADMIN })).status).toBe(200);
  });
});
