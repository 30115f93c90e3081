/**
 * Devices alike share one plan of rules (alerts/rules/plans.ts), and each keeps its own state:
 * one device's breach is not another's.
 */
import { describe, expect, it } from 'vitest';
import { Registry, parseEstate } from '../../config/index.ts';
import type { Reading } from '../../bus.ts';
import { DeviceEvaluator, type Signal } from './evaluator.ts';
import { RulePlans } from './plans.ts';

const estate = parseEstate(
  `
sites:
  - id: s1
    name: 测试小区
    property: { name: 测试物业 }
    devices:
      - { id: HY-1, kind: hydrant, building: "1栋" }
      - { id: HY-2, kind: hydrant, building: "2栋" }
      - { id: HY-3, kind: hydrant, building: "3栋", attributes: { minPressureMpa: 0.2 } }
      - { id: HY-4, kind: hydrant, building: "4栋" }
      - { id: HY-5, kind: hydrant, building: "5栋", intervalSec: 30 }
  - id: s2
    name: 第二小区
    property: { name: 测试物业 }
    devices:
      - { id: HY-6, kind: hydrant, building: "1栋" }
      - { id: EL-1, kind: elevator, building: "1栋" }
departments:
  - { id: fire-rescue, name: 消防 }
rules:
  - { rule: pressure_low, device: HY-4, critical: { forSec: 5 } }
  - { rule: battery_low, site: s2, disabled: true }
`,
  'plans.yaml',
  {},
);
const registry = new Registry(estate);

describe('RulePlans', () => {
  it('gives devices of one kind, interval, attributes and overrides one plan, and the others their own', () => {
    const plans = new RulePlans(estate.rules);
    const of = (id: string) => plans.of(registry.device(id)!);
    expect(of('HY-1')).toBe(of('HY-2'));
    for (const other of ['HY-3', 'HY-4', 'HY-5', 'HY-6', 'EL-1']) expect(of(other)).not.toBe(of('HY-1'));
    expect(of('HY-6').rules.some((r) => r.id === 'battery_low')).toBe(false);
    expect(of('HY-1').rules.some((r) => r.id === 'battery_low')).toBe(true);
    expect(plans.size).toBe(6);
  });

  it('keeps each device its own state on a shared plan', () => {
    const plans = new RulePlans(estate.rules);
    const a = new DeviceEvaluator(plans.of(registry.device('HY-1')!));
    const b = new DeviceEvaluator(plans.of(registry.device('HY-2')!));
    const T0 = 1_800_000_000_000;
    const reading = (device: string, s: number, p: number): Reading => ({ site: 's1', kind: 'hydrant', device, building: '', ts: T0 + s * 1000, metrics: { pressure_mpa: p } });
    const out: Signal[] = [];
    a.onReading(reading('HY-1', 0, 0.05), out);
    a.onReading(reading('HY-1', 61, 0.05), out);
    b.onReading(reading('HY-2', 61, 0.3), out);
    expect(out.map((s) => `${s.rule.id}:${s.outcome}`)).toEqual(['pressure_low:pending', 'pressure_low:critical']);
    b.onReading(reading('HY-2', 62, 0.05), out);
    expect(out.at(-1)).toMatchObject({ outcome: 'pending', since: T0 + 62_000 });
    // A hydrant's rules read no latest value: it keeps none.
    expect(a.latest).toEqual({});
    expect(b.latest).toEqual({});
  });
});
