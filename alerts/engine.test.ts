/**
 * The alert lifecycle with a hand-written fake outbox and a manual clock: who is told what,
 * and when — firing, severity, resolution, acknowledgement, escalation, reminders, flapping,
 * silences, inspection mode, silent devices, outages, restarts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry, parseEstate } from '../config/index.ts';
import { Bus, type Reading } from '../bus.ts';
import { OperationalStore, type Point } from '../storage/index.ts';
import { AlertStore } from './alert-store.ts';
import { AlertEngine } from './engine.ts';
import { AlertActions, type Actor } from './actions.ts';
import type { OutboxItem } from './notify.ts';

const ESTATE = parseEstate(
  `
sites:
  - id: s1
    name: 金佛花园
    property: { name: 渝南物业, channels: [ { type: webhook, url: "http://127.0.0.1:1/property" } ] }
    devices:
      - { id: HY-1, kind: hydrant, building: "3栋", intervalSec: 3600 }
      - { id: EL-1, kind: elevator, building: "1栋", intervalSec: 3600 }
      - { id: HY-2, kind: hydrant, building: "5栋", intervalSec: 10 }
departments:
  - { id: fire-rescue, name: 区消防救援支队, channels: [ { type: webhook, url: "http://127.0.0.1:1/fire" } ] }
  - { id: market-supervision, name: 区市场监管局, channels: [ { type: webhook, url: "http://127.0.0.1:1/market" } ] }
  - { id: housing, name: 区住房城乡建委, channels: [ { type: webhook, url: "http://127.0.0.1:1/housing" } ] }
alerting:
  reminderEveryMin: 10
  flapping: { transitions: 3, windowMin: 30 }
`,
  'engine-test.yaml',
  {},
);

const T0 = 1_800_000_000_000;
let now = T0;
let dir: string;
let ops: OperationalStore;
let store: AlertStore;
let engine: AlertEngine;
let actions: AlertActions;
let bus: Bus;
let sent: OutboxItem[];
let points: Point[];

beforeEach(() => {
  now = T0;
  dir = mkdtempSync(join(tmpdir(), 'engine-test-'));
  ops = new OperationalStore(join(dir, 'ops.db'));
  store = new AlertStore(ops.db);
  sent = [];
  points = [];
  bus = new Bus((e, err) => {
    throw err;
  });
  engine = new AlertEngine({
    registry: new Registry(ESTATE),
    estate: ESTATE,
    bus,
    store,
    sink: { enqueue: (items) => (sent.push(...items), items.map((_, i) => String(i))), wake: () => undefined },
    ackUrl: (id, r) => `http://127.0.0.1:8080/ack/${id}.${r}`,
    record: (p) => points.push(...p),
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    now: () => now,
  });
  actions = new AlertActions(engine, store, { sign: (a, r) => `${a}.${r}`, verify: (t) => { const [alertId, recipient] = t.split('.'); return alertId && recipient ? { ok: true, alertId, recipient } : { ok: false, code: 'malformed' }; } }, () => now);
  engine.start();
});

afterEach(() => {
  engine.stop();
  ops.close();
  rmSync(dir, { recursive: true, force: true });
});

const reading = (device: string, metrics: Reading['metrics'], tsOffsetSec = 0): void =>
  bus.emit('reading', { site: 's1', kind: device.startsWith('HY') ? 'hydrant' : 'elevator', device, building: '', ts: now + tsOffsetSec * 1000, metrics });
const advance = (sec: number) => {
  now += sec * 1000;
  engine.tick();
};
/** What was sent, leaving out HY-2's silence (it stays silent whenever a test lets time pass). */
const told = () => sent.filter((s) => s.body.alert.device !== 'HY-2').map((s) => `${s.event} ${s.recipient} ${s.body.alert.severity}`);
const ADMIN: Actor = { name: 'root', role: 'admin', sites: null, departments: null };
const FIRE: Actor = { name: 'fire-desk', role: 'department', sites: null, departments: new Set(['fire-rescue']) };

describe('lifecycle', () => {
  it('fires once to the department and the property company, with the contract body; pending tells nobody', () => {
    reading('HY-1', { pressure_mpa: 0.08 });
    expect(engine.book.get('s1/HY-1/pressure_low')?.state).toBe('pending');
    expect(sent).toEqual([]);
    reading('HY-1', { pressure_mpa: 0.08 }, 60);
    expect(told()).toEqual(['alert.firing fire-rescue critical', 'alert.firing property critical']);
    const body = sent[0]!.body;
    expect(body).toMatchObject({
      version: 1,
      event: 'alert.firing',
      department: { id: 'fire-rescue', name: '区消防救援支队' },
      alert: { key: 's1/HY-1/pressure_low', site: 's1', siteName: '金佛花园', building: '3栋', device: 'HY-1', kind: 'hydrant', rule: 'pressure_low', metric: 'pressure_mpa', severity: 'critical', state: 'firing', value: 0.08, threshold: 0.1, unit: 'MPa', endsAt: null },
    });
    expect(body.alert.summary).toEqual({ 'zh-CN': '3栋消火栓水压 0.08 MPa，低于 0.1 MPa', en: 'Hydrant HY-1 pressure 0.08 MPa is below 0.1 MPa' });
    expect(body.ackUrl).toContain('/ack/');
    expect(sent[1]!.body.department).toEqual({ id: 'property', name: '渝南物业' });
    expect(body.alert.ackDeadline).toBe(new Date(now + 5 * 60_000).toISOString());
    // Readings that keep it firing tell nobody again.
    reading('HY-1', { pressure_mpa: 0.07 }, 61);
    expect(sent.length).toBe(2);
    expect(points.map((p) => p.fields.state)).toEqual(['firing']);
    expect(points[0]!.tags).toMatchObject({ site: 's1', device: 'HY-1', kind: 'hydrant', rule: 'pressure_low', severity: 'critical', department: 'fire-rescue' });
  });

  it('announces a rise in severity, records a fall, announces the resolution', () => {
    reading('HY-1', { pressure_mpa: 0.12 });
    reading('HY-1', { pressure_mpa: 0.12 }, 300);
    reading('HY-1', { pressure_mpa: 0.05 }, 301);
    reading('HY-1', { pressure_mpa: 0.05 }, 362);
    reading('HY-1', { pressure_mpa: 0.12 }, 400);
    reading('HY-1', { pressure_mpa: 0.3 }, 420);
    expect(told()).toEqual([
      'alert.firing fire-rescue warning',
      'alert.firing property warning',
      'alert.firing fire-rescue critical',
      'alert.firing property critical',
      'alert.resolved fire-rescue warning',
      'alert.resolved property warning',
    ]);
    expect(store.history(sent[0]!.alertId).map((h) => h.transition)).toEqual(['pending', 'firing', 'severity', 'severity', 'resolved']);
  });

  it('escalates to housing when nobody acknowledges by the deadline, and reminds meanwhile', () => {
    bus.emit('event', { site: 's1', kind: 'elevator', device: 'EL-1', building: '', ts: now, code: 'trapped', active: true, detail: '5楼与6楼之间' });
    sent.length = 0;
    advance(4 * 60);
    expect(told()).toEqual([]);
    advance(61);
    expect(told()).toEqual(['alert.escalated market-supervision critical', 'alert.escalated property critical', 'alert.escalated housing critical']);
    sent.length = 0;
    advance(10 * 60);
    expect(told()).toEqual(['alert.reminder market-supervision critical', 'alert.reminder property critical', 'alert.reminder housing critical']);
  });

  it('an acknowledgement stops escalation and is announced; a department acknowledges only what is routed to it', () => {
    reading('HY-1', { tamper: true });
    const a = engine.book.get('s1/HY-1/tamper_metric')!;
    const market: Actor = { name: 'm', role: 'department', sites: null, departments: new Set(['market-supervision']) };
    expect(actions.ack(market, a.id, null)).toMatchObject({ ok: false, code: 'not_found' });
    expect(actions.ack(FIRE, a.id, '已派人')).toMatchObject({ ok: true, alert: { state: 'acknowledged', ackedBy: 'fire-desk', ackNote: '已派人' } });
    expect(actions.ack(FIRE, a.id, null)).toMatchObject({ ok: false, code: 'already_acknowledged' });
    expect(told().slice(-2)).toEqual(['alert.acknowledged fire-rescue critical', 'alert.acknowledged property critical']);
    sent.length = 0;
    advance(30 * 60);
    expect(told()).toEqual([]);
    expect(store.acks(a.id)).toMatchObject([{ department: 'fire-rescue', actor: 'fire-desk', via: 'api' }]);
  });

  it('links: a resolved alert\'s link has expired, a used one is refused', () => {
    reading('HY-1', { tamper: true });
    const a = engine.book.get('s1/HY-1/tamper_metric')!;
    expect(actions.ackByLink(`${a.id}.property`, null)).toMatchObject({ ok: true });
    expect(actions.ackByLink(`${a.id}.property`, null)).toMatchObject({ ok: false, code: 'reused' });
    reading('HY-1', { tamper: false }, 1);
    expect(actions.ackByLink(`${a.id}.fire-rescue`, null)).toMatchObject({ ok: false, code: 'expired' });
    expect(actions.ackByLink('garbage', null)).toMatchObject({ ok: false, code: 'forged' });
  });

  it('holds a flapping alert as one, announced once, resolved after it stays clear for the window', () => {
    for (let i = 0; i < 4; i++) {
      reading('HY-1', { leak: true }, i * 10);
      reading('HY-1', { leak: false }, i * 10 + 5);
      advance(10);
    }
    const events = sent.filter((s) => s.body.alert.device === 'HY-1').map((s) => s.event).filter((_, i) => i % 2 === 0);
    // three ordinary fire/resolve pairs, then the fourth fires as flapping and stays open
    expect(events).toEqual(['alert.firing', 'alert.resolved', 'alert.firing', 'alert.resolved', 'alert.firing', 'alert.resolved', 'alert.firing']);
    const a = engine.book.get('s1/HY-1/leak_metric')!;
    expect(a.flapping).toBe(true);
    expect(a.summary['zh-CN']).toContain('频繁波动');
    // Acknowledged, so that only the flapping itself is under test (it would escalate like any other).
    expect(actions.ack(FIRE, a.id, null)).toMatchObject({ ok: true });
    sent.length = 0;
    reading('HY-1', { leak: true }, 50);
    reading('HY-1', { leak: false }, 55);
    advance(29 * 60);
    expect(told()).toEqual([]);
    advance(2 * 60);
    expect(told()).toEqual(['alert.resolved fire-rescue critical', 'alert.resolved property critical']);
  });
});

describe('muting', () => {
  it('a silence mutes notifications, not the record, and the alert is announced when the silence ends', () => {
    const s = actions.createSilence(ADMIN, { matchers: { device: 'HY-1' }, startsAt: now, endsAt: now + 60_000, comment: '维保' });
    expect('id' in s).toBe(true);
    reading('HY-1', { tamper: true });
    expect(told()).toEqual([]);
    expect(engine.book.get('s1/HY-1/tamper_metric')).toMatchObject({ state: 'firing', mutedBy: (s as { id: string }).id });
    advance(61);
    expect(told()).toEqual(['alert.firing fire-rescue critical', 'alert.firing property critical']);
  });

  it('inspection mode mutes the elevator\'s fault alerts and records that it did; silent still counts', () => {
    reading('EL-1', { service_mode: 2 });
    bus.emit('event', { site: 's1', kind: 'elevator', device: 'EL-1', building: '', ts: now, code: 'door_close_fault', active: true, detail: '' });
    expect(engine.book.get('s1/EL-1/door_close_fault')).toMatchObject({ state: 'firing', mutedBy: 'inspection' });
    expect(told()).toEqual([]);
    expect(store.history(engine.book.get('s1/EL-1/door_close_fault')!.id).map((h) => h.transition)).toContain('muted');
  });
});

describe('silent devices and outages', () => {
  it('a device silent for 3 × its interval (wall clock) raises device_silent; a message clears it', () => {
    advance(29);
    expect(engine.book.get('s1/HY-2/device_silent')).toBeUndefined();
    advance(2);
    expect(engine.book.get('s1/HY-2/device_silent')).toMatchObject({ state: 'firing', severity: 'warning', departments: ['fire-rescue', 'property'] });
    expect(engine.book.get('s1/HY-1/device_silent')).toBeUndefined();
    reading('HY-2', { pressure_mpa: 0.3 });
    expect(engine.book.get('s1/HY-2/device_silent')).toBeUndefined();
  });

  it('a retained online:false raises it at once; online:true clears it', () => {
    bus.emit('status', { site: 's1', kind: 'hydrant', device: 'HY-1', ts: now, online: false });
    expect(engine.book.get('s1/HY-1/device_silent')?.summary['zh-CN']).toContain('设备离线');
    bus.emit('status', { site: 's1', kind: 'hydrant', device: 'HY-1', ts: now, online: true });
    expect(engine.book.get('s1/HY-1/device_silent')).toBeUndefined();
  });

  it('a broker outage raises one system alert and holds back the silent alerts it would cause', () => {
    bus.emit('broker', { up: false });
    for (let i = 0; i < 60; i++) advance(1);
    expect(engine.book.all().map((a) => a.rule)).toEqual(['broker_down']);
    expect(told()).toEqual(['alert.firing property critical']);
    bus.emit('broker', { up: true });
    expect(engine.book.all()).toEqual([]);
    advance(20);
    expect(engine.book.get('s1/HY-2/device_silent')).toBeUndefined();
    advance(11);
    expect(engine.book.get('s1/HY-2/device_silent')?.state).toBe('firing');
  });

  it('keeps open alerts across a restart', () => {
    reading('HY-1', { tamper: true });
    engine.stop();
    const again = new AlertEngine({ ...(engine as unknown as { deps: ConstructorParameters<typeof AlertEngine>[0] }).deps });
    again.start();
    expect(again.book.get('s1/HY-1/tamper_metric')?.state).toBe('firing');
    again.stop();
  });
});
