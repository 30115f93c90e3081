export { Reports, type ReportsDeps, type ReportRequest, type ReportView } from './service.ts';
export { ReportSchedules, periodOf, SCHEDULE_NAMES, type ScheduleName, type ScheduledRun, type Period } from './schedule.ts';
export { MaintenanceLog, tasksFor, isTask, type MaintenanceRecord, type MaintenanceTask } from './maintenance-log.ts';
export { AlertFacts, type FactAlert } from './alert-facts.ts';
export { nearestRank, figures } from './accountability.ts';
export { toCsv } from './csv.ts';
export { readyBody, recipientsOf, type ReportReady } from './notify.ts';
export { TZ, DAY_MS, iso, startOfDay, startOfWeek, startOfMonth } from './time.ts';
export { FORMATS, type ReportFormat, type ReportMeta, type ReportJson, type HealthJson, type MaintenanceJson, type AccountabilityJson } from './types.ts';
