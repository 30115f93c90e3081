/**
 * The device models on their own, without MQTT: deterministic by seed, counters that only
 * grow, every value inside the catalog's physical range and on the right side of every
 * default alert threshold over a simulated week in winter and in summer (normal data must
 * never look like a fault), and elevators and fire lanes that behave physically.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { METRICS, loadEstate, rulesFor, type Limit, type RuleDef } from '../config/index.ts';
import { DeviceSimulation, landingsOf } from './models/index.ts';
import { selectDevices } from './fleet.ts';
import type { Metrics, SimDeviceSpec } from './model.ts';

const estate = loadEstate(join(import.meta.dirname, '../config/estate.yaml'), {});
const devices = selectDevices(estate);
const byId = (id: string) => devices.find((d) => d.id === id)!;
const WEEK_MS = 7 * 24 * 3_600_000;
const JANUARY = Date.parse('2026-01-12T00:00:00+08:00');
const JULY = Date.parse('2026-07-13T00:00:00+08:00');

/** Steps one device `steps` times every `stepMs` from `t0`, handing each reading to `see`. */
function run(spec: SimDeviceSpec, seed: number, t0: number, stepMs: number, steps: number, see: (m: Metrics, t: number) => void): void {
  const sim = new DeviceSimulation(spec, seed, t0);
  for (let i = 1; i <= steps; i++) see(sim.next(t0 + i * stepMs), t0 + i * stepMs);
}

function collect(spec: SimDeviceSpec, seed: number, t0: number, stepMs: number, steps: number): Metrics[] {
  const out: Metrics[] = [];
  run(spec, seed, t0, stepMs, steps, (m) => out.push(m));
  return out;
}

function limitOf(limit: Limit, spec: SimDeviceSpec): number {
  if (typeof limit === 'number') return limit;
  const v = spec.attributes[limit.attr];
  return (typeof v === 'number' ? v : limit.default) * (limit.factor ?? 1);
}

/** How long a condition lasted, on the readings' own times: from its first reading to the first without it. */
class Spans {
  private since: number | undefined;
  longest = 0;
  see(on: boolean, t: number): void {
    if (on) this.since ??= t;
    if (this.since !== undefined) this.longest = Math.max(this.longest, t - this.since);
    if (!on) this.since = undefined;
  }
}

/** Checks one rule against a stream of readings; `problems` lists what would have fired. */
function ruleChecker(rule: RuleDef, spec: SimDeviceSpec, problems: string[]): ((m: Metrics, t: number) => void) | undefined {
  const report = (what: string, t: number) => {
    if (problems.length < 20) problems.push(`${spec.id} ${rule.id}: ${what} at ${new Date(t).toISOString()}`);
  };
  switch (rule.type) {
    case 'threshold': {
      const levels = [rule.warning, rule.critical].filter((l) => l !== undefined).map((l) => limitOf(l.value, spec));
      return (m, t) => {
        const v = m[rule.metric];
        if (typeof v !== 'number') return;
        for (const limit of levels) {
          if (rule.direction === 'above' ? v >= limit : v <= limit) report(`${rule.metric} ${v} crosses ${limit}`, t);
        }
      };
    }
    case 'boolean': {
      const forSec = Math.min(...[rule.warning, rule.critical].filter((l) => l !== undefined).map((l) => l.forSec));
      const spans = new Spans();
      return (m, t) => {
        const on = m[rule.metric] === rule.when;
        if (on && forSec === 0) report(`${rule.metric} is ${rule.when}`, t);
        spans.see(on, t);
        if (spans.longest >= forSec * 1000 && forSec > 0) report(`${rule.metric} ${rule.when} for ${spans.longest / 1000} s`, t);
      };
    }
    case 'derived':
      // Neither may ever hold in normal service, not even for one reading.
      return rule.derive === 'trapped'
        ? (m, t) => {
            if (m.running === false && m.door_open === false && m.passengers_present === true) report('stopped, doors shut, passengers inside', t);
          }
        : (m, t) => {
            if (m.running === false && m.in_door_zone === false) report('stopped outside the door zone', t);
          };
    default:
      return undefined; // events and silence are not about readings
  }
}

/** Every problem a week of one device's readings would show. */
function weekProblems(spec: SimDeviceSpec, seed: number, t0: number): string[] {
  const problems: string[] = [];
  const catalog = METRICS[spec.kind];
  const checks = rulesFor(spec.kind).flatMap((r) => ruleChecker(r, spec, problems) ?? []);
  run(spec, seed, t0, spec.intervalSec * 1000, WEEK_MS / (spec.intervalSec * 1000), (m, t) => {
    for (const [name, spec2] of catalog) {
      const v = m[name];
      if (v === undefined) problems.push(`${spec.id}: ${name} missing`);
      else if (spec2.type === 'boolean' ? typeof v !== 'boolean' : typeof v !== 'number') problems.push(`${spec.id}: ${name} has type ${typeof v}`);
      else if (typeof v === 'number') {
        if (!Number.isFinite(v) || v < spec2.min! || v > spec2.max!) problems.push(`${spec.id}: ${name} ${v} outside ${spec2.min}…${spec2.max}`);
        if (spec2.integer && !Number.isInteger(v)) problems.push(`${spec.id}: ${name} ${v} not an integer`);
      }
    }
    for (const name of Object.keys(m)) if (!catalog.has(name)) problems.push(`${spec.id}: ${name} is not in the catalog`);
    for (const check of checks) check(m, t);
    if (problems.length > 20) throw new Error(problems.join('\n'));
  });
  return problems;
}

describe('determinism', () => {
  it('gives identical readings for the same seed, device and times', () => {
    for (const id of ['EL-3-A', 'HY-01', 'FL-01', 'WS-01']) {
      expect(collect(byId(id), 42, JANUARY, 10_000, 2000)).toEqual(collect(byId(id), 42, JANUARY, 10_000, 2000));
    }
  });

  it('gives different readings for a different seed or a different device', () => {
    for (const id of ['EL-3-A', 'HY-01', 'FL-01', 'WS-01']) {
      expect(collect(byId(id), 1, JANUARY, 10_000, 200)).not.toEqual(collect(byId(id), 2, JANUARY, 10_000, 200));
    }
    expect(collect(byId('HY-01'), 1, JANUARY, 10_000, 50)).not.toEqual(collect(byId('HY-02'), 1, JANUARY, 10_000, 50));
  });
});

describe('counters', () => {
  it('run_count and door_cycles never decrease over 10,000 steps, and do grow', () => {
    for (const stepMs of [1000, 10_000, 60_000]) {
      const readings = collect(byId('NC-EL-1-A'), 7, JANUARY, stepMs, 10_000);
      for (let i = 1; i < readings.length; i++) {
        expect(readings[i]!.run_count).toBeGreaterThanOrEqual(readings[i - 1]!.run_count as number);
        expect(readings[i]!.door_cycles).toBeGreaterThanOrEqual(readings[i - 1]!.door_cycles as number);
      }
      expect(readings.at(-1)!.run_count).toBeGreaterThan(readings[0]!.run_count as number);
      expect(readings.at(-1)!.door_cycles).toBeGreaterThan(readings[0]!.door_cycles as number);
    }
  });

  it('battery_pct only drains, and stays above 20', () => {
    const readings = collect(byId('HY-03'), 3, JANUARY, 60_000, 30 * 24 * 60);
    for (let i = 1; i < readings.length; i++) expect(readings[i]!.battery_pct).toBeLessThanOrEqual(readings[i - 1]!.battery_pct as number);
    expect(readings.at(-1)!.battery_pct).toBeLessThan(readings[0]!.battery_pct as number);
    expect(Math.min(...readings.map((r) => r.battery_pct as number))).toBeGreaterThan(20);
  });
});

describe('the rule checks used below', () => {
  it('notice readings that would fire an alert', () => {
    const problems: string[] = [];
    const hydrant = byId('HY-01');
    const checks = rulesFor('hydrant').flatMap((r) => ruleChecker(r, hydrant, problems) ?? []);
    for (const check of checks) check({ pressure_mpa: 0.12, temp_c: 4, tamper: true, leak: false, battery_pct: 15 }, JANUARY);
    expect(problems.map((p) => p.split(' ')[1])).toEqual(expect.arrayContaining(['pressure_low:', 'freeze_risk:', 'tamper_metric:', 'battery_low:']));
    const lane = byId('FL-01');
    const laneProblems: string[] = [];
    const laneChecks = rulesFor('firelane').flatMap((r) => ruleChecker(r, lane, laneProblems) ?? []);
    for (let t = 0; t <= 330_000; t += 30_000) for (const check of laneChecks) check({ occupied: t < 330_000, obstruction_pct: 1 }, JANUARY + t);
    expect(laneProblems[0]).toContain('lane_occupied: occupied true for 300 s');
  });
});

describe('a simulated week of every device of the demo estate', () => {
  for (const [season, t0, seed] of [['January', JANUARY, 1], ['July', JULY, 2]] as const) {
    it(`stays inside the physical ranges and every default threshold in ${season}`, () => {
      const problems = devices.flatMap((d) => weekProblems(d, seed, t0));
      expect(problems).toEqual([]);
    });
  }
});

describe('elevators', () => {
  for (const id of ['EL-5-A', 'EL-3-A', 'NC-EL-1-A', 'NC-EL-G-1']) {
    it(`${id} moves like a car: within rated speed and its landings, doors open only when stopped`, () => {
      const spec = byId(id);
      const rated = spec.attributes.ratedSpeedMps as number;
      const landings = new Set(landingsOf(spec.attributes.lowestFloor as number, spec.attributes.floors as number));
      const visited = new Set<number>();
      const problems = new Set<string>();
      let moving = 0;
      let doors = 0;
      // Checked by hand rather than with expect(): a million readings.
      run(spec, 5, JULY, 500, 2 * 24 * 7200, (m) => {
        if ((m.speed_mps as number) > rated) problems.add(`speed ${m.speed_mps} above rated ${rated}`);
        if (!landings.has(m.floor as number)) problems.add(`floor ${m.floor} is not a landing`);
        visited.add(m.floor as number);
        if (m.door_open) {
          doors++;
          if (m.running !== false || m.speed_mps !== 0) problems.add('door open while running');
        }
        if (m.running) moving++;
        else if (m.in_door_zone !== true) problems.add('stopped outside the door zone');
        if (m.running === false && m.speed_mps !== 0) problems.add('speed while stopped');
        if (m.service_mode !== 1) problems.add(`service mode ${m.service_mode}`);
        if (m.passengers_present !== (m.load_pct as number) > 0) problems.add('load and passengers disagree');
      });
      expect([...problems]).toEqual([]);
      expect(moving).toBeGreaterThan(100);
      expect(doors).toBeGreaterThan(100);
      expect(visited.size).toBeGreaterThanOrEqual(Math.min(landings.size, 4));
    });
  }

  it('has more traffic in the morning and evening peaks than at night', () => {
    const runsByHour = new Array<number>(24).fill(0);
    let last: number | undefined;
    run(byId('EL-1-A'), 9, JANUARY, 10_000, WEEK_MS / 10_000, (m, t) => {
      const hour = (new Date(t).getUTCHours() + 8) % 24;
      if (last !== undefined) runsByHour[hour]! += (m.run_count as number) - last;
      last = m.run_count as number;
    });
    expect(runsByHour[8]!).toBeGreaterThan(3 * runsByHour[3]!);
    expect(runsByHour[19]!).toBeGreaterThan(3 * runsByHour[3]!);
  });
});

describe('fire lanes', () => {
  it('are occupied now and then, each time for well under 5 minutes', () => {
    for (const id of ['FL-01', 'NC-FL-05']) {
      const spans = new Spans();
      let occupations = 0;
      let was = false;
      run(byId(id), 11, JANUARY, 1000, WEEK_MS / 1000, (m, t) => {
        const on = m.occupied as boolean;
        if (on && !was) occupations++;
        was = on;
        spans.see(on, t);
        if (on ? !((m.vehicle_count as number) > 0) : m.vehicle_count !== 0) throw new Error(`vehicle_count ${m.vehicle_count} while occupied is ${on}`);
      });
      expect(occupations).toBeGreaterThan(20);
      expect(spans.longest).toBeLessThan(5 * 60_000);
    }
  });
});

describe('water', () => {
  it('keeps the tank level cycling and the pump switching', () => {
    const readings = collect(byId('WS-01'), 4, JANUARY, 60_000, 2 * 24 * 60);
    const pumpSwitches = readings.filter((r, i) => i > 0 && r.pump_running !== readings[i - 1]!.pump_running).length;
    const levels = readings.map((r) => r.tank_level_pct as number);
    expect(pumpSwitches).toBeGreaterThan(10);
    expect(Math.max(...levels) - Math.min(...levels)).toBeGreaterThan(15);
  });
});
