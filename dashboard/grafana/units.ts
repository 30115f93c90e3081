/**
 * What the catalog and the default rules (config/) tell a panel: the unit Grafana should
 * show, and the threshold lines a metric's rules draw (hydrant pressure: red below 0.10 MPa,
 * orange below 0.14 MPa). A limit that scales a device attribute (overspeed at 110 % of each
 * elevator's rated speed) has no single line, so it draws none; one that is an attribute
 * with a standard default (a hydrant's `minPressureMpa`, 0.14) draws the default.
 */
import * as units from '@grafana/grafana-foundation-sdk/units';
import type { Threshold } from '@grafana/grafana-foundation-sdk/dashboard';
import { DEFAULT_RULES, type Kind, type Limit, type MetricSpec, type Severity } from '../../config/index.ts';

const GRAFANA_UNITS: Readonly<Record<string, string>> = {
  '%': units.Percent,
  '°C': units.Celsius,
  'm/s': units.MetersPerSecond,
  dBm: units.DecibelMilliWatt,
  pH: 'none',
  '': 'none',
};

/** Grafana's unit id for a catalog unit; units Grafana lacks (MPa, NTU, mg/L) become a suffix. */
export function grafanaUnit(spec: MetricSpec): string {
  return GRAFANA_UNITS[spec.unit] ?? `suffix: ${spec.unit}`;
}

export const COLORS = { ok: 'green', warning: 'orange', critical: 'red' } as const;

interface Bound {
  value: number;
  direction: 'above' | 'below';
  severity: Severity;
}

function limitValue(limit: Limit): number | undefined {
  if (typeof limit === 'number') return limit;
  return limit.factor === undefined || limit.factor === 1 ? limit.default : undefined;
}

/** Every fixed limit of the threshold rules on this metric of this kind (rules for `any` kind included). */
function bounds(kind: Kind, metric: string): Bound[] {
  const out: Bound[] = [];
  for (const rule of DEFAULT_RULES) {
    if (rule.type !== 'threshold' || rule.metric !== metric || (rule.kind !== kind && rule.kind !== 'any')) continue;
    for (const severity of ['warning', 'critical'] as const) {
      const level = rule[severity];
      const value = level ? limitValue(level.value) : undefined;
      if (value !== undefined) out.push({ value, direction: rule.direction, severity });
    }
  }
  return out;
}

const RANK: Record<Severity | 'ok', number> = { ok: 0, warning: 1, critical: 2 };

/** The worst severity a value falls under. */
function severityAt(x: number, all: readonly Bound[]): Severity | 'ok' {
  let worst: Severity | 'ok' = 'ok';
  for (const b of all) {
    const violated = b.direction === 'below' ? x < b.value : x > b.value;
    if (violated && RANK[b.severity] > RANK[worst]) worst = b.severity;
  }
  return worst;
}

/**
 * Grafana threshold steps (each step's colour holds from its value up) for the metric's
 * rules, or undefined when no rule draws a line on it.
 */
export function thresholdSteps(kind: Kind, metric: string): Threshold[] | undefined {
  const all = bounds(kind, metric);
  if (all.length === 0) return undefined;
  const cuts = [...new Set(all.map((b) => b.value))].sort((a, b) => a - b);
  // A value exactly on a cut is not past it ("below 0.10" is false at 0.10), so each step is
  // judged just above its cut, and the first step (from -∞) just below the lowest.
  const eps = (v: number) => Math.max(Math.abs(v), 1) * 1e-9;
  const steps: Threshold[] = [{ value: null, color: COLORS[severityAt(cuts[0]! - eps(cuts[0]!), all)] }];
  for (const cut of cuts) {
    const color = COLORS[severityAt(cut + eps(cut), all)];
    if (color !== steps[steps.length - 1]!.color) steps.push({ value: cut, color });
  }
  return steps;
}

/** Boolean metrics whose `true` a rule treats as a problem (tamper, leak, a lane occupied, a door held open). */
export function problemWhenTrue(kind: Kind, metric: string): Severity | undefined {
  for (const rule of DEFAULT_RULES) {
    if (rule.type === 'boolean' && rule.metric === metric && (rule.kind === kind || rule.kind === 'any') && rule.when) {
      return rule.critical ? 'critical' : 'warning';
    }
  }
  return undefined;
}
