/**
 * The figures that come from the operational store, pinned on alerts written to it as the
 * committer writes them (AlertStore, in one transaction with their history and
 * acknowledgements), on SQLite and on PostgreSQL: who acknowledged how fast (nearest-rank
 * percentiles, the within-deadline share, escalations), which alerts count (announced ones:
 * not those held back and never announced, not the service's own), a compound's own
 * recipient (its property company, or its sub-district office), and availability from the
 * spans of critical alerts.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../storage/operational/testing/postgres.ts';
import { alert, fixture, type Fixture } from './testing/fixtures.ts';
import { nearestRank } from './accountability.ts';
import type { AccountabilityJson, HealthJson } from './types.ts';

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
/** 2026-11-20 00:00 in Shanghai: the day reported on. */
const F = Date.parse('2026-11-20T00:00:00+08:00');
const NOW = F + 2 * 24 * H;

type History = [number, string, string][];
type Acks = [string, number][];

/** The period's alerts (and a few that must be left out), written as the committer writes them. */
async function seed(f: Fixture): Promise<void> {
  const save = (a: ReturnType<typeof alert>, history: History, acks: Acks = []) =>
    f.saveAlert(
      a,
      history.map(([at, transition, severity]) => ({ at, transition, severity, actor: null, detail: null })),
      acks.map(([department, at]) => ({ department, at, actor: department, via: 'api' as const, note: null })),
    );
  const EL = ['market-supervision', 'property'];
  // A1: a trapping, acknowledged by market supervision after 90 s and by the property company after 200 s.
  const t1 = F + 1 * H;
  await save(alert({ site: 'a', device: 'EL-1', rule: 'trapped', severity: 'critical', startsAt: t1, ackDeadline: t1 + 5 * MIN, endsAt: t1 + 30 * MIN, departments: EL }), [[t1, 'firing', 'critical'], [t1 + 30 * MIN, 'resolved', 'critical']], [['market-supervision', t1 + 90 * S], ['property', t1 + 200 * S]]);
  // A10: overlaps A1 by 15 minutes on the same elevator; nobody acknowledged it.
  const t10 = F + 1 * H + 15 * MIN;
  await save(alert({ site: 'a', device: 'EL-1', rule: 'power_loss', severity: 'critical', startsAt: t10, ackDeadline: t10 + 5 * MIN, endsAt: t10 + 30 * MIN, departments: EL }), [[t10, 'firing', 'critical']]);
  // A2: a warning acknowledged after 600 s (deadline 30 min), critical from 10 minutes in until it resolved.
  const t2 = F + 2 * H;
  await save(alert({ site: 'a', device: 'EL-1', rule: 'door_close_fault', severity: 'critical', startsAt: t2, ackDeadline: t2 + 30 * MIN, endsAt: t2 + H, departments: EL }), [[t2, 'firing', 'warning'], [t2 + 10 * MIN, 'severity', 'critical']], [['market-supervision', t2 + 600 * S]]);
  // A3: escalated to housing; housing acknowledged after 400 s, market supervision after 1200 s; still open.
  const t3 = F + 20 * H;
  await save(alert({ site: 'b', device: 'EL-2', rule: 'overspeed', severity: 'critical', state: 'firing', startsAt: t3, ackDeadline: t3 + 5 * MIN, escalatedAt: t3 + 5 * MIN, departments: [...EL, 'housing'] }), [[t3, 'firing', 'critical'], [t3 + 5 * MIN, 'escalated', 'critical']], [['housing', t3 + 400 * S], ['market-supervision', t3 + 1200 * S]]);
  // A4: hydrant pressure, fire rescue after 30 s, the property company after 45 s.
  const t4 = F + 3 * H;
  await save(alert({ site: 'a', device: 'HY-1', kind: 'hydrant', rule: 'pressure_low', severity: 'warning', startsAt: t4, ackDeadline: t4 + 30 * MIN, departments: ['fire-rescue', 'property'] }), [[t4, 'firing', 'warning']], [['fire-rescue', t4 + 30 * S], ['property', t4 + 45 * S]]);
  // A9: fire lane occupied, never acknowledged.
  const t9 = F + 4 * H;
  await save(alert({ site: 'b', device: 'FL-1', kind: 'firelane', rule: 'lane_occupied', severity: 'warning', startsAt: t9, ackDeadline: t9 + 30 * MIN, departments: ['fire-rescue', 'property'] }), [[t9, 'firing', 'warning']]);
  // A11: site c has no property company: its sub-district office acknowledged after 120 s, fire rescue after 60 s.
  const t11 = F + 8 * H;
  await save(alert({ site: 'c', device: 'FL-2', kind: 'firelane', rule: 'lane_occupied', severity: 'warning', startsAt: t11, ackDeadline: t11 + 30 * MIN, departments: ['fire-rescue', 'subdistrict'] }), [[t11, 'firing', 'warning']], [['fire-rescue', t11 + 60 * S], ['subdistrict', t11 + 120 * S]]);
  // A12: held back by a silence when it fired, announced when the silence ended: it counts; nobody acknowledged it.
  const t12 = F + 5 * H + 30 * MIN;
  await save(alert({ site: 'a', device: 'HY-1', kind: 'hydrant', rule: 'pressure_high', severity: 'warning', startsAt: t12, announcedAt: t12 + 10 * MIN, ackDeadline: t12 + 40 * MIN, departments: ['fire-rescue', 'property'] }), [[t12, 'firing', 'warning'], [t12, 'muted', 'warning'], [t12 + 10 * MIN, 'unmuted', 'warning']]);
  // Left out: held back by a silence and never announced, begun before the period, never fired, the service's own.
  const t5 = F + 5 * H;
  await save(alert({ site: 'a', device: 'HY-1', kind: 'hydrant', rule: 'pressure_high', severity: 'warning', startsAt: t5, announcedAt: null, mutedBy: 'S1', departments: ['fire-rescue', 'property'] }), [[t5, 'firing', 'warning'], [t5, 'muted', 'warning']]);
  // A6 began before the period but was open (critical) for its first 30 minutes: availability counts that.
  await save(alert({ site: 'a', device: 'EL-1', rule: 'overrun_top', severity: 'critical', startsAt: F - H, endsAt: F + 30 * MIN, departments: EL }), [[F - H, 'firing', 'critical']], [['market-supervision', F - H + 10 * S]]);
  await save(alert({ site: 'a', device: 'EL-1', rule: 'user_alarm', severity: 'warning', state: 'pending', startsAt: F + 6 * H, firedAt: null, departments: EL }), [[F + 6 * H, 'pending', 'warning']]);
  await save(alert({ site: '', device: 'system', kind: 'system', rule: 'store_down', severity: 'critical', startsAt: F + 7 * H, departments: ['property'] }), [[F + 7 * H, 'firing', 'critical']]);
}

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

describe.each(['sqlite', 'postgres'] as const)('on %s', (backend) => {
  let f: Fixture;
  let pg: TestDatabase | undefined;
  const json = <T>(id: string): T => JSON.parse(readFileSync(f.reports.file(id, 'json')!.path, 'utf8')) as T;

  beforeAll(async () => {
    pg = backend === 'postgres' ? await freshDatabase() : undefined;
    f = await fixture(() => NOW, pg?.url);
    await seed(f);
  });

  afterAll(async () => {
    await f?.close();
    await pg?.drop();
  });

  describe('the accountability report', () => {
    it("gives each department and each compound's own recipient its alerts, percentiles, escalations and within-deadline share", async () => {
      const view = await f.reports.request({ kind: 'accountability', from: F, to: F + 24 * H, sites: null, requestedBy: 'root' });
      const r = json<AccountabilityJson>(view.id);
      expect(r).toEqual({
        kind: 'accountability',
        from: '2026-11-20T00:00:00+08:00',
        to: '2026-11-21T00:00:00+08:00',
        departments: [
          // A4 30 s, A11 60 s; A9 and A12 never: p50 = 30 (1st of 2), p90 = 60; within: A4, A11 of 4.
          { id: 'fire-rescue', alerts: 4, ackP50Sec: 30, ackP90Sec: 60, escalations: 0, ackedWithinDeadlinePct: 50 },
          { id: 'health-commission', alerts: 0, ackP50Sec: null, ackP90Sec: null, escalations: 0, ackedWithinDeadlinePct: null },
          // housing gets alerts only by escalation; it acknowledged after the (first) deadline.
          { id: 'housing', alerts: 1, ackP50Sec: 400, ackP90Sec: 400, escalations: 1, ackedWithinDeadlinePct: 0 },
          // A1 90 s, A2 600 s, A3 1200 s; A10 never: p50 = 600 (2nd of 3), p90 = 1200; within: A1, A2 of 4.
          { id: 'market-supervision', alerts: 4, ackP50Sec: 600, ackP90Sec: 1200, escalations: 1, ackedWithinDeadlinePct: 50 },
        ],
        properties: [
          // A1 200 s, A4 45 s; A10, A2 and A12 never: within 2 of 5.
          { site: 'a', alerts: 5, ackP50Sec: 45, ackP90Sec: 200, escalations: 0, ackedWithinDeadlinePct: 40 },
          { site: 'b', alerts: 2, ackP50Sec: null, ackP90Sec: null, escalations: 1, ackedWithinDeadlinePct: 0 },
          // No property company: its sub-district office answered for it.
          { site: 'c', alerts: 1, ackP50Sec: 120, ackP90Sec: 120, escalations: 0, ackedWithinDeadlinePct: 100 },
          // Neither: nobody on site was told of anything.
          { site: 'd', alerts: 0, ackP50Sec: null, ackP90Sec: null, escalations: 0, ackedWithinDeadlinePct: null },
        ],
      });
      // Not departments: the sub-district office is site c's own recipient.
      expect(r.departments.map((d) => d.id)).not.toContain('subdistrict');
      const audit = await f.audit.list(10);
      expect(audit[0]).toMatchObject({ actor: 'root', action: 'report.request', target: view.id, at: NOW });
      expect(JSON.parse(audit[0]!.detail!)).toEqual({ kind: 'accountability', from: '2026-11-20T00:00:00+08:00', to: '2026-11-21T00:00:00+08:00', sites: null });
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
});
