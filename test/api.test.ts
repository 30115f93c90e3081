/**
 * The HTTP API of docs/interfaces.md#http-api on the embedded defaults: registry with latest values,
 * series, scoping (anything outside a token's scope is 404), errors with codes, the audit
 * log, and rate limiting of failed authentication.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { startService, type TestService } from './harness/service.ts';
import { device } from './harness/publish.ts';
import { waitFor } from './harness/ports.ts';

let svc: TestService;
let dev: MqttClient;
const auth = (token: string) => ({ authorization: `Bearer ${token}` });
const get = async (path: string, token = 'demo-admin') => {
  const r = await fetch(`${svc.url}${path}`, { headers: auth(token) });
  return { status: r.status, body: (await r.json()) as any };
};

beforeAll(async () => {
  svc = await startService();
  dev = await device(svc.app.mqttUrl);
});
afterAll(async () => {
  await dev?.endAsync();
  await svc?.stop();
});

describe('registry', () => {
  it('lists the sites a token may see, with devices counted by kind and state', async () => {
    const all = await get('/api/sites');
    expect(all.body.items.map((s: any) => s.id)).toEqual(['jinfo-garden', 'nancheng-mansion']);
    expect(all.body.items[0]).toMatchObject({ name: '金佛花园', property: { name: '渝南物业服务有限公司' }, kinds: { elevator: 11, hydrant: 10, firelane: 5, water: 4 } });
    const sum = Object.values(all.body.items[0].byState as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(sum).toBe(all.body.items[0].devices);
    expect((await get('/api/sites', 'demo-ops-nancheng')).body.items.map((s: any) => s.id)).toEqual(['nancheng-mansion']);
  });

  it('gives a device\'s latest values with units once it has published, and its thresholds', async () => {
    const ts = Date.now() - 1000;
    await dev.publishAsync('estate/jinfo-garden/hydrant/HY-03/telemetry', JSON.stringify({ ts, metrics: { pressure_mpa: 0.31, temp_c: 16 } }), { qos: 1 });
    const d = await waitFor('the value', async () => {
      const r = await get('/api/devices/HY-03');
      return r.body.values.pressure_mpa ? r.body : undefined;
    });
    expect(d).toMatchObject({ id: 'HY-03', site: 'jinfo-garden', kind: 'hydrant', building: '3栋', state: 'ok', values: { pressure_mpa: { value: 0.31, unit: 'MPa', at: new Date(ts).toISOString() } } });
    expect(d.thresholds).toEqual(
      expect.arrayContaining([
        { rule: 'pressure_low', metric: 'pressure_mpa', direction: 'below', severity: 'critical', value: 0.1 },
        { rule: 'pressure_low', metric: 'pressure_mpa', direction: 'below', severity: 'warning', value: 0.14 },
      ]),
    );
    const list = await get('/api/devices?site=jinfo-garden&kind=hydrant');
    expect(list.body.items).toHaveLength(10);
    expect(list.body.items.every((x: any) => x.kind === 'hydrant')).toBe(true);
  });

  it('downsamples a series to the step, empty steps left out', async () => {
    const base = Math.floor((Date.now() - 600_000) / 60_000) * 60_000;
    const readings = [0, 10, 20, 130, 140].map((s, i) => ({ ts: base + s * 1000, metrics: { pressure_mpa: (20 + i) / 100 } }));
    await dev.publishAsync('estate/jinfo-garden/hydrant/HY-04/telemetry', JSON.stringify(readings), { qos: 1 });
    const from = new Date(base).toISOString();
    const to = new Date(base + 180_000).toISOString();
    const s = await waitFor('the series', async () => {
      const r = await get(`/api/devices/HY-04/series?metric=pressure_mpa&from=${from}&to=${to}&step=1m`);
      return r.body.points?.length === 2 ? r.body : undefined;
    });
    expect(s).toEqual({
      device: 'HY-04',
      metric: 'pressure_mpa',
      unit: 'MPa',
      step: '1m',
      points: [
        { t: new Date(base).toISOString(), mean: expect.closeTo(0.21, 6), min: 0.2, max: 0.22 },
        { t: new Date(base + 120_000).toISOString(), mean: expect.closeTo(0.235, 6), min: 0.23, max: 0.24 },
      ],
    });
  });

  it('answers errors with a code, and 404 outside a token\'s scope', async () => {
    expect(await get('/api/devices/HY-03', 'demo-ops-nancheng')).toEqual({ status: 404, body: { error: { code: 'NOT_FOUND', message: 'no device HY-03' } } });
    expect((await get('/api/devices?site=jinfo-garden', 'demo-ops-nancheng')).status).toBe(404);
    expect((await get('/api/devices/NOPE')).status).toBe(404);
    expect(await get('/api/devices/HY-03/series?metric=speed_mps')).toMatchObject({ status: 400, body: { error: { code: 'BAD_REQUEST' } } });
    expect(await get('/api/devices/HY-03/series?metric=pressure_mpa&step=fast')).toMatchObject({ status: 400, body: { error: { code: 'BAD_REQUEST' } } });
    expect((await get('/api/alerts?site=jinfo-garden', 'demo-ops-nancheng')).status).toBe(404);
    const r = await fetch(`${svc.url}/api/sites`);
    expect(r.status).toBe(401);
    expect(await r.json()).toEqual({ error: { code: 'UNAUTHENTICATED', message: 'a valid bearer token is required' } });
  });
});

describe('writes', () => {
  it('records acknowledgements and silences in the audit log, which only admins read', async () => {
    const created = await fetch(`${svc.url}/api/silences`, {
      method: 'POST',
      headers: { ...auth('demo-ops-jinfo'), 'content-type': 'application/json' },
      body: JSON.stringify({ matchers: { site: 'jinfo-garden', device: 'EL-1-A' }, endsAt: new Date(Date.now() + 3_600_000).toISOString(), comment: '年检' }),
    });
    expect(created.status).toBe(201);
    const silence = (await created.json()) as any;
    const outside = await fetch(`${svc.url}/api/silences`, {
      method: 'POST',
      headers: { ...auth('demo-ops-jinfo'), 'content-type': 'application/json' },
      body: JSON.stringify({ matchers: { site: 'nancheng-mansion' }, endsAt: new Date(Date.now() + 3_600_000).toISOString(), comment: 'x' }),
    });
    // Outside the token's scope: not found, as every other id (docs/interfaces.md#roles).
    expect(outside.status).toBe(404);
    const viewer = await fetch(`${svc.url}/api/silences`, { method: 'POST', headers: { ...auth('demo-viewer'), 'content-type': 'application/json' }, body: JSON.stringify({ matchers: { site: 'jinfo-garden' }, endsAt: new Date(Date.now() + 1000).toISOString(), comment: 'x' }) });
    expect(viewer.status).toBe(403);
    expect((await fetch(`${svc.url}/api/silences/${silence.id}`, { method: 'DELETE', headers: auth('demo-ops-jinfo') })).status).toBe(204);
    const audit = await get('/api/audit');
    expect(audit.body.items.map((a: any) => [a.actor, a.action, a.target])).toEqual(
      expect.arrayContaining([
        ['ops-jinfo', 'silence.create', silence.id],
        ['ops-jinfo', 'silence.delete', silence.id],
      ]),
    );
    expect((await get('/api/audit', 'demo-ops-jinfo')).status).toBe(403);
  });
});

describe('failed authentication', () => {
  it('is answered 429 after ten bad tokens from one address; good tokens are not counted', async () => {
    for (let i = 0; i < 10; i++) expect((await get('/api/sites', `wrong-${i}`)).status).toBe(401);
    const blocked = await fetch(`${svc.url}/api/sites`, { headers: auth('wrong-again') });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await get('/api/sites')).status).toBe(429); // the address is blocked, whatever it presents
    expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
  });
});

describe('OpenAPI', () => {
  it('documents every API route with the schemas of its request and its answer, and shows them on a page', async () => {
    const doc = (await (await fetch(`${svc.url}/api/openapi.json`)).json()) as any;
    expect(doc.openapi).toBe('3.0.3');
    const ops: [string, string, any][] = [];
    for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, any>>)) for (const [m, op] of Object.entries(methods)) ops.push([m, path, op]);
    const paths = ops.map(([m, p]) => `${m.toUpperCase()} ${p}`);
    for (const route of [
      'GET /api/sites',
      'GET /api/devices',
      'GET /api/devices/{id}',
      'GET /api/devices/{id}/series',
      'GET /api/alerts',
      'POST /api/alerts/{id}/ack',
      'GET /api/silences',
      'POST /api/silences',
      'DELETE /api/silences/{id}',
      'GET /api/reports',
      'POST /api/reports',
      'GET /api/ingest/rejects',
      'GET /api/devices/unregistered',
      'GET /healthz',
      'GET /readyz',
    ]) {
      expect(paths).toContain(route);
    }
    const withoutAnswer = ops.filter(([, p, op]) => p.startsWith('/api/') && !Object.keys(op.responses ?? {}).some((c) => /^2/.test(c) && (op.responses[c].content || c === '204')));
    expect(withoutAnswer.map(([m, p]) => `${m} ${p}`)).toEqual([]);
    const series = ops.find(([m, p]) => m === 'get' && p === '/api/devices/{id}/series')![2];
    expect(series.parameters.map((x: any) => x.name)).toEqual(expect.arrayContaining(['metric', 'from', 'to', 'step', 'id']));
    const page = await fetch(`${svc.url}/api/docs`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/api/openapi.json');
  });
});
