/**
 * Default alert rules, with the standard each comes from (STANDARDS.md).
 * This is data: the alerts part evaluates it, and the estate file may override any
 * rule per site or per device. Durations are in seconds, measured on the readings' own
 * timestamps, except `silent`, which is measured on the service's clock.
 */
import type { Kind } from './catalog.ts';

export type Severity = 'warning' | 'critical';

/** A threshold value: a number, or a device attribute times a factor. */
export type Limit = number | { readonly attr: string; readonly factor?: number; readonly default: number };

export interface Level {
  readonly value: Limit;
  readonly forSec: number;
}

interface RuleBase {
  readonly id: string;
  readonly kind: Kind | 'any';
  /** department that holds jurisdiction by default (docs/alerts.md#rules) */
  readonly department: string;
  readonly source: string;
  /**
   * About the sensor rather than the equipment's safety (docs/alerts.md, "Sensor
   * housekeeping"): to the maintainer and the property company, grouped, not escalated.
   */
  readonly housekeeping?: boolean;
}

export interface ThresholdRule extends RuleBase {
  readonly type: 'threshold';
  readonly metric: string;
  readonly direction: 'above' | 'below';
  readonly warning?: Level;
  readonly critical?: Level;
  /** how far back past the threshold a value must go before the alert clears */
  readonly hysteresis: number;
}

export interface BooleanRule extends RuleBase {
  readonly type: 'boolean';
  readonly metric: string;
  /** the value that counts as a problem */
  readonly when: boolean;
  readonly warning?: { readonly forSec: number };
  readonly critical?: { readonly forSec: number };
}

export interface EventRule extends RuleBase {
  readonly type: 'event';
  readonly code: string;
  readonly severity: Severity;
  /** raise to critical when this boolean metric was last true */
  readonly criticalIf?: string;
}

export interface DerivedRule extends RuleBase {
  readonly type: 'derived';
  readonly derive: 'trapped' | 'stop_outside_door_zone';
  readonly severity: Severity;
}

export interface SilentRule extends RuleBase {
  readonly type: 'silent';
  readonly intervals: number;
  readonly severity: Severity;
}

export type RuleDef = ThresholdRule | BooleanRule | EventRule | DerivedRule | SilentRule;

const GB5749 = 'GB 5749-2022';
const EL = 'market-supervision';
const FIRE = 'fire-rescue';
const HEALTH = 'health-commission';
const WATER = 'water-authority';

const event = (
  kind: Kind,
  code: string,
  severity: Severity,
  department: string,
  source: string,
  criticalIf?: string,
): EventRule => ({ id: code, type: 'event', kind, code, severity, department, source, ...(criticalIf ? { criticalIf } : {}) });

export const DEFAULT_RULES: readonly RuleDef[] = [
  // Elevators
  {
    id: 'overspeed_derived',
    type: 'threshold',
    kind: 'elevator',
    metric: 'speed_mps',
    direction: 'above',
    warning: { value: { attr: 'ratedSpeedMps', factor: 1.1, default: 1.75 }, forSec: 0 },
    critical: { value: { attr: 'ratedSpeedMps', factor: 1.15, default: 1.75 }, forSec: 0 },
    hysteresis: 0.05,
    department: EL,
    source: '110 %: regulator event lists (超速10%); 115 %: governor trip, GB/T 7588.1',
  },
  event('elevator', 'trapped', 'critical', EL, 'TSG T5002-2017 art. 5(4); GB/T 24476'),
  {
    id: 'trapped_derived',
    type: 'derived',
    kind: 'elevator',
    derive: 'trapped',
    severity: 'critical',
    department: EL,
    source: 'vendor timers: stopped, doors shut, passengers present 30 s outside a floor or 60 s at a floor',
  },
  {
    id: 'stop_outside_door_zone_derived',
    type: 'derived',
    kind: 'elevator',
    derive: 'stop_outside_door_zone',
    severity: 'critical',
    department: EL,
    source: 'vendor timers: stopped outside the door zone for 60 s',
  },
  event('elevator', 'stop_outside_door_zone', 'critical', EL, 'GB/T 24476 fault list'),
  {
    id: 'door_held_open',
    type: 'boolean',
    kind: 'elevator',
    metric: 'door_open',
    when: true,
    warning: { forSec: 120 },
    department: EL,
    source: 'vendor default: door held open at a floor for 120 s',
  },
  event('elevator', 'door_open_moving', 'critical', EL, 'GB/T 24476 fault list (开门走车)'),
  event('elevator', 'overspeed', 'critical', EL, 'GB/T 7588.1 governor trip'),
  event('elevator', 'overrun_top', 'critical', EL, 'GB/T 24476 fault list (冲顶)'),
  event('elevator', 'overrun_bottom', 'critical', EL, 'GB/T 24476 fault list (蹲底)'),
  event('elevator', 'safety_circuit_open', 'critical', EL, 'GB/T 24476 fault list'),
  event('elevator', 'power_loss', 'warning', EL, 'GB/T 24476 fault list; critical with passengers', 'passengers_present'),
  event('elevator', 'door_open_fault', 'warning', EL, 'GB/T 24476 fault list'),
  event('elevator', 'door_close_fault', 'warning', EL, 'GB/T 24476 fault list'),
  event('elevator', 'user_alarm', 'warning', EL, 'GB/T 24476 fault list'),
  event('elevator', 'run_timeout', 'warning', EL, 'GB/T 24476 fault list'),

  // Fire hydrants
  {
    id: 'pressure_low',
    type: 'threshold',
    kind: 'hydrant',
    metric: 'pressure_mpa',
    direction: 'below',
    warning: { value: { attr: 'minPressureMpa', default: 0.14 }, forSec: 300 },
    critical: { value: 0.1, forSec: 60 },
    hysteresis: 0.01,
    department: FIRE,
    source: 'GB 50974-2014 §7.2.8, GB 55036-2022 §3.0.3 (≥ 0.14 MPa; ≥ 0.10 MPa during a fire)',
  },
  {
    id: 'pressure_high',
    type: 'threshold',
    kind: 'hydrant',
    metric: 'pressure_mpa',
    direction: 'above',
    warning: { value: 1.0, forSec: 300 },
    hysteresis: 0.02,
    department: FIRE,
    source: 'GB 50974-2014 §6.2.1 (zoned supply above 1.0 MPa)',
  },
  {
    id: 'freeze_risk',
    type: 'threshold',
    kind: 'hydrant',
    metric: 'temp_c',
    direction: 'below',
    warning: { value: 5, forSec: 0 },
    hysteresis: 1,
    department: FIRE,
    source: 'GB 50974-2014 §14.0 winter checks (≥ 5 °C)',
  },
  { id: 'tamper_metric', type: 'boolean', kind: 'hydrant', metric: 'tamper', when: true, critical: { forSec: 0 }, department: FIRE, source: 'vendor practice' },
  { id: 'leak_metric', type: 'boolean', kind: 'hydrant', metric: 'leak', when: true, critical: { forSec: 0 }, department: FIRE, source: 'vendor practice' },
  event('hydrant', 'tamper', 'critical', FIRE, 'vendor practice'),
  event('hydrant', 'leak', 'critical', FIRE, 'vendor practice'),
  event('hydrant', 'valve_open', 'critical', FIRE, 'vendor practice'),

  // Fire lanes
  {
    id: 'lane_occupied',
    type: 'boolean',
    kind: 'firelane',
    metric: 'occupied',
    when: true,
    warning: { forSec: 300 },
    critical: { forSec: 900 },
    department: FIRE,
    source: '消防法 art. 28; district platform 5-minute cycle; 15 min is practice',
  },
  {
    id: 'sensor_obstructed',
    type: 'threshold',
    kind: 'firelane',
    metric: 'obstruction_pct',
    direction: 'above',
    warning: { value: 50, forSec: 600 },
    hysteresis: 5,
    department: FIRE,
    source: 'practice',
  },
  event('firelane', 'blocked', 'critical', FIRE, '消防法 art. 28'),

  // Secondary water supply: quality (health commission)
  {
    id: 'turbidity_high',
    type: 'threshold',
    kind: 'water',
    metric: 'turbidity_ntu',
    direction: 'above',
    warning: { value: 0.5, forSec: 600 },
    critical: { value: 1, forSec: 600 },
    hysteresis: 0.05,
    department: HEALTH,
    source: `${GB5749}: ≤ 1 NTU`,
  },
  {
    id: 'chlorine_low',
    type: 'threshold',
    kind: 'water',
    metric: 'chlorine_mgl',
    direction: 'below',
    warning: { value: 0.1, forSec: 600 },
    critical: { value: 0.05, forSec: 600 },
    hysteresis: 0.01,
    department: HEALTH,
    source: `${GB5749}: ≥ 0.05 mg/L at the network end`,
  },
  {
    id: 'chlorine_high',
    type: 'threshold',
    kind: 'water',
    metric: 'chlorine_mgl',
    direction: 'above',
    critical: { value: 2, forSec: 600 },
    hysteresis: 0.05,
    department: HEALTH,
    source: `${GB5749}: ≤ 2 mg/L`,
  },
  { id: 'ph_low', type: 'threshold', kind: 'water', metric: 'ph', direction: 'below', critical: { value: 6.5, forSec: 600 }, hysteresis: 0.1, department: HEALTH, source: `${GB5749}: pH 6.5–8.5` },
  { id: 'ph_high', type: 'threshold', kind: 'water', metric: 'ph', direction: 'above', critical: { value: 8.5, forSec: 600 }, hysteresis: 0.1, department: HEALTH, source: `${GB5749}: pH 6.5–8.5` },
  { id: 'tds_high', type: 'threshold', kind: 'water', metric: 'tds_mgl', direction: 'above', warning: { value: 1000, forSec: 0 }, hysteresis: 20, department: HEALTH, source: `${GB5749}: ≤ 1000 mg/L` },

  // Secondary water supply: facilities (water authority)
  {
    id: 'tank_level_low',
    type: 'threshold',
    kind: 'water',
    metric: 'tank_level_pct',
    direction: 'below',
    warning: { value: 20, forSec: 0 },
    critical: { value: 10, forSec: 0 },
    hysteresis: 2,
    department: WATER,
    source: 'practice',
  },
  { id: 'tank_level_high', type: 'threshold', kind: 'water', metric: 'tank_level_pct', direction: 'above', critical: { value: 98, forSec: 0 }, hysteresis: 1, department: WATER, source: 'practice (overflow)' },
  event('water', 'pump_fault', 'critical', WATER, 'GB 17051'),
  event('water', 'tank_overflow', 'critical', WATER, 'GB 17051'),
  event('water', 'tank_cover_open', 'critical', WATER, 'GB 17051 (tank must be closed and locked)'),

  // Every kind; the department is the kind's own (see KIND_DEPARTMENT)
  { id: 'device_silent', type: 'silent', kind: 'any', intervals: 3, severity: 'warning', department: '', housekeeping: true, source: 'practice: no message for 3 × the reporting interval' },
  {
    id: 'battery_low',
    type: 'threshold',
    kind: 'any',
    metric: 'battery_pct',
    direction: 'below',
    warning: { value: 20, forSec: 0 },
    critical: { value: 10, forSec: 0 },
    hysteresis: 2,
    department: '',
    housekeeping: true,
    source: 'practice',
  },
];

/** One alert for a site whose devices went dark together (docs/alerts.md, "Outages"). */
export const SITE_OFFLINE = 'site_offline';

/** The service's own alerts (kind `system`). */
export const SYSTEM_RULES = ['store_down', 'store_tag_limit', 'ops_store_down', 'broker_down', 'spool_near_full', 'spool_full', 'delivery_failed'] as const;

/** Every rule id a route, an inhibition or an override may name. */
export const RULE_IDS: ReadonlySet<string> = new Set([...DEFAULT_RULES.map((r) => r.id), SITE_OFFLINE, ...SYSTEM_RULES]);

/** Rules about the sensors rather than the equipment: grouped, to maintainers, not escalated. */
export const HOUSEKEEPING_RULES: ReadonlySet<string> = new Set([...DEFAULT_RULES.filter((r) => r.housekeeping).map((r) => r.id), SITE_OFFLINE]);

/** The department that holds jurisdiction over a kind's equipment as a whole (docs/alerts.md#rules). */
export const KIND_DEPARTMENT: Record<Kind, string> = {
  elevator: EL,
  hydrant: FIRE,
  firelane: FIRE,
  water: WATER,
};

/** Maintenance tasks and their intervals (docs/interfaces.md#reports, STANDARDS.md). */
export const MAINTENANCE_TASKS = {
  elevator_maintenance: { kind: 'elevator', intervalDays: 15, source: 'TSG T5002 art. 6' },
  tank_cleaning: { kind: 'water', intervalDays: 182, source: 'provincial rules (Sichuan); GB 17051' },
  analyser_calibration: { kind: 'water', intervalDays: 91, source: 'CJJ/T 271-2017 annex H' },
} as const;

export function rulesFor(kind: Kind): RuleDef[] {
  return DEFAULT_RULES.filter((r) => r.kind === kind || r.kind === 'any');
}
