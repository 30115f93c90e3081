/**
 * Time as the reports judge it, and when they are made. Times are judged in Asia/Shanghai
 * (docs/interfaces.md#reports), where a "day" is a Shanghai day; Shanghai is UTC+8 all year (no
 * daylight saving since 1991), so a fixed offset is exact and needs no time-zone database.
 *
 * The scheduled reports (node-cron, in Asia/Shanghai): each schedule of the estate file's
 * `reports:` key fires at its cron expression and makes its kinds over the period its name
 * says, whatever the hour it fires at:
 * - daily: the previous Shanghai day;
 * - weekly: the previous week, Monday 00:00 to Monday 00:00;
 * - monthly: the previous calendar month.
 */
import cron, { type ScheduledTask } from 'node-cron';
import { SCHEDULE_NAMES, type ReportKind, type ReportsConfig, type ScheduleName } from '../config/index.ts';

export const TZ = 'Asia/Shanghai';
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
const OFFSET_MS = 8 * HOUR_MS;
/** The offset that makes 24-hour steps start at Shanghai midnight (16:00 UTC), for `aggregate`. */
export const DAY_STEP_OFFSET_MS = DAY_MS - OFFSET_MS;

/** Shanghai midnight at or before `t`. */
export function startOfDay(t: number): number {
  return Math.floor((t + OFFSET_MS) / DAY_MS) * DAY_MS - OFFSET_MS;
}

/** Monday 00:00 in Shanghai at or before `t`. */
export function startOfWeek(t: number): number {
  const day = startOfDay(t);
  const weekday = new Date(day + OFFSET_MS).getUTCDay(); // 0 Sunday … 6 Saturday
  return day - ((weekday + 6) % 7) * DAY_MS;
}

/** The 1st of the month, 00:00 in Shanghai, at or before `t`. */
export function startOfMonth(t: number): number {
  const d = new Date(t + OFFSET_MS);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) - OFFSET_MS;
}

/** RFC 3339 in Shanghai time: `2026-11-25T07:00:00+08:00` (with milliseconds when there are any). */
export function iso(t: number): string {
  const s = new Date(t + OFFSET_MS).toISOString();
  return (s.endsWith('.000Z') ? s.slice(0, -5) : s.slice(0, -1)) + '+08:00';
}

/** `2026-11-25` (Shanghai). */
export function dayLabel(t: number): string {
  return new Date(t + OFFSET_MS).toISOString().slice(0, 10);
}

/** `2026-11-25 07:00` (Shanghai). */
export function minuteLabel(t: number): string {
  return new Date(t + OFFSET_MS).toISOString().slice(0, 16).replace('T', ' ');
}

/** `2026-11-25 07:00:05` (Shanghai). */
export function secondLabel(t: number): string {
  return new Date(t + OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ');
}

/** A period as people read it: `2026-11-24 00:00 – 2026-11-25 00:00 (UTC+8)`, or whole days as `2026-11-01 – 2026-11-30`. */
export function periodLabel(from: number, to: number): string {
  if (startOfDay(from) === from && startOfDay(to) === to) {
    const last = to - DAY_MS;
    return last === from ? dayLabel(from) : `${dayLabel(from)} – ${dayLabel(last)}`;
  }
  return `${minuteLabel(from)} – ${minuteLabel(to)} (UTC+8)`;
}

/** Rounds to `digits` decimals (half away from zero), as every figure of a report is. */
export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.sign(x) * (Math.round(Math.abs(x) * f) / f);
}

export { SCHEDULE_NAMES, type ScheduleName };

export interface Period {
  from: number;
  to: number;
}

/** The period a schedule's run at `at` reports on. */
export function periodOf(name: ScheduleName, at: number): Period {
  switch (name) {
    case 'daily': {
      const to = startOfDay(at);
      return { from: to - DAY_MS, to };
    }
    case 'weekly': {
      const to = startOfWeek(at);
      return { from: to - 7 * DAY_MS, to };
    }
    case 'monthly': {
      const to = startOfMonth(at);
      return { from: startOfMonth(to - 1), to };
    }
  }
}

/** One run of a schedule: what it makes, over which period. */
export interface ScheduledRun extends Period {
  schedule: ScheduleName;
  kinds: readonly ReportKind[];
  /** when it fired, ms */
  at: number;
}

export interface ScheduleLog {
  info(o: object, m: string): void;
  error(o: object, m: string): void;
}

export class ReportSchedules {
  private readonly tasks = new Map<ScheduleName, ScheduledTask>();

  constructor(
    private readonly config: ReportsConfig,
    private readonly run: (r: ScheduledRun) => Promise<unknown>,
    private readonly log: ScheduleLog,
  ) {}

  /** Creates the enabled schedules' tasks, stopped; `start()` starts them. */
  create(): Map<ScheduleName, ScheduledTask> {
    for (const name of SCHEDULE_NAMES) {
      const s = this.config[name];
      if (!s.enabled || this.tasks.has(name)) continue;
      const task = cron.createTask(s.cron, (ctx) => this.fire(name, ctx.date?.getTime() ?? Date.now()), {
        timezone: TZ,
        name: `report-${name}`,
        noOverlap: true,
      });
      this.tasks.set(name, task);
    }
    return this.tasks;
  }

  start(): void {
    for (const task of this.create().values()) void task.start();
  }

  async stop(): Promise<void> {
    for (const task of this.tasks.values()) await task.destroy();
    this.tasks.clear();
  }

  /** One run, as the cron task makes it; errors are logged, never thrown into node-cron. */
  async fire(name: ScheduleName, at: number): Promise<void> {
    const run: ScheduledRun = { schedule: name, kinds: this.config[name].kinds, at, ...periodOf(name, at) };
    try {
      await this.run(run);
      this.log.info({ schedule: name, from: run.from, to: run.to, kinds: run.kinds }, 'scheduled reports made');
    } catch (err) {
      this.log.error({ err, schedule: name }, 'a scheduled report failed');
    }
  }
}
