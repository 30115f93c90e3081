/**
 * The alert engine on a real SQLite store with a manual clock (alerts/testing/engine-harness.ts):
 * who is told what, and when — firing, severity, resolution, acknowledgement, escalation,
 * reminders, flapping, silences, inspection mode, silent and offline devices, the service's own
 * outages, restarts. Routing, inhibition and grouping end to end through the whole service are
 * in test/alerts-notify.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseEstate } from '../config/index.ts';
import type { Actor } from './actions.ts';
import { alertOf, engineHarness, T0, type Harness } from './testing/engine-harness.ts';

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

let h: Harness;
beforeEach(async () => {
  h = await engineHarness(ESTATE);
});
afterEach(async () => {
  await h.close();
});

/** What was sent, leaving out HY-2 (it falls silent whenever a test lets time pass). */
const told = () => h.outbox.sent.filter((s) => s.body.event === 'alert.group' || alertOf(s).device !== 'HY-2').map((s) => (s.body.event === 'alert.group' ? `alert.group ${s.recipient}` : `${s.event} ${s.recipient} ${alertOf(s).severity}`));
const clear = () => void h.outbox.sent.splice(0);
const ADMIN: Actor = { name: 'root', role: 'admin', sites: null, departments: null };
const FIRE: Actor = { name: 'fire-desk', role: 'department', sites: null, departments: new Set(['fire-rescue']) };

describe('lifecycle', () => {
  it('fires once to the department and the property company, with the contract body; pending tells nobody', async () => {
    await h.reading('HY-1', { pressure_mpa: 0.08 });
    expect(h.engine.book.get('s1/HY-1/pressure_low')?.state).toBe('pending');
    expect(h.outbox.sent).toEqual([]);
    await h.reading('HY-1', { pressure_mpa: 0.08 }, 60);
    expect(told()).toEqual(['alert.firing fire-rescue critical', 'alert.firing property critical']);
    const body = h.outbox.sent[0]!.body;
    expect(body).toMatchObject({
      version: 1,
      event: 'alert.firing',
      department: { id: 'fire-rescue', name: '区消防救援支队' },
      alert: { key: 's1/HY-1/pressure_low', site: 's1', siteName: '金佛花园', building: '3栋', device: 'HY-1', kind: 'hydrant', rule: 'pressure_low', metric: 'pressure_mpa', severity: 'critical', state: 'firing', value: 0.08, threshold: 0.1, unit: 'MPa', endsAt: null },
    });
    expect(alertOf(h.outbox.sent[0]!).summary).toEqual({ 'zh-CN': '3栋消火栓水压 0.08 MPa，低于 0.1 MPa', en: 'Hydrant HY-1 pressure 0.08 MPa is below 0.1 MPa' });
    expect(body.event === 'alert.firing' && body.ackUrl).toContain('/ack/');
    expect(h.outbox.sent[1]!.body.department).toEqual({ id: 'property', name: '渝南物业' });
    expect(alertOf(h.outbox.sent[0]!).ackDeadline).toBe(new Date(T0 + 5 * 60_000).toISOString());
    // Readings that keep it firing tell nobody again.
    await h.reading('HY-1', { pressure_mpa: 0.07 }, 61);
    expect(h.outbox.sent.length).toBe(2);
    expect(h.points.map((p) => p.fields.state)).toEqual(['firing']);
    expect(h.points[0]!.tags).toMatchObject({ site: 's1', device: 'HY-1', kind: 'hydrant', rule: 'pressure_low', severity: 'critical', department: 'fire-rescue' });
    // What was committed is what the store has: the alert, its history, who was told.
    const a = h.engine.book.get('s1/HY-1/pressure_low')!;
    expect(await h.store.get(a.id)).toEqual(a);
    expect(a.notified).toEqual(['fire-rescue', 'property']);
    expect(a.announcedAt).toBe(T0);
  });

  it('announces a rise in severity, records a fall, announces the resolution', async () => {
    await h.reading('HY-1', { pressure_mpa: 0.12 });
    await h.reading('HY-1', { pressure_mpa: 0.12 }, 300);
    await h.reading('HY-1', { pressure_mpa: 0.05 }, 301);
    await h.reading('HY-1', { pressure_mpa: 0.05 }, 362);
    await h.reading('HY-1', { pressure_mpa: 0.12 }, 400);
    await h.reading('HY-1', { pressure_mpa: 0.3 }, 420);
    expect(told()).toEqual([
      'alert.firing fire-rescue warning',
      'alert.firing property warning',
      'alert.firing fire-rescue critical',
      'alert.firing property critical',
      'alert.resolved fire-rescue warning',
      'alert.resolved property warning',
    ]);
    expect((await h.store.history(h.outbox.sent[0]!.alertId)).map((x) => x.transition)).toEqual(['pending', 'firing', 'severity', 'severity', 'resolved']);
  });

  it('escalates to housing when nobody acknowledges by the deadline, and reminds meanwhile', async () => {
    await h.event('EL-1', 'trapped', true, '5楼与6楼之间');
    clear();
    await h.advance(4 * 60, 10);
    expect(told()).toEqual([]);
    await h.advance(61, 10);
    expect(told()).toEqual(['alert.escalated market-supervision critical', 'alert.escalated property critical', 'alert.escalated housing critical']);
    clear();
    await h.advance(10 * 60, 10);
    expect(told()).toEqual(['alert.reminder market-supervision critical', 'alert.reminder property critical', 'alert.reminder housing critical']);
  });

  it('an acknowledgement stops escalation and is announced; a department acknowledges only what is routed to it', async () => {
    await h.reading('HY-1', { tamper: true });
    const a = h.engine.book.get('s1/HY-1/tamper_metric')!;
    const market: Actor = { name: 'm', role: 'department', sites: null, departments: new Set(['market-supervision']) };
    expect(await h.actions.ack(market, a.id, null)).toMatchObject({ ok: false, code: 'not_found' });
    expect(await h.actions.ack(FIRE, a.id, '已派人')).toMatchObject({ ok: true, alert: { state: 'acknowledged', ackedBy: 'fire-desk', ackNote: '已派人' } });
    expect(await h.actions.ack(FIRE, a.id, null)).toMatchObject({ ok: false, code: 'already_acknowledged' });
    expect(told().slice(-2)).toEqual(['alert.acknowledged fire-rescue critical', 'alert.acknowledged property critical']);
    clear();
    await h.advance(30 * 60, 30);
    expect(told()).toEqual([]);
    expect(await h.store.acks(a.id)).toMatchObject([{ department: 'fire-rescue', actor: 'fire-desk', via: 'api' }]);
  });

  it("links: a resolved alert's link has expired, a used one is refused", async () => {
    await h.reading('HY-1', { tamper: true });
    const a = h.engine.book.get('s1/HY-1/tamper_metric')!;
    expect(await h.actions.ackByLink(`${a.id}.property`, null)).toMatchObject({ ok: true });
    expect(await h.actions.ackByLink(`${a.id}.property`, null)).toMatchObject({ ok: false, code: 'reused' });
    await h.reading('HY-1', { tamper: false }, 1);
    expect(await h.actions.ackByLink(`${a.id}.fire-rescue`, null)).toMatchObject({ ok: false, code: 'expired' });
    expect(await h.actions.ackByLink('garbage', null)).toMatchObject({ ok: false, code: 'forged' });
  });

  it('holds a flapping alert as one, announced once, resolved after it stays clear for the window', async () => {
    for (let i = 0; i < 4; i++) {
      await h.reading('HY-1', { leak: true }, i * 10);
      await h.reading('HY-1', { leak: false }, i * 10 + 5);
      await h.advance(10);
    }
    const events = h.outbox.sent.filter((s) => alertOf(s).device === 'HY-1').map((s) => s.event).filter((_, i) => i % 2 === 0);
    // three ordinary fire/resolve pairs, then the fourth fires as flapping and stays open
    expect(events).toEqual(['alert.firing', 'alert.resolved', 'alert.firing', 'alert.resolved', 'alert.firing', 'alert.resolved', 'alert.firing']);
    const a = h.engine.book.get('s1/HY-1/leak_metric')!;
    expect(a.flapping).toBe(true);
    expect(a.summary['zh-CN']).toContain('频繁波动');
    // Acknowledged, so that only the flapping itself is under test (it would escalate like any other).
    expect(await h.actions.ack(FIRE, a.id, null)).toMatchObject({ ok: true });
    clear();
    await h.reading('HY-1', { leak: true }, 50);
    await h.reading('HY-1', { leak: false }, 55);
    await h.advance(29 * 60, 30);
    expect(told()).toEqual([]);
    await h.advance(2 * 60, 10);
    expect(told()).toEqual(['alert.resolved fire-rescue critical', 'alert.resolved property critical']);
  });
});

describe('muting', () => {
  it('a silence mutes notifications, not the record, and the alert is announced when the silence ends', async () => {
    const s = await h.actions.createSilence(ADMIN, { matchers: { device: 'HY-1' }, startsAt: T0, endsAt: T0 + 60_000, comment: '维保' });
    expect('id' in s).toBe(true);
    await h.reading('HY-1', { tamper: true });
    expect(told()).toEqual([]);
    expect(h.engine.book.get('s1/HY-1/tamper_metric')).toMatchObject({ state: 'firing', mutedBy: (s as { id: string }).id, announcedAt: null });
    await h.advance(61);
    expect(told()).toEqual(['alert.firing fire-rescue critical', 'alert.firing property critical']);
    expect(h.engine.book.get('s1/HY-1/tamper_metric')).toMatchObject({ mutedBy: null, announcedAt: T0 + 60_000 });
  });

  it("inspection mode mutes the elevator's fault alerts and records that it did", async () => {
    await h.reading('EL-1', { service_mode: 2 });
    await h.event('EL-1', 'door_close_fault', true);
    expect(h.engine.book.get('s1/EL-1/door_close_fault')).toMatchObject({ state: 'firing', mutedBy: 'inspection' });
    expect(told()).toEqual([]);
    expect((await h.store.history(h.engine.book.get('s1/EL-1/door_close_fault')!.id)).map((x) => x.transition)).toContain('muted');
  });
});

describe('inhibition', () => {
  it("a trapped event holds back what the elevator's own readings derive from the same trapping", async () => {
    await h.event('EL-1', 'trapped', true, '5楼与6楼之间');
    const stuck = { running: false, door_open: false, passengers_present: true, in_door_zone: false };
    await h.reading('EL-1', stuck);
    await h.reading('EL-1', stuck, 61);
    expect(h.engine.book.get('s1/EL-1/trapped_derived')).toMatchObject({ state: 'firing', mutedBy: 'inhibited:s1/EL-1/trapped' });
    expect(h.engine.book.get('s1/EL-1/stop_outside_door_zone_derived')).toMatchObject({ state: 'firing', mutedBy: 'inhibited:s1/EL-1/trapped' });
    expect(told()).toEqual(['alert.firing market-supervision critical', 'alert.firing property critical']);
    expect(h.outbox.sent.map((x) => alertOf(x).rule)).toEqual(['trapped', 'trapped']);
  });
});

describe('silent and offline devices, the service\'s own outages', () => {
  it('a device silent for 3 × its interval (wall clock) raises device_silent to its maintainer and property company; a message clears it', async () => {
    await h.advance(29);
    expect(h.engine.book.get('s1/HY-2/device_silent')).toBeUndefined();
    await h.advance(2);
    // Housekeeping: not to fire rescue (the estate names no maintainer, so the property company only), grouped.
    expect(h.engine.book.get('s1/HY-2/device_silent')).toMatchObject({ state: 'firing', severity: 'warning', departments: ['property'], housekeeping: true });
    expect(h.engine.book.get('s1/HY-1/device_silent')).toBeUndefined();
    await h.advance(30);
    expect(h.told('HY-2')).toEqual(['alert.firing property warning']);
    await h.reading('HY-2', { pressure_mpa: 0.3 });
    expect(h.engine.book.get('s1/HY-2/device_silent')).toBeUndefined();
  });

  it('a device heard from before its deadline counts from its last message: silent 3 × its interval after it, not before', async () => {
    await h.advance(20);
    await h.reading('HY-2', { pressure_mpa: 0.3 });
    await h.advance(29); // 49 s: the deadline set at the start (30 s) has passed, the device was heard at 20 s
    expect(h.engine.book.get('s1/HY-2/device_silent')).toBeUndefined();
    await h.advance(2); // 51 s: 31 s after its message
    expect(h.engine.book.get('s1/HY-2/device_silent')).toMatchObject({ state: 'firing' });
    await h.reading('HY-2', { pressure_mpa: 0.3 });
    expect(h.engine.book.get('s1/HY-2/device_silent')).toBeUndefined();
    await h.advance(29);
    expect(h.engine.book.get('s1/HY-2/device_silent')).toBeUndefined();
    await h.advance(2);
    expect(h.engine.book.get('s1/HY-2/device_silent')).toMatchObject({ state: 'firing' });
  });

  it('a retained online:false raises it at once; online:true clears it, and so does any telemetry', async () => {
    await h.status('HY-1', false);
    expect(h.engine.book.get('s1/HY-1/device_silent')).toMatchObject({ offline: true });
    expect(h.engine.book.get('s1/HY-1/device_silent')?.summary['zh-CN']).toContain('设备离线');
    await h.status('HY-1', true);
    expect(h.engine.book.get('s1/HY-1/device_silent')).toBeUndefined();
    await h.status('HY-1', false);
    expect(h.engine.book.get('s1/HY-1/device_silent')).toBeDefined();
    await h.reading('HY-1', { pressure_mpa: 0.3 });
    expect(h.engine.book.get('s1/HY-1/device_silent')).toBeUndefined();
  });

  it('a broker outage raises one system alert; the silent alerts it causes are recorded, held back, and end when it is back', async () => {
    h.bus.emit('broker', { up: false });
    await h.advance(60);
    const open = [...h.engine.book.all()];
    expect(open.map((a) => a.rule).sort()).toEqual(['broker_down', 'device_silent']);
    expect(open.find((a) => a.rule === 'device_silent')).toMatchObject({ device: 'HY-2', mutedBy: 'inhibited:estate/system/broker_down' });
    expect(h.told()).toEqual(['alert.firing property critical']);
    h.bus.emit('broker', { up: true });
    await h.advance(1);
    expect([...h.engine.book.all()]).toEqual([]);
    await h.advance(20);
    expect(h.engine.book.get('s1/HY-2/device_silent')).toBeUndefined();
    await h.advance(11);
    expect(h.engine.book.get('s1/HY-2/device_silent')?.state).toBe('firing');
  });
});

describe("the series store's cap on a tag's values", () => {
  const setting = { file: '[data] max-values-per-tag', env: 'INFLUXDB_DATA_MAX_VALUES_PER_TAG', unlimited: 0 };
  const refused = (measurement: string, lines = 1) => h.bus.emit('store.tag_limit', { measurement, tag: 'device', limit: 100000, lines, setting });
  const capTold = () =>
    h.outbox.sent.filter((s) => s.body.event !== 'alert.group' && alertOf(s).rule === 'store_tag_limit').map((s) => `${s.event} ${s.recipient} ${alertOf(s).key}`);

  it('raises one critical store_tag_limit per measurement, naming the setting in both languages; resolves 15 min after its last refusal', async () => {
    refused('hydrant', 3);
    await h.advance(1);
    expect(h.engine.book.get('estate/system/store_tag_limit/hydrant')).toMatchObject({ kind: 'system', device: 'system', rule: 'store_tag_limit', state: 'firing', severity: 'critical', departments: ['property'] });
    expect(h.engine.book.get('estate/system/store_tag_limit/hydrant')!.summary).toEqual({
      'zh-CN': '系统：时序数据库拒收测量 hydrant 中标签 device 的新取值：已达上限 100000 个（InfluxDB 配置 [data] max-values-per-tag，环境变量 INFLUXDB_DATA_MAX_VALUES_PER_TAG；设为 0 即不设上限）',
      en: 'System: the series store refuses new values of tag device in measurement hydrant: it is at its cap of 100000 values (InfluxDB [data] max-values-per-tag, environment INFLUXDB_DATA_MAX_VALUES_PER_TAG; 0 lifts the cap)',
    });
    // Refusals that go on keep it open and tell nobody again; another measurement has its own.
    await h.advance(10 * 60, 60);
    refused('hydrant');
    refused('status');
    await h.advance(15 * 60 - 1, 60);
    expect(h.engine.book.get('estate/system/store_tag_limit/hydrant')?.state).toBe('firing');
    expect(h.engine.book.get('estate/system/store_tag_limit/status')?.state).toBe('firing');
    await h.advance(1);
    expect(h.engine.book.get('estate/system/store_tag_limit/hydrant')).toBeUndefined();
    expect(h.engine.book.get('estate/system/store_tag_limit/status')).toBeUndefined();
    expect(capTold().filter((t) => !t.startsWith('alert.reminder'))).toEqual([
      'alert.firing property estate/system/store_tag_limit/hydrant',
      'alert.firing property estate/system/store_tag_limit/status',
      'alert.resolved property estate/system/store_tag_limit/hydrant',
      'alert.resolved property estate/system/store_tag_limit/status',
    ]);
    // A refusal after its resolution is a new alert.
    refused('hydrant');
    await h.advance(1);
    expect(h.engine.book.get('estate/system/store_tag_limit/hydrant')?.state).toBe('firing');
  });

  it('an alert open at a restart resolves 15 min after the start, unless refusals go on', async () => {
    refused('hydrant');
    refused('events');
    await h.advance(5 * 60, 60);
    h = await h.restart();
    clear();
    await h.advance(10 * 60, 60);
    refused('events');
    await h.advance(5 * 60 - 1, 60);
    expect(h.engine.book.get('estate/system/store_tag_limit/hydrant')?.state).toBe('firing');
    await h.advance(1);
    expect(h.engine.book.get('estate/system/store_tag_limit/hydrant')).toBeUndefined();
    expect(h.engine.book.get('estate/system/store_tag_limit/events')?.state).toBe('firing');
    expect(capTold().filter((t) => !t.startsWith('alert.reminder'))).toEqual(['alert.resolved property estate/system/store_tag_limit/hydrant']);
  });
});

describe('a site going dark during a broker outage', () => {
  it('holds back its site outage and each silent device, naming the broker as the cause, also for a device silent after the site outage opened', async () => {
    const dark = parseEstate(
      `
sites:
  - id: s1
    name: 金佛花园
    property: { name: 渝南物业, channels: [ { type: webhook, url: "http://127.0.0.1:1/property" } ] }
    devices:
      - { id: HY-1, kind: hydrant, building: "1栋", intervalSec: 10 }
      - { id: HY-2, kind: hydrant, building: "2栋", intervalSec: 10 }
      - { id: HY-3, kind: hydrant, building: "3栋", intervalSec: 10 }
      - { id: HY-4, kind: hydrant, building: "4栋", intervalSec: 20 }
departments:
  - { id: fire-rescue, name: 区消防救援支队, channels: [ { type: webhook, url: "http://127.0.0.1:1/fire" } ] }
`,
      'dark.yaml',
      {},
    );
    await h.close();
    h = await engineHarness(dark);
    h.bus.emit('broker', { up: false });
    // HY-1 to HY-3 fall silent at 30 s and open the site's outage; HY-4 falls silent at 60 s, after it.
    await h.advance(70);
    const open = [...h.engine.book.all()];
    expect(open.map((a) => a.rule).sort()).toEqual(['broker_down', 'device_silent', 'device_silent', 'device_silent', 'device_silent', 'site_offline']);
    // The site's outage is open too, and would hold back its devices' silence; the broker's, the deeper cause, is named.
    for (const a of open.filter((x) => x.rule !== 'broker_down')) expect(a).toMatchObject({ mutedBy: 'inhibited:estate/system/broker_down', notified: [] });
    expect(h.told()).toEqual(['alert.firing property critical']);
  });
});

describe('restarts', () => {
  it('an open alert, an acknowledged one and a pending one each resolve exactly once on their first clearing reading after a restart', async () => {
    await h.reading('HY-1', { pressure_mpa: 0.05 });
    await h.reading('HY-1', { pressure_mpa: 0.05 }, 61); // firing critical
    await h.event('EL-1', 'trapped', true);
    const trapped = h.engine.book.get('s1/EL-1/trapped')!;
    expect(await h.actions.ack(ADMIN, trapped.id, null)).toMatchObject({ ok: true });
    await h.reading('EL-1', { motor_temp_c: 30, load_pct: 10 });
    await h.reading('HY-1', { temp_c: 3 }); // freeze_risk fires at once
    expect(h.engine.book.get('s1/HY-1/freeze_risk')?.state).toBe('firing');
    h = await h.restart();
    clear();
    expect(h.engine.book.get('s1/HY-1/pressure_low')?.state).toBe('firing');
    expect(h.engine.book.get('s1/EL-1/trapped')?.state).toBe('acknowledged');
    await h.reading('HY-1', { pressure_mpa: 0.3 }, 120);
    await h.event('EL-1', 'trapped', false);
    await h.reading('HY-1', { temp_c: 10 }, 121);
    expect(told()).toEqual([
      'alert.resolved fire-rescue critical',
      'alert.resolved property critical',
      'alert.resolved market-supervision critical',
      'alert.resolved property critical',
      'alert.resolved fire-rescue warning',
      'alert.resolved property warning',
    ]);
    // the same readings again change nothing
    await h.reading('HY-1', { pressure_mpa: 0.3, temp_c: 10 }, 122);
    await h.event('EL-1', 'trapped', false);
    expect(told()).toHaveLength(6);
  });

  it('a pending duration goes on from where it began, on the readings\' own clock', async () => {
    await h.reading('HY-1', { pressure_mpa: 0.05 });
    h = await h.restart();
    expect(h.engine.book.get('s1/HY-1/pressure_low')?.state).toBe('pending');
    await h.reading('HY-1', { pressure_mpa: 0.05 }, 60);
    expect(told()).toEqual(['alert.firing fire-rescue critical', 'alert.firing property critical']);
  });

  it('an alert whose device left the estate file is resolved at the start, recorded and announced', async () => {
    await h.reading('HY-1', { tamper: true });
    const id = h.engine.book.get('s1/HY-1/tamper_metric')!.id;
    clear();
    const smaller = parseEstate(
      `
sites:
  - id: s1
    name: 金佛花园
    property: { name: 渝南物业, channels: [ { type: webhook, url: "http://127.0.0.1:1/property" } ] }
    devices:
      - { id: EL-1, kind: elevator, building: "1栋", intervalSec: 3600 }
departments:
  - { id: fire-rescue, name: 区消防救援支队, channels: [ { type: webhook, url: "http://127.0.0.1:1/fire" } ] }
`,
      'smaller.yaml',
      {},
    );
    await h.engine.stop();
    const after = await engineHarness(smaller, { db: h.db, clock: h.clock });
    try {
      expect(after.engine.book.get('s1/HY-1/tamper_metric')).toBeUndefined();
      expect(after.told()).toEqual(['alert.resolved fire-rescue critical', 'alert.resolved property critical']);
      const history = await after.store.history(id);
      expect(history.at(-1)).toMatchObject({ transition: 'resolved', detail: 'device HY-1 left the estate file' });
    } finally {
      await after.engine.stop();
    }
  });
});

describe('a store that refuses', () => {
  it('leaves the alert as it was, tells nobody, and commits it with its deliveries once the store takes it', async () => {
    const real = h.db.transaction.bind(h.db);
    let refuse = true;
    (h.db as { transaction: typeof real }).transaction = (fn) => (refuse ? Promise.reject(Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' })) : real(fn));
    const judged = h.reading('HY-1', { tamper: true });
    let done = false;
    void judged.then(() => (done = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(done).toBe(false);
    expect(h.engine.book.get('s1/HY-1/tamper_metric')).toBeUndefined();
    expect(h.outbox.sent).toEqual([]);
    expect(h.engine.committer.storeDown).toBe(true);
    refuse = false;
    await judged;
    expect(h.engine.book.get('s1/HY-1/tamper_metric')?.state).toBe('firing');
    expect(told()).toEqual(['alert.firing fire-rescue critical', 'alert.firing property critical']);
    expect(h.engine.committer.storeDown).toBe(false);
    // An acknowledgement meanwhile fails at once (the API answers 503) and changes nothing.
    refuse = true;
    const a = h.engine.book.get('s1/HY-1/tamper_metric')!;
    await expect(h.actions.ack(FIRE, a.id, null)).rejects.toThrow(/disk I\/O error/);
    expect(h.engine.book.get('s1/HY-1/tamper_metric')?.state).toBe('firing');
    refuse = false;
  });
});
