/**
 * InfluxDB capped at 3 values of a tag per measurement (INFLUXDB_DATA_MAX_VALUES_PER_TAG=3, as
 * `[data] max-values-per-tag` is 100,000 by default) and an estate of 4 hydrants publishing over
 * a real Mosquitto to the whole service in-process (docs/alerts.md, "Outages"):
 *
 * - the fourth hydrant's readings are refused by InfluxDB and are in the reject log as
 *   `store_rejected`, each with its line and InfluxDB's message; the other three are stored;
 * - one `store_tag_limit` system alert (critical, key `estate/system/store_tag_limit/hydrant`)
 *   whose summary names the measurement, the tag, the cap and the setting in both languages,
 *   announced once to the operators' webhook however many lines are refused.
 *
 * Its resolution, 15 minutes after the last refusal, is alerts/engine.test.ts's, on a manual clock.
 * InfluxDB checks a write against the values the measurement had before it, so the first
 * three hydrants are stored before the fourth speaks (a batch bringing all four at once would
 * be taken whole).
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEstate } from '../../config/index.ts';
import { Receiver } from '../../alerts/delivery/testing/receiver.ts';
import { startInfluxd, type Influxd } from '../harness/influxd.ts';
import { startMosquitto, type Mosquitto } from '../harness/mosquitto.ts';
import { startService, type TestService } from '../harness/service.ts';
import { device } from '../harness/publish.ts';
import { waitFor } from '../harness/ports.ts';
import { hydrantId } from '../harness/estates.ts';
import { ADMIN, SITE, alerts, metric, perDevice, topicOf } from './helpers.ts';

const CAP = 3;
const DEVICES = CAP + 1;
const REFUSED = hydrantId(CAP);

let influx: Influxd;
let broker: Mosquitto;
let svc: TestService | undefined;
let dev: MqttClient | undefined;
const rx = new Receiver();

/** The hydrants in one building, so `device` is the only tag past the cap; the property company is the operators' webhook. */
const estate = () =>
  parseEstate(
    `
sites:
  - id: ${SITE}
    name: 故障测试小区
    property: { name: 测试物业, channels: [ { type: webhook, url: "${rx.url('/property')}" } ] }
    devices:
${Array.from({ length: DEVICES }, (_, i) => `      - { id: ${hydrantId(i)}, kind: hydrant, building: "1栋", intervalSec: 3600 }`).join('\n')}
auth:
  tokens:
    - { name: admin, role: admin, sha256: cce7a2cf1ae045989cfc914fb95a41526f167a838b3c7d33745143614abace7c }
`,
    'tag-limit.yaml',
    {},
  );

interface Reject {
  reason: string;
  detail: string;
  payload: string;
}

async function storeRejects(base: string): Promise<Reject[]> {
  const r = await fetch(`${base}/api/ingest/rejects?reason=store_rejected&limit=1000`, { headers: ADMIN });
  return ((await r.json()) as { items: Reject[] }).items;
}

interface Firing {
  event: string;
  alert: { key: string; kind: string; rule: string; severity: string; summary: { 'zh-CN': string; en: string } };
}

const firings = () => rx.received.map((r) => r.json as Firing).filter((b) => b?.event === 'alert.firing' && b.alert.rule === 'store_tag_limit');

beforeAll(async () => {
  await rx.listen();
  [influx, broker] = await Promise.all([startInfluxd({ env: { INFLUXDB_DATA_MAX_VALUES_PER_TAG: String(CAP) } }), startMosquitto()]);
});
afterAll(async () => {
  await dev?.endAsync(true).catch(() => undefined);
  await svc?.stop().catch(() => undefined);
  await Promise.all([broker?.destroy(), influx?.destroy(), rx.close()]);
});

describe.skipIf(process.env.INFLUX_URL)('InfluxDB past max-values-per-tag', () => {
  it(`a ${DEVICES}th hydrant past a cap of ${CAP}: its readings in the reject log, the others stored, one store_tag_limit alert naming the setting, told once`, async () => {
    const db = `tag_limit_${process.pid}`;
    svc = await startService({ estate: estate(), env: { MQTT_URL: broker.url, INFLUX_URL: influx.url, INFLUX_DB: db, MQTT_CLIENT_ID: `faults-${db}` } });
    const base = svc.url;
    dev = await device(broker.url);
    let k = 0;
    const published = new Map<string, number>();
    const publish = async (i: number) => {
      k++;
      published.set(hydrantId(i), (published.get(hydrantId(i)) ?? 0) + 1);
      await dev!.publishAsync(topicOf(i), JSON.stringify({ ts: Date.now() + k, metrics: { pressure_mpa: 0.3 + k / 1e6 } }), { qos: 1 });
    };
    const stored = async () => [...(await perDevice(influx, db)).entries()].map(([d, c]) => `${d} ${c.count}`).sort();
    const expected = () => [...published.entries()].filter(([d]) => d !== REFUSED).map(([d, n]) => `${d} ${n}`).sort();

    // The first three hydrants fill the cap.
    for (let i = 0; i < CAP; i++) await publish(i);
    await waitFor('the first three hydrants stored', async () => (await stored()).length === CAP, 30_000, 100);

    // Every hydrant speaks: the fourth is refused, line by line, the others stored.
    for (let round = 0; round < 3; round++) for (let i = 0; i < DEVICES; i++) await publish(i);
    const rejects = await waitFor('the fourth hydrant in the reject log', async () => {
      const r = await storeRejects(base);
      return r.length === published.get(REFUSED) ? r : undefined;
    }, 30_000, 100);
    for (const r of rejects) {
      expect(r.payload).toMatch(new RegExp(`^hydrant,building=1栋,device=${REFUSED},site=${SITE} pressure_mpa=0\\.3\\d+ \\d+$`));
      expect(r.detail).toBe(`partial write: max-values-per-tag limit exceeded (${CAP}/${CAP}): measurement="hydrant" tag="device" value="${REFUSED}" dropped=1`);
    }
    await waitFor('the other hydrants stored', async () => JSON.stringify(await stored()) === JSON.stringify(expected()), 30_000, 100);

    const raised = await waitFor('store_tag_limit firing', async () => (await alerts(base)).find((a) => a.rule === 'store_tag_limit' && a.state === 'firing'), 15_000, 100);
    expect(raised).toMatchObject({ key: 'estate/system/store_tag_limit/hydrant', kind: 'system', device: 'system', severity: 'critical' });
    const [told] = await waitFor('the webhook told', () => (firings().length > 0 ? firings() : undefined), 15_000, 100);
    expect(told!.alert).toMatchObject({ key: raised.key, kind: 'system', severity: 'critical' });
    for (const text of [told!.alert.summary['zh-CN'], told!.alert.summary.en]) {
      for (const part of ['hydrant', 'device', String(CAP), '[data] max-values-per-tag', 'INFLUXDB_DATA_MAX_VALUES_PER_TAG']) expect(text).toContain(part);
    }
    expect(told!.alert.summary.en).toContain('0 lifts the cap');
    expect(told!.alert.summary['zh-CN']).toContain('设为 0 即不设上限');

    // More refusals keep the one alert: nobody is told again.
    const before = published.get(REFUSED)!;
    for (let i = 0; i < 3; i++) await publish(CAP);
    await waitFor('the later refusals in the reject log', async () => (await storeRejects(base)).length === before + 3, 30_000, 100);
    // What the refusals caused is committed before this (the committer's changes go in order), then delivered.
    await svc.app.alerts.committer.submit(() => undefined, { retry: true });
    await waitFor('the outbox drained', async () => (await metric(base, 'estate_outbox_pending')) === 0, 15_000, 100);
    expect(firings()).toHaveLength(1);
    expect(rx.received.filter((r) => (r.json as Firing | undefined)?.event === 'alert.firing').map((r) => `${r.url} ${(r.json as Firing).alert.rule}`)).toEqual(['/property store_tag_limit']);
    expect((await alerts(base)).filter((a) => a.rule === 'store_tag_limit')).toHaveLength(1);
    expect(await stored()).toEqual(expected());
  });
});
