/**
 * The scenario file's schema (simulators/README.md, "Scenario files"): the one source of its
 * types, defaults and shape checks. Unknown keys are refused everywhere, so a typo such as
 * `severtiy` is an error and not an expectation silently left out. What needs the estate
 * file (does the device exist, does the rule apply to its kind) is checked in `check.ts`.
 * The spans of time the files are written in are read and printed here too.
 */
import { z } from 'zod';

/*
 * Spans of time as a scenario file writes them: `90s`, `10m`, `1h30m`, `2d`, `500ms`, a bare
 * number of seconds, and (for `start`) a leading minus: `-6h`. One parser, one printer, so
 * the reports speak the same language as the files.
 */
const UNITS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
const PART = /(\d+(?:\.\d+)?)(ms|d|h|m|s)/y;

/** Milliseconds, or undefined when `text` is not a span. Negative only with `allowNegative`. */
export function parseSpan(text: string | number, allowNegative = false): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && (allowNegative || text >= 0) ? Math.round(text * 1000) : undefined;
  let s = text.trim();
  let sign = 1;
  if (s.startsWith('-')) {
    if (!allowNegative) return undefined;
    sign = -1;
    s = s.slice(1).trim();
  } else if (s.startsWith('+')) {
    s = s.slice(1).trim();
  }
  if (s === '') return undefined;
  if (/^\d+(?:\.\d+)?$/.test(s)) return sign * Math.round(Number(s) * 1000);
  let total = 0;
  let pos = 0;
  let lastUnit = Infinity;
  while (pos < s.length) {
    PART.lastIndex = pos;
    const m = PART.exec(s);
    if (!m) return undefined;
    const unit = UNITS[m[2]!]!;
    // 1h30m, not 30m1h or 1m1m: the parts go from the largest unit down, each once.
    if (unit >= lastUnit) return undefined;
    lastUnit = unit;
    total += Number(m[1]) * unit;
    pos = PART.lastIndex;
  }
  return sign * Math.round(total);
}

/** 0s, 45s, 1m30s, 2h, 1h05m, 1.5s, 250ms: the shortest exact form. */
export function formatSpan(ms: number): string {
  if (ms < 0) return `-${formatSpan(-ms)}`;
  if (ms === 0) return '0s';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) {
    const s = Math.round(ms / 100) / 10;
    return `${s}s`;
  }
  const totalS = Math.round(ms / 1000);
  const d = Math.floor(totalS / 86_400);
  const h = Math.floor((totalS % 86_400) / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const s = totalS % 60;
  const parts: string[] = [];
  if (d) parts.push(`${d}d`);
  if (h) parts.push(`${h}h`);
  if (m) parts.push(`${parts.length ? String(m).padStart(2, '0') : m}m`);
  if (s) parts.push(`${parts.length ? String(s).padStart(2, '0') : s}s`);
  return parts.join('');
}

/** Wall-clock seconds with one decimal, for latencies: `3.2 s`. */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

const SPAN_HINT = 'expected a length of time such as 30s, 10m or 1h30m';

/** A span of time, to milliseconds. */
const span = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseSpan(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)}: ${SPAN_HINT}` });
    return z.NEVER;
  }
  return ms;
});

const positiveSpan = span.refine((ms) => ms > 0, 'must be longer than 0s');

/** `start`: simulated time relative to now, in the past. */
const pastSpan = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseSpan(v, true);
  if (ms === undefined || ms >= 0) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)}: expected a time in the past relative to now, such as -6h or -2d` });
    return z.NEVER;
  }
  return ms;
});

const name = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be lower-case letters, digits and dashes, such as hydrant-pressure-low');
const stepName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be letters, digits, dots, dashes or underscores');
const deviceId = z.string().min(1);
const metricValue = z.union([z.number(), z.boolean()], { error: 'expected a number or true/false' });

const event = z.strictObject({
  code: z.string().min(1),
  active: z.boolean().default(true),
  detail: z.string().max(1024).optional(),
});

const ramp = z.strictObject({
  metric: z.string().min(1),
  from: z.number().optional(),
  to: z.number(),
  over: positiveSpan,
});

const malformed = z.strictObject({
  /** the whole topic; or `device` + `channel` for one of a scenario device's own topics */
  topic: z.string().min(1).optional(),
  device: deviceId.optional(),
  channel: z.enum(['telemetry', 'event', 'status']).optional(),
  /** the payload as it goes on the wire */
  payload: z.string().optional(),
  /** or a value sent as JSON */
  json: z.unknown().optional(),
  /** pad the payload with spaces to this many bytes (a JSON body over 16 KiB stays valid JSON) */
  padTo: z.number().int().min(1).max(1_048_576).optional(),
});

export const ACTIONS = ['set', 'ramp', 'clear', 'event', 'offline', 'online', 'withhold', 'malformed'] as const;
export type ActionKey = (typeof ACTIONS)[number];

const step = z
  .strictObject({
    at: span,
    name: stepName.optional(),
    /** why this step is there, for the reader and the run's log */
    note: z.string().optional(),
    device: deviceId.optional(),
    set: z.record(z.string(), metricValue).optional(),
    ramp: ramp.optional(),
    clear: z.union([z.literal('all'), z.array(z.string().min(1)).min(1)], { error: 'expected "all" or a list of metric names' }).optional(),
    event: event.optional(),
    offline: z.literal(true, { error: 'write offline: true (and online: true to bring the device back)' }).optional(),
    online: z.literal(true, { error: 'write online: true (and offline: true to take the device away)' }).optional(),
    withhold: z.boolean().optional(),
    malformed: malformed.optional(),
  })
  .superRefine((s, ctx) => {
    const present = ACTIONS.filter((a) => s[a] !== undefined);
    if (present.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          present.length === 0
            ? `a step does one thing: ${ACTIONS.join(', ')}; this one does none`
            : `a step does one thing: this one has ${present.join(' and ')}; write one step for each`,
      });
    }
    if (s.malformed === undefined && s.device === undefined && present.length === 1) {
      ctx.addIssue({ code: 'custom', path: ['device'], message: `missing: a ${present[0]} step needs the device it acts on` });
    }
  });

const department = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be a department id such as fire-rescue, or property');

const expectation = z.strictObject({
  device: deviceId,
  rule: z.string().min(1),
  severity: z.enum(['warning', 'critical']),
  /** departments the alert must be routed to (others may be there too); `property` is the site's company */
  department: z.union([department, z.array(department).min(1)]).transform((d) => (Array.isArray(d) ? d : [d])),
  /** the step that should make it fire (its name); default the device's first step */
  after: stepName.optional(),
  /** simulated time from that step by which it must have fired */
  within: positiveSpan,
  /** the alert's mutedBy must be this (null: not muted); left out, it is not checked */
  mutedBy: z.string().min(1).nullable().optional(),
});

const rejectExpectation = z.strictObject({
  reason: z.enum(['bad_topic', 'unknown_device', 'bad_payload', 'bad_metric', 'bad_timestamp', 'store_rejected', 'spool_full']),
  topic: z.string().min(1),
});

export const scenarioSchema = z.strictObject({
  name,
  description: z.string().min(1, 'say what the scenario shows'),
  seed: z.number().int().optional(),
  /** simulated seconds per real second */
  speed: z.number().positive().max(10_000).default(60),
  /** where simulated time begins, relative to now */
  start: pastSpan.default(-6 * 3_600_000),
  /** simulated */
  duration: positiveSpan,
  /** readings per simulated second per device; default one per device `intervalSec` */
  rate: z.number().positive().max(100).optional(),
  /** sites whose every device publishes normal readings during the run */
  sites: z.array(z.string().min(1)).default([]),
  /** further devices that publish normal readings */
  devices: z.array(deviceId).default([]),
  /** real time allowed on top of `within` for transport, the rule engine and clock skew */
  allowance: span.default(10_000),
  /** real time to wait after the run before the alerts are read */
  settle: span.default(3000),
  steps: z.array(step).default([]),
  expect: z.array(expectation).default([]),
  /** any alert on the scenario's devices that `expect` does not list fails the run */
  expectNone: z.boolean().default(true),
  expectRejects: z.array(rejectExpectation).default([]),
});

export type ScenarioFile = z.output<typeof scenarioSchema>;
export type StepFile = ScenarioFile['steps'][number];
export type ExpectationFile = ScenarioFile['expect'][number];
export type RejectReason = ScenarioFile['expectRejects'][number]['reason'];
