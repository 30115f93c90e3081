/**
 * Adapters under SHARD (docs/scaling.md, docs/adapters.md): two instances, SHARD=1/2 and 2/2,
 * on one Mosquitto and one InfluxDB. A platform pushes every device's data to one URL, so a
 * OneNET push reaching shard 1 may carry another shard's device; a vendor gateway's MQTT topic
 * reaches both shards.
 *
 * - a push to shard 1 for a device of shard 2 lands once, taken by shard 2 (forwarded through
 *   the broker), and is answered 200 once the broker has it; one push carrying both shards'
 *   devices lands whole;
 * - a vendor-JSON report on the shared broker is taken by its device's shard only, and neither
 *   instance records a refusal for the other's device;
 * - a report of no known device is refused once, by shard 1 (which takes the strays);
 * - with the broker away, a push carrying another shard's device is answered 503 (the platform
 *   retries) while one of the instance's own devices is still taken; back, the retry lands.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { parseEstate } from '../../config/index.ts';
import { shardOf } from '../../ingest/index.ts';
import { startInfluxd, type Influxd } from '../harness/influxd.ts';
import { startMosquitto, type Mosquitto } from '../harness/mosquitto.ts';
import { startService, type TestService } from '../harness/service.ts';
import { device } from '../harness/publish.ts';
import { waitFor } from '../harness/ports.ts';
import { ONENET_TOKEN, onenetPoint, onenetPush } from '../adapters/vendor.ts';

const ADMIN = { authorization: 'Bearer demo-admin' };
const candidates = Array.from({ length: 40 }, (_, i) => `estate-${String.fromCharCode(97 + (i % 26))}${Math.floor(i / 26) || ''}`);
const [SITE1, SITE2] = [1, 2].map((n) => candidates.find((s) => shardOf(s, 2) === n)!) as [string, string];

const yaml = `
adapters:
  - { id: cmcc, type: onenet, token: "${ONENET_TOKEN}" }
  - { id: gw, type: mqtt-json, topic: "vendor/+id/report" }
profiles:
  nb-hydrant: { kind: hydrant, metrics: { pressure: { metric: pressure_mpa, scale: 0.001 } } }
  gw-hydrant: { kind: hydrant, metrics: { p: pressure_mpa } }
sites:
  - id: ${SITE1}
    name: 一号小区
    property: { name: 一号物业 }
    devices:
      - { id: A-NB, kind: hydrant, building: "1栋", intervalSec: 86400, source: { adapter: cmcc, id: "1001" }, profile: nb-hydrant }
      - { id: A-GW, kind: hydrant, building: "1栋", intervalSec: 86400, source: { adapter: gw, id: "GA" }, profile: gw-hydrant }
  - id: ${SITE2}
    name: 二号小区
    property: { name: 二号物业 }
    devices:
      - { id: B-NB, kind: hydrant, building: "2栋", intervalSec: 86400, source: { adapter: cmcc, id: "2001" }, profile: nb-hydrant }
      - { id: B-GW, kind: hydrant, building: "2栋", intervalSec: 86400, source: { adapter: gw, id: "GB" }, profile: gw-hydrant }
auth:
  tokens:
    - { name: admin, role: admin, sha256: cce7a2cf1ae045989cfc914fb95a41526f167a838b3c7d33745143614abace7c }
`;

let influx: Influxd;
let broker: Mosquitto;
let shards: TestService[] = [];
let gw: MqttClient;
const db = `shards_adapters_${process.pid}`;

beforeAll(async () => {
  [influx, broker] = await Promise.all([startInfluxd(), startMosquitto({ durable: true })]);
  const estate = parseEstate(yaml, 'shards-adapters.yaml', {});
  shards = await Promise.all(
    ['1/2', '2/2'].map((shard, i) =>
      startService({ estate, env: { MQTT_URL: broker.url, INFLUX_URL: influx.url, INFLUX_DB: db, SHARD: shard, MQTT_CLIENT_ID: `estate-shard-adapters-${i + 1}-${process.pid}` } }),
    ),
  );
  gw = await device(broker.url);
}, 90_000);

afterAll(async () => {
  await gw?.endAsync();
  for (const s of shards) await s.stop();
  await Promise.all([broker?.destroy(), influx?.destroy()]);
});

const count = async (device: string): Promise<number> => {
  const r = await influx.query(`SELECT count(pressure_mpa) FROM hydrant WHERE device = '${device}'`, db);
  return Number(r.results?.[0]?.series?.[0]?.values?.[0]?.[1] ?? 0);
};
const rejects = async (svc: TestService) => ((await (await fetch(`${svc.url}/api/ingest/rejects`, { headers: ADMIN })).json()).items as { reason: string; topic: string; detail: string }[]);
const push = (svc: TestService, msg: unknown) => fetch(`${svc.url}/ingest/onenet/cmcc`, { method: 'POST', body: onenetPush(msg), headers: { 'content-type': 'application/json' } });

describe('adapters on two shards', () => {
  it("a push for another shard's device is forwarded to it through the broker and lands once", async () => {
    const [one, two] = shards as [TestService, TestService];
    expect(one.app.shard.own).toEqual([SITE1]);
    expect(two.app.shard.own).toEqual([SITE2]);
    const t0 = Date.now() - 60_000;

    const accepted2 = two.app.pipeline.counters.accepted;
    const r = await push(one, onenetPoint(2001, 'pressure', 310, t0));
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('ok');
    await waitFor("shard 2's device in InfluxDB", async () => (await count('B-NB')) === 1, 15_000, 200);
    expect(two.app.pipeline.counters.accepted).toBe(accepted2 + 1);

    // One push carrying both shards' devices: each part to its owner, the push answered once both have it.
    const both = await push(one, [onenetPoint(1001, 'pressure', 300, t0 + 1000), onenetPoint(2001, 'pressure', 320, t0 + 1000)]);
    expect(both.status).toBe(200);
    await waitFor('both devices in InfluxDB', async () => (await count('A-NB')) === 1 && (await count('B-NB')) === 2, 15_000, 200);

    // Pushed to shard 2 for shard 1's device: the same the other way.
    expect((await push(two, onenetPoint(1001, 'pressure', 305, t0 + 2000))).status).toBe(200);
    await waitFor("shard 1's device from shard 2's push", async () => (await count('A-NB')) === 2, 15_000, 200);

    const metrics = await (await fetch(`${one.url}/metrics`)).text();
    expect(metrics).toMatch(/^estate_adapter_forwarded_messages_total\{adapter="cmcc"\} 2$/m);
    expect(await rejects(one)).toEqual([]);
    expect(await rejects(two)).toEqual([]);
  }, 60_000);

  it("a vendor gateway's report on the shared broker is taken by its device's shard alone; an unknown device refused once", async () => {
    const [one, two] = shards as [TestService, TestService];
    const accepted = [one.app.pipeline.counters.accepted, two.app.pipeline.counters.accepted];
    await gw.publishAsync('vendor/GB/report', JSON.stringify({ p: 0.31 }), { qos: 1 });
    await gw.publishAsync('vendor/GA/report', JSON.stringify({ p: 0.32 }), { qos: 1 });
    await gw.publishAsync('vendor/NOBODY/report', JSON.stringify({ p: 0.33 }), { qos: 1 });
    await waitFor('both gateway devices in InfluxDB', async () => (await count('A-GW')) === 1 && (await count('B-GW')) === 1, 15_000, 200);
    await waitFor('the unknown device refused by shard 1', async () => (await rejects(one)).some((x) => x.reason === 'unknown_device' && x.topic === 'vendor/NOBODY/report'), 10_000);
    expect(one.app.pipeline.counters.accepted).toBe(accepted[0]! + 1);
    expect(two.app.pipeline.counters.accepted).toBe(accepted[1]! + 1);
    expect((await rejects(one)).map((x) => x.topic)).toEqual(['vendor/NOBODY/report']);
    expect(await rejects(two)).toEqual([]);
  }, 60_000);

  it("with the broker away a push for another shard is refused 503, its own devices' still taken; the retry lands once it is back", async () => {
    const [one] = shards as [TestService, TestService];
    const t0 = Date.now() - 30_000;
    await broker.stop();
    await waitFor('shard 1 to see the broker gone', () => !one.app.subscriber.connected, 10_000);
    const foreign = onenetPoint(2001, 'pressure', 330, t0);
    const refused = await push(one, foreign);
    expect(refused.status).toBe(503);
    expect((await refused.json()).error.code).toBe('SPOOL_UNAVAILABLE');
    expect((await push(one, onenetPoint(1001, 'pressure', 340, t0))).status).toBe(200);
    await broker.start();
    await waitFor('shard 1 back on the broker', () => one.app.subscriber.connected, 20_000);
    // The platform's retry of the refused push (same message, a new nonce).
    expect((await push(one, foreign)).status).toBe(200);
    await waitFor('the retried push in InfluxDB', async () => (await count('B-NB')) === 3, 20_000, 200);
    expect(await count('A-NB')).toBe(3);
  }, 60_000);
});
