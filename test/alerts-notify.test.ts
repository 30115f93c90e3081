/**
 * Who is told, end to end through the whole service (real Mosquitto, InfluxDB and webhook
 * receivers): a route on severity and a rise re-routed, sensor housekeeping to the
 * maintainer and the property company grouped into one delivery, a compound without a
 * property company heard by its sub-district office, and a site's outage held as one alert
 * that inhibits its devices' own (docs/alerts.md, "Who is told").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { parseEstate } from '../config/index.ts';
import { Receiver, type Received } from '../alerts/delivery/testing/receiver.ts';
import { startInfluxd, type Influxd } from './harness/influxd.ts';
import { startMosquitto, type Mosquitto } from './harness/mosquitto.ts';
import { startService, type TestService } from './harness/service.ts';
import { device } from './harness/publish.ts';
import { waitFor, sleep } from './harness/ports.ts';

let influx: Influxd;
let broker: Mosquitto;
let svc: TestService;
let dev: MqttClient;
const rx = new Receiver();

function estateYaml(url: (path: string) => string): string {
  const hook = (path: string) => `[ { type: webhook, url: "${url(path)}" } ]`;
  return `
sites:
  - id: garden
    name: 金佛花园
    property: { name: 渝南物业, channels: ${hook('/property/garden')} }
    maintainer: { name: 蓝盾维保, channels: ${hook('/maintainer/garden')} }
    devices:
      - { id: HY-1, kind: hydrant, building: "1栋", intervalSec: 86400 }
      - { id: HY-2, kind: hydrant, building: "2栋", intervalSec: 86400 }
      - { id: HY-3, kind: hydrant, building: "3栋", intervalSec: 86400 }
      - { id: EL-1, kind: elevator, building: "1栋", intervalSec: 86400 }
  - id: old-town
    name: 老城小区
    subdistrict: { name: 南城街道办, channels: ${hook('/subdistrict/old-town')} }
    devices:
      - { id: HY-9, kind: hydrant, building: "9栋", intervalSec: 86400 }
  - id: dark
    name: 停电小区
    property: { name: 暗区物业, channels: ${hook('/property/dark')} }
    maintainer: { name: 暗区维保, channels: ${hook('/maintainer/dark')} }
    devices:
      - { id: DK-1, kind: hydrant, building: "1栋", intervalSec: 86400 }
      - { id: DK-2, kind: hydrant, building: "2栋", intervalSec: 86400 }
      - { id: DK-3, kind: elevator, building: "3栋", intervalSec: 86400 }
      - { id: DK-4, kind: elevator, building: "4栋", intervalSec: 86400 }
departments:
  - { id: fire-rescue, name: 区消防救援支队, channels: ${hook('/fire')} }
  - { id: market-supervision, name: 区市场监管局, channels: ${hook('/market')} }
  - { id: police, name: 区公安局, channels: ${hook('/police')} }
  - { id: housing, name: 区住房城乡建委, channels: ${hook('/housing')} }
routes:
  - { match: { kind: hydrant, severity: critical }, departments: [police], continue: true }
alerting:
  group: { waitSec: 2 }
  siteOutage: { windowSec: 30 }
auth:
  tokens:
    - { name: admin, role: admin, sha256: cce7a2cf1ae045989cfc914fb95a41526f167a838b3c7d33745143614abace7c }
`;
}

beforeAll(async () => {
  await rx.listen();
  [influx, broker] = await Promise.all([startInfluxd(), startMosquitto({ durable: true })]);
  const estate = parseEstate(estateYaml((p) => rx.url(p)), 'notify-test.yaml', {});
  svc = await startService({ estate, env: { MQTT_URL: broker.url, INFLUX_URL: influx.url, INFLUX_DB: `notify_${process.pid}` } });
  dev = await device(broker.url);
}, 60_000);

afterAll(async () => {
  await dev?.endAsync();
  await svc?.stop();
  await rx.close();
  await Promise.all([broker?.destroy(), influx?.destroy()]);
}, 60_000);

type Body = { event: string; department: { id: string; name: string }; alert?: { device: string; rule: string; severity: string; state: string; devices?: string[] }; group?: { rule: string; count: number; event: string; site: string }; alerts?: { device: string }[] };
const body = (r: Received) => r.json as Body;
const at = (path: string, pick: (b: Body) => boolean = () => true) => rx.received.filter((r) => r.url === path && pick(body(r))).map(body);
const about = (device: string) => (b: Body) => b.alert?.device === device || (b.alerts ?? []).some((a) => a.device === device);
const pub = (topic: string, payload: object, retain = false) => dev.publishAsync(topic, JSON.stringify(payload), { qos: 1, retain });

describe('routes, judged with the severity of each announcement', () => {
  it('a warning goes where warnings go; its rise to critical also reaches the route that takes only critical hydrants', async () => {
    const t = Date.now() - 400_000;
    for (const [dt, p] of [[0, 0.12], [301_000, 0.12]] as const) await pub('estate/garden/hydrant/HY-1/telemetry', { ts: t + dt, metrics: { pressure_mpa: p } });
    await waitFor('the warning', () => at('/fire', about('HY-1')).length === 1, 15_000);
    await sleep(300);
    expect(at('/police', about('HY-1'))).toEqual([]);
    expect(at('/property/garden', about('HY-1')).map((b) => `${b.event} ${b.alert!.severity}`)).toEqual(['alert.firing warning']);
    for (const [dt, p] of [[302_000, 0.05], [363_000, 0.05]] as const) await pub('estate/garden/hydrant/HY-1/telemetry', { ts: t + dt, metrics: { pressure_mpa: p } });
    await waitFor('the rise at the police', () => at('/police', about('HY-1')).length === 1, 15_000);
    expect(at('/police', about('HY-1'))[0]).toMatchObject({ event: 'alert.firing', department: { id: 'police' }, alert: { rule: 'pressure_low', severity: 'critical' } });
    expect(at('/fire', about('HY-1')).map((b) => `${b.event} ${b.alert!.severity}`)).toEqual(['alert.firing warning', 'alert.firing critical']);
    // Back to normal: everyone who was told hears the end, the police included.
    await pub('estate/garden/hydrant/HY-1/telemetry', { ts: t + 364_000, metrics: { pressure_mpa: 0.3 } });
    await waitFor('the end at the police', () => at('/police', about('HY-1')).length === 2, 15_000);
    expect(at('/police', about('HY-1'))[1]).toMatchObject({ event: 'alert.resolved' });
  }, 60_000);
});

describe('sensor housekeeping', () => {
  it('low batteries of one site go to the maintainer and the property company as one alert.group each, and never to a department', async () => {
    for (const d of ['HY-2', 'HY-3', 'EL-1']) {
      const kind = d.startsWith('EL') ? 'elevator' : 'hydrant';
      await pub(`estate/garden/${kind}/${d}/telemetry`, { metrics: { battery_pct: 15 } });
    }
    await waitFor('one group at the maintainer', () => at('/maintainer/garden', (b) => b.event === 'alert.group').length === 1, 15_000);
    await waitFor('one group at the property company', () => at('/property/garden', (b) => b.event === 'alert.group').length === 1, 15_000);
    await sleep(2500);
    const group = at('/maintainer/garden', (b) => b.event === 'alert.group');
    expect(group).toHaveLength(1);
    expect(group[0]).toMatchObject({ department: { id: 'maintainer', name: '蓝盾维保' }, group: { site: 'garden', rule: 'battery_low', count: 3, event: 'alert.firing' } });
    expect(group[0]!.alerts!.map((a) => a.device).sort()).toEqual(['EL-1', 'HY-2', 'HY-3']);
    expect(at('/maintainer/garden', (b) => b.event !== 'alert.group' && b.alert?.rule === 'battery_low')).toEqual([]);
    for (const d of ['/fire', '/market', '/police', '/housing']) expect(at(d, (b) => b.alert?.rule === 'battery_low' || b.group?.rule === 'battery_low')).toEqual([]);
  }, 60_000);
});

describe('a compound without a property company', () => {
  it('is heard by its sub-district office in the property company\'s place', async () => {
    await pub('estate/old-town/hydrant/HY-9/telemetry', { metrics: { tamper: true } });
    await waitFor('the sub-district office told', () => at('/subdistrict/old-town', about('HY-9')).length === 1, 15_000);
    expect(at('/subdistrict/old-town', about('HY-9'))[0]).toMatchObject({ event: 'alert.firing', department: { id: 'subdistrict', name: '南城街道办' }, alert: { rule: 'tamper_metric' } });
    expect(at('/fire', about('HY-9'))).toHaveLength(1);
  }, 60_000);
});

describe("a site's outage", () => {
  it('its devices going dark together (last wills) make one site_offline alert to the property company, the maintainer and the departments whose equipment went dark; their own alerts are held back; one resolve when they are back', async () => {
    for (const d of ['DK-1', 'DK-2', 'DK-3', 'DK-4']) {
      const kind = d === 'DK-1' || d === 'DK-2' ? 'hydrant' : 'elevator';
      await pub(`estate/dark/${kind}/${d}/status`, { online: false }, true);
    }
    await waitFor('site_offline at the property company', () => at('/property/dark', (b) => b.alert?.rule === 'site_offline').length === 1, 15_000);
    await sleep(3000); // the group wait and more: anything held back would have gone by now
    const property = at('/property/dark');
    expect(property.map((b) => `${b.event} ${b.alert?.rule ?? b.group?.rule}`)).toEqual(['alert.firing site_offline']);
    expect(property[0]!.alert!.devices).toEqual(expect.arrayContaining(['DK-1', 'DK-2', 'DK-3']));
    expect(at('/maintainer/dark').map((b) => `${b.event} ${b.alert?.rule ?? b.group?.rule}`)).toEqual(['alert.firing site_offline']);
    expect(at('/fire', (b) => b.alert?.rule === 'site_offline')).toHaveLength(1);
    expect(at('/market', (b) => b.alert?.rule === 'site_offline')).toHaveLength(1);
    for (const path of ['/fire', '/market', '/police', '/housing']) expect(at(path, (b) => b.alert?.rule === 'device_silent' || b.group?.rule === 'device_silent')).toEqual([]);
    // The devices' own alerts are recorded, held back by the outage.
    const res = await fetch(`${svc.url}/api/alerts?state=active&site=dark&limit=100`, { headers: { authorization: 'Bearer demo-admin' } });
    const items = ((await res.json()) as { items: { rule: string; device: string }[] }).items;
    expect(items.filter((a) => a.rule === 'device_silent').map((a) => a.device).sort()).toEqual(['DK-1', 'DK-2', 'DK-3', 'DK-4']);
    // Power back: telemetry from each (no {"online": true}) brings it online.
    for (const d of ['DK-1', 'DK-2', 'DK-3', 'DK-4']) {
      const kind = d === 'DK-1' || d === 'DK-2' ? 'hydrant' : 'elevator';
      await pub(`estate/dark/${kind}/${d}/telemetry`, { metrics: { battery_pct: 90 } });
    }
    await waitFor('one resolve at the property company', () => at('/property/dark', (b) => b.event === 'alert.resolved').length === 1, 15_000);
    await sleep(3000);
    expect(at('/property/dark').map((b) => `${b.event} ${b.alert?.rule ?? b.group?.rule}`)).toEqual(['alert.firing site_offline', 'alert.resolved site_offline']);
    const after = await fetch(`${svc.url}/api/alerts?state=active&site=dark&limit=100`, { headers: { authorization: 'Bearer demo-admin' } });
    expect(((await after.json()) as { items: unknown[] }).items).toEqual([]);
  }, 90_000);
});
