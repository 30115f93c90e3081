/**
 * What a scenario does to the readings: per device, the `set`, `ramp`, `clear` and `withhold`
 * steps applied to the model's normal readings at each reading's own simulated time. A pure
 * function of the steps and the readings seen so far, so the same scenario and seed send the
 * same values however fast or slow the machine is. Readings after the scenario's end are
 * withheld: nothing more is simulated while the run settles and the alerts are read.
 * Also here: the wire bytes of a malformed step (below).
 */
import type { PendingReading, ReadingHook } from '../device.ts';
import type { Metrics, MetricValue } from '../model.ts';
import { parseSpan } from './schema.ts';
import type { Step } from './types.ts';

type Override = { kind: 'value'; value: MetricValue } | { kind: 'ramp'; from: number | undefined; to: number; start: number; over: number };

function round(v: number): number {
  return Math.round(v * 10_000) / 10_000;
}

function valueAt(o: Override, offset: number): MetricValue | undefined {
  if (o.kind === 'value') return o.value;
  if (o.from === undefined) return undefined;
  const share = Math.min(1, Math.max(0, (offset - o.start) / o.over));
  return round(o.from + (o.to - o.from) * share);
}

/** One device's steps, applied to its readings in time order. */
export class DeviceTimeline {
  private readonly overrides = new Map<string, Override>();
  private next = 0;
  private withheld = false;

  constructor(private readonly steps: readonly Step[]) {}

  /** The metrics to send for a reading `offset` ms after the scenario's start, or null to send nothing. */
  apply(offset: number, metrics: Metrics): Metrics | null {
    while (this.next < this.steps.length && this.steps[this.next]!.at <= offset) this.take(this.steps[this.next++]!);
    if (this.withheld) return null;
    if (this.overrides.size === 0) return metrics;
    const out: Metrics = { ...metrics };
    for (const [metric, o] of this.overrides) {
      if (o.kind === 'ramp' && o.from === undefined) {
        // A ramp from wherever the metric was: the first reading of the ramp fixes it.
        const current = metrics[metric];
        o.from = typeof current === 'number' ? current : o.to;
      }
      const v = valueAt(o, offset);
      if (v !== undefined) out[metric] = v;
    }
    return out;
  }

  private take(step: Step): void {
    const a = step.action;
    switch (a.type) {
      case 'set':
        for (const [m, value] of Object.entries(a.metrics)) this.overrides.set(m, { kind: 'value', value });
        break;
      case 'ramp': {
        // From the override in force, if any, at the ramp's own start.
        const before = this.overrides.get(a.metric);
        const held = before ? valueAt(before, step.at) : undefined;
        const from = a.from ?? (typeof held === 'number' ? held : undefined);
        this.overrides.set(a.metric, { kind: 'ramp', from, to: a.to, start: step.at, over: a.over });
        break;
      }
      case 'clear':
        if (a.metrics === 'all') this.overrides.clear();
        else for (const m of a.metrics) this.overrides.delete(m);
        break;
      case 'withhold':
        this.withheld = a.on;
        break;
      default:
        break;
    }
  }
}

/**
 * The Fleet hook of a run that begins at `start` (simulated epoch ms): each device's
 * timeline, and nothing after `start + duration`.
 */
export function scenarioHook(steps: readonly Step[], start: number, duration: number): ReadingHook {
  const end = start + duration;
  const timelines = new Map<string, DeviceTimeline>();
  const byDevice = new Map<string, Step[]>();
  for (const s of steps) if (s.device) byDevice.set(s.device, [...(byDevice.get(s.device) ?? []), s]);
  for (const [device, list] of byDevice) timelines.set(device, new DeviceTimeline(list));
  return (r: PendingReading) => {
    if (r.t > end) return null;
    return timelines.get(r.device.id)?.apply(r.t - start, r.metrics);
  };
}

/*
 * The wire bytes of a malformed step. A payload may name times that exist only when it is
 * sent: `{{now}}` is the wall clock (what the service judges `ts` by, so `{{now+1h}}` is a
 * reading from the future), `{{sim}}` the scenario's simulated time, each with an optional
 * span added or taken away, as epoch milliseconds. In a JSON payload, a string that is only
 * a placeholder becomes a number; in a text payload the placeholder is replaced in place.
 */

const PLACEHOLDER = /\{\{\s*(now|sim)\s*(?:([+-])\s*([0-9a-z.]+))?\s*\}\}/g;

export interface Clocks {
  /** wall clock, epoch ms */
  now: number;
  /** simulated time, epoch ms */
  sim: number;
}

function resolve(base: 'now' | 'sim', sign: string | undefined, span: string | undefined, clocks: Clocks): number | undefined {
  const offset = span === undefined ? 0 : parseSpan(span);
  if (offset === undefined) return undefined;
  return Math.round(clocks[base] + (sign === '-' ? -offset : offset));
}

/** True when every placeholder in `text` can be resolved (for the loader's checks). */
export function placeholdersValid(text: string): boolean {
  for (const m of text.matchAll(PLACEHOLDER)) if (resolve(m[1] as 'now' | 'sim', m[2], m[3], { now: 0, sim: 0 }) === undefined) return false;
  return true;
}

function replaceIn(text: string, clocks: Clocks): string {
  return text.replace(PLACEHOLDER, (whole, base: 'now' | 'sim', sign: string | undefined, span: string | undefined) => String(resolve(base, sign, span, clocks) ?? whole));
}

function replaceJson(value: unknown, clocks: Clocks): unknown {
  if (typeof value === 'string') {
    PLACEHOLDER.lastIndex = 0;
    const only = /^\{\{[^}]*\}\}$/.test(value.trim());
    const replaced = replaceIn(value, clocks);
    return only && /^-?\d+$/.test(replaced) ? Number(replaced) : replaced;
  }
  if (Array.isArray(value)) return value.map((v) => replaceJson(v, clocks));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceJson(v, clocks)]));
  return value;
}

/** The bytes to publish: placeholders resolved, padded with spaces to `padTo` bytes. */
export function buildPayload(action: { payload: string; json: boolean; padTo?: number }, clocks: Clocks): Buffer {
  const text = action.json ? JSON.stringify(replaceJson(JSON.parse(action.payload), clocks)) : replaceIn(action.payload, clocks);
  const bytes = Buffer.from(text, 'utf8');
  if (action.padTo === undefined || bytes.length >= action.padTo) return bytes;
  return Buffer.concat([bytes, Buffer.alloc(action.padTo - bytes.length, 0x20)]);
}
