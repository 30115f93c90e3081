/**
 * InfluxDB down for 5 minutes while devices publish 5,000 readings a second at QoS 1: real
 * Mosquitto, real influxd (stopped, then started again on the same data dir and port), the
 * whole service in-process, the devices in a child process (test/faults/publisher.ts).
 *
 * - the spool grows while InfluxDB is away and drains to about nothing once it is back;
 * - nothing is lost and nothing is stored twice: per device, the points in InfluxDB are
 *   exactly the readings published, each with its own value;
 * - /readyz stays 200 (docs/interfaces.md#probes-and-metrics: the store being away does not make the service
 *   unready) and says `store.up: false` all through the outage;
 * - one `store_down` system alert after its 30 s grace, resolved once InfluxDB is back.
 *
 * Outcomes only: the rate the publisher achieved and the drain time are printed, not asserted.
 * FAULT_OUTAGE_SEC and FAULT_RATE shorten a run while working on it (defaults 300 and 5000).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInfluxd, type Influxd } from '../harness/influxd.ts';
import { startMosquitto, type Mosquitto } from '../harness/mosquitto.ts';
import { startService, type TestService } from '../harness/service.ts';
import { sleep, waitFor } from '../harness/ports.ts';
import { alerts, count, faultEstate, perDevice, readyz, sampler, startPublisher, type Publisher, type Readyz } from './helpers.ts';
import { hydrantId } from '../harness/estates.ts';

const OUTAGE_SEC = Number(process.env.FAULT_OUTAGE_SEC ?? 300);
const RATE = Number(process.env.FAULT_RATE ?? 5000);
const DEVICES = 100;

let influx: Influxd;
let broker: Mosquitto;
let svc: TestService | undefined;
let pub: Publisher | undefined;

beforeAll(async () => {
  [influx, broker] = await Promise.all([startInfluxd(), startMosquitto({ durable: true })]);
});
afterAll(async () => {
  pub?.kill();
  await svc?.stop().catch(() => undefined);
  await Promise.all([broker?.destroy(), influx?.destroy()]);
});

describe('series store faults', () => {
  it(`InfluxDB down ${OUTAGE_SEC} s at ${RATE} msg/s: the spool grows and drains, nothing lost or doubled, /readyz and store_down say so`, async () => {
    const db = `store_outage_${process.pid}`;
    svc = await startService({
      estate: faultEstate(DEVICES, 60),
      env: { MQTT_URL: broker.url, INFLUX_URL: influx.url, INFLUX_DB: db, MQTT_CLIENT_ID: `faults-${db}`, STORE_FLUSH_MS: '200' },
    });
    const base = svc.url;
    pub = await startPublisher({ url: broker.url, devices: DEVICES, clients: 4, rate: RATE, qos: 1 });
    await waitFor('the first readings in InfluxDB', async () => (await count(influx, db)) > 0, 30_000, 200);
    await sleep(5000);

    const sentAtDown = pub.progress().sent;
    // The store is down from the moment its stop begins: a write can fail while influxd shuts down.
    const stoppingAt = Date.now();
    await influx.stop();
    const downAt = Date.now();
    // The writer finds out at its next write (within STORE_FLUSH_MS); from then on /readyz says so.
    await waitFor('/readyz to say the store is down', async () => !(await readyz(base)).body.store.up, 10_000, 50);
    const during = sampler(() => readyz(base), 1000);
    // The system alert comes after its grace (30 s) while the outage goes on.
    const raised = await waitFor('store_down raised', async () => (await alerts(base)).find((a) => a.rule === 'store_down' && a.state === 'firing'), 90_000, 500);
    expect(raised).toMatchObject({ kind: 'system', device: 'system', severity: 'critical' });
    expect(raised.startsAt >= new Date(stoppingAt).toISOString()).toBe(true);
    await sleep(Math.max(0, OUTAGE_SEC * 1000 - (Date.now() - downAt)));
    const seen: Readyz[] = await during.stop();
    const publishedDuringOutage = pub.progress().sent;

    await influx.start();
    const upAt = Date.now();
    const after = sampler(async () => ({ at: Date.now(), r: await readyz(base) }), 500);
    await sleep(5000);
    const result = await pub.stop(300_000);
    pub = undefined;
    expect(result.errors).toBe(0);
    expect(result.acked).toBe(result.sent);

    // While InfluxDB was away: ready (200), store down, the spool growing.
    expect(seen.length).toBeGreaterThan(OUTAGE_SEC / 3);
    for (const r of seen) {
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ ready: true, broker: { connected: true }, store: { up: false }, spool: { writable: true, full: false } });
    }
    const peak = Math.max(...seen.map((r) => r.body.spool.bytes));
    expect(peak).toBeGreaterThan(seen[0]!.body.spool.bytes);
    // Every reading is a line of more than 20 bytes (progress is counted once a second, hence the margin).
    expect(seen.at(-1)!.body.spool.bytes).toBeGreaterThan((publishedDuringOutage - sentAtDown - 2 * RATE) * 20);

    // Drained: every reading in InfluxDB, the spool back to (about) nothing, the store up.
    await waitFor(`${result.sent} readings in InfluxDB`, async () => (await count(influx, db)) >= result.sent, 600_000, 1000);
    const drainedAt = Date.now();
    await waitFor('the spool drained', async () => {
      const r = await readyz(base);
      return r.body.store.up && r.body.store.backlogBytes === 0 && r.body.spool.bytes < 64 * 1024;
    }, 60_000, 500);
    const afterSeen = await after.stop();
    const finalReady = await readyz(base);
    expect(finalReady.status).toBe(200);
    expect(finalReady.body.store).toMatchObject({ up: true, backlogBytes: 0 });

    const stored = await perDevice(influx, db);
    expect(stored.size).toBe(DEVICES);
    for (let i = 0; i < DEVICES; i++) {
      expect(stored.get(hydrantId(i)), hydrantId(i)).toEqual({ count: result.perDevice[i], distinct: result.perDevice[i] });
    }
    expect(await count(influx, db)).toBe(result.sent);

    await waitFor('store_down resolved', async () => (await alerts(base)).find((a) => a.rule === 'store_down')?.state === 'resolved', 30_000, 500);
    const all = await alerts(base);
    expect(all.filter((a) => a.rule === 'store_down')).toHaveLength(1);
    expect(all.filter((a) => a.kind !== 'system')).toEqual([]);
    expect(all.filter((a) => a.rule.startsWith('spool_'))).toEqual([]);

    const figures = {
      outageSec: OUTAGE_SEC,
      targetRate: RATE,
      achievedRate: result.rate,
      sent: result.sent,
      stored: await count(influx, db),
      lost: result.sent - (await count(influx, db)),
      spoolPeakBytes: Math.max(peak, ...afterSeen.map((s) => s.r.body.spool.bytes)),
      // until the writer's backlog was down to live traffic (under 1 MB) after InfluxDB came back
      drainSec: Math.round(((afterSeen.find((s) => s.r.body.store.up && s.r.body.store.backlogBytes < 1024 ** 2)?.at ?? drainedAt) - upAt) / 100) / 10,
      allStoredSec: Math.round((drainedAt - upAt) / 100) / 10,
      spoolBytesAfter: finalReady.body.spool.bytes,
    };
    console.log(`fault figures (store outage): ${JSON.stringify(figures)}`);
  }, 15 * 60_000);
});
