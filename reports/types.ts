/**
 * The reports' JSON bodies (docs/interfaces.md#reports: other systems import them, so the keys are
 * fixed) and what the HTML shows beside them. Times in the JSON are RFC 3339 in Shanghai
 * time (+08:00); figures are defined in docs/reports.md.
 */
import type { ReportKind } from '../config/index.ts';
import type { ScheduleName } from './calendar.ts';

export interface ElevatorHealth {
  device: string;
  runs: number | null;
  doorCycles: number | null;
  runningHours: number | null;
  faults: Record<string, number>;
  trappings: number;
  availabilityPct: number;
}

export interface HydrantHealth {
  device: string;
  minPressureMpa: number | null;
  meanPressureMpa: number | null;
  minutesBelowMin: number | null;
}

export interface WaterHealth {
  device: string;
  compliancePct: Record<string, number | null>;
}

export interface FirelaneHealth {
  device: string;
  occupiedMinutes: number | null;
  incidents: number;
}

export interface SiteHealth {
  id: string;
  name: string;
  elevators: ElevatorHealth[];
  hydrants: HydrantHealth[];
  water: WaterHealth[];
  firelanes: FirelaneHealth[];
}

export interface HealthJson {
  kind: 'health';
  from: string;
  to: string;
  sites: SiteHealth[];
}

export interface MaintenanceItem {
  site: string;
  device: string;
  task: string;
  intervalDays: number | null;
  lastDone: string | null;
  due: string;
  overdue: boolean;
}

export interface MaintenanceJson {
  kind: 'maintenance';
  asOf: string;
  items: MaintenanceItem[];
}

export interface ResponseFigures {
  alerts: number;
  ackP50Sec: number | null;
  ackP90Sec: number | null;
  escalations: number;
  ackedWithinDeadlinePct: number | null;
}

export interface AccountabilityJson {
  kind: 'accountability';
  from: string;
  to: string;
  departments: ({ id: string } & ResponseFigures)[];
  properties: ({ site: string } & ResponseFigures)[];
}

export type ReportJson = HealthJson | MaintenanceJson | AccountabilityJson;

/** A trapping as the health HTML lists it: when it fired and how long until the first acknowledgement. */
export interface TrappingRow {
  site: string;
  device: string;
  firedAt: number;
  ackedAt: number | null;
  ackedBy: string | null;
  responseSec: number | null;
}

/** Daily means of one metric of one water device, for the charts. */
export interface DailySeries {
  device: string;
  metric: string;
  points: { t: number; v: number }[];
}

/** Why a wear item was raised: the two windows' figures. */
export interface WearFinding {
  site: string;
  device: string;
  task: 'inspect_doors' | 'inspect_vibration';
  recent: number;
  baseline: number;
  factor: number;
}

/** What the HTML shows besides the JSON. */
export interface HealthExtra {
  trappings: TrappingRow[];
  daily: DailySeries[];
}

export type Built =
  | { kind: 'health'; json: HealthJson; extra: HealthExtra }
  | { kind: 'maintenance'; json: MaintenanceJson; extra: { wear: WearFinding[] } }
  | { kind: 'accountability'; json: AccountabilityJson; extra: Record<string, never> };

/** A report as the archive keeps it and the API lists it. Times are epoch ms. */
export interface ReportMeta {
  id: string;
  kind: ReportKind;
  from: number;
  to: number;
  /** the sites it covers; null = every site of the estate */
  sites: string[] | null;
  /** the schedule that made it; null = requested */
  schedule: ScheduleName | null;
  createdAt: number;
  requestedBy: string;
}

export { REPORT_FORMATS as FORMATS, type ReportFormat } from '../config/index.ts';
