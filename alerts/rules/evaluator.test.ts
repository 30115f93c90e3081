/**
 * The rules of STANDARDS.md, table-driven: a device from inline YAML, readings with their own
 * timestamps, the outcome each rule reaches. Durations run on reading time, not the clock.
 */
import { describe, expect, it } from 'vitest';
import { Registry, parseEstate } from '../../config/index.ts';
import type { Reading } from '../../bus.ts';
import { effectiveRules } from './effective.ts';
import { DeviceEvaluator, type Outcome, type Signal } from './evaluator.ts';

const ESTATE = `
sites:
  - id: s1
    name: 测试小区
    property: { name: 测试物业 }
    devices:
      - { id: HY-1, kind: hydrant, building: "1栋", attributes: { minPressureMpa: 0.14 } }
      - { id: HY-2, kind: hydrant, building: "2栋", attributes: { minPressureMpa: 0.07 } }
      - { id: EL-1, kind: elevator, building: "1栋", attributes: { ratedSpeedMps: 2.0 } }
      - { id: FL-1, kind: firelane, building: "东侧" }
      - { id: WS-1, kind: water, building: "泵房" }
departments:
  - { id: fire-rescue, name: 消防 }
rules:
  - { rule: chlorine_low, device: WS-1, warning: { forSec: 60 } }
  - { rule: battery_low, site: s1, disabled: true }
`;

const registry = new Registry(parseEstate(ESTATE, 'test.yaml', {}));

function evaluator(device: string, overridesYaml?: string): DeviceEvaluator {
  const estate = overridesYaml ? parseEstate(ESTATE.replace(/rules:[\s\S]*$/, overridesYaml), 'test.yaml', {}) : registry.estate;
  const d = new Registry(estate).device(device)!;
  return new DeviceEvaluator(effectiveRules(d, estate.rules));
}

const T0 = 1_800_000_000_000;
type Step = [seconds: number, metrics: Record<string, number | boolean>];

/** Feeds the readings; returns "rule:outcome@second" for every change. */
function run(ev: DeviceEvaluator, device: string, steps: Step[]): string[] {
  const out: Signal[] = [];
  const seen: string[] = [];
  for (const [sec, metrics] of steps) {
    const r: Reading = { site: 's1', kind: registry.device(device)!.kind, device, building: '', ts: T0 + sec * 1000, metrics };
    out.length = 0;
    ev.onReading(r, out);
    for (const s of out) seen.push(`${s.rule.id}:${s.outcome}@${sec}`);
  }
  return seen;
}

const every = (from: number, to: number, step: number, m: Record<string, number | boolean>): Step[] => {
  const s: Step[] = [];
  for (let t = from; t <= to; t += step) s.push([t, m]);
  return s;
};

describe('threshold rules', () => {
  const cases: [string, string, Step[], string[]][] = [
    ['pressure just above the minimum never fires', 'HY-1', every(0, 900, 30, { pressure_mpa: 0.15 }), []],
    [
      'pressure below 0.14 for 5 min is a warning (pending until then)',
      'HY-1',
      every(0, 330, 30, { pressure_mpa: 0.12 }),
      ['pressure_low:pending@0', 'pressure_low:warning@300'],
    ],
    [
      'below 0.10 for 60 s is critical, before the warning\'s 5 min',
      'HY-1',
      every(0, 90, 15, { pressure_mpa: 0.08 }),
      ['pressure_low:pending@0', 'pressure_low:critical@60'],
    ],
    [
      'a dip shorter than the dwell does not fire',
      'HY-1',
      [...every(0, 45, 15, { pressure_mpa: 0.08 }), ...every(60, 400, 20, { pressure_mpa: 0.3 })],
      ['pressure_low:pending@0', 'pressure_low:clear@60'],
    ],
    [
      'clears only past the hysteresis (0.10 + 0.01)',
      'HY-1',
      [...every(0, 60, 30, { pressure_mpa: 0.05 }), [90, { pressure_mpa: 0.105 }], [120, { pressure_mpa: 0.3 }]],
      ['pressure_low:pending@0', 'pressure_low:critical@60', 'pressure_low:clear@120'],
    ],
    [
      'the device attribute sets the warning level (0.07 MPa)',
      'HY-2',
      every(0, 330, 30, { pressure_mpa: 0.12 }),
      [],
    ],
    ['pressure high above 1.0 MPa for 5 min', 'HY-1', every(0, 300, 60, { pressure_mpa: 1.2 }), ['pressure_high:pending@0', 'pressure_high:warning@300']],
    ['freeze risk below 5 °C at once', 'HY-1', [[0, { temp_c: 3 }]], ['freeze_risk:warning@0']],
    ['overspeed over 110 % of the rated 2.0 m/s is a warning', 'EL-1', [[0, { speed_mps: 2.25 }]], ['overspeed_derived:warning@0']],
    ['overspeed over 115 % is critical', 'EL-1', [[0, { speed_mps: 2.35 }]], ['overspeed_derived:critical@0']],
    ['the rated speed itself is fine', 'EL-1', [[0, { speed_mps: 2.0 }]], []],
    [
      'the estate override shortens chlorine\'s warning dwell to 60 s for WS-1',
      'WS-1',
      every(0, 60, 30, { chlorine_mgl: 0.08 }),
      ['chlorine_low:pending@0', 'chlorine_low:warning@60'],
    ],
    ['pH 6.4 for 10 min is critical', 'WS-1', every(0, 600, 120, { ph: 6.4 }), ['ph_low:pending@0', 'ph_low:critical@600']],
    ['tank level 15 % is a warning, 8 % critical', 'WS-1', [[0, { tank_level_pct: 15 }], [10, { tank_level_pct: 8 }]], ['tank_level_low:warning@0', 'tank_level_low:critical@10']],
    ['a disabled rule (battery_low at s1) never fires', 'HY-1', [[0, { battery_pct: 3 }]], []],
  ];
  it.each(cases)('%s', (_, device, steps, expected) => {
    expect(run(evaluator(device), device, steps)).toEqual(expected);
  });

  it('a critical alert that improves to the warning band falls back to warning', () => {
    const ev = evaluator('WS-1');
    const seen = run(ev, 'WS-1', [[0, { tank_level_pct: 5 }], [10, { tank_level_pct: 15 }], [20, { tank_level_pct: 50 }]]);
    expect(seen).toEqual(['tank_level_low:critical@0', 'tank_level_low:warning@10', 'tank_level_low:clear@20']);
  });

  it('readings older than the last judged are ignored (a late replay cannot undo a newer state)', () => {
    const ev = evaluator('HY-1');
    expect(run(ev, 'HY-1', [[100, { temp_c: 3 }], [50, { temp_c: 20 }]])).toEqual(['freeze_risk:warning@100']);
  });
});

describe('boolean and occupancy rules', () => {
  const cases: [string, string, Step[], string[]][] = [
    ['a fire lane occupied for 4 min does not fire', 'FL-1', [...every(0, 240, 30, { occupied: true }), [270, { occupied: false }]], ['lane_occupied:pending@0', 'lane_occupied:clear@270']],
    ['occupied 5 min is a warning, 15 min critical', 'FL-1', every(0, 900, 60, { occupied: true }), ['lane_occupied:pending@0', 'lane_occupied:warning@300', 'lane_occupied:critical@900']],
    ['a hydrant tamper flag is critical at once', 'HY-1', [[0, { tamper: true }], [5, { tamper: false }]], ['tamper_metric:critical@0', 'tamper_metric:clear@5']],
    ['a door held open 2 min is a warning', 'EL-1', every(0, 120, 30, { door_open: true }), ['door_held_open:pending@0', 'door_held_open:warning@120']],
  ];
  it.each(cases)('%s', (_, device, steps, expected) => {
    expect(run(evaluator(device), device, steps)).toEqual(expected);
  });
});

describe('derived elevator rules', () => {
  const stoppedAtFloor = { running: false, door_open: false, passengers_present: true, in_door_zone: true };
  const stoppedBetween = { running: false, door_open: false, passengers_present: true, in_door_zone: false };
  it('trapped between floors after 30 s, and stopped outside the door zone after 60 s', () => {
    const seen = run(evaluator('EL-1'), 'EL-1', every(0, 60, 10, stoppedBetween));
    expect(seen).toEqual([
      'trapped_derived:pending@0',
      'stop_outside_door_zone_derived:pending@0',
      'trapped_derived:critical@30',
      'stop_outside_door_zone_derived:critical@60',
    ]);
  });
  it('trapped at a floor after 60 s', () => {
    expect(run(evaluator('EL-1'), 'EL-1', every(0, 60, 15, stoppedAtFloor))).toEqual(['trapped_derived:pending@0', 'trapped_derived:critical@60']);
  });
  it('doors that open let people out: nothing fires', () => {
    const steps: Step[] = [[0, stoppedAtFloor], [20, { door_open: true }], [40, { passengers_present: false, door_open: false }], [120, {}]];
    expect(run(evaluator('EL-1'), 'EL-1', steps)).toEqual(['trapped_derived:pending@0', 'door_held_open:pending@20', 'trapped_derived:clear@20', 'door_held_open:clear@40']);
  });
  it('inspection mode is known from service_mode 2', () => {
    const ev = evaluator('EL-1');
    run(ev, 'EL-1', [[0, { service_mode: 2 }]]);
    expect(ev.inInspection).toBe(true);
    run(ev, 'EL-1', [[1, { service_mode: 1 }]]);
    expect(ev.inInspection).toBe(false);
  });
});

describe('event rules', () => {
  const events = (ev: DeviceEvaluator, list: [string, boolean][]): Outcome[] => {
    const out: Signal[] = [];
    list.forEach(([code, active], i) => ev.onEvent({ site: 's1', kind: 'elevator', device: 'EL-1', building: '', ts: T0 + i, code, active, detail: '' }, out));
    return out.map((s) => s.outcome);
  };
  it('trapped raises critical at once and active:false clears it', () => {
    expect(events(evaluator('EL-1'), [['trapped', true], ['trapped', true], ['trapped', false]])).toEqual(['critical', 'clear']);
  });
  it('power loss is a warning, critical with passengers inside', () => {
    expect(events(evaluator('EL-1'), [['power_loss', true]])).toEqual(['warning']);
    const ev = evaluator('EL-1');
    run(ev, 'EL-1', [[0, { passengers_present: true }]]);
    expect(events(ev, [['power_loss', true]])).toEqual(['critical']);
  });
});
