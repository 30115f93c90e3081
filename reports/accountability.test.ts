/**
 * The figures that come from the operational store, pinned on alerts written to it directly
 * (as the engine saves them): who acknowledged how fast (nearest-rank percentiles, the
 * within-deadline share, escalations), which alerts count, and availability from the spans
 * of critical alerts.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alert, fixture, type Fixture } from './testing/fixtures.ts';
import { nearestRank } from './accountability.ts';
import type { AccountabilityJson, HealthJson } from './types.ts';

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
/** 2026-11-20 00:00 in Shanghai: the day reported on. */
const F = Date.parse('2026-11-20T00:00:00+08:00');
const NOW = F + 2 * 24 * H;

let f: Fixture;
const json = <T>(id: string): T => JSON.parse(readFileSync(f.reports.file(id, 'json')!.path, 'utf8')) as T;

beforeAll(async () => {
  f = await fixture(() => NOW);
  const save = (a: ReturnType<typeof alert>, history: [number, string, string][], acks: [string, number][] = []) => {
    f.alerts.save(a);
    for (const [at, transition, severity] of history) f.ops.db.prepare('INSERT INTO alert_history (alert_id, at, transition, severity) VALUES (?, ?, ?, ?)').run(a.id, at, transition, severity);
    for (const [department, at] of acks) f.alerts.addAck({ alertId: a.id, department, at, actor: department, via: 'api', note: null });
  };
  const EL = ['market-supervision', 'property'];
  // A1: a trapping, acknowledged by market supervision after 90 s and by the property company after 200 s.
  const t1 = F + 1 * H;
  save(alert({ site: 'a', device: 'EL-1', rule: 'trapped', severity: 'critical', startsAt: t1, ackDeadline: t1 + 5 * MIN, endsAt: t1 + 30 * MIN, departments: EL }), [[t1, 'firing', 'critical'], [t1 + 30 * MIN, 'resolved', 'critical']], [['market-supervision', t1 + 90 * S], ['property', t1 + 200 * S]]);
  // A10: overlaps A1 by 15 minutes on the same elevator; nobody acknowledged it.
  const t10 = F + 1 * H + 15 * MIN;
  save(alert({ site: 'a', device: 'EL-1', rule: 'power_loss', severity: 'critical', startsAt: t10, ackDeadline: t10 + 5 * MIN, endsAt: t10 + 30 * MIN, departments: EL }), [[t10, 'firing', 'critical']]);
  // A2: a warning acknowledged after 600 s (deadline 30 min), critical from 10 minutes in until it resolved.
  const t2 = F + 2 * H;
  save(alert({ site: 'a', device: 'EL-1', rule: 'door_close_fault', severity: 'critical', startsAt: t2, ackDeadline: t2 + 30 * MIN, endsAt: t2 + H, departments: EL }), [[t2, 'firing', 'warning'], [t2 + 10 * MIN, 'severity', 'critical']], [['market-supervision', t2 + 600 * S]]);
  // A3: escalated to housing; housing acknowledged after 400 s, market supervision after 1200 s; still open.
  const t3 = F + 20 * H;
  save(alert({ site: 'b', device: 'EL-2', rule: 'overspeed', severity: 'critical', state: 'firing', startsAt: t3, ackDeadline: t3 + 5 * MIN, escalatedAt: t3 + 5 * MIN, departments: [...EL, 'housing'] }), [[t3, 'firing', 'critical'], [t3 + 5 * MIN, 'escalated', 'critical']], [['housing', t3 + 400 * S], ['market-supervision', t3 + 1200 * S]]);
  // A4: hydrant pressure, fire rescue after 30 s, the property company after 45 s.
  const t4 = F + 3 * H;
  save(alert({ site: 'a', device: 'HY-1', kind: 'hydrant', rule: 'pressure_low', severity: 'warning', startsAt: t4, ackDeadline: t4 + 30 * MIN, departments: ['fire-rescue', 'property'] }), [[t4, 'firing', 'warning']], [['fire-rescue', t4 + 30 * S], ['property', t4 + 45 * S]]);
  // A9: fire lane occupied, never acknowledged.
  const t9 = F + 4 * H;
  save(alert({ site: 'b', device: 'FL-1', kind: 'firelane', rule: 'lane_occupied', severity: 'warning', startsAt: t9, ackDeadline: t9 + 30 * MIN, departments: ['fire-rescue', 'property'] }), [[t9, 'firing', 'warning']]);
  // Left out: held back by a silence (never announced), begun before the period, never fired, the service's own.
  const t5 = F + 5 * H;
  save(alert({ site: 'a', device: 'HY-1', kind: 'hydrant', rule: 'pressure_high', severity: 'warning', startsAt: t5, mutedBy: 'S1', departments: ['fire-rescue', 'property'] }), [[t5, 'firing', 'warning'], [t5, 'muted', 'warning']]);
  f.ops.db.prepare(`UPDATE alert_history SET detail = 'alert.firing held back: S1' WHERE transition = 'muted'`).run();
  // A6 began before the period but was open (critical) for its first 30 minutes: availability counts that.
  save(alert({ site: 'a', device: 'EL-1', rule: 'overrun_top', severity: 'critical', startsAt: F - H, endsAt: F + 30 * MIN, departments: EL }), [[F - H, 'firing', 'critical']], [['market-supervision', F - H + 10 * S]]);
  save(alert({ site: 'a', device: 'EL-1', rule: 'user_alarm', severity: 'warning', state: 'pending', startsAt: F + 6 * H, firedAt: null, departments: EL }), [[F + 6 * H, 'pending', 'warning']]);
  save(alert({ site: '', device: 'system', kind: 'system', rule: 'store_down', severity: 'critical', startsAt: F + 7 * H, departments: ['property'] }), [[F + 7 * H, 'firing', 'critical']]);
});

afterAll(async () => {
  await f?.close();
});

describe('nearest-rank percentiles', () => {
  it.each([
    [[], 50, null],
    [[7], 90, 7],
    [[90, 600, 1200], 50, 600],
    [[90, 600, 1200], 90, 1200],
    [[45, 200], 50, 45],
    [[45, 200], 90, 200],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90, 9],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50, 5],
  ])('of %j at p%i is %s', (values, p, want) => {
    expect(nearestRank(values, p)).toBe(want);
  });
});

describe('the accountability report', () => {
  it('gives each department and property company its alerts, percentiles, escalations and within-deadline share', async () => {
    const view = await f.reports.request({ kind: 'accountability', from: F, to: F + 24 * H, sites: null, requestedBy: 'root' });
    const r = json<AccountabilityJson>(view.id);
    expect(r).toEqual({
      kind: 'accountability',
      from: '2026-11-20T00:00:00+08:00',
      to: '2026-11-21T00:00:00+08:00',
      departments: [
        { id: 'fire-rescue', alerts: 2, ackP50Sec: 30, ackP90Sec: 30, escalations: 0, ackedWithinDeadlinePct: 50 },
        { id: 'health-commission', alerts: 0, ackP50Sec: null, ackP90Sec: null, escalations: 0, ackedWithinDeadlinePct: null },
        // housing gets alerts only by escalation; it acknowledged after the (first) deadline.
        { id: 'housing', alerts: 1, ackP50Sec: 400, ackP90Sec: 400, escalations: 1, ackedWithinDeadlinePct: 0 },
        // A1 90 s, A2 600 s, A3 1200 s; A10 never: p50 = 600 (2nd of 3), p90 = 1200; within: A1, A2 of 4.
        { id: 'market-supervision', alerts: 4, ackP50Sec: 600, ackP90Sec: 1200, escalations: 1, ackedWithinDeadlinePct: 50 },
      ],
      properties: [
        { site: 'a', alerts: 4, ackP50Sec: 45, ackP90Sec: 200, escalations: 0, ackedWithinDeadlinePct: 50 },
        { site: 'b', alerts: 2, ackP50Sec: null, ackP90Sec: null, escalations: 1, ackedWithinDeadlinePct: 0 },
      ],
    });
    expect(f.audit).toContainEqual(['root', 'report.request', view.id]);
  });

  it('over some sites counts only their alerts', async () => {
    const view = await f.reports.request({ kind: 'accountability', from: F, to: F + 24 * H, sites: ['b'], requestedBy: 'ops-b' });
    const r = json<AccountabilityJson>(view.id);
    expect(r.properties).toEqual([{ site: 'b', alerts: 2, ackP50Sec: null, ackP90Sec: null, escalations: 1, ackedWithinDeadlinePct: 0 }]);
    expect(r.departments.find((d) => d.id === 'market-supervision')).toEqual({ id: 'market-supervision', alerts: 1, ackP50Sec: 1200, ackP90Sec: 1200, escalations: 1, ackedWithinDeadlinePct: 0 });
    expect(r.departments.find((d) => d.id === 'fire-rescue')).toEqual({ id: 'fire-rescue', alerts: 1, ackP50Sec: null, ackP90Sec: null, escalations: 0, ackedWithinDeadlinePct: 0 });
  });
});

describe('availability and trappings in the health report', () => {
  it('is the share of the period without an open critical alert, overlaps counted once', async () => {
    const view = await f.reports.request({ kind: 'health', from: F, to: F + 24 * H, sites: null, requestedBy: 'root' });
    const r = json<HealthJson>(view.id);
    const el = Object.fromEntries(r.sites.flatMap((s) => s.elevators).map((e) => [e.device, e]));
    // EL-1: A6's first 30 min of the period, A1 ∪ A10 = 45 min, A2 critical for its last 50 min: 125 of 1440 minutes.
    expect(el['EL-1']!.availabilityPct).toBe(Math.round(10000 * (1 - 125 / 1440)) / 100);
    // EL-2: A3 critical from 20:00 to the end of the period (still open): 4 of 24 hours.
    expect(el['EL-2']!.availabilityPct).toBe(83.33);
    // No readings at all: the figures from readings are null, not zero.
    expect(el['EL-1']).toMatchObject({ runs: null, doorCycles: null, runningHours: null, faults: {}, trappings: 0 });
    const html = readFileSync(f.reports.file(view.id, 'html')!.path, 'utf8');
    // The trapping's response time: first acknowledgement (market supervision) − firing.
    expect(html).toMatch(/困人救援响应[\s\S]*EL-1[\s\S]*market-supervision<\/td><td class="num">90<\/td>/);
  });
});
