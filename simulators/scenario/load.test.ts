/**
 * The scenario loader: a good file becomes a checked scenario; a bad one is refused with
 * every problem at once, each naming the file, the line and the YAML path; the shipped
 * scenarios all load and cover every default rule.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RULES, loadEstate } from '../../config/index.ts';
import { loadScenarios, parseScenario, ScenarioError } from './load.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const estate = loadEstate(join(ROOT, 'config/estate.yaml'), {});

const GOOD = `
name: hydrant-test
description: a hydrant loses pressure
speed: 60
duration: 20m
steps:
  - { at: 0s, device: HY-03, set: { pressure_mpa: 0.15 } }
  - { at: 10m, device: HY-03, name: drop, ramp: { metric: pressure_mpa, to: 0.13, over: 1m } }
  - { at: 12m, device: HY-03, malformed: { json: { metrics: { pressure_mpa: -1 } } } }
  - { at: 1m, device: HY-03, event: { code: leak } }
  - { at: 19m, device: HY-03, clear: all }
  - { at: 19m, device: HY-03, event: { code: leak, active: false } }
expect:
  - { device: HY-03, rule: pressure_low, severity: warning, department: [fire-rescue, property], after: drop, within: 7m }
expectRejects:
  - { reason: bad_metric, topic: estate/jinfo-garden/hydrant/HY-03/telemetry }
`;

function problems(yaml: string): string[] {
  try {
    parseScenario(yaml, 'x.yaml', estate);
  } catch (err) {
    if (err instanceof ScenarioError) return err.problems.map((p) => `${p.line ?? '-'} ${p.path}: ${p.message}`);
    throw err;
  }
  return [];
}

/** GOOD with `lines` (YAML) in place of its steps and expectations. */
const withBody = (body: string) => `name: t\ndescription: d\nduration: 20m\n${body}`;

describe('a scenario file', () => {
  it('loads: times in ms, steps in time order, expectations tied to their step, defaults filled in', () => {
    const s = parseScenario(GOOD, 'good.yaml', estate);
    expect(s).toMatchObject({ name: 'hydrant-test', speed: 60, start: -6 * 3_600_000, duration: 1_200_000, allowance: 10_000, settle: 3000, expectNone: true });
    expect(s.steps.map((x) => [x.at, x.label, x.action.type])).toEqual([
      [0, '#1', 'set'],
      [60_000, '#4', 'event'],
      [600_000, 'drop', 'ramp'],
      [720_000, '#3', 'malformed'],
      [1_140_000, '#5', 'clear'],
      [1_140_000, '#6', 'event'],
    ]);
    expect(s.steps[1]!.action).toEqual({ type: 'event', code: 'leak', active: true });
    expect(s.steps[3]!.action).toMatchObject({ type: 'malformed', topic: 'estate/jinfo-garden/hydrant/HY-03/telemetry', json: true });
    expect(s.expect[0]).toMatchObject({ device: 'HY-03', kind: 'hydrant', rule: 'pressure_low', departments: ['fire-rescue', 'property'], within: 420_000 });
    expect(s.expect[0]!.after.label).toBe('drop');
    expect(s.touched).toEqual(['HY-03']);
    expect(s.devices).toEqual(['HY-03']);
  });

  it('adds the devices of its sites and its background devices to those that publish', () => {
    const s = parseScenario(withBody('sites: [nancheng-mansion]\ndevices: [FL-01]\nsteps: [{ at: 0s, device: HY-01, clear: all }]\n'), 'x.yaml', estate);
    expect(s.devices).toContain('NC-EL-G-1');
    expect(s.devices.slice(0, 2)).toEqual(['HY-01', 'FL-01']);
    expect(s.devices).toHaveLength(30);
  });

  it.each([
    ['an unknown key', withBody('steps: [{ at: 0s, device: HY-01, set: { pressure_mpa: 0.3 }, severtiy: 1 }]'), ['4 steps[0].severtiy: unknown key']],
    ['a missing key', 'name: t\ndescription: d\nsteps: [{ device: HY-01, withhold: true }]\n', ['1 duration: missing', '3 steps[0].at: missing']],
    ['a bad span', withBody('steps: [{ at: soon, device: HY-01, withhold: true }]'), ['4 steps[0].at: "soon": expected a length of time such as 30s, 10m or 1h30m']],
    ['a start in the future', 'name: t\ndescription: d\nduration: 1m\nstart: 10m\n', ['4 start: "10m": expected a time in the past relative to now, such as -6h or -2d']],
    ['a step doing two things', withBody('steps: [{ at: 0s, device: HY-01, withhold: true, offline: true }]'), ['4 steps[0]: a step does one thing: this one has offline and withhold; write one step for each']],
    ['a step doing nothing', withBody('steps: [{ at: 0s, device: HY-01 }]'), [expect.stringMatching(/^4 steps\[0\]: a step does one thing: set, ramp, .*; this one does none$/)]],
    ['an unknown device', withBody('steps: [{ at: 0s, device: HY-99, withhold: true }]'), ['4 steps[0].device: device HY-99 is not in the estate file']],
    ['a metric of another kind', withBody('steps: [{ at: 0s, device: HY-01, set: { speed_mps: 1 } }]'), [expect.stringMatching(/^4 steps\[0\]\.set\.speed_mps: hydrant has no metric speed_mps \(it has pressure_mpa, /)]],
    ['a value of the wrong type', withBody('steps: [{ at: 0s, device: HY-01, set: { leak: 1 } }]'), ['4 steps[0].set.leak: leak is a true/false value']],
    [
      'a value outside the physical range',
      withBody('steps: [{ at: 0s, device: HY-01, set: { pressure_mpa: 3 } }]'),
      ['4 steps[0].set.pressure_mpa: pressure_mpa 3 is outside its physical range 0–2.5 MPa: ingest refuses it (bad_metric); send it as a malformed step instead'],
    ],
    ['an unknown event code', withBody('steps: [{ at: 0s, device: HY-01, event: { code: fire } }]'), [expect.stringMatching(/^4 steps\[0\]\.event\.code: hydrant has no event fire \(it has tamper, leak, valve_open\)/)]],
    ['a step after the end', withBody('steps: [{ at: 21m, device: HY-01, withhold: true }]'), ['4 steps[0].at: at 21m is after the end of the scenario (duration 20m)']],
    ['online without offline', withBody('steps: [{ at: 0s, device: HY-01, online: true }]'), ['4 steps[0]: HY-01 is not offline at 0s: online: true follows an offline: true']],
    [
      'an event while offline',
      withBody('steps:\n  - { at: 0s, device: HY-01, offline: true }\n  - { at: 1m, device: HY-01, event: { code: leak } }'),
      ['6 steps[1]: HY-01 is offline at 1m (taken offline by an earlier step): bring it back with online: true first'],
    ],
    [
      'a rule of another kind',
      withBody('steps: [{ at: 0s, device: HY-01, withhold: true }]\nexpect: [{ device: HY-01, rule: trapped, severity: critical, department: fire-rescue, within: 1m }]'),
      ['5 expect[0].rule: rule trapped is for elevators; HY-01 is a hydrant'],
    ],
    [
      'a severity the rule does not have',
      withBody('steps: [{ at: 0s, device: HY-01, withhold: true }]\nexpect: [{ device: HY-01, rule: pressure_high, severity: critical, department: fire-rescue, within: 1m }]'),
      ['5 expect[0].severity: rule pressure_high has no critical level (it raises warning)'],
    ],
    [
      'an unknown department',
      withBody('steps: [{ at: 0s, device: HY-01, withhold: true }]\nexpect: [{ device: HY-01, rule: leak, severity: critical, department: [fire-brigade, property], within: 1m }]'),
      [expect.stringMatching(/^5 expect\[0\]\.department\[0\]: no department fire-brigade \(known: /)],
    ],
    [
      'an unknown step name',
      withBody('steps: [{ at: 0s, device: HY-01, withhold: true }]\nexpect: [{ device: HY-01, rule: leak, severity: critical, department: fire-rescue, after: drop, within: 1m }]'),
      ['5 expect[0].after: no step is named drop'],
    ],
    [
      'an expectation on a device no step touches, without after',
      withBody('steps: [{ at: 0s, device: HY-01, withhold: true }]\nexpect: [{ device: HY-02, rule: leak, severity: critical, department: fire-rescue, within: 1m }]'),
      ['5 expect[0]: no step acts on HY-02: name the step this alert follows with after:'],
    ],
    [
      'a deadline after the end',
      withBody('steps: [{ at: 15m, device: HY-01, set: { leak: true } }]\nexpect: [{ device: HY-01, rule: leak_metric, severity: critical, department: fire-rescue, within: 6m }]'),
      ['5 expect[0].within: 15m + within 6m ends after the scenario (duration 20m); readings stop at the end, so nothing fires after it: lengthen duration'],
    ],
    ['a run that would reach the future', 'name: t\ndescription: d\nduration: 2h\nstart: -1h\n', [expect.stringMatching(/^4 start: the run would simulate up to 1h after now; .*start at -2h or earlier$/)]],
    ['too many readings per second', 'name: t\ndescription: d\nduration: 1m\nspeed: 5000\nrate: 1\nsteps: [{ at: 0s, device: HY-01, withhold: true }]\n', ['5 rate: HY-01 would publish 5000 readings per real second (rate × speed); at most 1000: lower the speed or the rate']],
    [
      'a reject expectation no malformed step explains',
      withBody('expectRejects: [{ reason: bad_payload, topic: estate/x/hydrant/HY-01/telemetry }]'),
      ['4 expectRejects[0].topic: no malformed step publishes on estate/x/hydrant/HY-01/telemetry: a reject is matched by its topic to a malformed step'],
    ],
    ['a malformed step with two payloads', withBody('steps: [{ at: 0s, device: HY-01, malformed: { payload: x, json: 1 } }]'), ['4 steps[0].malformed: give the payload as payload (text on the wire) or as json (a value to serialise), one of them']],
    [
      'a device left faulty at the end',
      withBody('steps: [{ at: 1m, device: HY-01, set: { leak: true } }]'),
      ['4 steps[0]: HY-01 is not back to normal at the end (leak still set): end with it cleared, so that its alerts resolve and a later run on it begins clean'],
    ],
    [
      'a device back to normal only as the run ends',
      withBody('steps:\n  - { at: 1m, device: HY-01, event: { code: leak } }\n  - { at: 19m50s, device: HY-01, event: { code: leak, active: false } }'),
      ['6 steps[1].at: HY-01 is back to normal only at 19m50s: leave it a reading (1m) before the end (20m) so that its alerts resolve'],
    ],
    ['an unknown site', withBody('sites: [atlantis]'), ['4 sites[0]: site atlantis is not in the estate file (it has jinfo-garden, nancheng-mansion)']],
    ['YAML that does not parse', 'name: t\nsteps:\n  - at: 0s\n   device: HY-01\n', [expect.stringMatching(/^4 : YAML syntax \(column \d+\): /)]],
    ['a list instead of a mapping', '- name: t\n', ['- : expected a mapping with name, description, duration, steps and expect']],
  ])('refuses %s, naming the line and the path', (_what, yaml, expected) => {
    expect(problems(yaml)).toEqual(expected);
  });

  it('reports every problem of a file at once, in the order of its lines, under the file name', () => {
    const yaml = withBody('speed: -1\nsteps:\n  - { at: 0s, device: HY-99, withhold: true }\n  - { at: 1m, device: HY-01, set: { colour: red } }\n');
    let message = '';
    try {
      parseScenario(yaml, 'simulators/scenarios/broken.yaml', estate);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message.split('\n')).toEqual([
      'simulators/scenarios/broken.yaml: 2 problems in the scenario',
      '  - line 4, speed: Too small: expected number to be >0',
      '  - line 7, steps[1].set.colour: expected a number or true/false',
    ]);
    // The checks against the estate file run once the shape is right.
    expect(problems(yaml.replace('speed: -1', 'speed: 2').replace('red', '1'))).toEqual([
      '6 steps[0].device: device HY-99 is not in the estate file',
      expect.stringMatching(/^7 steps\[1\]\.set\.colour: hydrant has no metric colour \(it has /),
    ]);
  });

  it('loads a directory, and names each file whose scenario cannot run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scenarios-'));
    try {
      writeFileSync(join(dir, 'a.yaml'), GOOD);
      writeFileSync(join(dir, 'b.yaml'), GOOD);
      writeFileSync(join(dir, 'c.yaml'), withBody('steps: [{ at: 0s, device: HY-99, withhold: true }]'));
      writeFileSync(join(dir, 'notes.txt'), 'not a scenario');
      let err: ScenarioError | undefined;
      try {
        loadScenarios([dir], estate);
      } catch (e) {
        err = e as ScenarioError;
      }
      expect(err).toBeInstanceOf(ScenarioError);
      expect(err!.problems.map((p) => [p.file.replace(dir, 'dir'), p.path, p.message])).toEqual([
        ['dir/b.yaml', 'name', 'hydrant-test is also the name of a.yaml'],
        ['dir/c.yaml', 'steps[0].device', 'device HY-99 is not in the estate file'],
      ]);
      expect(err!.message).toMatch(/^dir|\/b\.yaml: 1 problem in the scenario\n/);
      expect(() => loadScenarios([join(dir, 'missing.yaml')], estate)).toThrow(/missing\.yaml: 1 problem in the scenario\n {2}- \(top level\): cannot read the file: ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the shipped scenarios', () => {
  const all = loadScenarios([join(ROOT, 'simulators/scenarios')], estate);

  it('all load, one per default rule (named by it), plus inspection, ingest rejects and a normal day', () => {
    const rules = new Set(all.flatMap((s) => s.expect.map((e) => e.rule)));
    expect(DEFAULT_RULES.map((r) => r.id).filter((id) => !rules.has(id))).toEqual([]);
    expect(all.map((s) => s.name)).toEqual(expect.arrayContaining(['normal-day', 'elevator-inspection', 'ingest-rejects', 'device-silent', 'battery-low']));
    for (const s of all) expect(s.file.endsWith(`/${s.name}.yaml`)).toBe(true);
  });

  it('show that nothing fires where nothing should: every scenario fails on an unexpected alert', () => {
    expect(all.filter((s) => !s.expectNone).map((s) => s.name)).toEqual([]);
    const day = all.find((s) => s.name === 'normal-day')!;
    expect(day.duration).toBe(86_400_000);
    expect(day.expect).toEqual([]);
    expect(day.devices.length).toBe(estate.sites.reduce((n, s) => n + s.devices.length, 0));
  });
});
