/**
 * A scenario's steps checked against the estate file and the catalog: what each one does (the
 * device exists, the metric belongs to its kind with the right type and a value inside its
 * physical range, the event code exists, a malformed step has a topic and one payload), that
 * they can happen in the order written (online after offline, nothing sent while offline),
 * and that every device ends back to normal.
 */
import { EVENT_CODE_SETS, METRICS, type Kind } from '../../config/index.ts';
import { ACTIONS, formatSpan, type ScenarioFile, type StepFile } from './schema.ts';
import { placeholdersValid } from './timeline.ts';
import type { Action, Step } from './types.ts';

export interface Problem {
  path: (string | number)[];
  message: string;
}

export type Report = (path: (string | number)[], message: string) => void;

export interface DeviceInfo {
  kind: Kind;
  site: string;
  intervalSec: number;
}

export interface CheckedSteps {
  /** in time order */
  steps: Step[];
  /** each step's position in the file */
  fileIndex: number[];
  /** step name → position in the file */
  names: Map<string, number>;
  byFileIndex: Map<number, Step>;
}

export function checkSteps(raw: ScenarioFile, devices: ReadonlyMap<string, DeviceInfo>, bad: Report): CheckedSteps {
  const deviceOf = (id: string, path: (string | number)[]): DeviceInfo | undefined => {
    const d = devices.get(id);
    if (!d) bad(path, `device ${id} is not in the estate file`);
    return d;
  };
  // Steps, in time order (stable: steps at the same time keep the file's order).
  const order = raw.steps.map((s, i) => ({ s, i })).sort((a, b) => a.s.at - b.s.at || a.i - b.i);
  const names = new Map<string, number>();
  const steps: Step[] = [];
  const fileIndex: number[] = [];
  const byFileIndex = new Map<number, Step>();
  const offline = new Set<string>();
  for (const { s, i } of order) {
    const path = ['steps', i];
    if (s.name !== undefined) {
      if (names.has(s.name)) bad([...path, 'name'], `step name ${s.name} is used twice (also step #${names.get(s.name)! + 1})`);
      names.set(s.name, i);
    }
    if (s.at > raw.duration) bad([...path, 'at'], `at ${formatSpan(s.at)} is after the end of the scenario (duration ${formatSpan(raw.duration)})`);
    const info = s.device !== undefined ? deviceOf(s.device, [...path, 'device']) : undefined;
    const action = info || s.malformed ? toAction(s, info, path, bad, devices) : undefined;
    if (!action) continue;
    if (s.device && (action.type === 'event' || action.type === 'offline') && offline.has(s.device)) {
      bad(path, `${s.device} is offline at ${formatSpan(s.at)} (taken offline by an earlier step): bring it back with online: true first`);
    }
    if (s.device && action.type === 'online' && !offline.has(s.device)) bad(path, `${s.device} is not offline at ${formatSpan(s.at)}: online: true follows an offline: true`);
    if (s.device && action.type === 'offline') offline.add(s.device);
    if (s.device && action.type === 'online') offline.delete(s.device);
    const step: Step = { index: steps.length, at: s.at, label: s.name ?? `#${i + 1}`, ...(s.note ? { note: s.note } : {}), ...(s.device ? { device: s.device } : {}), action };
    steps.push(step);
    fileIndex.push(i);
    byFileIndex.set(i, step);
  }
  return { steps, fileIndex, names, byFileIndex };
}

/**
 * Every device must be back to normal a reading before the end: no metric still set, no event
 * still active, online and reporting. Its alerts then resolve within the run, and a later run
 * on it (the service remembers) does not begin with them still firing.
 */
export function leftOver(checked: CheckedSteps, raw: ScenarioFile, devices: ReadonlyMap<string, DeviceInfo>): Problem[] {
  const { steps, fileIndex } = checked;
  const state = new Map<string, { set: Set<string>; events: Set<string>; away: string[]; last: number; normal: number; normalAt: number }>();
  for (const [k, step] of steps.entries()) {
    if (!step.device) continue;
    const d = state.get(step.device) ?? { set: new Set<string>(), events: new Set<string>(), away: [], last: 0, normal: 0, normalAt: 0 };
    d.last = fileIndex[k]!;
    state.set(step.device, d);
    const a = step.action;
    let normalises = false;
    if (a.type === 'set') for (const m of Object.keys(a.metrics)) d.set.add(m);
    else if (a.type === 'ramp') d.set.add(a.metric);
    else if (a.type === 'clear') {
      for (const m of a.metrics === 'all' ? [...d.set] : a.metrics) d.set.delete(m);
      normalises = true;
    } else if (a.type === 'event') {
      if (a.active) d.events.add(a.code);
      else normalises = d.events.delete(a.code);
    } else if (a.type === 'offline' || a.type === 'online' || a.type === 'withhold') {
      d.away = d.away.filter((x) => x !== (a.type === 'withhold' ? 'withheld' : 'offline'));
      if (a.type === 'offline' || (a.type === 'withhold' && a.on)) d.away.push(a.type === 'offline' ? 'offline' : 'withheld');
      normalises = a.type === 'online' || (a.type === 'withhold' && !a.on);
    }
    if (normalises) Object.assign(d, { normal: fileIndex[k]!, normalAt: step.at });
  }
  const out: Problem[] = [];
  for (const [device, d] of state) {
    const left = [...[...d.set].map((m) => `${m} still set`), ...[...d.events].map((c) => `event ${c} still active`), ...d.away.map((x) => `still ${x}`)];
    const info = devices.get(device);
    const period = raw.rate !== undefined ? 1000 / raw.rate : (info?.intervalSec ?? 60) * 1000;
    if (left.length > 0) {
      out.push({ path: ['steps', d.last], message: `${device} is not back to normal at the end (${left.join(', ')}): end with it cleared, so that its alerts resolve and a later run on it begins clean` });
    } else if (d.normalAt + period > raw.duration) {
      out.push({ path: ['steps', d.normal, 'at'], message: `${device} is back to normal only at ${formatSpan(d.normalAt)}: leave it a reading (${formatSpan(period)}) before the end (${formatSpan(raw.duration)}) so that its alerts resolve` });
    }
  }
  return out;
}

function toAction(
  s: StepFile,
  info: DeviceInfo | undefined,
  path: (string | number)[],
  bad: Report,
  devices: ReadonlyMap<string, DeviceInfo>,
): Action | undefined {
  const key = ACTIONS.find((a) => s[a] !== undefined)!;
  const metric = (name: string, p: (string | number)[], value?: unknown) => {
    const spec = METRICS[info!.kind].get(name);
    if (!spec) {
      bad(p, `${info!.kind} has no metric ${name} (it has ${[...METRICS[info!.kind].keys()].join(', ')})`);
      return;
    }
    if (value === undefined) return spec;
    if (typeof value !== (spec.type === 'boolean' ? 'boolean' : 'number')) bad(p, `${name} is a ${spec.type === 'boolean' ? 'true/false value' : 'number'}`);
    else if (typeof value === 'number' && ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max))) {
      bad(p, `${name} ${value} is outside its physical range ${spec.min}–${spec.max}${spec.unit ? ` ${spec.unit}` : ''}: ingest refuses it (bad_metric); send it as a malformed step instead`);
    }
    return spec;
  };
  switch (key) {
    case 'set':
      for (const [name, value] of Object.entries(s.set!)) metric(name, [...path, 'set', name], value);
      return { type: 'set', metrics: s.set! };
    case 'ramp': {
      const r = s.ramp!;
      const spec = metric(r.metric, [...path, 'ramp', 'metric']);
      if (spec && spec.type !== 'number') bad([...path, 'ramp', 'metric'], `${r.metric} is true/false: it cannot ramp; use set`);
      if (spec && spec.type === 'number') {
        metric(r.metric, [...path, 'ramp', 'to'], r.to);
        if (r.from !== undefined) metric(r.metric, [...path, 'ramp', 'from'], r.from);
      }
      return { type: 'ramp', metric: r.metric, to: r.to, over: r.over, ...(r.from !== undefined ? { from: r.from } : {}) };
    }
    case 'clear':
      if (s.clear !== 'all') for (const [i, name] of s.clear!.entries()) metric(name, [...path, 'clear', i]);
      return { type: 'clear', metrics: s.clear! };
    case 'event': {
      const e = s.event!;
      if (!EVENT_CODE_SETS[info!.kind].has(e.code)) {
        bad([...path, 'event', 'code'], `${info!.kind} has no event ${e.code} (it has ${[...EVENT_CODE_SETS[info!.kind]].join(', ')}); an unknown code is a malformed step`);
      }
      return { type: 'event', code: e.code, active: e.active, ...(e.detail ? { detail: e.detail } : {}) };
    }
    case 'offline':
      return { type: 'offline' };
    case 'online':
      return { type: 'online' };
    case 'withhold':
      return { type: 'withhold', on: s.withhold! };
    case 'malformed': {
      const m = s.malformed!;
      const p = [...path, 'malformed'];
      if ((m.payload === undefined) === (m.json === undefined)) bad(p, 'give the payload as payload (text on the wire) or as json (a value to serialise), one of them');
      let topic = m.topic;
      const dev = m.device ?? s.device;
      if (topic !== undefined && (m.device !== undefined || m.channel !== undefined)) bad(p, 'give either topic, or device and channel, not both');
      if (topic === undefined) {
        const d = dev !== undefined ? devices.get(dev) : undefined;
        if (dev === undefined) bad(p, 'missing: topic, or the device (and channel) whose topic it goes to');
        else if (!d) bad([...p, 'device'], `device ${dev} is not in the estate file; for an unknown device write the topic`);
        else topic = `estate/${d.site}/${d.kind}/${dev}/${m.channel ?? 'telemetry'}`;
      }
      if (topic === undefined) return undefined;
      const json = m.json !== undefined;
      const payload = json ? JSON.stringify(m.json) : (m.payload ?? '');
      if (!placeholdersValid(payload)) bad(p, 'a time placeholder is not understood: write {{now}}, {{now+10m}}, {{sim}} or {{sim-1h}}');
      return { type: 'malformed', topic, payload, json, ...(m.padTo !== undefined ? { padTo: m.padTo } : {}) };
    }
  }
}
