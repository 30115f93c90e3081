/**
 * A scenario checked against the estate file and the catalog: devices, metrics, event codes,
 * rules and departments exist and fit together, the steps can happen in the order written,
 * and simulated time stays behind the wall clock. Every problem is returned with its YAML
 * path, so one run of the loader shows everything to fix.
 */
import { DEFAULT_RULES, KIND_DEPARTMENT, type Estate, type RuleDef } from '../../config/index.ts';
import { checkSteps, leftOver, type DeviceInfo, type Problem, type Report } from './check-steps.ts';
import { formatSpan, type ExpectationFile, type ScenarioFile } from './schema.ts';
import type { Expectation, RejectExpectation, Scenario, Step } from './types.ts';

export type { Problem } from './check-steps.ts';

/** Scenario devices may publish at most this many messages per real second each. */
export const MAX_REAL_RATE = 1000;
const MAX_PAST_MS = 29 * 86_400_000;
const JURISDICTION = new Set(['housing', ...DEFAULT_RULES.map((r) => r.department).filter(Boolean), ...Object.values(KIND_DEPARTMENT)]);

function severities(rule: RuleDef): string[] {
  switch (rule.type) {
    case 'threshold':
    case 'boolean':
      return [...(rule.warning ? ['warning'] : []), ...(rule.critical ? ['critical'] : [])];
    case 'event':
      return rule.criticalIf ? ['warning', 'critical'] : [rule.severity];
    default:
      return [rule.severity];
  }
}

export function checkScenario(file: string, raw: ScenarioFile, estate: Estate): { scenario?: Scenario; problems: Problem[] } {
  const problems: Problem[] = [];
  const bad = (path: (string | number)[], message: string) => problems.push({ path, message });
  const devices = new Map<string, DeviceInfo>();
  for (const site of estate.sites) for (const d of site.devices) devices.set(d.id, { kind: d.kind, site: site.id, intervalSec: d.intervalSec });
  const deviceOf = (id: string, path: (string | number)[]): DeviceInfo | undefined => {
    const d = devices.get(id);
    if (!d) bad(path, `device ${id} is not in the estate file`);
    return d;
  };

  for (const [i, site] of raw.sites.entries()) {
    if (!estate.sites.some((s) => s.id === site)) bad(['sites', i], `site ${site} is not in the estate file (it has ${estate.sites.map((s) => s.id).join(', ')})`);
  }
  for (const [i, id] of raw.devices.entries()) deviceOf(id, ['devices', i]);
  const checked = checkSteps(raw, devices, bad);
  const { steps, names, byFileIndex } = checked;

  const expect: Expectation[] = [];
  for (const [i, e] of raw.expect.entries()) {
    const x = checkExpectation(e, ['expect', i], raw, estate, deviceOf, bad, names, byFileIndex, steps);
    if (x) expect.push({ ...x, index: i });
  }

  const malformedTopics = new Set(steps.flatMap((s) => (s.action.type === 'malformed' ? [s.action.topic] : [])));
  const expectRejects: RejectExpectation[] = raw.expectRejects.map((r, i) => {
    if (!malformedTopics.has(r.topic)) bad(['expectRejects', i, 'topic'], `no malformed step publishes on ${r.topic}: a reject is matched by its topic to a malformed step`);
    return { index: i, reason: r.reason, topic: r.topic };
  });

  if (raw.start + raw.duration > 0) {
    bad(['start'], `the run would simulate up to ${formatSpan(raw.start + raw.duration)} after now; the service refuses readings more than 5 minutes ahead of its clock: start at -${formatSpan(raw.duration)} or earlier`);
  }
  if (-raw.start > MAX_PAST_MS) bad(['start'], `${formatSpan(raw.start)} is too far back: the service refuses readings more than 30 days old`);

  const touched = [...new Set([...steps.flatMap((s) => (s.device ? [s.device] : [])), ...expect.map((e) => e.device)])];
  const background = [...raw.devices, ...estate.sites.filter((s) => raw.sites.includes(s.id)).flatMap((s) => s.devices.map((d) => d.id))];
  const all = [...new Set([...touched, ...background])];
  for (const id of all) {
    const d = devices.get(id);
    const perSecond = (raw.rate ?? (d ? 1 / d.intervalSec : 0)) * raw.speed;
    if (perSecond > MAX_REAL_RATE) {
      bad(raw.rate !== undefined ? ['rate'] : ['speed'], `${id} would publish ${Math.round(perSecond)} readings per real second (rate × speed); at most ${MAX_REAL_RATE}: lower the speed or the rate`);
      break;
    }
  }
  // How the devices end matters once everything else is right.
  if (problems.length === 0) problems.push(...leftOver(checked, raw, devices));
  if (problems.length > 0) return { problems };
  return {
    problems,
    scenario: {
      file,
      name: raw.name,
      description: raw.description.trim(),
      ...(raw.seed !== undefined ? { seed: raw.seed } : {}),
      speed: raw.speed,
      start: raw.start,
      duration: raw.duration,
      ...(raw.rate !== undefined ? { rateHz: raw.rate } : {}),
      allowance: raw.allowance,
      settle: raw.settle,
      steps,
      expect,
      expectNone: raw.expectNone,
      expectRejects,
      touched,
      devices: all,
    },
  };
}

function checkExpectation(
  e: ExpectationFile,
  path: (string | number)[],
  raw: ScenarioFile,
  estate: Estate,
  deviceOf: (id: string, path: (string | number)[]) => DeviceInfo | undefined,
  bad: Report,
  names: ReadonlyMap<string, number>,
  byFileIndex: ReadonlyMap<number, Step>,
  steps: readonly Step[],
): Omit<Expectation, 'index'> | undefined {
  const info = deviceOf(e.device, [...path, 'device']);
  const rule = DEFAULT_RULES.find((r) => r.id === e.rule);
  if (!rule) bad([...path, 'rule'], `no rule ${e.rule} (config/rules.ts has ${DEFAULT_RULES.map((r) => r.id).join(', ')})`);
  else if (info && rule.kind !== 'any' && rule.kind !== info.kind) bad([...path, 'rule'], `rule ${e.rule} is for ${rule.kind}s; ${e.device} is a ${info.kind}`);
  else if (!estate.rules.some((o) => o.rule === e.rule) && !severities(rule).includes(e.severity)) {
    bad([...path, 'severity'], `rule ${e.rule} has no ${e.severity} level (it raises ${severities(rule).join(' or ')})`);
  }
  const known = new Set([...JURISDICTION, ...estate.departments.map((d) => d.id), 'property', 'subdistrict', 'maintainer']);
  for (const [i, d] of e.department.entries()) {
    if (!known.has(d)) bad([...path, 'department', ...(e.department.length > 1 ? [i] : [])], `no department ${d} (known: ${[...known].join(', ')})`);
  }
  let after: Step | undefined;
  if (e.after !== undefined) {
    const i = names.get(e.after);
    if (i === undefined) bad([...path, 'after'], `no step is named ${e.after}`);
    else after = byFileIndex.get(i);
  } else {
    after = steps.find((s) => s.device === e.device);
    if (!after && info) bad(path, `no step acts on ${e.device}: name the step this alert follows with after:`);
  }
  if (after && rule && rule.type !== 'silent' && after.at + e.within > raw.duration) {
    bad([...path, 'within'], `${formatSpan(after.at)} + within ${formatSpan(e.within)} ends after the scenario (duration ${formatSpan(raw.duration)}); readings stop at the end, so nothing fires after it: lengthen duration`);
  }
  if (!info || !rule || !after) return undefined;
  return {
    device: e.device,
    kind: info.kind,
    rule: e.rule,
    severity: e.severity,
    departments: e.department,
    after,
    within: e.within,
    ...(e.mutedBy !== undefined ? { mutedBy: e.mutedBy } : {}),
  };
}
