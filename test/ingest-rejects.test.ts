/**
 * One test per reject class of docs/interfaces.md#what-is-refused, through a real Mosquitto into a real
 * InfluxDB: what is refused is listed with its reason, topic and payload; what is good in
 * the same message is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { startInfluxd, type Influxd } from './harness/influxd.ts';
import { startMosquitto, type Mosquitto } from './harness/mosquitto.ts';
import { startService, type TestService } from './harness/service.ts';
import { device } from './harness/publish.ts';
import { waitFor } from './harness/ports.ts';

const ADMIN = { authorization: 'Bearer demo-admin' };
let influx: Influxd;
let broker: Mosquitto;
let svc: TestService;
let dev: MqttClient;
const db = `rejects_${process.pid}`;

beforeAll(async () => {
  [influx, broker] = await Promise.all([startInfluxd(), startMosquitto({ durable: true })]);
  svc = await startService({ env: { MQTT_URL: broker.url, INFLUX_URL: influx.url, INFLUX_DB: db } });
  dev = await device(broker.url);
});

afterAll(async () => {
  await dev?.endAsync();
  await svc?.stop();
  await Promise.all([broker?.destroy(), influx?.destroy()]);
});

interface Item {
  at: string;
  reason: string;
  topic: string;
  detail: string;
  payload: string;
}

async function rejects(): Promise<Item[]> {
  const r = await fetch(`${svc.url}/api/ingest/rejects?limit=1000`, { headers: ADMIN });
  expect(r.status).toBe(200);
  return ((await r.json()) as { items: Item[] }).items;
}

/** Publishes, then waits until a reject for this topic and detail fragment is listed. */
async function expectReject(topic: string, payload: string | Buffer, reason: string, detail: RegExp): Promise<Item> {
  await dev.publishAsync(topic, payload, { qos: 1 });
  return waitFor(`a ${reason} reject for ${topic}`, async () => (await rejects()).find((i) => i.topic === topic && i.reason === reason && detail.test(i.detail)), 10_000);
}

/**
 * The rows of a query once there are any, and once each has its first `complete` columns
 * (time included): InfluxDB 1.x keeps each field of a point apart, and a query during the
 * write can see some of its fields before the others.
 */
async function points(q: string, complete = 1): Promise<unknown[][]> {
  return waitFor(`points for ${q}`, async () => {
    const r = await influx.query(q, db);
    const rows = r.results?.[0]?.series?.[0]?.values as unknown[][] | undefined;
    return rows?.every((row) => row.slice(0, complete).every((v) => v !== null)) ? rows : undefined;
  }, 10_000);
}

describe('reject classes', () => {
  it('bad_topic: a topic that does not parse, an unknown kind or channel', async () => {
    await expectReject('estate/jinfo-garden/hydrant/HY-01', '{}', 'bad_topic', /expected estate/);
    await expectReject('estate/jinfo-garden/hydrant/HY-01/telemetry/extra', '{}', 'bad_topic', /expected estate/);
    await expectReject('estate/Jinfo_Garden/hydrant/HY-01/telemetry', '{}', 'bad_topic', /site "Jinfo_Garden"/);
    await expectReject('estate/jinfo-garden/boiler/HY-01/telemetry', '{}', 'bad_topic', /unknown kind "boiler"/);
    const item = await expectReject('estate/jinfo-garden/hydrant/HY-01/config', '{"x":1}', 'bad_topic', /unknown channel "config"/);
    expect(item.payload).toBe('{"x":1}');
  });

  it('unknown_device: not in the estate file, or registered under another site or kind, and listed as unregistered', async () => {
    await expectReject('estate/jinfo-garden/hydrant/HY-99/telemetry', '{"metrics":{"pressure_mpa":0.3}}', 'unknown_device', /not in the estate file/);
    await expectReject('estate/nancheng-mansion/hydrant/HY-01/telemetry', '{"metrics":{"pressure_mpa":0.3}}', 'unknown_device', /registered as hydrant at site jinfo-garden/);
    await expectReject('estate/jinfo-garden/water/HY-01/telemetry', '{"metrics":{"ph":7}}', 'unknown_device', /registered as hydrant/);
    const r = await fetch(`${svc.url}/api/devices/unregistered`, { headers: ADMIN });
    const body = (await r.json()) as { items: { device: string; site: string; kind: string; messages: number }[] };
    expect(body.items).toEqual(expect.arrayContaining([expect.objectContaining({ device: 'HY-99', site: 'jinfo-garden', kind: 'hydrant' })]));
  });

  it('bad_payload: not JSON, over 16 KiB, wrong shape, an unknown event code', async () => {
    const t = 'estate/jinfo-garden/hydrant/HY-02/telemetry';
    await expectReject(t, 'not json', 'bad_payload', /not JSON/);
    const big = JSON.stringify({ metrics: { pressure_mpa: 0.3 }, pad: 'x'.repeat(17_000) });
    const item = await expectReject(t, big, 'bad_payload', /16 KiB/);
    expect(item.payload.length).toBeLessThanOrEqual(16 * 1024);
    await expectReject(t, '{"metric":{"pressure_mpa":0.3}}', 'bad_payload', /unknown key "metric"/);
    await expectReject(t, '{"metrics":{}}', 'bad_payload', /metrics is empty/);
    await expectReject(t, '[]', 'bad_payload', /empty array/);
    await expectReject(t, '{"seq":-1,"metrics":{"pressure_mpa":0.3}}', 'bad_payload', /seq/);
    await expectReject(t, Buffer.from([0xff, 0xfe, 0x00]), 'bad_payload', /not UTF-8/);
    await expectReject('estate/jinfo-garden/hydrant/HY-02/event', '{"code":"trapped","active":true}', 'bad_payload', /unknown event code "trapped"/);
    await expectReject('estate/jinfo-garden/hydrant/HY-02/status', '{"online":"yes"}', 'bad_payload', /online must be/);
  });

  it('bad_timestamp: more than 5 min ahead or 30 days old, or not a time', async () => {
    const t = 'estate/jinfo-garden/hydrant/HY-03/telemetry';
    await expectReject(t, JSON.stringify({ ts: Date.now() + 10 * 60_000, metrics: { pressure_mpa: 0.3 } }), 'bad_timestamp', /future/);
    await expectReject(t, JSON.stringify({ ts: Date.now() - 31 * 86_400_000, metrics: { pressure_mpa: 0.3 } }), 'bad_timestamp', /30 days old/);
    await expectReject(t, JSON.stringify({ ts: Math.floor(Date.now() / 1000), metrics: { pressure_mpa: 0.3 } }), 'bad_timestamp', /looks like seconds/);
    await expectReject(t, JSON.stringify({ ts: 'yesterday', metrics: { pressure_mpa: 0.3 } }), 'bad_timestamp', /RFC 3339/);
  });

  it('bad_metric: only the bad field is refused; the good fields of the message are stored', async () => {
    const ts = Date.now() - 1000;
    const t = 'estate/jinfo-garden/hydrant/HY-04/telemetry';
    await dev.publishAsync(t, JSON.stringify({ ts, metrics: { pressure_mpa: 0.31, flow_lps: 3, speed_mps: 1, temp_c: 900, leak: 'no', battery_pct: 88 } }), { qos: 1 });
    const rows = await points(`SELECT pressure_mpa, flow_lps, battery_pct, temp_c, leak FROM hydrant WHERE device = 'HY-04'`, 4);
    expect(rows).toEqual([[ts, 0.31, 3, 88, null, null]]);
    const items = await waitFor('three rejects', async () => {
      const found = (await rejects()).filter((i) => i.topic === t && i.reason === 'bad_metric');
      return found.length === 3 ? found : undefined;
    });
    expect(items.map((i) => i.detail.split(':')[0]).sort()).toEqual(['leak', 'speed_mps', 'temp_c']);
    expect(items.find((i) => i.detail.startsWith('temp_c'))!.detail).toMatch(/physical range/);
  });

  it('arrays: each element is judged alone', async () => {
    const now = Date.now();
    const t = 'estate/jinfo-garden/hydrant/HY-05/telemetry';
    await dev.publishAsync(
      t,
      JSON.stringify([
        { ts: now - 3000, seq: 1, metrics: { pressure_mpa: 0.3 } },
        { ts: now + 3_600_000, seq: 2, metrics: { pressure_mpa: 0.3 } },
        'nonsense',
        { ts: now - 1000, seq: 3, metrics: { pressure_mpa: 0.32 } },
      ]),
      { qos: 1 },
    );
    const rows = await waitFor('two points', async () => {
      const r = await points(`SELECT pressure_mpa FROM hydrant WHERE device = 'HY-05'`);
      return r.length === 2 ? r : undefined;
    });
    expect(rows).toEqual([
      [now - 3000, 0.3],
      [now - 1000, 0.32],
    ]);
    const items = await waitFor('two rejects', async () => {
      const found = (await rejects()).filter((i) => i.topic === t);
      return found.length === 2 ? found : undefined;
    });
    expect(items.map((i) => i.reason).sort()).toEqual(['bad_payload', 'bad_timestamp']);
    expect(items.find((i) => i.reason === 'bad_payload')!.detail).toMatch(/^\[2\]/);
  });

  it('counts rejects by reason in /metrics', async () => {
    const text = await (await fetch(`${svc.url}/metrics`)).text();
    for (const reason of ['bad_topic', 'unknown_device', 'bad_payload', 'bad_metric', 'bad_timestamp']) {
      const m = new RegExp(`estate_ingest_rejects_total\\{reason="${reason}"\\} (\\d+)`).exec(text);
      expect(Number(m?.[1])).toBeGreaterThan(0);
    }
  });

  it('events and statuses land in their measurements', async () => {
    const ts = Date.now() - 500;
    await dev.publishAsync('estate/jinfo-garden/elevator/EL-1-A/event', JSON.stringify({ ts, code: 'trapped', active: true, detail: '5楼与6楼之间\n停梯' }), { qos: 1 });
    await dev.publishAsync('estate/jinfo-garden/elevator/EL-1-A/status', JSON.stringify({ ts, online: false }), { qos: 1, retain: true });
    expect(await points(`SELECT active, detail, code, kind FROM events WHERE device = 'EL-1-A'`, 3)).toEqual([[ts, true, '5楼与6楼之间 停梯', 'trapped', 'elevator']]);
    expect(await points(`SELECT online FROM status WHERE device = 'EL-1-A'`)).toEqual([[ts, false]]);
    await waitFor('offline state', () => svc.app.pipeline.devices.get('EL-1-A')?.online === false);
    await dev.publishAsync('estate/jinfo-garden/elevator/EL-1-A/status', '', { qos: 1, retain: true });
  });

  it('answers 401 without a token and 403 to a department token', async () => {
    expect((await fetch(`${svc.url}/api/ingest/rejects`)).status).toBe(401);
    const r = await fetch(`${svc.url}/api/ingest/rejects`, { headers: { authorization: 'Bearer demo-fire' } });
    expect(r.status).toBe(403);
    expect(await r.json()).toEqual({ error: { code: 'FORBIDDEN', message: expect.any(String) } });
  });

  it('scopes rejects to the token\'s sites', async () => {
    const r = await fetch(`${svc.url}/api/ingest/rejects?limit=1000`, { headers: { authorization: 'Bearer demo-ops-nancheng' } });
    const items = ((await r.json()) as { items: Item[] }).items;
    expect(items.length).toBeGreaterThan(0);
    expect(items.every((i) => i.topic.startsWith('estate/nancheng-mansion/'))).toBe(true);
  });
});
