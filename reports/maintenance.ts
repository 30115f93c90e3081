/**
 * The maintenance report, as of a time: for every device and every task of its kind
 * (MAINTENANCE_TASKS: elevators every 15 days, tank cleaning every 182, analyser calibration
 * every 91), when it was last done (`POST /api/maintenance`), when it is due, and whether it
 * is overdue; a device never maintained is due at once. Then wear flags from the elevators'
 * trends, as extra items that say "inspect":
 * - `inspect_doors`: door cycles per day in the last 7 days above the rate of the 30 days
 *   before by `reports.wear.doorCyclesFactor` (1.5);
 * - `inspect_vibration`: mean vibration of the last 7 days above the mean of the 30 days
 *   before by `reports.wear.vibrationFactor` (1.3).
 */
import { placeholders, type OpDb, type Schema } from '../storage/index.ts';
import { MAINTENANCE_TASKS, type Kind, type RegisteredDevice } from '../config/index.ts';
import { newId } from '../alerts/index.ts';
import { allDevices, byDevice, type ReportContext, type Scope } from './sources.ts';
import { DAY_MS, iso, round } from './calendar.ts';
import type { Built, MaintenanceItem, WearFinding } from './types.ts';

/** The reports part's table: maintenance done (POST /api/maintenance), for the maintenance report. */
export const REPORTS_SCHEMA: Schema = {
  part: 'reports',
  migrations: [
    `
  CREATE TABLE maintenance (
    id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    task TEXT NOT NULL,             -- elevator_maintenance | tank_cleaning | analyser_calibration
    done_at INTEGER NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    note TEXT
  );
  CREATE INDEX maintenance_device_task ON maintenance (device, task, done_at);
  `,
  ],
};

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
  constructor(private readonly db: OpDb) {}

  async record(input: Omit<MaintenanceRecord, 'id'>): Promise<MaintenanceRecord> {
    const row: MaintenanceRecord = { id: newId(input.recordedAt), ...input };
    await this.db.query('INSERT INTO maintenance (id, site, device, task, done_at, recorded_by, recorded_at, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
      row.id,
      row.site,
      row.device,
      row.task,
      row.doneAt,
      row.recordedBy,
      row.recordedAt,
      row.note,
    ]);
    return row;
  }

  /** The latest time each (device, task) was done at or before `asOf`: key `device/task`. */
  async lastDone(devices: readonly string[], asOf: number): Promise<Map<string, number>> {
    if (devices.length === 0) return new Map();
    const r = await this.db.query<{ device: string; task: string; at: number }>(
      `SELECT device, task, max(done_at) AS at FROM maintenance WHERE done_at <= ? AND device IN (${placeholders(devices.length)}) GROUP BY device, task`,
      [asOf, ...devices],
    );
    return new Map(r.rows.map((x) => [`${x.device}/${x.task}`, x.at]));
  }

  /** Records of one device, newest first. */
  async list(device: string, limit = 100): Promise<MaintenanceRecord[]> {
    const r = await this.db.query<MaintenanceRecord>(
      `SELECT id, site, device, task, done_at AS "doneAt", recorded_by AS "recordedBy", recorded_at AS "recordedAt", note
       FROM maintenance WHERE device = ? ORDER BY done_at DESC, id DESC LIMIT ?`,
      [device, limit],
    );
    return r.rows;
  }
}

const RECENT_MS = 7 * DAY_MS;
const BASELINE_MS = 30 * DAY_MS;

/** Door cycles per day over a window: the counter's increase (spread) over the time its readings span. */
function perDay(v: { spread?: number; count?: number } | undefined, d: RegisteredDevice): number | null {
  if (!v || v.count === undefined || v.count < 2 || v.spread === undefined) return null;
  return (v.spread / ((v.count - 1) * d.intervalSec * 1000)) * DAY_MS;
}

async function wear(ctx: ReportContext, elevators: RegisteredDevice[], asOf: number): Promise<WearFinding[]> {
  if (elevators.length === 0) return [];
  const devices = elevators.map((d) => d.id);
  const recent = { measurement: 'elevator', devices, from: asOf - RECENT_MS, to: asOf };
  const baseline = { measurement: 'elevator', devices, from: asOf - RECENT_MS - BASELINE_MS, to: asOf - RECENT_MS };
  const [doorsNow, doorsBefore, vibNow, vibBefore] = await Promise.all([
    byDevice(ctx.store, { ...recent, field: 'door_cycles', fns: ['spread', 'count'] }),
    byDevice(ctx.store, { ...baseline, field: 'door_cycles', fns: ['spread', 'count'] }),
    byDevice(ctx.store, { ...recent, field: 'vibration_mms', fns: ['mean'] }),
    byDevice(ctx.store, { ...baseline, field: 'vibration_mms', fns: ['mean'] }),
  ]);
  const { doorCyclesFactor, vibrationFactor } = ctx.config.wear;
  const out: WearFinding[] = [];
  for (const d of elevators) {
    const now = perDay(doorsNow.get(d.id), d);
    const before = perDay(doorsBefore.get(d.id), d);
    if (now !== null && before !== null && before > 0 && now > before * doorCyclesFactor) {
      out.push({ site: d.site, device: d.id, task: 'inspect_doors', recent: round(now, 1), baseline: round(before, 1), factor: doorCyclesFactor });
    }
    const vNow = vibNow.get(d.id)?.mean;
    const vBefore = vibBefore.get(d.id)?.mean;
    if (vNow !== undefined && vBefore !== undefined && vBefore > 0 && vNow > vBefore * vibrationFactor) {
      out.push({ site: d.site, device: d.id, task: 'inspect_vibration', recent: round(vNow, 3), baseline: round(vBefore, 3), factor: vibrationFactor });
    }
  }
  return out;
}

/** The report as of `scope.to`; `scope.from` only names the period it was asked for. */
export async function buildMaintenance(ctx: ReportContext, scope: Scope): Promise<Extract<Built, { kind: 'maintenance' }>> {
  const asOf = scope.to;
  const devices = scope.sites.flatMap((s) => ctx.registry.devicesOf(s.id));
  const last = await ctx.maintenance.lastDone(
    devices.map((d) => d.id),
    asOf,
  );
  const findings = await wear(ctx, allDevices(ctx, scope, 'elevator'), asOf);
  const items: MaintenanceItem[] = [];
  for (const d of devices) {
    for (const task of tasksFor(d.kind)) {
      const intervalDays = MAINTENANCE_TASKS[task].intervalDays;
      const done = last.get(`${d.id}/${task}`);
      const due = done === undefined ? asOf : done + intervalDays * DAY_MS;
      items.push({ site: d.site, device: d.id, task, intervalDays, lastDone: done === undefined ? null : iso(done), due: iso(due), overdue: due <= asOf });
    }
    for (const f of findings.filter((x) => x.device === d.id)) {
      items.push({ site: d.site, device: d.id, task: f.task, intervalDays: null, lastDone: null, due: iso(asOf), overdue: false });
    }
  }
  return { kind: 'maintenance', json: { kind: 'maintenance', asOf: iso(asOf), items }, extra: { wear: findings } };
}
