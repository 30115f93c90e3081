/**
 * The scheduled reports (node-cron, in Asia/Shanghai): each schedule of the estate file's
 * `reports:` key fires at its cron expression and makes its kinds over the period its name
 * says, whatever the hour it fires at:
 * - daily: the previous Shanghai day;
 * - weekly: the previous week, Monday 00:00 to Monday 00:00;
 * - monthly: the previous calendar month.
 */
import cron, { type ScheduledTask } from 'node-cron';
import type { ReportKind, ReportsConfig } from '../config/index.ts';
import { DAY_MS, TZ, startOfDay, startOfMonth, startOfWeek } from './time.ts';

export const SCHEDULE_NAMES = ['daily', 'weekly', 'monthly'] as const;
export type ScheduleName = (typeof SCHEDULE_NAMES)[number];

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
