/**
 * One RulePlan for every group of devices with the same effective rules (alerts/rules/effective.ts):
 * the rules depend on a device's kind, its interval, its attributes and the overrides that
 * name its site or itself, so devices alike in those share their rules, their plan and
 * everything in it; each device keeps only its state (docs/performance.md, "City scale").
 */
import type { RegisteredDevice, RuleOverride } from '../../config/index.ts';
import { effectiveRules } from './effective.ts';
import { RulePlan } from './evaluator.ts';

export class RulePlans {
  private readonly plans = new Map<string, RulePlan>();
  private readonly sites: ReadonlySet<string>;
  private readonly devices: ReadonlySet<string>;

  constructor(private readonly overrides: readonly RuleOverride[]) {
    this.sites = new Set(overrides.flatMap((o) => (o.site && !o.device ? [o.site] : [])));
    this.devices = new Set(overrides.flatMap((o) => (o.device ? [o.device] : [])));
  }

  /** The plan of the device's rules, made once per group of devices alike. */
  of(device: RegisteredDevice): RulePlan {
    const key = [
      device.kind,
      device.intervalSec,
      this.sites.has(device.site) ? device.site : '',
      this.devices.has(device.id) ? device.id : '',
      JSON.stringify(device.attributes),
    ].join('\u0000');
    let plan = this.plans.get(key);
    if (!plan) this.plans.set(key, (plan = new RulePlan(effectiveRules(device, this.overrides))));
    return plan;
  }

  /** how many different plans the devices so far needed */
  get size(): number {
    return this.plans.size;
  }
}
