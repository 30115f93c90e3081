/**
 * The health report: per compound, what each elevator, hydrant, water-supply analyser and
 * fire lane did over the period (figures defined in docs/reports.md). Every figure from
 * readings is an aggregation in the database (`SeriesStore.aggregate`), a few queries per
 * kind of device whatever the number of devices; figures from alerts come from the
 * operational store.
 */
import type { RegisteredDevice } from '../config/index.ts';
import type { SeriesStore } from '../storage/index.ts';
import { allDevices, byDevice, type ReportContext, type Scope } from './sources.ts';
import { DAY_MS, DAY_STEP_OFFSET_MS, iso, round } from './calendar.ts';
import type { Built, DailySeries, ElevatorHealth, FirelaneHealth, HydrantHealth, TrappingRow, WaterHealth } from './types.ts';

/** How far before the period the last counter reading is looked for (the base of an increase). */
const COUNTER_LOOKBACK_MS = 7 * DAY_MS;
const TRAPPED_RULES = ['trapped', 'trapped_derived'];

/** GB 5749-2022 limits of the indicators the water analysers measure (STANDARDS.md). */
export const GB5749: readonly { metric: string; min?: number; max?: number }[] = [
  { metric: 'turbidity_ntu', max: 1 },
  { metric: 'chlorine_mgl', min: 0.05, max: 2 },
  { metric: 'ph', min: 6.5, max: 8.5 },
  { metric: 'tds_mgl', max: 1000 },
];
/** The metrics whose daily means the HTML charts. */
export const CHARTED = ['chlorine_mgl', 'turbidity_ntu'] as const;

const ids = (ds: readonly RegisteredDevice[]) => ds.map((d) => d.id);

/**
 * Increase of a counter per device over [from, to): its last value in the period less its last
 * value before the period (or, with none in the week before, its first value in the period).
 * A counter that went back (a controller reset) counts from zero.
 */
export async function counterIncrease(store: SeriesStore, q: { measurement: string; field: string; from: number; to: number; devices: string[] }): Promise<Map<string, number>> {
  const [inside, before] = await Promise.all([
    byDevice(store, { ...q, fns: ['first', 'last'] }),
    byDevice(store, { ...q, from: q.from - COUNTER_LOOKBACK_MS, to: q.from, fns: ['last'] }),
  ]);
  const out = new Map<string, number>();
  for (const [device, v] of inside) {
    const base = before.get(device)?.last ?? v.first!;
    out.set(device, v.last! >= base ? v.last! - base : v.last!);
  }
  return out;
}

async function elevators(ctx: ReportContext, scope: Scope, siteIds: string[]): Promise<{ rows: Map<string, ElevatorHealth>; trappings: TrappingRow[] }> {
  const devs = allDevices(ctx, scope, 'elevator');
  const q = { measurement: 'elevator', from: scope.from, to: scope.to, devices: ids(devs) };
  const [runs, doors, runningAll, runningTrue, events] = await Promise.all([
    counterIncrease(ctx.store, { ...q, field: 'run_count' }),
    counterIncrease(ctx.store, { ...q, field: 'door_cycles' }),
    byDevice(ctx.store, { ...q, field: 'running', fns: ['count'] }),
    byDevice(ctx.store, { ...q, field: 'running', fns: ['count'], where: [{ field: 'running', op: '=', value: true }] }),
    q.devices.length === 0
      ? Promise.resolve([])
      : ctx.store.aggregate({ ...q, measurement: 'events', field: 'active', fns: ['count'], tags: { kind: 'elevator' }, where: [{ field: 'active', op: '=', value: true }], groupBy: ['device', 'code'] }),
  ]);
  const faults = new Map<string, Record<string, number>>();
  for (const r of events) faults.set(r.group.device!, { ...faults.get(r.group.device!), [r.group.code!]: r.values.count! });
  const [trapped, down] = await Promise.all([ctx.facts.alerts(scope.from, scope.to, siteIds, TRAPPED_RULES), ctx.facts.criticalMs(q.devices, scope.from, scope.to, ctx.now())]);
  const span = scope.to - scope.from;
  const rows = new Map<string, ElevatorHealth>();
  for (const d of devs) {
    const f = faults.get(d.id) ?? {};
    const derived = trapped.filter((a) => a.device === d.id && a.rule === 'trapped_derived').length;
    rows.set(d.id, {
      device: d.id,
      runs: runs.get(d.id) ?? null,
      doorCycles: doors.get(d.id) ?? null,
      runningHours: runningAll.has(d.id) ? round(((runningTrue.get(d.id)?.count ?? 0) * d.intervalSec) / 3600, 2) : null,
      faults: Object.fromEntries(Object.entries(f).sort(([a], [b]) => (a < b ? -1 : 1))),
      trappings: (f.trapped ?? 0) + derived,
      availabilityPct: round(100 * (1 - (down.get(d.id) ?? 0) / span), 2),
    });
  }
  const trappings = trapped.map((a): TrappingRow => {
    const first = a.acks[0];
    return { site: a.site, device: a.device, firedAt: a.firedAt, ackedAt: first?.at ?? null, ackedBy: first ? first.department : null, responseSec: first ? round((first.at - a.firedAt) / 1000, 1) : null };
  });
  return { rows, trappings };
}

async function hydrants(ctx: ReportContext, scope: Scope): Promise<Map<string, HydrantHealth>> {
  const devs = allDevices(ctx, scope, 'hydrant');
  const q = { measurement: 'hydrant', field: 'pressure_mpa', from: scope.from, to: scope.to };
  // One query per distinct minimum (most estates have one or two), each over its devices.
  const byMin = new Map<number, string[]>();
  for (const d of devs) {
    const min = typeof d.attributes.minPressureMpa === 'number' ? d.attributes.minPressureMpa : 0.14;
    byMin.set(min, [...(byMin.get(min) ?? []), d.id]);
  }
  const [stats, ...below] = await Promise.all([
    byDevice(ctx.store, { ...q, devices: ids(devs), fns: ['min', 'mean'] }),
    ...[...byMin].map(([min, devices]) => byDevice(ctx.store, { ...q, devices, fns: ['count'], where: [{ field: 'pressure_mpa', op: '<', value: min }] })),
  ]);
  const rows = new Map<string, HydrantHealth>();
  for (const d of devs) {
    const s = stats.get(d.id);
    const n = below.reduce((acc, m) => acc + (m.get(d.id)?.count ?? 0), 0);
    rows.set(d.id, {
      device: d.id,
      minPressureMpa: s ? round(s.min!, 3) : null,
      meanPressureMpa: s ? round(s.mean!, 3) : null,
      minutesBelowMin: s ? round((n * d.intervalSec) / 60, 1) : null,
    });
  }
  return rows;
}

async function water(ctx: ReportContext, scope: Scope): Promise<{ rows: Map<string, WaterHealth>; daily: DailySeries[] }> {
  const devs = allDevices(ctx, scope, 'water');
  const q = { measurement: 'water', from: scope.from, to: scope.to, devices: ids(devs) };
  const counts = await Promise.all(
    GB5749.flatMap((g) => {
      const where = [
        ...(g.min !== undefined ? [{ field: g.metric, op: '>=' as const, value: g.min }] : []),
        ...(g.max !== undefined ? [{ field: g.metric, op: '<=' as const, value: g.max }] : []),
      ];
      return [byDevice(ctx.store, { ...q, field: g.metric, fns: ['count'] }), byDevice(ctx.store, { ...q, field: g.metric, fns: ['count'], where })];
    }),
  );
  const rows = new Map<string, WaterHealth>();
  for (const d of devs) {
    const pct: Record<string, number | null> = {};
    GB5749.forEach((g, i) => {
      const all = counts[2 * i]!.get(d.id)?.count ?? 0;
      const ok = counts[2 * i + 1]!.get(d.id)?.count ?? 0;
      pct[g.metric] = all > 0 ? round((100 * ok) / all, 2) : null;
    });
    rows.set(d.id, { device: d.id, compliancePct: pct });
  }
  const daily: DailySeries[] = [];
  if (q.devices.length > 0) {
    for (const metric of CHARTED) {
      const r = await ctx.store.aggregate({ ...q, field: metric, fns: ['mean'], groupBy: ['device'], stepMs: DAY_MS, offsetMs: DAY_STEP_OFFSET_MS });
      for (const d of q.devices) daily.push({ device: d, metric, points: r.filter((x) => x.group.device === d).map((x) => ({ t: x.t, v: x.values.mean! })) });
    }
  }
  return { rows, daily };
}

async function firelanes(ctx: ReportContext, scope: Scope, siteIds: string[]): Promise<Map<string, FirelaneHealth>> {
  const devs = allDevices(ctx, scope, 'firelane');
  const q = { measurement: 'firelane', field: 'occupied', from: scope.from, to: scope.to, devices: ids(devs), fns: ['count'] as const };
  const [all, occupied, incidents] = await Promise.all([
    byDevice(ctx.store, q),
    byDevice(ctx.store, { ...q, where: [{ field: 'occupied', op: '=', value: true }] }),
    ctx.facts.alerts(scope.from, scope.to, siteIds, ['lane_occupied']),
  ]);
  const rows = new Map<string, FirelaneHealth>();
  for (const d of devs) {
    rows.set(d.id, {
      device: d.id,
      occupiedMinutes: all.has(d.id) ? round(((occupied.get(d.id)?.count ?? 0) * d.intervalSec) / 60, 1) : null,
      incidents: incidents.filter((a) => a.device === d.id).length,
    });
  }
  return rows;
}

export async function buildHealth(ctx: ReportContext, scope: Scope): Promise<Extract<Built, { kind: 'health' }>> {
  const siteIds = scope.sites.map((s) => s.id);
  const [el, hy, wa, fl] = await Promise.all([elevators(ctx, scope, siteIds), hydrants(ctx, scope), water(ctx, scope), firelanes(ctx, scope, siteIds)]);
  const pick = <T>(rows: Map<string, T>, site: string, kind: RegisteredDevice['kind']) =>
    ctx.registry.devicesOf(site).filter((d) => d.kind === kind).map((d) => rows.get(d.id)!);
  return {
    kind: 'health',
    json: {
      kind: 'health',
      from: iso(scope.from),
      to: iso(scope.to),
      sites: scope.sites.map((s) => ({
        id: s.id,
        name: s.name,
        elevators: pick(el.rows, s.id, 'elevator'),
        hydrants: pick(hy, s.id, 'hydrant'),
        water: pick(wa.rows, s.id, 'water'),
        firelanes: pick(fl, s.id, 'firelane'),
      })),
    },
    extra: { trappings: el.trappings, daily: wa.daily },
  };
}
