/**
 * SIGKILL during a spool replay: the service runs as a child process (main.ts) on one DATA_DIR,
 * with real Mosquitto and real influxd.
 *
 * 1. InfluxDB stopped; devices publish 200,000 QoS 1 readings; the service spools them all.
 * 2. The service is SIGKILLed with that spool, and InfluxDB started again.
 * 3. The service starts and replays the spool; SIGKILLed again part-way through the replay
 *    (some readings are in InfluxDB, not all).
 * 4. It starts once more on the same DATA_DIR: every reading the service accepted is in
 *    InfluxDB, none twice (per device, as many points as readings sent, each value once).
 *
 * STORE_BATCH_SIZE=500 makes the replay take a few hundred requests, so the kill lands inside it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startInfluxd, type Influxd } from '../harness/influxd.ts';
import { startMosquitto, type Mosquitto } from '../harness/mosquitto.ts';
import { removeDir, spawnService, tempDir, type ChildService } from '../harness/service.ts';
import { sleep, waitFor } from '../harness/ports.ts';
import { hydrantId } from '../harness/estates.ts';
import { count, estateYaml, metric, perDevice, readyz, startPublisher, type Publisher } from './helpers.ts';

const TOTAL = 200_000;
const DEVICES = 20;

let influx: Influxd;
let broker: Mosquitto;
let svc: ChildService | undefined;
let pub: Publisher | undefined;
const dataDir = tempDir('estate-fault-replay-');

beforeAll(async () => {
  [influx, broker] = await Promise.all([startInfluxd(), startMosquitto({ durable: true })]);
});
afterAll(async () => {
  pub?.kill();
  await svc?.kill('SIGKILL');
  await Promise.all([broker?.destroy(), influx?.destroy()]);
  removeDir(dataDir);
});

describe('SIGKILL during a spool replay', () => {
  it(`${TOTAL} spooled readings, the service killed mid-replay and restarted on the same DATA_DIR: each lands once`, async () => {
    const db = `replay_kill_${process.pid}`;
    const config = join(dataDir, 'estate.yaml');
    writeFileSync(config, estateYaml(DEVICES, 3600));
    const env = {
      CONFIG: config,
      DATA_DIR: join(dataDir, 'data'),
      MQTT_URL: broker.url,
      INFLUX_URL: influx.url,
      INFLUX_DB: db,
      MQTT_CLIENT_ID: `faults-${db}`,
      STORE_BATCH_SIZE: '500',
    };

    // 1. The spool fills while InfluxDB is away.
    svc = await spawnService(env);
    await influx.stop();
    pub = await startPublisher({ url: broker.url, devices: DEVICES, clients: 4, rate: 20_000, qos: 1 });
    await waitFor(`${TOTAL} readings published`, () => pub!.progress().sent >= TOTAL, 120_000, 100);
    const sent = await pub.stop(120_000);
    pub = undefined;
    expect(sent.errors).toBe(0);
    await waitFor('every reading spooled', async () => (await metric(svc!.url, 'estate_records_accepted_total')) >= sent.sent, 60_000, 200);
    const spooled = await readyz(svc.url);
    expect(spooled.body.store.up).toBe(false);
    expect(spooled.body.spool.bytes).toBeGreaterThan(sent.sent * 20);

    // 2. Killed with the spool full of readings; InfluxDB back.
    await svc.kill('SIGKILL');
    await influx.start();

    // 3. The replay starts with the service; killed part-way.
    svc = await spawnService(env);
    const partial = await waitFor('the replay under way', async () => {
      const n = await count(influx, db);
      return n > 0 ? n : undefined;
    }, 60_000, 20);
    await svc.kill('SIGKILL');
    const atKill = await count(influx, db);
    expect(partial).toBeLessThan(sent.sent);
    expect(atKill).toBeLessThan(sent.sent);

    // 4. Once more, on the same DATA_DIR: everything lands, once.
    svc = await spawnService(env);
    await waitFor(`${sent.sent} readings in InfluxDB`, async () => (await count(influx, db)) >= sent.sent, 180_000, 250);
    await waitFor('the spool drained', async () => {
      const r = await readyz(svc!.url);
      return r.body.store.backlogBytes === 0 ? r : undefined;
    }, 60_000, 250);
    await sleep(1000);
    expect(await count(influx, db)).toBe(sent.sent);
    const stored = await perDevice(influx, db);
    for (let i = 0; i < DEVICES; i++) {
      expect(stored.get(hydrantId(i)), hydrantId(i)).toEqual({ count: sent.perDevice[i], distinct: sent.perDevice[i] });
    }
    console.log(`fault figures (kill mid-replay): ${JSON.stringify({ sent: sent.sent, spoolBytes: spooled.body.spool.bytes, storedAtKill: atKill, stored: await count(influx, db), lost: sent.sent - (await count(influx, db)) })}`);
    await svc.kill('SIGTERM');
    svc = undefined;
  }, 420_000);
});
