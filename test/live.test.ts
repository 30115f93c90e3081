/**
 * Live updates over socket.io (docs/interfaces.md#live-updates), against the real service in-process with
 * the embedded store and a real Mosquitto: the handshake's token, the snapshot that answers
 * `subscribe`, readings coalesced into batches, statuses and alerts at once, a token's scope,
 * and a fresh snapshot after a reconnection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { io, type Socket } from 'socket.io-client';
import type { AlertMessage, ClientToServerEvents, ReadingBatch, ServerToClientEvents, SiteSnapshot, StatusMessage, SubscribeReply } from '../dashboard/index.ts';
import { startMosquitto, type Mosquitto } from './harness/mosquitto.ts';
import { startService, removeDir, type TestService } from './harness/service.ts';
import { device } from './harness/publish.ts';
import { waitFor } from './harness/ports.ts';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

/** A socket with everything it received. */
interface Live {
  socket: Client;
  readings: ReadingBatch[];
  statuses: StatusMessage[];
  alerts: AlertMessage[];
}

let broker: Mosquitto;
let svc: TestService;
let dev: MqttClient;
const sockets: Client[] = [];

beforeAll(async () => {
  broker = await startMosquitto();
  svc = await startService({ env: { MQTT_URL: broker.url } });
  dev = await device(broker.url);
});

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await dev?.endAsync();
  await svc?.stop();
  if (svc) removeDir(svc.dataDir);
  await broker?.destroy();
});

function open(token: string | undefined, reconnection = false): Client {
  const socket: Client = io(svc.url, { path: '/socket.io', transports: ['websocket'], forceNew: true, reconnection, reconnectionDelay: 100, reconnectionDelayMax: 500, ...(token === undefined ? {} : { auth: { token } }) });
  sockets.push(socket);
  return socket;
}

async function connect(token: string, reconnection = false): Promise<Live> {
  const socket = open(token, reconnection);
  const live: Live = { socket, readings: [], statuses: [], alerts: [] };
  socket.on('reading', (b) => live.readings.push(b));
  socket.on('status', (s) => live.statuses.push(s));
  socket.on('alert', (a) => live.alerts.push(a));
  await waitFor('the socket to connect', () => socket.connected, 10_000);
  return live;
}

const subscribe = (live: Live, site: string): Promise<SubscribeReply> => live.socket.timeout(10_000).emitWithAck('subscribe', { site });

async function snapshot(live: Live, site: string): Promise<SiteSnapshot> {
  const reply = await subscribe(live, site);
  if ('error' in reply) throw new Error(`subscribe ${site}: ${reply.error.code} ${reply.error.message}`);
  return reply;
}

const publish = (id: string, metrics: Record<string, unknown>, ts = Date.now()) =>
  dev.publishAsync(`estate/jinfo-garden/hydrant/${id}/telemetry`, JSON.stringify({ ts, metrics }), { qos: 1 });

/** The values of `id` in every batch received, in order. */
const itemsOf = (live: Live, id: string) => live.readings.flatMap((b) => b.items.filter((i) => i.device === id));

describe('socket.io live updates', () => {
  it('refuses a handshake with a bad or missing token: UNAUTHENTICATED', async () => {
    for (const token of ['not-a-token', undefined]) {
      const socket = open(token);
      const err = await new Promise<Error>((resolve) => socket.once('connect_error', resolve));
      expect(err.message).toBe('UNAUTHENTICATED');
      expect((err as Error & { data?: unknown }).data).toMatchObject({ code: 'UNAUTHENTICATED' });
      expect(socket.connected).toBe(false);
    }
  });

  it('answers subscribe with a snapshot of the site: its devices and active alerts', async () => {
    const live = await connect('demo-ops-jinfo');
    const snap = await snapshot(live, 'jinfo-garden');
    expect(snap.site).toBe('jinfo-garden');
    expect(snap.devices.map((d) => d.id)).toContain('HY-03');
    expect(snap.devices.every((d) => d.site === 'jinfo-garden')).toBe(true);
    expect(snap.devices.find((d) => d.id === 'HY-03')).toMatchObject({ kind: 'hydrant', building: '3栋', siteName: '金佛花园' });
    expect(Array.isArray(snap.alerts)).toBe(true);
  });

  it('answers NOT_FOUND for a site the token may not see, or that does not exist, and BAD_REQUEST for no site', async () => {
    const live = await connect('demo-ops-nancheng');
    expect(await subscribe(live, 'jinfo-garden')).toEqual({ error: { code: 'NOT_FOUND', message: 'no site jinfo-garden' } });
    expect(await subscribe(live, 'no-such-site')).toMatchObject({ error: { code: 'NOT_FOUND' } });
    expect(await live.socket.timeout(10_000).emitWithAck('subscribe', {} as { site: string })).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    expect((await snapshot(live, 'nancheng-mansion')).devices.length).toBeGreaterThan(0);
  });

  it('sends a reading published over MQTT as an item of a reading batch', async () => {
    const live = await connect('demo-admin');
    await snapshot(live, 'jinfo-garden');
    const ts = Date.now();
    await publish('HY-03', { pressure_mpa: 0.31, temp_c: 12.5 }, ts);
    const item = await waitFor('HY-03 in a reading batch', () => itemsOf(live, 'HY-03').find((i) => i.values.pressure_mpa === 0.31), 15_000);
    expect(item).toEqual({ device: 'HY-03', ts: new Date(ts).toISOString(), values: { pressure_mpa: 0.31, temp_c: 12.5 } });
    expect(live.readings.every((b) => b.site === 'jinfo-garden')).toBe(true);
  });

  it('coalesces: 50 readings of one device in about a second arrive as a few batches, the last value last', async () => {
    const live = await connect('demo-admin');
    await snapshot(live, 'jinfo-garden');
    const started = performance.now();
    for (let i = 1; i <= 50; i++) {
      await publish('HY-04', { pressure_mpa: 0.3 + i / 1000 });
      await new Promise((r) => setTimeout(r, 20));
    }
    const elapsed = performance.now() - started;
    const last = 0.3 + 50 / 1000;
    await waitFor('the last value of HY-04', () => itemsOf(live, 'HY-04').at(-1)?.values.pressure_mpa === last, 15_000);
    const items = itemsOf(live, 'HY-04');
    // One batch per 250 ms at most, plus one for the interval the burst started in.
    expect(items.length).toBeLessThanOrEqual(Math.ceil(elapsed / 250) + 1);
    expect(items.length).toBeLessThan(50);
    expect(items.at(-1)!.values).toEqual({ pressure_mpa: last });
    // Each batch has one item per device.
    for (const b of live.readings) expect(new Set(b.items.map((i) => i.device)).size).toBe(b.items.length);
  });

  it('sends a status at once', async () => {
    const live = await connect('demo-ops-jinfo');
    await snapshot(live, 'jinfo-garden');
    await dev.publishAsync('estate/jinfo-garden/hydrant/HY-05/status', JSON.stringify({ online: false }), { qos: 1, retain: true });
    const s = await waitFor('the status of HY-05', () => live.statuses.find((x) => x.device === 'HY-05'), 15_000);
    expect(s).toMatchObject({ site: 'jinfo-garden', device: 'HY-05', online: false });
    expect(Date.parse(s.ts)).not.toBeNaN();
    const snap = await snapshot(live, 'jinfo-garden');
    expect(snap.devices.find((d) => d.id === 'HY-05')).toMatchObject({ online: false });
  });

  it('sends an alert at once, to the departments it is routed to and not to the others', async () => {
    const ops = await connect('demo-ops-jinfo');
    const fire = await connect('demo-fire');
    const market = await connect('demo-market');
    const other = await connect('demo-ops-nancheng');
    for (const l of [ops, fire, market]) await snapshot(l, 'jinfo-garden');
    await snapshot(other, 'nancheng-mansion');
    await publish('HY-06', { tamper: true });
    const firing = (l: Live) => l.alerts.find((a) => a.alert.device === 'HY-06' && a.transition === 'firing');
    const m = await waitFor('the tamper alert', () => firing(ops), 15_000);
    expect(m.alert).toMatchObject({ site: 'jinfo-garden', device: 'HY-06', rule: 'tamper_metric', severity: 'critical', state: 'firing' });
    await waitFor('the tamper alert at fire rescue', () => firing(fire), 15_000);
    // A later event to every socket of the site shows the alert would have arrived by now.
    await publish('HY-06', { pressure_mpa: 0.33 });
    for (const l of [ops, market]) await waitFor('the barrier reading', () => itemsOf(l, 'HY-06').some((i) => i.values.pressure_mpa === 0.33), 15_000);
    expect(firing(market)).toBeUndefined();
    expect(other.alerts).toEqual([]);
    // The snapshot carries it as active, for those who may see it.
    expect((await snapshot(ops, 'jinfo-garden')).alerts.map((a) => a.key)).toContain('jinfo-garden/HY-06/tamper_metric');
    expect((await snapshot(market, 'jinfo-garden')).alerts.map((a) => a.key)).not.toContain('jinfo-garden/HY-06/tamper_metric');
    expect((await snapshot(ops, 'jinfo-garden')).devices.find((d) => d.id === 'HY-06')).toMatchObject({ state: 'critical', alerts: { critical: 1 } });
  });

  it('sends nothing more after unsubscribe', async () => {
    const gone = await connect('demo-admin');
    const stays = await connect('demo-admin');
    await snapshot(gone, 'jinfo-garden');
    await snapshot(stays, 'jinfo-garden');
    expect(await gone.socket.timeout(10_000).emitWithAck('unsubscribe', { site: 'jinfo-garden' })).toEqual({ site: 'jinfo-garden' });
    const before = gone.readings.length;
    for (const v of [0.35, 0.36]) {
      await publish('HY-01', { pressure_mpa: v });
      await waitFor(`HY-01 at ${v}`, () => itemsOf(stays, 'HY-01').some((i) => i.values.pressure_mpa === v), 15_000);
    }
    expect(gone.readings.length).toBe(before);
  });

  it('gives a fresh snapshot with the current values after a reconnection', async () => {
    const live = await connect('demo-admin', true);
    const first = await snapshot(live, 'jinfo-garden');
    expect(first.devices.find((d) => d.id === 'HY-07')?.values.pressure_mpa?.value).not.toBe(0.42);
    const disconnected = new Promise((resolve) => live.socket.once('disconnect', resolve));
    live.socket.io.engine.close();
    await disconnected;
    await publish('HY-07', { pressure_mpa: 0.42 });
    await waitFor('the service to have HY-07 at 0.42', async () => {
      const d = await (await fetch(`${svc.url}/api/devices/HY-07`, { headers: { authorization: 'Bearer demo-admin' } })).json();
      return d.values?.pressure_mpa?.value === 0.42;
    }, 15_000);
    await waitFor('the socket to reconnect', () => live.socket.connected, 15_000);
    const again = await snapshot(live, 'jinfo-garden');
    expect(again.devices.find((d) => d.id === 'HY-07')?.values.pressure_mpa).toMatchObject({ value: 0.42, unit: 'MPa' });
    // And the room again: the next reading arrives.
    await publish('HY-07', { pressure_mpa: 0.43 });
    await waitFor('HY-07 at 0.43', () => itemsOf(live, 'HY-07').some((i) => i.values.pressure_mpa === 0.43), 15_000);
  });

  // Last: it blocks this address for a while.
  it('refuses an address that presented too many bad tokens, even with a good one: TOO_MANY_REQUESTS', async () => {
    const refused = async (token: string) => {
      const socket = open(token);
      const err = await new Promise<Error & { data?: { retryAfter?: number } }>((resolve) => socket.once('connect_error', resolve));
      return err;
    };
    let err = await refused('bad');
    for (let i = 0; i < 20 && err.message === 'UNAUTHENTICATED'; i++) err = await refused('bad');
    expect(err.message).toBe('TOO_MANY_REQUESTS');
    expect(err.data?.retryAfter).toBeGreaterThan(0);
    expect((await refused('demo-admin')).message).toBe('TOO_MANY_REQUESTS');
  });

  it('counts clients and events in /metrics', async () => {
    const text = await (await fetch(`${svc.url}/metrics`)).text();
    expect(Number(/^estate_live_clients (\S+)$/m.exec(text)?.[1])).toBeGreaterThan(0);
    expect(Number(/^estate_live_events_total\{event="reading"\} (\S+)$/m.exec(text)?.[1])).toBeGreaterThan(0);
  });
});
