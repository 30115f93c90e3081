/**
 * A compound losing power (its 20 devices' last wills) and one losing its uplink (its devices
 * fall silent together), through the whole service with real Mosquitto, InfluxDB and webhook
 * receivers, on a clock compressed 120 times (an hour in 30 s): each recipient hears once that
 * the site went dark, and within the hour at most a handful of messages; nobody hears of the
 * twenty devices one by one; the end is announced once (docs/alerts.md, "Outages").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { parseEstate, type Kind } from '../../config/index.ts';
import { Receiver } from '../../alerts/delivery/testing/receiver.ts';
import { startInfluxd, type Influxd } from '../harness/influxd.ts';
import { startMosquitto, type Mosquitto } from '../harness/mosquitto.ts';
import { startService, type TestService } from '../harness/service.ts';
import { sleep, waitFor } from '../harness/ports.ts';

/** 20 devices as in the issue's compound: fire rescue has 10 (hydrants, lanes), market supervision 6, the water authority 4. */
const DEVICES: { id: string; kind: Kind }[] = [
  ...Array.from({ length: 8 }, (_, i) => ({ id: `HY-${i}`, kind: 'hydrant' as const })),
  ...Array.from({ length: 2 }, (_, i) => ({ id: `FL-${i}`, kind: 'firelane' as const })),
  ...Array.from({ length: 6 }, (_, i) => ({ id: `EL-${i}`, kind: 'elevator' as const })),
  ...Array.from({ length: 4 }, (_, i) => ({ id: `WS-${i}`, kind: 'water' as const })),
];
const METRICS: Record<Kind, Record<string, number | boolean>> = {
  hydrant: { pressure_mpa: 0.3 },
  firelane: { occupied: false },
  elevator: { floor: 1, running: false, door_open: false, passengers_present: false },
  water: { chlorine_mgl: 0.5, turbidity_ntu: 0.2, tank_level_pct: 60 },
};
const RECIPIENTS = ['/property', '/maintainer', '/fire', '/market', '/water', '/health', '/housing'];

function yaml(site: string, url: (p: string) => string): string {
  const hook = (p: string) => `[ { type: webhook, url: "${url(p)}" } ]`;
  return `
sites:
  - id: ${site}
    name: 停电小区
    property: { name: 渝南物业, channels: ${hook('/property')} }
    maintainer: { name: 蓝盾维保, channels: ${hook('/maintainer')} }
    devices:
${DEVICES.map((d) => `      - { id: ${d.id}, kind: ${d.kind}, building: "1栋", intervalSec: 1 }`).join('\n')}
departments:
  - { id: fire-rescue, name: 区消防救援支队, channels: ${hook('/fire')} }
  - { id: market-supervision, name: 区市场监管局, channels: ${hook('/market')} }
  - { id: water-authority, name: 区水利局, channels: ${hook('/water')} }
  - { id: health-commission, name: 区卫生健康委, channels: ${hook('/health')} }
  - { id: housing, name: 区住房城乡建委, channels: ${hook('/housing')} }
alerting:
  # an hour in 30 s: reminders every 15 min, escalation after 5 min (critical) and 30 min (warning)
  reminderEveryMin: 0.125
  escalateAfterMin: { critical: 0.05, warning: 0.25, trapped: 0.05 }
  group: { waitSec: 0.25 }
  siteOutage: { windowSec: 2 }
auth:
  tokens:
    - { name: admin, role: admin, sha256: cce7a2cf1ae045989cfc914fb95a41526f167a838b3c7d33745143614abace7c }
`;
}

interface Compound {
  site: string;
  rx: Receiver;
  svc: TestService;
  clients: MqttClient[];
  publishing: NodeJS.Timeout | undefined;
}

let influx: Influxd;
let broker: Mosquitto;
const compounds: Compound[] = [];

async function compound(site: string): Promise<Compound> {
  const rx = new Receiver();
  await rx.listen();
  const estate = parseEstate(yaml(site, (p) => rx.url(p)), `${site}.yaml`, {});
  const svc = await startService({ estate, env: { MQTT_URL: broker.url, INFLUX_URL: influx.url, INFLUX_DB: `outage_${site.replace(/-/g, '_')}_${process.pid}`, MQTT_CLIENT_ID: `svc-${site}-${process.pid}` } });
  const clients = await Promise.all(
    DEVICES.map((d) =>
      mqtt.connectAsync(broker.url, {
        clientId: `${site}-${d.id}-${process.pid}`,
        protocolVersion: 4,
        reconnectPeriod: 0,
        will: { topic: `estate/${site}/${d.kind}/${d.id}/status`, payload: Buffer.from('{"online":false}'), qos: 1, retain: true },
      }),
    ),
  );
  const c: Compound = { site, rx, svc, clients, publishing: undefined };
  compounds.push(c);
  return c;
}

/** Every device reports once a second, all at the same moment. */
function report(c: Compound): void {
  const once = () => DEVICES.forEach((d, i) => void c.clients[i]!.publishAsync(`estate/${c.site}/${d.kind}/${d.id}/telemetry`, JSON.stringify({ metrics: METRICS[d.kind] }), { qos: 1 }).catch(() => undefined));
  once();
  c.publishing = setInterval(once, 1000);
}

function counts(c: Compound): Record<string, number> {
  return Object.fromEntries(RECIPIENTS.map((p) => [p, c.rx.received.filter((r) => r.url === p).length]));
}

function events(c: Compound, path: string): string[] {
  return c.rx.received
    .filter((r) => r.url === path)
    .map((r) => {
      const b = r.json as { event: string; alert?: { rule: string }; group?: { rule: string } };
      return `${b.event} ${b.alert?.rule ?? b.group?.rule}`;
    });
}

beforeAll(async () => {
  [influx, broker] = await Promise.all([startInfluxd(), startMosquitto({ durable: true })]);
}, 60_000);

afterAll(async () => {
  for (const c of compounds) {
    clearInterval(c.publishing);
    await Promise.all(c.clients.map((x) => x.endAsync(true).catch(() => undefined)));
    await c.svc.stop();
    await c.rx.close();
  }
  await Promise.all([broker?.destroy(), influx?.destroy()]);
}, 60_000);

describe('a compound going dark', () => {
  it('power lost (20 last wills): one notification per recipient, at most a handful within the hour, nothing to housing, one end', async () => {
    const c = await compound('power-cut');
    report(c);
    await sleep(2500);
    expect(counts(c)).toEqual(Object.fromEntries(RECIPIENTS.map((p) => [p, 0])));
    clearInterval(c.publishing);
    // The power goes: every device's connection drops at once, and the broker publishes their wills.
    for (const client of c.clients) client.stream.destroy();
    await waitFor('site_offline at the property company', () => events(c, '/property').length > 0, 15_000);
    await sleep(1000);
    const first = counts(c);
    expect(first).toEqual({ '/property': 1, '/maintainer': 1, '/fire': 1, '/market': 1, '/water': 1, '/health': 0, '/housing': 0 });
    expect(events(c, '/fire')).toEqual(['alert.firing site_offline']);
    // The rest of the compressed hour.
    await sleep(29_000);
    const hour = counts(c);
    for (const p of RECIPIENTS) expect(hour[p], p).toBeLessThanOrEqual(5);
    expect(hour['/housing']).toBe(0);
    expect(hour['/fire']).toBe(1);
    expect(events(c, '/property').every((e) => e.endsWith('site_offline'))).toBe(true);
    // Power back: the devices reconnect and report; the outage ends once.
    c.clients = await Promise.all(DEVICES.map((d) => mqtt.connectAsync(broker.url, { clientId: `${c.site}-${d.id}-${process.pid}-back`, protocolVersion: 4, reconnectPeriod: 0 })));
    report(c);
    await waitFor('one end at the property company', () => events(c, '/property').includes('alert.resolved site_offline'), 15_000);
    await sleep(1500);
    for (const p of ['/property', '/maintainer', '/fire', '/market', '/water']) expect(events(c, p).filter((e) => e.startsWith('alert.resolved')), p).toEqual(['alert.resolved site_offline']);
    expect(events(c, '/property').filter((e) => !e.endsWith('site_offline'))).toEqual([]);
    console.log(`power cut, messages per recipient: at once ${JSON.stringify(first)}; within the hour and its end ${JSON.stringify(counts(c))}`);
  }, 120_000);

  it('uplink lost (the devices fall silent together): the same, one site_offline per recipient', async () => {
    const c = await compound('uplink-cut');
    report(c);
    await sleep(2500);
    clearInterval(c.publishing);
    await waitFor('site_offline at the property company', () => events(c, '/property').length > 0, 15_000);
    await sleep(1500);
    const first = counts(c);
    expect(first).toEqual({ '/property': 1, '/maintainer': 1, '/fire': 1, '/market': 1, '/water': 1, '/health': 0, '/housing': 0 });
    await sleep(28_000);
    const hour = counts(c);
    for (const p of RECIPIENTS) expect(hour[p], p).toBeLessThanOrEqual(5);
    expect(hour['/housing']).toBe(0);
    for (const p of RECIPIENTS) expect(events(c, p).filter((e) => !e.endsWith('site_offline')), p).toEqual([]);
    console.log(`uplink cut, messages per recipient: at once ${JSON.stringify(first)}; within the hour ${JSON.stringify(hour)}`);
  }, 120_000);
});
