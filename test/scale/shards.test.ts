/**
 * Scale-out by shards (docs/scaling.md): two instances, SHARD=1/2 and SHARD=2/2, on one
 * Mosquitto and one InfluxDB, each with its own DATA_DIR and MQTT client id. Devices in six
 * sites (three per shard) publish readings, some of them low enough to raise an alert.
 *
 * - every reading is stored in InfluxDB and was taken by exactly one instance (the instances'
 *   accepted counts add up to what was published, and each took only its own sites');
 * - every alert is raised once: one `firing` record per site in the alerts measurement, one
 *   webhook delivery per alert to the site's property company;
 * - each instance's API holds only its sites and their alerts;
 * - shard 1 also takes the strays (a site no shard owns is refused as unknown_device there
 *   only) and leaves the other shard's messages alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { MqttClient } from 'mqtt';
import { parseEstate, type Estate } from '../../config/index.ts';
import { shardOf } from '../../ingest/index.ts';
import { startInfluxd, type Influxd } from '../harness/influxd.ts';
import { startMosquitto, type Mosquitto } from '../harness/mosquitto.ts';
import { startService, type TestService } from '../harness/service.ts';
import { device } from '../harness/publish.ts';
import { freePort, waitFor } from '../harness/ports.ts';

const ADMIN = { authorization: 'Bearer demo-admin' };
const READINGS = 20; // normal readings per device
const LOW = [0.08, 0.08, 0.08]; // then these on each site's first hydrant: below 0.10 MPa for 61 s

/** Three sites for each of two shards, by the same hash the service uses. */
const candidates = Array.from({ length: 40 }, (_, i) => `block-${String.fromCharCode(97 + (i % 26))}${Math.floor(i / 26) || ''}`);
const SITES = [1, 2].flatMap((shard) => candidates.filter((s) => shardOf(s, 2) === shard).slice(0, 3));
const devicesOf = (site: string) => [`${site.toUpperCase()}-H1`, `${site.toUpperCase()}-H2`];

let influx: Influxd;
let broker: Mosquitto;
let shards: TestService[] = [];
let dev: MqttClient;
let receiver: Server;
const firing: { path: string; key: string; site: string }[] = [];
const db = `shards_${process.pid}`;

function estate(hookPort: number): Estate {
  const sites = SITES.map(
    (s, i) => `  - id: ${s}
    name: 小区${i + 1}
    property:
      name: 物业${i + 1}
      channels: [{ type: webhook, url: "http://127.0.0.1:${hookPort}/property/${s}" }]
    devices:
${devicesOf(s)
  .map((d, j) => `      - { id: ${d}, kind: hydrant, building: "${j + 1}栋" }`)
  .join('\n')}`,
  );
  return parseEstate(
    `sites:
${sites.join('\n')}
auth:
  tokens:
    - { name: admin, role: admin, sha256: cce7a2cf1ae045989cfc914fb95a41526f167a838b3c7d33745143614abace7c }
`,
    'shards-estate.yaml',
    {},
  );
}

beforeAll(async () => {
  expect(SITES).toHaveLength(6);
  const hookPort = await freePort();
  receiver = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const body = JSON.parse(raw);
      if (body.event === 'alert.firing') firing.push({ path: req.url!, key: body.alert.key, site: body.alert.site });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(hookPort, '127.0.0.1', r));
  [influx, broker] = await Promise.all([startInfluxd(), startMosquitto({ durable: true })]);
  const e = estate(hookPort);
  shards = await Promise.all(
    ['1/2', '2/2'].map((shard, i) =>
      startService({ estate: e, env: { MQTT_URL: broker.url, INFLUX_URL: influx.url, INFLUX_DB: db, SHARD: shard, MQTT_CLIENT_ID: `estate-shard-${i + 1}-${process.pid}` } }),
    ),
  );
  dev = await device(broker.url);
}, 90_000);

afterAll(async () => {
  await dev?.endAsync();
  for (const s of shards) await s.stop();
  await new Promise((r) => receiver?.close(r));
  await Promise.all([broker?.destroy(), influx?.destroy()]);
});

const series = (r: any): any[] => r.results?.[0]?.series ?? [];

describe('two shards on one broker and one InfluxDB', () => {
  it('stores every reading once, raises every alert once, and each instance sees only its sites', async () => {
    const [one, two] = shards as [TestService, TestService];
    expect(one.app.shard.own).toEqual(SITES.slice(0, 3));
    expect(two.app.shard.own).toEqual(SITES.slice(3));

    const t0 = Date.now() - 10 * 60_000;
    let published = 0;
    for (const site of SITES) {
      for (const d of devicesOf(site)) {
        for (let i = 0; i < READINGS; i++) {
          await dev.publishAsync(`estate/${site}/hydrant/${d}/telemetry`, JSON.stringify({ ts: t0 + i * 1000, seq: i + 1, metrics: { pressure_mpa: 0.3 + i / 1000 } }), { qos: 1 });
          published++;
        }
      }
      const [first] = devicesOf(site);
      for (const [i, p] of LOW.entries()) {
        await dev.publishAsync(`estate/${site}/hydrant/${first}/telemetry`, JSON.stringify({ ts: t0 + 60_000 + i * 30_500, seq: READINGS + i + 1, metrics: { pressure_mpa: p } }), { qos: 1 });
        published++;
      }
    }
    // A site that no shard owns: a stray, for shard 1 to refuse.
    await dev.publishAsync('estate/no-such-block/hydrant/X-1/telemetry', JSON.stringify({ metrics: { pressure_mpa: 0.3 } }), { qos: 1 });

    // Every reading in InfluxDB.
    await waitFor('every reading in InfluxDB', async () => {
      const r = await influx.query('SELECT count(pressure_mpa) FROM hydrant', db);
      return series(r)[0]?.values[0][1] === published;
    }, 60_000, 200);
    const perDevice = series(await influx.query('SELECT count(pressure_mpa) FROM hydrant GROUP BY device', db));
    expect(perDevice).toHaveLength(SITES.length * 2);
    for (const s of perDevice) expect(s.values[0][1]).toBe(s.tags.device.endsWith('-H1') ? READINGS + LOW.length : READINGS);

    // …each taken by exactly one instance: its own sites', nothing of the other's.
    const perSite = READINGS * 2 + LOW.length;
    await waitFor('both instances to count their turns', () => one.app.pipeline.counters.accepted + two.app.pipeline.counters.accepted === published, 20_000);
    expect(one.app.pipeline.counters.accepted).toBe(3 * perSite);
    expect(two.app.pipeline.counters.accepted).toBe(3 * perSite);
    expect(two.app.pipeline.counters.messages).toBe(3 * perSite);
    // Shard 1 subscribes to estate/#: it received shard 2's messages and left them alone.
    expect(one.app.subscriber.foreignMessages).toBe(3 * perSite);
    expect(two.app.subscriber.foreignMessages).toBe(0);

    // Every alert once: one delivery per site's property company, one firing record per site.
    await waitFor('an alert from every site', () => new Set(firing.map((f) => f.site)).size === SITES.length, 30_000);
    const recorded = await waitFor('every firing alert recorded in InfluxDB', async () => {
      const s = series(await influx.query(`SELECT alert_id, site FROM alerts WHERE "state" = 'firing'`, db));
      const rows = s[0]?.values ?? [];
      return rows.length >= SITES.length ? rows : undefined;
    }, 30_000, 200);
    expect(recorded).toHaveLength(SITES.length);
    expect(new Set(recorded.map((r: unknown[]) => r[1])).size).toBe(SITES.length);
    expect(new Set(recorded.map((r: unknown[]) => r[2])).size).toBe(SITES.length);
    const keys = firing.map((f) => f.key).sort();
    expect(keys).toEqual(SITES.map((s) => `${s}/${devicesOf(s)[0]}/pressure_low`).sort());
    for (const f of firing) expect(f.path).toBe(`/property/${f.site}`);

    // Each instance's API: its sites, its alerts.
    for (const [svc, own] of [
      [one, SITES.slice(0, 3)],
      [two, SITES.slice(3)],
    ] as const) {
      const sites = await (await fetch(`${svc.url}/api/sites`, { headers: ADMIN })).json();
      expect((sites.items ?? sites).map((s: { id: string }) => s.id).sort()).toEqual([...own].sort());
      const alerts = await (await fetch(`${svc.url}/api/alerts?state=all`, { headers: ADMIN })).json();
      const items = (alerts.items ?? alerts) as { site: string; rule: string }[];
      expect(items.filter((a) => a.rule === 'pressure_low').map((a) => a.site).sort()).toEqual([...own].sort());
      expect(items.every((a) => own.includes(a.site) || a.site === '')).toBe(true);
      // Another shard's device is not there, as one outside a token's scope.
      const elsewhere = SITES.find((s) => !own.includes(s))!;
      expect((await fetch(`${svc.url}/api/devices/${devicesOf(elsewhere)[0]}`, { headers: ADMIN })).status).toBe(404);
    }

    // The stray: refused by shard 1 only, as an unknown device.
    const rejects = async (svc: TestService) => ((await (await fetch(`${svc.url}/api/ingest/rejects`, { headers: ADMIN })).json()).items as { reason: string; topic: string }[]);
    await waitFor('the stray refused by shard 1', async () => (await rejects(one)).some((r) => r.topic === 'estate/no-such-block/hydrant/X-1/telemetry' && r.reason === 'unknown_device'), 10_000);
    expect(await rejects(two)).toEqual([]);
  }, 120_000);
});
