/**
 * Devices whose clocks are wrong: real Mosquitto, real influxd, the whole service in-process.
 *
 * docs/interfaces.md#what-is-refused: a `ts` more than 5 min ahead or more than 30 days old is refused as
 * `bad_timestamp`; anything in between is kept as the device sent it. Rule durations are
 * measured on the readings' own timestamps (docs/interfaces.md#stored-series, DESIGN.md); "device silent"
 * on the service's clock. What that means for skewed devices, each hydrant one case:
 *
 * | device | clock | sends | expected |
 * | --- | --- | --- | --- |
 * | H0000 | right | normal pressure | nothing |
 * | H0001 | 3 h ahead | low pressure | every reading refused (bad_timestamp); no pressure alert; `device_silent` (nothing usable arrives) |
 * | H0002 | 2 days behind | low pressure, live, 8 s of its time | stored at its own ts; only pending (60 s not reached on its clock) |
 * | H0003 | 2 days behind | a replayed buffer: 70 s of low pressure | `pressure_low` critical, starting at its first reading (judged as it happened) |
 * | H0004 | jumps back 1 day while pressure is low | low pressure, 10 s of its time per message | `pressure_low` fires once 60 s of low pressure have passed on its clock, the jump counted as no time |
 * | H0005 | jumps back 1 day and forward again | low, normal (after the jump back), low again for 20 s | no alert: the normal readings after the jump back count |
 * | H0006 | right, sends its last 80 s | low pressure | `pressure_low` critical (the others' clocks change nothing for it) |
 * | H0007 | 4 min ahead | normal pressure | stored at its own ts; nothing |
 * | H0008 | 40 days behind | normal pressure | every reading refused (bad_timestamp) |
 *
 * Before the fix in alerts/watches.ts (CLOCK_JUMP_MS), H0004 never fired (every reading after
 * the jump was older than the last one judged, so the rules ignored them for a day) and H0005
 * fired although its pressure had been normal in between (those normal readings were ignored).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { parseEstate } from '../../config/index.ts';
import { startInfluxd, type Influxd } from '../harness/influxd.ts';
import { startMosquitto, type Mosquitto } from '../harness/mosquitto.ts';
import { startService, type TestService } from '../harness/service.ts';
import { sleep, waitFor } from '../harness/ports.ts';
import { hydrantEstateYaml, hydrantId } from '../harness/estates.ts';
import { ADMIN, SITE, alerts, devices, topicOf, type ApiAlert } from './helpers.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const LOW = 0.05;
const OK = 0.3;

let influx: Influxd;
let broker: Mosquitto;
let svc: TestService | undefined;
let clients: MqttClient[] = [];

beforeAll(async () => {
  [influx, broker] = await Promise.all([startInfluxd(), startMosquitto({ durable: true })]);
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  await svc?.stop().catch(() => undefined);
  await Promise.all([broker?.destroy(), influx?.destroy()]);
});

function estate() {
  // H0001 reports every 3 s (silent after 9 s); the others every 60 s, so the test ends before they could be silent.
  return parseEstate(hydrantEstateYaml(9, { site: SITE, name: '故障测试小区', intervalSec: (i) => (i === 1 ? 3 : 60), building: () => '1栋' }), 'clock-estate.yaml', {});
}

describe('skewed device clocks', () => {
  it('out-of-window readings refused, the rest judged on their own time, clock jumps neither freeze nor fake alerts', async () => {
    const db = `clock_${process.pid}`;
    svc = await startService({ estate: estate(), env: { MQTT_URL: broker.url, INFLUX_URL: influx.url, INFLUX_DB: db, MQTT_CLIENT_ID: `faults-${db}` } });
    const base = svc.url;
    clients = await devices(broker.url, 3, 'clock');
    const send = (dev: number, body: unknown) => clients[dev % clients.length]!.publishAsync(topicOf(dev), JSON.stringify(body), { qos: 1 });

    const t0 = Date.now();
    const A = t0 - HOUR; // where the time-compressed devices' clocks start (10 s of their time per message)
    const seq = new Array<number>(9).fill(0);
    const reading = (dev: number, ts: number, p: number) => ({ ts, seq: seq[dev]!++, metrics: { pressure_mpa: p } });
    // H0003 replays a buffer from two days ago: 70 s of low pressure in one message.
    const buffered = Array.from({ length: 8 }, (_, i) => reading(3, t0 - 2 * DAY + i * 10_000, LOW));
    await send(3, buffered);

    for (let step = 0; step < 9; step++) {
      const now = Date.now();
      await Promise.all([
        send(0, reading(0, now, OK)),
        send(1, reading(1, now + 3 * HOUR, LOW)),
        send(2, reading(2, now - 2 * DAY, LOW)),
        // jumps back a day after its third reading, low all along
        send(4, reading(4, A + step * 10_000 - (step >= 3 ? DAY : 0), LOW)),
        // low; a day back with normal pressure; its right time again, low
        send(5, reading(5, A + step * 10_000 - (step >= 3 && step < 6 ? DAY : 0), step >= 3 && step < 6 ? OK : LOW)),
        send(6, reading(6, t0 - 80_000 + step * 10_000, LOW)),
        send(7, reading(7, now + 4 * 60_000, OK)),
        send(8, reading(8, now - 40 * DAY, OK)),
      ]);
      await sleep(1000);
    }

    const rule = (a: ApiAlert[], device: number, r: string) => a.filter((x) => x.device === hydrantId(device) && x.rule === r);
    const firing = await waitFor('the expected alerts', async () => {
      const a = await alerts(base);
      const want = [rule(a, 3, 'pressure_low'), rule(a, 4, 'pressure_low'), rule(a, 6, 'pressure_low'), rule(a, 1, 'device_silent')];
      return want.every((l) => l.some((x) => x.state === 'firing')) ? a : undefined;
    }, 30_000, 250);
    await sleep(1500);
    const all = await alerts(base);
    expect(all.length).toBe(firing.length);

    // Judged on their own time: H0003's alert starts at its first buffered reading, two days ago.
    const h3 = rule(all, 3, 'pressure_low')[0]!;
    expect(h3).toMatchObject({ severity: 'critical', state: 'firing' });
    expect(Date.parse(h3.startsAt)).toBe(buffered[0]!.ts);
    // H0004: fired although its clock went back a day mid-way; it started at its first low reading.
    const h4 = rule(all, 4, 'pressure_low');
    expect(h4).toMatchObject([{ severity: 'critical', state: 'firing' }]);
    expect(Date.parse(h4[0]!.startsAt)).toBe(A);
    expect(rule(all, 6, 'pressure_low')).toMatchObject([{ severity: 'critical', state: 'firing' }]);
    // H0001: nothing it sent is usable, so it is silent; no pressure alert from refused readings.
    expect(all.filter((a) => a.device === hydrantId(1)).map((a) => a.rule)).toEqual(['device_silent']);
    // Nothing fired or resolved for the others (H0002 and H0005 may show a pending pressure_low).
    for (const d of [0, 2, 5, 7, 8]) {
      const mine = all.filter((a) => a.device === hydrantId(d));
      expect(mine.filter((a) => a.state !== 'pending'), hydrantId(d)).toEqual([]);
    }
    expect(all.filter((a) => a.kind === 'system')).toEqual([]);

    // Refused: H0001 (ahead) and H0008 (40 days behind), each reading with its reason.
    const r = await fetch(`${base}/api/ingest/rejects?reason=bad_timestamp&limit=1000`, { headers: ADMIN });
    const rejects = ((await r.json()) as { items: { topic: string; detail: string }[] }).items;
    expect(rejects.filter((x) => x.topic === topicOf(1))).toHaveLength(9);
    expect(rejects.filter((x) => x.topic === topicOf(8))).toHaveLength(9);
    expect(rejects.length).toBe(18);
    expect(rejects.find((x) => x.topic === topicOf(1))!.detail).toMatch(/more than 5 min in the future/);
    expect(rejects.find((x) => x.topic === topicOf(8))!.detail).toMatch(/more than 30 days old/);

    // Stored at the devices' own times; nothing from the refused ones.
    await waitFor('the readings stored', async () => {
      const q = await influx.query(`SELECT count(pressure_mpa) FROM hydrant`, db);
      return Number(q.results?.[0]?.series?.[0]?.values?.[0]?.[1] ?? 0) >= 9 * 6 + 8;
    }, 30_000, 250);
    const q = await influx.query(`SELECT count(pressure_mpa), min(pressure_mpa) FROM hydrant WHERE time > 0 GROUP BY device`, db);
    const counts = new Map<string, number>((q.results[0].series as { tags: { device: string }; values: [number, number][] }[]).map((s) => [s.tags.device, s.values[0]![1]]));
    expect(counts.get(hydrantId(1))).toBeUndefined();
    expect(counts.get(hydrantId(8))).toBeUndefined();
    expect(counts.get(hydrantId(3))).toBe(8);
    for (const d of [0, 2, 4, 5, 6, 7]) expect(counts.get(hydrantId(d)), hydrantId(d)).toBe(9);
    const times = async (d: number) => {
      const s = await influx.query(`SELECT pressure_mpa FROM hydrant WHERE device = '${hydrantId(d)}'`, db);
      return (s.results[0].series[0].values as [number, number][]).map(([t]) => t);
    };
    for (const t of await times(2)) expect(t).toBeLessThan(t0 - 2 * DAY + 60_000);
    for (const t of await times(7)) expect(t).toBeGreaterThan(t0 + 3 * 60_000);
  }, 120_000);
});
