/**
 * The operational store on PostgreSQL stalling for 2 s (every packet between the service and
 * PostgreSQL held by a proxy), through the whole service with real Mosquitto, InfluxDB and a
 * webhook receiver: meanwhile /healthz, the API routes that need no store, and socket.io keep
 * answering at once (nothing blocks the event loop: docs/operational-store.md); a trapped
 * passenger reported during the stall is announced once PostgreSQL answers again, once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { io } from 'socket.io-client';
import { parseEstate } from '../config/index.ts';
import { Receiver } from '../alerts/delivery/testing/receiver.ts';
import { freshDatabase, type TestDatabase } from '../storage/operational/testing/postgres.ts';
import { startInfluxd, type Influxd } from './harness/influxd.ts';
import { startMosquitto, type Mosquitto } from './harness/mosquitto.ts';
import { startService, type TestService } from './harness/service.ts';
import { startTcpProxy, type TcpProxy } from './harness/tcp-proxy.ts';
import { device } from './harness/publish.ts';
import { sleep, waitFor } from './harness/ports.ts';

let influx: Influxd;
let broker: Mosquitto;
let pgdb: TestDatabase;
let proxy: TcpProxy;
let svc: TestService;
let dev: MqttClient;
const rx = new Receiver();
const ADMIN = { authorization: 'Bearer demo-admin' };

beforeAll(async () => {
  await rx.listen();
  pgdb = await freshDatabase();
  const target = new URL(pgdb.url);
  proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
  target.port = String(proxy.port);
  [influx, broker] = await Promise.all([startInfluxd(), startMosquitto({ durable: true })]);
  const estate = parseEstate(
    `
sites:
  - id: garden
    name: 金佛花园
    property: { name: 渝南物业, channels: [ { type: webhook, url: "${rx.url('/property')}" } ] }
    devices:
      - { id: EL-1, kind: elevator, building: "1栋", intervalSec: 86400 }
      - { id: EL-2, kind: elevator, building: "2栋", intervalSec: 86400 }
departments:
  - { id: market-supervision, name: 区市场监管局, channels: [ { type: webhook, url: "${rx.url('/market')}" } ] }
auth:
  tokens:
    - { name: admin, role: admin, sha256: cce7a2cf1ae045989cfc914fb95a41526f167a838b3c7d33745143614abace7c }
`,
    'stall.yaml',
    {},
  );
  svc = await startService({ estate, env: { MQTT_URL: broker.url, INFLUX_URL: influx.url, INFLUX_DB: `stall_${process.pid}`, OPERATIONAL_DB: target.toString() } });
  dev = await device(broker.url);
}, 60_000);

afterAll(async () => {
  await proxy?.resume();
  await dev?.endAsync();
  await svc?.stop();
  await rx.close();
  await proxy?.close();
  await Promise.all([broker?.destroy(), influx?.destroy()]);
  await pgdb?.drop();
}, 60_000);

const trapped = (device: string) => dev.publishAsync(`estate/garden/elevator/${device}/event`, JSON.stringify({ code: 'trapped', active: true, detail: 'stall test' }), { qos: 1 });
const firings = (device: string) => rx.received.filter((r) => (r.json as { event: string; alert?: { device: string } }).event === 'alert.firing' && (r.json as { alert?: { device: string } }).alert?.device === device);

async function timed(path: string, headers: Record<string, string> = {}): Promise<{ status: number; ms: number }> {
  const t = performance.now();
  const r = await fetch(`${svc.url}${path}`, { headers });
  await r.arrayBuffer();
  return { status: r.status, ms: performance.now() - t };
}

describe('PostgreSQL stalling for 2 s', () => {
  it('leaves the service answering, and announces what arrived meanwhile once PostgreSQL answers again', async () => {
    await trapped('EL-1');
    await waitFor('the first trapping announced', () => firings('EL-1').length === 2, 15_000);

    await proxy.stall();
    const stalledAt = Date.now();
    await trapped('EL-2');
    const answers: { status: number; ms: number }[] = [];
    let socketMs = -1;
    const socket = io(svc.url, { path: '/socket.io', transports: ['websocket'], forceNew: true, reconnection: false, auth: { token: 'demo-admin' } });
    const t0 = performance.now();
    socket.on('connect', () => (socketMs = performance.now() - t0));
    while (Date.now() - stalledAt < 1800) {
      answers.push(await timed('/healthz'), await timed('/api/sites', ADMIN), await timed('/api/devices/EL-2', ADMIN));
      await sleep(100);
    }
    expect(firings('EL-2')).toEqual([]); // not announced while nothing could be committed
    await proxy.resume();
    socket.close();

    expect(answers.every((a) => a.status === 200)).toBe(true);
    const worst = Math.max(...answers.map((a) => a.ms));
    expect(worst).toBeLessThan(250);
    expect(socketMs).toBeGreaterThanOrEqual(0);
    expect(socketMs).toBeLessThan(1000);

    await waitFor('the trapping of the stall announced', () => firings('EL-2').length === 2, 20_000);
    await sleep(1000);
    expect(firings('EL-2').map((r) => r.url).sort()).toEqual(['/market', '/property']);
    expect(new Set(firings('EL-2').map((r) => r.headers['x-estate-delivery'])).size).toBe(2);
    const res = await fetch(`${svc.url}/api/alerts?state=active&limit=10`, { headers: ADMIN });
    expect(((await res.json()) as { items: { device: string; rule: string }[] }).items.map((a) => `${a.device}/${a.rule}`).sort()).toEqual(['EL-1/trapped', 'EL-2/trapped']);
    console.log(`during the stall: ${answers.length} answers, the slowest ${worst.toFixed(1)} ms; socket.io connected in ${socketMs.toFixed(1)} ms`);
  }, 60_000);
});
