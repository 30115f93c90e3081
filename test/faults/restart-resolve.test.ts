/**
 * A restart with alerts open, through the whole service (real Mosquitto, InfluxDB, webhook
 * receivers): a hydrant alert firing, a trapping acknowledged, a chlorine alert pending; the
 * service stops and starts again on the same data; then the readings that clear them. Each
 * open alert resolves exactly once, to everyone who was told; the pending one ends without
 * anyone hearing of it; nothing is announced twice (docs/alerts.md, "Restarts").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { parseEstate, type Estate } from '../../config/index.ts';
import { Receiver } from '../../alerts/delivery/testing/receiver.ts';
import { startInfluxd, type Influxd } from '../harness/influxd.ts';
import { startMosquitto, type Mosquitto } from '../harness/mosquitto.ts';
import { removeDir, startService, tempDir, type TestService } from '../harness/service.ts';
import { device } from '../harness/publish.ts';
import { sleep, waitFor } from '../harness/ports.ts';

let influx: Influxd;
let broker: Mosquitto;
let svc: TestService | undefined;
let dev: MqttClient;
let estate: Estate;
const rx = new Receiver();
const dataDir = tempDir('estate-restart-');
const ADMIN = { authorization: 'Bearer demo-admin' };

beforeAll(async () => {
  await rx.listen();
  [influx, broker] = await Promise.all([startInfluxd(), startMosquitto({ durable: true })]);
  estate = parseEstate(
    `
sites:
  - id: garden
    name: 金佛花园
    property: { name: 渝南物业, channels: [ { type: webhook, url: "${rx.url('/property')}" } ] }
    devices:
      - { id: HY-1, kind: hydrant, building: "1栋", intervalSec: 86400 }
      - { id: EL-1, kind: elevator, building: "1栋", intervalSec: 86400 }
      - { id: WS-1, kind: water, building: "泵房", intervalSec: 86400 }
departments:
  - { id: fire-rescue, name: 区消防救援支队, channels: [ { type: webhook, url: "${rx.url('/fire')}" } ] }
  - { id: market-supervision, name: 区市场监管局, channels: [ { type: webhook, url: "${rx.url('/market')}" } ] }
  - { id: health-commission, name: 区卫生健康委, channels: [ { type: webhook, url: "${rx.url('/health')}" } ] }
auth:
  tokens:
    - { name: admin, role: admin, sha256: cce7a2cf1ae045989cfc914fb95a41526f167a838b3c7d33745143614abace7c }
`,
    'restart.yaml',
    {},
  );
  dev = await device(broker.url);
}, 60_000);

afterAll(async () => {
  await dev?.endAsync();
  await svc?.stop();
  await rx.close();
  await Promise.all([broker?.destroy(), influx?.destroy()]);
  removeDir(dataDir);
}, 60_000);

const start = () => startService({ estate, dataDir, env: { MQTT_URL: broker.url, INFLUX_URL: influx.url, INFLUX_DB: `restart_${process.pid}`, MQTT_CLIENT_ID: `restart-${process.pid}` } });
const pub = (topic: string, payload: object) => dev.publishAsync(topic, JSON.stringify(payload), { qos: 1 });
const told = () =>
  rx.received.map((r) => {
    const b = r.json as { event: string; alert: { device: string; rule: string } };
    return `${r.url} ${b.event} ${b.alert.device}/${b.alert.rule}`;
  });
const alerts = async () => ((await (await fetch(`${svc!.url}/api/alerts?state=all&limit=100`, { headers: ADMIN })).json()) as { items: { id: string; device: string; rule: string; state: string }[] }).items;

describe('a restart with open, acknowledged and pending alerts', () => {
  it('resolves each exactly once on its first clearing reading, and announces nothing twice', async () => {
    svc = await start();
    const t = Date.now() - 200_000;
    await pub('estate/garden/hydrant/HY-1/telemetry', { ts: t, metrics: { pressure_mpa: 0.05 } });
    await pub('estate/garden/hydrant/HY-1/telemetry', { ts: t + 61_000, metrics: { pressure_mpa: 0.05 } });
    await pub('estate/garden/elevator/EL-1/event', { code: 'trapped', active: true, detail: '5楼与6楼之间' });
    await pub('estate/garden/water/WS-1/telemetry', { ts: t, metrics: { chlorine_mgl: 0.03 } });
    await waitFor('both firings announced', () => told().length === 4, 15_000);
    const trapped = (await alerts()).find((a) => a.rule === 'trapped')!;
    const ack = await fetch(`${svc.url}/api/alerts/${trapped.id}/ack`, { method: 'POST', headers: { ...ADMIN, 'content-type': 'application/json' }, body: JSON.stringify({ note: '维保已出发' }) });
    expect(ack.status).toBe(200);
    await waitFor('the acknowledgement announced', () => told().length === 6, 15_000);
    expect(told().sort()).toEqual(
      [
        '/fire alert.firing HY-1/pressure_low',
        '/property alert.firing HY-1/pressure_low',
        '/market alert.firing EL-1/trapped',
        '/property alert.firing EL-1/trapped',
        '/market alert.acknowledged EL-1/trapped',
        '/property alert.acknowledged EL-1/trapped',
      ].sort(),
    );

    await svc.stop();
    svc = await start();
    rx.received.length = 0;
    await pub('estate/garden/hydrant/HY-1/telemetry', { ts: t + 120_000, metrics: { pressure_mpa: 0.3 } });
    await pub('estate/garden/elevator/EL-1/event', { code: 'trapped', active: false });
    await pub('estate/garden/water/WS-1/telemetry', { ts: t + 121_000, metrics: { chlorine_mgl: 0.5 } });
    await waitFor('the two ends announced', () => told().length >= 4, 15_000);
    // the same clearing readings again change nothing
    await pub('estate/garden/hydrant/HY-1/telemetry', { ts: t + 122_000, metrics: { pressure_mpa: 0.3 } });
    await pub('estate/garden/elevator/EL-1/event', { code: 'trapped', active: false });
    await sleep(1500);
    expect(told().sort()).toEqual(
      ['/fire alert.resolved HY-1/pressure_low', '/property alert.resolved HY-1/pressure_low', '/market alert.resolved EL-1/trapped', '/property alert.resolved EL-1/trapped'].sort(),
    );
    const after = await alerts();
    expect(after.filter((a) => a.state !== 'resolved')).toEqual([]);
    expect(after.map((a) => `${a.device}/${a.rule}`).sort()).toEqual(['EL-1/trapped', 'HY-1/pressure_low']); // the pending one never was an alert
  }, 90_000);
});
