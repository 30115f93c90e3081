/**
 * The report schedules: when they fire (in Asia/Shanghai, whatever the machine's zone) and
 * which period each run reports on — with a fake clock, never waiting for a schedule.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, parseEstate, type ReportsConfig } from '../config/index.ts';
import { ReportSchedules, periodOf, type ScheduledRun } from './calendar.ts';

const estate = (reports = '') =>
  parseEstate(
    `sites:
  - id: a
    name: 甲小区
    property: { name: 甲物业 }
${reports}`,
    'test.yaml',
    {},
  );

const at = (s: string) => Date.parse(s);
const runs = (s: ReportSchedules, name: 'daily' | 'weekly' | 'monthly', n: number) => s.create().get(name)!.getNextRuns(n).map((d) => d.toISOString());
const quiet = { info: () => {}, error: () => {} };

describe('report schedules', () => {
  let schedules: ReportSchedules | undefined;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    // A Wednesday, 10:00 in Shanghai.
    vi.setSystemTime(new Date('2026-11-25T10:00:00+08:00'));
  });
  afterEach(async () => {
    await schedules?.stop();
    vi.useRealTimers();
  });

  it('by default fire daily at 07:00, Mondays at 07:30 and on the 1st at 08:00, Shanghai time', () => {
    const config = estate().reports;
    expect(config.daily).toEqual({ cron: '0 7 * * *', kinds: ['health'], enabled: true });
    expect(config.weekly).toEqual({ cron: '30 7 * * 1', kinds: ['health', 'accountability'], enabled: true });
    expect(config.monthly).toEqual({ cron: '0 8 1 * *', kinds: ['health', 'maintenance', 'accountability'], enabled: true });
    schedules = new ReportSchedules(config, async () => {}, quiet);
    expect(runs(schedules, 'daily', 3)).toEqual(['2026-11-25T23:00:00.000Z', '2026-11-26T23:00:00.000Z', '2026-11-27T23:00:00.000Z']);
    expect(runs(schedules, 'weekly', 2)).toEqual(['2026-11-29T23:30:00.000Z', '2026-12-06T23:30:00.000Z']);
    expect(runs(schedules, 'monthly', 3)).toEqual(['2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z', '2027-02-01T00:00:00.000Z']);
  });

  it('report on the previous Shanghai day, Monday-to-Monday week and calendar month', () => {
    expect(periodOf('daily', at('2026-11-26T07:00:00+08:00'))).toEqual({ from: at('2026-11-25T00:00:00+08:00'), to: at('2026-11-26T00:00:00+08:00') });
    // 07:00 Shanghai is 23:00 UTC the day before: the Shanghai day counts, not the UTC one.
    expect(periodOf('daily', at('2026-11-25T23:00:00Z'))).toEqual({ from: at('2026-11-25T00:00:00+08:00'), to: at('2026-11-26T00:00:00+08:00') });
    expect(periodOf('weekly', at('2026-11-30T07:30:00+08:00'))).toEqual({ from: at('2026-11-23T00:00:00+08:00'), to: at('2026-11-30T00:00:00+08:00') });
    // A run late in the week still reports on the week before it.
    expect(periodOf('weekly', at('2026-12-06T23:59:00+08:00'))).toEqual({ from: at('2026-11-23T00:00:00+08:00'), to: at('2026-11-30T00:00:00+08:00') });
    expect(periodOf('monthly', at('2026-12-01T08:00:00+08:00'))).toEqual({ from: at('2026-11-01T00:00:00+08:00'), to: at('2026-12-01T00:00:00+08:00') });
    expect(periodOf('monthly', at('2027-01-01T08:00:00+08:00'))).toEqual({ from: at('2026-12-01T00:00:00+08:00'), to: at('2027-01-01T00:00:00+08:00') });
    expect(periodOf('monthly', at('2027-03-01T08:00:00+08:00'))).toEqual({ from: at('2027-02-01T00:00:00+08:00'), to: at('2027-03-01T00:00:00+08:00') });
  });

  it('a run hands its kinds and period to the reports, and a failing run is logged, not thrown', async () => {
    const got: ScheduledRun[] = [];
    const errors: unknown[] = [];
    schedules = new ReportSchedules(estate().reports, async (r) => void got.push(r), { info: () => {}, error: (o) => void errors.push(o) });
    vi.setSystemTime(new Date('2026-12-01T08:00:00+08:00'));
    await schedules.fire('monthly', Date.now());
    expect(got).toEqual([{ schedule: 'monthly', kinds: ['health', 'maintenance', 'accountability'], at: Date.now(), from: at('2026-11-01T00:00:00+08:00'), to: at('2026-12-01T00:00:00+08:00') }]);
    // What node-cron calls: the task's own function, with the time it fired.
    await schedules.create().get('daily')!.execute();
    expect(got.at(-1)).toMatchObject({ schedule: 'daily', kinds: ['health'], from: at('2026-11-30T00:00:00+08:00'), to: at('2026-12-01T00:00:00+08:00') });
    const failing = new ReportSchedules(estate().reports, async () => Promise.reject(new Error('store away')), { info: () => {}, error: (o) => void errors.push(o) });
    await failing.fire('daily', Date.now());
    expect(errors).toHaveLength(1);
  });

  it('follow the estate file: other times, kinds, a schedule turned off', () => {
    const config: ReportsConfig = estate(`reports:
  daily: { cron: "15 6 * * *" }
  weekly: { enabled: false }
  monthly: { cron: "0 9 2 * *", kinds: [maintenance] }
`).reports;
    schedules = new ReportSchedules(config, async () => {}, quiet);
    const tasks = schedules.create();
    expect([...tasks.keys()]).toEqual(['daily', 'monthly']);
    expect(runs(schedules, 'daily', 1)).toEqual(['2026-11-25T22:15:00.000Z']);
    expect(runs(schedules, 'monthly', 1)).toEqual(['2026-12-02T01:00:00.000Z']);
    expect(config.monthly.kinds).toEqual(['maintenance']);
    expect(config.wear).toEqual({ doorCyclesFactor: 1.5, vibrationFactor: 1.3 });
  });

  it('a bad cron expression, kind or key stops the start, naming the path', () => {
    let err: unknown;
    try {
      estate(`reports:
  daily: { cron: "0 25 * * *", kinds: [weather] }
  hourly: { cron: "0 * * * *" }
`);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const paths = (err as ConfigError).problems.map((p) => p.path);
    expect(paths).toEqual(expect.arrayContaining(['reports.daily.cron', 'reports.daily.kinds[0]', 'reports.hourly']));
    expect((err as ConfigError).message).toMatch(/must be a cron expression/);
  });
});
