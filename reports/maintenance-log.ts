/**
 * Maintenance done, as recorded by `POST /api/maintenance` (the `maintenance` table of
 * migration 3): the maintenance report takes each task's "last done" from here.
 */
import type { Database } from 'better-sqlite3';
import { MAINTENANCE_TASKS, type Kind } from '../config/index.ts';
import { newId } from '../alerts/index.ts';

export type MaintenanceTask = keyof typeof MAINTENANCE_TASKS;

export interface MaintenanceRecord {
  id: string;
  site: string;
  device: string;
  task: MaintenanceTask;
  doneAt: number;
  recordedBy: string;
  recordedAt: number;
  note: string | null;
}

/** The tasks that apply to a kind of device, in the order of MAINTENANCE_TASKS. */
export function tasksFor(kind: Kind): MaintenanceTask[] {
  return (Object.keys(MAINTENANCE_TASKS) as MaintenanceTask[]).filter((t) => MAINTENANCE_TASKS[t].kind === kind);
}

export function isTask(task: string): task is MaintenanceTask {
  return Object.hasOwn(MAINTENANCE_TASKS, task);
}

export class MaintenanceLog {
  constructor(private readonly db: Database) {}

  record(input: Omit<MaintenanceRecord, 'id'>): MaintenanceRecord {
    const row: MaintenanceRecord = { id: newId(input.recordedAt), ...input };
    this.db
      .prepare('INSERT INTO maintenance (id, site, device, task, done_at, recorded_by, recorded_at, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(row.id, row.site, row.device, row.task, row.doneAt, row.recordedBy, row.recordedAt, row.note);
    return row;
  }

  /** The latest time each (device, task) was done at or before `asOf`: key `device/task`. */
  lastDone(devices: readonly string[], asOf: number): Map<string, number> {
    if (devices.length === 0) return new Map();
    const rows = this.db
      .prepare(`SELECT device, task, max(done_at) AS at FROM maintenance WHERE done_at <= ? AND device IN (${devices.map(() => '?').join(',')}) GROUP BY device, task`)
      .all(asOf, ...devices) as { device: string; task: string; at: number }[];
    return new Map(rows.map((r) => [`${r.device}/${r.task}`, r.at]));
  }

  /** Records of one device, newest first. */
  list(device: string, limit = 100): MaintenanceRecord[] {
    return this.db
      .prepare(
        `SELECT id, site, device, task, done_at AS doneAt, recorded_by AS recordedBy, recorded_at AS recordedAt, note
         FROM maintenance WHERE device = ? ORDER BY done_at DESC, id DESC LIMIT ?`,
      )
      .all(device, limit) as MaintenanceRecord[];
  }
}
