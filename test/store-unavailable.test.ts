/**
 * The HTTP API when the operational store cannot be used: 503 STORE_UNAVAILABLE with
 * Retry-After (a client may try again), not 500; the service itself stays up. The store is
 * made unusable by closing it under the running service (what PostgreSQL being away looks like
 * to a route is pinned by storage/operational/unavailable.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type Mosquitto } from './harness/mosquitto.ts';
import { startService, removeDir, type TestService } from './harness/service.ts';

describe('operational store unavailable', () => {
  let mosquitto: Mosquitto;
  let service: TestService;

  beforeAll(async () => {
    mosquitto = await startMosquitto();
    service = await startService({ env: { MQTT_URL: mosquitto.url } });
  });

  afterAll(async () => {
    await service?.stop();
    await mosquitto?.destroy();
    if (service) removeDir(service.dataDir);
  });

  const get = (path: string) => fetch(`${service.url}${path}`, { headers: { authorization: 'Bearer demo-admin' } });

  it('answers 503 STORE_UNAVAILABLE with Retry-After, and stays up', async () => {
    expect((await get('/api/ingest/rejects')).status).toBe(200);
    await service.app.db.close();
    const res = await get('/api/ingest/rejects');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('STORE_UNAVAILABLE');
    // What does not need the store still answers.
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/api/sites')).status).toBe(200);
  });
});
