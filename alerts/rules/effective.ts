/**
 * The rules that apply to one device: the defaults of config/rules.ts for its kind, changed
 * by the estate file's overrides (a device override beats a site override beats one for every
 * site), with every limit made a number from the device's attributes.
 */
import { DEFAULT_RULES, KIND_DEPARTMENT, type Limit, type RegisteredDevice, type RuleDef, type RuleOverride, type Severity } from '../../config/index.ts';

export interface EffectiveLevel {
  severity: Severity;
  limit: number;
  forMs: number;
}

interface Base {
  id: string;
  department: string;
  source: string;
  /** about the sensor, not the equipment (config/rules.ts) */
  housekeeping: boolean;
}

export interface EffThreshold extends Base {
  type: 'threshold';
  metric: string;
  direction: 'above' | 'below';
  /** critical first */
  levels: EffectiveLevel[];
  hysteresis: number;
}

export interface EffBoolean extends Base {
  type: 'boolean';
  metric: string;
  when: boolean;
  /** critical first; `limit` unused */
  levels: EffectiveLevel[];
}

export interface EffEvent extends Base {
  type: 'event';
  code: string;
  severity: Severity;
  criticalIf?: string;
}

export interface EffDerived extends Base {
  type: 'derived';
  derive: 'trapped' | 'stop_outside_door_zone';
  severity: Severity;
}

export interface EffSilent extends Base {
  type: 'silent';
  afterMs: number;
  severity: Severity;
}

export type EffectiveRule = EffThreshold | EffBoolean | EffEvent | EffDerived | EffSilent;

function limitOf(limit: Limit, device: RegisteredDevice): number {
  if (typeof limit === 'number') return limit;
  const attr = device.attributes[limit.attr];
  const base = typeof attr === 'number' ? attr : limit.default;
  return base * (limit.factor ?? 1);
}

/** The overrides for this device and rule, least specific first. */
function overridesFor(overrides: readonly RuleOverride[], device: RegisteredDevice, rule: string): RuleOverride[] {
  const rank = (o: RuleOverride) => (o.device ? 2 : o.site ? 1 : 0);
  return overrides
    .filter((o) => o.rule === rule && (!o.device || o.device === device.id) && (!o.site || o.site === device.site))
    .sort((a, b) => rank(a) - rank(b));
}

function levels(def: RuleDef & { warning?: { forSec: number; value?: Limit }; critical?: { forSec: number; value?: Limit } }, device: RegisteredDevice, ovs: RuleOverride[]): EffectiveLevel[] {
  const out: EffectiveLevel[] = [];
  for (const severity of ['critical', 'warning'] as const) {
    let lvl: { value?: Limit; forSec: number } | undefined | null = def[severity];
    for (const o of ovs) {
      const change = o[severity];
      if (change === null) lvl = null;
      else if (change) lvl = { ...(lvl ?? { forSec: 0 }), ...(change.value !== undefined ? { value: change.value } : {}), ...(change.forSec !== undefined ? { forSec: change.forSec } : {}) };
    }
    if (!lvl) continue;
    out.push({ severity, limit: lvl.value === undefined ? NaN : limitOf(lvl.value, device), forMs: lvl.forSec * 1000 });
  }
  return out;
}

export function effectiveRules(device: RegisteredDevice, overrides: readonly RuleOverride[]): EffectiveRule[] {
  const out: EffectiveRule[] = [];
  for (const def of DEFAULT_RULES) {
    if (def.kind !== 'any' && def.kind !== device.kind) continue;
    const ovs = overridesFor(overrides, device, def.id);
    if (ovs.some((o) => o.disabled)) continue;
    const severity = ovs.reduce<Severity | undefined>((s, o) => o.severity ?? s, undefined);
    const department = def.department || KIND_DEPARTMENT[device.kind];
    const base = { id: def.id, department, source: def.source, housekeeping: def.housekeeping === true };
    switch (def.type) {
      case 'threshold': {
        const hysteresis = ovs.reduce((h, o) => o.hysteresis ?? h, def.hysteresis);
        const lv = levels(def, device, ovs).filter((l) => Number.isFinite(l.limit));
        if (lv.length) out.push({ ...base, type: 'threshold', metric: def.metric, direction: def.direction, levels: lv, hysteresis });
        break;
      }
      case 'boolean': {
        const lv = levels(def, device, ovs).map((l) => ({ ...l, limit: 0 }));
        if (lv.length) out.push({ ...base, type: 'boolean', metric: def.metric, when: def.when, levels: lv });
        break;
      }
      case 'event':
        out.push({ ...base, type: 'event', code: def.code, severity: severity ?? def.severity, ...(def.criticalIf ? { criticalIf: def.criticalIf } : {}) });
        break;
      case 'derived':
        out.push({ ...base, type: 'derived', derive: def.derive, severity: severity ?? def.severity });
        break;
      case 'silent':
        out.push({ ...base, type: 'silent', afterMs: def.intervals * device.intervalSec * 1000, severity: severity ?? def.severity });
        break;
    }
  }
  return out;
}
