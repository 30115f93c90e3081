/**
 * What every report builder reads from: the registry (which devices a site has, their
 * reporting intervals and attributes), the series store (through `aggregate`, so both stores
 * serve the reports and the work happens in the database) and the operational store.
 */
import type { Kind, RegisteredDevice, Registry, ReportsConfig, Site } from '../config/index.ts';
import type { AggregateQuery, AggregateRow, SeriesStore } from '../storage/index.ts';
import type { AlertFacts } from './alert-facts.ts';
import type { MaintenanceLog } from './maintenance-log.ts';

export interface ReportContext {
  registry: Registry;
  store: SeriesStore;
  facts: AlertFacts;
  maintenance: MaintenanceLog;
  config: ReportsConfig;
  now: () => number;
}

/** What a report covers: [from, to) over these sites. */
export interface Scope {
  from: number;
  to: number;
  sites: Site[];
}

export function devicesOf(ctx: ReportContext, site: Site, kind: Kind): RegisteredDevice[] {
  return ctx.registry.devicesOf(site.id).filter((d) => d.kind === kind);
}

export function allDevices(ctx: ReportContext, scope: Scope, kind: Kind): RegisteredDevice[] {
  return scope.sites.flatMap((s) => devicesOf(ctx, s, kind));
}

/** `aggregate` grouped by device, as a map from device to its values. */
export async function byDevice(store: SeriesStore, q: Omit<AggregateQuery, 'groupBy'>): Promise<Map<string, AggregateRow['values']>> {
  if (q.devices && q.devices.length === 0) return new Map();
  const rows = await store.aggregate({ ...q, groupBy: ['device'] });
  return new Map(rows.map((r) => [r.group.device!, r.values]));
}
