export { Reports, type ReportsDeps, type ReportRequest, type ReportView } from './service.ts';
export { ReportSchedules, periodOf, SCHEDULE_NAMES, type ScheduleName, type ScheduledRun, type Period } from './calendar.ts';
export { MaintenanceLog, tasksFor, isTask, type MaintenanceRecord, type MaintenanceTask } from './maintenance.ts';
export { AlertFacts, type FactAlert } from './sources.ts';
export { nearestRank, figures } from './accountability.ts';
export { toCsv } from './files.ts';
export { readyBody, recipientsOf, type ReportReady } from './service.ts';
export { TZ, DAY_MS, iso, startOfDay, startOfWeek, startOfMonth } from './calendar.ts';
export { FORMATS, type ReportFormat, type ReportMeta, type ReportJson, type HealthJson, type MaintenanceJson, type AccountabilityJson } from './types.ts';
