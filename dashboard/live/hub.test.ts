/**
 * The live hub's snapshot now that the alerts come from the store asynchronously: alert
 * events sent to the room while the store is read are laid over what it read (the snapshot
 * a client applies is never older than the events it already had), and a store that cannot
 * answer is a STORE_UNAVAILABLE reply. A real socket.io server and client on 127.0.0.1; the
 * store's answer is held back by the test.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { io, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEstate, Registry, type Alert } from '../../config/index.ts';
import { Bus } from '../../bus.ts';
import { LiveHub } from './hub.ts';
import { LatestCache } from './latest.ts';
import type { AlertMessage, SubscribeReply } from './protocol.ts';

const sha = (t: string) => createHash('sha256').update(t).digest('hex');
const ESTATE = parseEstate(
  `
sites:
  - id: s1
    name: 金佛花园
    property: { name: 渝南物业 }
    devices:
      - { id: HY-1, kind: hydrant, building: "3栋" }
      - { id: HY-2, kind: hydrant, building: "4栋" }
      - { id: HY-3, kind: hydrant, building: "5栋" }
auth:
  tokens:
    - { name: root, role: admin, sha256: ${sha('t-root')} }
`,
  'hub-test.yaml',
  {},
);

const T = 1_800_000_000_000;
function alert(device: string, state: Alert['state'], firedAt: number): Alert {
  return {
    id: `01HUB${device.replace('-', '')}`.padEnd(26, '0'),
    key: `s1/${device}/pressure_low`,
    site: 's1',
    siteName: '金佛花园',
    building: '3栋',
    device,
    kind: 'hydrant',
    rule: 'pressure_low',
    metric: 'pressure_mpa',
    severity: 'critical',
    state,
    value: 0.08,
    threshold: 0.1,
    unit: 'MPa',
    startsAt: firedAt,
    firedAt,
    endsAt: state === 'resolved' ? firedAt + 1000 : null,
    ackDeadline: null,
    ackedAt: state === 'acknowledged' ? firedAt + 500 : null,
    ackedBy: state === 'acknowledged' ? 'ops' : null,
    ackNote: null,
    escalatedAt: null,
    departments: ['fire-rescue', 'property'],
    notified: ['fire-rescue', 'property'],
    announcedAt: firedAt,
    summary: { 'zh-CN': device, en: device },
    mutedBy: null,
    flapping: false,
    source: 'test',
    housekeeping: false,
    offline: false,
    monitoringLostAt: null,
  };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** A hub whose store answers `list` only when the test says so. */
async function hub(list: () => Promise<Alert[]>): Promise<{ bus: Bus; client: Socket; listed: Promise<void> }> {
  const registry = new Registry(ESTATE);
  const bus = new Bus((_e, err) => {
    throw err;
  });
  let called!: () => void;
  const listed = new Promise<void>((r) => (called = r));
  const live = new LiveHub({
    estate: ESTATE,
    registry,
    latest: new LatestCache(registry),
    bus,
    log: pino({ level: 'silent' }),
    alerts: {
      canSee: () => true,
      list: () => {
        called();
        return list();
      },
    },
  });
  const http: HttpServer = createServer();
  live.start(http);
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => http.close(() => r())));
  cleanups.push(() => live.stop());
  const client = io(`http://127.0.0.1:${(http.address() as AddressInfo).port}`, { path: '/socket.io', auth: { token: 't-root' }, transports: ['websocket'], reconnection: false });
  cleanups.push(() => void client.close());
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('connect_error', reject);
  });
  return { bus, client, listed };
}

describe('a live snapshot read from the store', () => {
  it('includes what the room was sent while the store was read', async () => {
    let answer!: (a: Alert[]) => void;
    const { bus, client, listed } = await hub(() => new Promise((r) => (answer = r)));
    const events: AlertMessage[] = [];
    client.on('alert', (m: AlertMessage) => events.push(m));
    const reply = client.timeout(5000).emitWithAck('subscribe', { site: 's1' }) as Promise<SubscribeReply>;
    await listed;
    // Meanwhile: HY-1 acknowledged, HY-2 resolved, HY-3 fired; the store's answer predates all three.
    bus.emit('alert', { alert: alert('HY-1', 'acknowledged', T), transition: 'acknowledged' });
    bus.emit('alert', { alert: alert('HY-2', 'resolved', T + 1), transition: 'resolved' });
    bus.emit('alert', { alert: alert('HY-3', 'firing', T + 2), transition: 'firing' });
    await new Promise((r) => setTimeout(r, 100));
    answer([alert('HY-2', 'firing', T + 1), alert('HY-1', 'firing', T)]);
    const snap = await reply;
    if ('error' in snap) throw new Error(snap.error.message);
    expect(events.map((e) => [e.alert.device, e.transition])).toEqual([
      ['HY-1', 'acknowledged'],
      ['HY-2', 'resolved'],
      ['HY-3', 'firing'],
    ]);
    // Newest first, as the store lists them; nothing older than an event the client already had.
    expect(snap.alerts.map((a) => [a.device, a.state])).toEqual([
      ['HY-3', 'firing'],
      ['HY-1', 'acknowledged'],
    ]);
    expect(snap.devices.map((d) => d.id)).toEqual(['HY-1', 'HY-2', 'HY-3']);
  });

  it('is the store as it answered when nothing happened meanwhile', async () => {
    const { client } = await hub(async () => [alert('HY-2', 'firing', T + 1), alert('HY-1', 'acknowledged', T)]);
    const snap = (await client.timeout(5000).emitWithAck('subscribe', { site: 's1' })) as SubscribeReply;
    if ('error' in snap) throw new Error(snap.error.message);
    expect(snap.alerts.map((a) => [a.device, a.state])).toEqual([
      ['HY-2', 'firing'],
      ['HY-1', 'acknowledged'],
    ]);
  });

  it('is STORE_UNAVAILABLE when the store cannot answer, and works again once it can', async () => {
    let down = true;
    const { client } = await hub(async () => {
      if (down) throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
      return [];
    });
    const first = (await client.timeout(5000).emitWithAck('subscribe', { site: 's1' })) as SubscribeReply;
    expect(first).toEqual({ error: { code: 'STORE_UNAVAILABLE', message: 'the operational store cannot be used right now; subscribe again shortly' } });
    down = false;
    const again = (await client.timeout(5000).emitWithAck('subscribe', { site: 's1' })) as SubscribeReply;
    expect('error' in again ? again.error : again.alerts).toEqual([]);
  });
});
