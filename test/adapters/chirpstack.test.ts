/**
 * ChirpStack v4 end to end (docs/adapters.md, "ChirpStack"): integration events as ChirpStack's
 * MQTT integration publishes them (test/adapters/vendor.ts, after api/proto/integration/
 * integration.proto), on the service's own broker and on a broker of the adapter's own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { device } from '../harness/publish.ts';
import { sleep, waitFor } from '../harness/ports.ts';
import { sum } from '../harness/prometheus.ts';
import { LORA_APP, metricsText, rejects, rows, rowsAtLeast, startRig, type Rig } from './rig.ts';
import { chirpstackStatus, chirpstackTopic, chirpstackUp } from './vendor.ts';

let rig: Rig;
/** ChirpStack's integration, publishing on the service's broker */
let chirpstack: MqttClient;
const T0 = Date.now() - 20 * 60_000;
const EUI = 'a840414b71846c1f';

beforeAll(async () => {
  rig = await startRig('chirpstack', { ownLoraBroker: true });
  chirpstack = await device(rig.broker.url, 'chirpstack-integration');
}, 60_000);

afterAll(async () => {
  await chirpstack?.endAsync();
  await rig?.stop();
}, 60_000);

const publish = (client: MqttClient, topic: string, body: unknown) => client.publishAsync(topic, typeof body === 'string' ? body : JSON.stringify(body), { qos: 1 });

describe('uplinks (event/up)', () => {
  it("object mapped by the profile, at the uplink's time, with the device's tags", async () => {
    await publish(chirpstack, chirpstackTopic(LORA_APP, EUI, 'up'), chirpstackUp(LORA_APP, EUI, { time: T0 + 123, fCnt: 41, object: { occupied: false, vehicles: 0, obstruction: 3.5 } }));
    expect(await rowsAtLeast(rig, `SELECT occupied, vehicle_count, obstruction_pct, site, building FROM firelane WHERE device = 'FL-L1'`)).toEqual([
      { time: T0 + 123, occupied: false, vehicle_count: 0, obstruction_pct: 3.5, site: 'garden', building: '东侧消防通道' },
    ]);
  });

  it('the same fCnt twice (ChirpStack or the broker delivering an uplink again) is taken once', async () => {
    const text = await metricsText(rig);
    const dup = sum(text, 'estate_ingest_duplicates_total');
    const accepted = sum(text, 'estate_records_accepted_total');
    const up = JSON.stringify(chirpstackUp(LORA_APP, EUI, { time: T0 + 60_000, fCnt: 42, object: { occupied: true, vehicles: 1, obstruction: 4 } }));
    await publish(chirpstack, chirpstackTopic(LORA_APP, EUI, 'up'), up);
    await publish(chirpstack, chirpstackTopic(LORA_APP, EUI, 'up'), up);
    await waitFor('the second one counted as a duplicate', async () => sum(await metricsText(rig), 'estate_ingest_duplicates_total') - dup >= 1, 10_000);
    await sleep(300);
    const after = await metricsText(rig);
    expect(sum(after, 'estate_ingest_duplicates_total') - dup).toBe(1);
    expect(sum(after, 'estate_records_accepted_total') - accepted).toBe(1);
    expect(await rows(rig, `SELECT vehicle_count FROM firelane WHERE device = 'FL-L1' AND time = ${T0 + 60_000}ms`)).toEqual([{ time: T0 + 60_000, vehicle_count: 1 }]);
  });

  it('a join, a log or an ack event is none of the service\'s: nothing stored, nothing refused', async () => {
    const before = (await rejects(rig)).length;
    for (const event of ['join', 'log', 'ack', 'txack']) await publish(chirpstack, chirpstackTopic(LORA_APP, EUI, event), { time: new Date(T0).toISOString(), deviceInfo: { devEui: EUI }, devAddr: '01fb17e9' });
    await sleep(500);
    expect((await rejects(rig)).length).toBe(before);
  });
});

describe('status events (event/status)', () => {
  it('batteryLevel becomes battery_pct; batteryLevelUnavailable or externalPowerSource give nothing', async () => {
    await publish(chirpstack, chirpstackTopic(LORA_APP, EUI, 'status'), chirpstackStatus(LORA_APP, EUI, { time: T0 + 120_000, batteryLevel: 87.5 }));
    await publish(chirpstack, chirpstackTopic(LORA_APP, EUI, 'status'), chirpstackStatus(LORA_APP, EUI, { time: T0 + 121_000, batteryLevelUnavailable: true }));
    await publish(chirpstack, chirpstackTopic(LORA_APP, EUI, 'status'), chirpstackStatus(LORA_APP, EUI, { time: T0 + 122_000, externalPowerSource: true }));
    await rowsAtLeast(rig, `SELECT battery_pct FROM firelane WHERE device = 'FL-L1'`);
    await sleep(500);
    expect(await rows(rig, `SELECT battery_pct FROM firelane WHERE device = 'FL-L1' AND battery_pct >= 0`)).toEqual([{ time: T0 + 120_000, battery_pct: 87.5 }]);
  });
});

describe('refused', () => {
  it('an unknown DevEUI: unknown_device naming the adapter, on its topic, with the raw event', async () => {
    const topic = chirpstackTopic(LORA_APP, '0011223344556677', 'up');
    const raw = JSON.stringify(chirpstackUp(LORA_APP, '0011223344556677', { time: T0, fCnt: 1, object: { occupied: true } }));
    await publish(chirpstack, topic, raw);
    const rej = await waitFor('the reject', async () => (await rejects(rig)).find((r) => r.topic === topic));
    expect(rej).toEqual({ at: expect.any(String), reason: 'unknown_device', topic, detail: 'adapter lora: no device has DevEUI 0011223344556677 on this adapter', payload: raw });
  });

  it('a field the profile does not map: bad_metric naming the adapter; the rest stored', async () => {
    const topic = chirpstackTopic(LORA_APP, EUI, 'up');
    const raw = JSON.stringify(chirpstackUp(LORA_APP, EUI, { time: T0 + 180_000, fCnt: 43, object: { occupied: false, temperature: 21.5 } }));
    await publish(chirpstack, topic, raw);
    const rej = await waitFor('the reject', async () => (await rejects(rig)).find((r) => r.topic === topic && r.reason === 'bad_metric'));
    expect(rej).toMatchObject({ detail: 'adapter lora: field temperature of FL-L1 is not mapped by its profile', payload: raw });
    await rowsAtLeast(rig, `SELECT occupied FROM firelane WHERE device = 'FL-L1' AND time = ${T0 + 180_000}ms`);
  });
});

describe("an adapter on ChirpStack's own broker", () => {
  it('is subscribed there: its uplinks are stored; the same topic on the service\'s broker is not its', async () => {
    const own = await device(rig.loraBroker!.url, 'chirpstack-own');
    try {
      await publish(own, chirpstackTopic('own-app', 'a840414b71846c20', 'up'), chirpstackUp('own-app', 'a840414b71846c20', { time: T0, fCnt: 5, object: { occupied: true, vehicles: 2 } }));
      expect(await rowsAtLeast(rig, `SELECT occupied, vehicle_count FROM firelane WHERE device = 'FL-L2'`)).toEqual([{ time: T0, occupied: true, vehicle_count: 2 }]);
      await publish(chirpstack, chirpstackTopic('own-app', 'a840414b71846c20', 'up'), chirpstackUp('own-app', 'a840414b71846c20', { time: T0 + 1000, fCnt: 6, object: { occupied: true, vehicles: 3 } }));
      await sleep(500);
      expect(await rows(rig, `SELECT vehicle_count FROM firelane WHERE device = 'FL-L2'`)).toHaveLength(1);
    } finally {
      await own.endAsync();
    }
  });
});
