/**
 * An alert end to end, against real Mosquitto and InfluxDB: readings in, the webhook body of
 * docs/interfaces.md#bodies out to the department and the property company (signed), the alerts
 * measurement written, acknowledgement through the signed link, resolution.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { loadEstate } from '../config/index.ts';
import { startInfluxd, type Influxd } from './harness/influxd.ts';
import { startMosquitto, type Mosquitto } from './harness/mosquitto.ts';
import { ROOT, startService, type TestService } from './harness/service.ts';
import { device } from './harness/publish.ts';
import { freePort, waitFor } from './harness/ports.ts';

interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  raw: string;
  body: any;
}

let influx: Influxd;
let broker: Mosquitto;
let svc: TestService;
let dev: MqttClient;
let receiver: Server;
const got: Received[] = [];
const db = `alerts_${process.pid}`;

beforeAll(async () => {
  const hookPort = await freePort();
  receiver = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      got.push({ path: req.url!, headers: req.headers, raw, body: JSON.parse(raw) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(hookPort, '127.0.0.1', r));
  [influx, broker] = await Promise.all([startInfluxd(), startMosquitto({ durable: true })]);
  const estate = loadEstate(join(ROOT, 'config/estate.yaml'), { DEMO_HOOK_PORT: String(hookPort) });
  svc = await startService({ estate, env: { MQTT_URL: broker.url, INFLUX_URL: influx.url, INFLUX_DB: db } });
  dev = await device(broker.url);
});

afterAll(async () => {
  await dev?.endAsync();
  await svc?.stop();
  await new Promise((r) => receiver?.close(r));
  await Promise.all([broker?.destroy(), influx?.destroy()]);
});

const telemetry = (ts: number, seq: number, pressure: number) =>
  dev.publishAsync('estate/jinfo-garden/hydrant/HY-03/telemetry', JSON.stringify({ ts, seq, metrics: { pressure_mpa: pressure } }), { qos: 1 });

describe('an alert end to end', () => {
  it('hydrant pressure below 0.10 MPa for 60 s reaches fire rescue and the property company, signed', async () => {
    const t = Date.now() - 120_000;
    await telemetry(t, 1, 0.08);
    await telemetry(t + 30_000, 2, 0.08);
    await telemetry(t + 61_000, 3, 0.08);
    const firing = await waitFor('two deliveries', () => {
      const f = got.filter((g) => g.body.event === 'alert.firing' && g.body.alert.device === 'HY-03');
      return f.length >= 2 ? f : undefined;
    }, 15_000);
    expect(firing.map((f) => f.path).sort()).toEqual(['/department/fire-rescue', '/property/jinfo-garden']);
    const fire = firing.find((f) => f.path === '/department/fire-rescue')!;
    expect(fire.headers['content-type']).toMatch(/application\/json/);
    expect(fire.headers['x-estate-delivery']).toMatch(/^[0-9A-Z]{26}$/);
    const mac = createHmac('sha256', 'demo-department-secret').update(fire.raw).digest('hex');
    expect(fire.headers['x-estate-signature']).toBe(`sha256=${mac}`);
    expect(fire.body).toMatchObject({
      version: 1,
      event: 'alert.firing',
      department: { id: 'fire-rescue', name: '区应急管理局（区消防救援支队）' },
      alert: { key: 'jinfo-garden/HY-03/pressure_low', site: 'jinfo-garden', siteName: '金佛花园', building: '3栋', device: 'HY-03', kind: 'hydrant', rule: 'pressure_low', metric: 'pressure_mpa', severity: 'critical', state: 'firing', value: 0.08, threshold: 0.1, unit: 'MPa', endsAt: null },
    });
    expect(fire.body.alert.summary['zh-CN']).toBe('3栋消火栓水压 0.08 MPa，低于 0.1 MPa');
    expect(fire.body.ackUrl).toMatch(new RegExp(`^${svc.url}/ack/`));
    const property = firing.find((f) => f.path === '/property/jinfo-garden')!;
    expect(property.body.department).toEqual({ id: 'property', name: '渝南物业服务有限公司' });
  });

  it('the alert is listed, scoped, and written to the alerts measurement', async () => {
    const list = await (await fetch(`${svc.url}/api/alerts`, { headers: { authorization: 'Bearer demo-fire' } })).json();
    expect(list.items.map((a: any) => a.key)).toContain('jinfo-garden/HY-03/pressure_low');
    const market = await (await fetch(`${svc.url}/api/alerts`, { headers: { authorization: 'Bearer demo-market' } })).json();
    expect(market.items.map((a: any) => a.key)).not.toContain('jinfo-garden/HY-03/pressure_low');
    const other = await (await fetch(`${svc.url}/api/alerts?state=all`, { headers: { authorization: 'Bearer demo-ops-nancheng' } })).json();
    expect(other.items.every((a: any) => a.site === 'nancheng-mansion')).toBe(true);
    const rows = await waitFor('the alerts measurement', async () => {
      const r = await influx.query(`SELECT state, alert_id, department, severity FROM alerts WHERE device = 'HY-03'`, db);
      return r.results?.[0]?.series?.[0]?.values;
    });
    expect(rows[0].slice(1)).toEqual(['firing', list.items.find((a: any) => a.device === 'HY-03').id, 'fire-rescue', 'critical']);
  });

  it('the signed link acknowledges for fire rescue once; a forged one is refused', async () => {
    const fire = got.find((g) => g.path === '/department/fire-rescue' && g.body.event === 'alert.firing')!;
    const page = await fetch(fire.body.ackUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('3栋消火栓水压');
    const ok = await fetch(fire.body.ackUrl, { method: 'POST', headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' }, body: 'note=%E5%B7%B2%E6%B4%BE%E4%BA%BA' });
    expect(await ok.json()).toMatchObject({ acknowledged: true, state: 'acknowledged' });
    const again = await fetch(fire.body.ackUrl, { method: 'POST', headers: { accept: 'application/json' } });
    expect(again.status).toBe(409);
    const forged = await fetch(fire.body.ackUrl.slice(0, -3) + 'xyz', { headers: { accept: 'application/json' } });
    expect(forged.status).toBe(404);
    await waitFor('the acknowledgement announced', () => got.some((g) => g.body.event === 'alert.acknowledged' && g.body.alert.device === 'HY-03'));
  });

  it('pressure back to normal resolves it; the link has then expired', async () => {
    const fire = got.find((g) => g.path === '/property/jinfo-garden' && g.body.event === 'alert.firing')!;
    await telemetry(Date.now() - 1000, 4, 0.3);
    await waitFor('resolved', () => got.some((g) => g.body.event === 'alert.resolved' && g.body.alert.device === 'HY-03'), 15_000);
    const expired = await fetch(fire.body.ackUrl, { headers: { accept: 'application/json' } });
    expect(expired.status).toBe(410);
  });
});
