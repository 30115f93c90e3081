/**
 * Plays one scenario on MQTT: the scenario's devices connect, then simulated time begins (a
 * scaled clock, after whatever earlier runs sent for these devices: history.ts), the devices
 * publish their normal readings with the scenario's changes applied by the Fleet's hook, and
 * each step runs when simulated time reaches it. The wall time at which each step ran is
 * recorded: `within` is measured from it (assert.ts).
 * The devices stay connected after the end, without publishing, until `stop()`: the
 * assertion reads the alerts first, so that the devices leaving (a retained
 * `{"online": false}`) cannot count against the run.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Estate } from '../../config/index.ts';
import { DeferredClock } from '../clock.ts';
import { Fleet, type FleetSummary } from '../fleet.ts';
import { readClocks, writeClocks } from './history.ts';
import { formatSpan } from './schema.ts';
import { buildPayload, scenarioHook } from './timeline.ts';
import type { Action, Scenario, Step } from './types.ts';

/** The service refuses readings more than 5 min ahead of its clock; keep a minute's margin. */
const FUTURE_LIMIT_MS = 4 * 60_000;

export interface RunOptions {
  estate: Estate;
  mqttUrl: string;
  /** when the scenario names no seed of its own; default 1 */
  seed?: number;
  qos?: 0 | 1;
  /** simulated epoch ms before which the run must not begin: an earlier run already sent its devices' readings up to it */
  notBefore?: number;
  connectTimeoutMs?: number;
  username?: string;
  password?: string;
  log?: (line: string) => void;
}

export interface StepRecord {
  readonly step: Step;
  /** simulated epoch ms when it ran */
  readonly sim: number;
  /** wall-clock epoch ms when it ran */
  readonly wall: number;
}

export interface RunRecord {
  readonly scenario: Scenario;
  /** wall-clock epoch ms when simulated time began */
  readonly startedAt: number;
  /** wall-clock epoch ms when simulated time reached the end */
  readonly endedAt: number;
  /** simulated epoch ms */
  readonly simStart: number;
  readonly simEnd: number;
  readonly steps: readonly StepRecord[];
}

export interface Played {
  readonly record: RunRecord;
  /** the devices leave (retained offline status, clean disconnect) */
  stop(): Promise<FleetSummary>;
}

/** The run could not happen (broker unreachable, simulated time would pass the wall clock). */
export class RunError extends Error {
  readonly code = 'RUN_FAILED';
}

export function describeAction(a: Action): string {
  switch (a.type) {
    case 'set':
      return `set ${Object.entries(a.metrics).map(([k, v]) => `${k}=${v}`).join(', ')}`;
    case 'ramp':
      return `ramp ${a.metric}${a.from !== undefined ? ` from ${a.from}` : ''} to ${a.to} over ${formatSpan(a.over)}`;
    case 'clear':
      return a.metrics === 'all' ? 'back to normal readings' : `back to normal ${a.metrics.join(', ')}`;
    case 'event':
      return `event ${a.code} ${a.active ? 'active' : 'cleared'}${a.detail ? `: ${a.detail}` : ''}`;
    case 'offline':
      return 'goes offline (link lost: the broker publishes its last will)';
    case 'online':
      return 'comes back online (replays its buffer)';
    case 'withhold':
      return a.on ? 'stops reporting (stays connected)' : 'reports again';
    case 'malformed':
      return `malformed message on ${a.topic}`;
  }
}

/** A client of the run's own: reads the devices' clocks, sends malformed steps. */
function connectControl(s: Scenario, opts: RunOptions, timeoutMs: number): Promise<MqttClient> {
  const client = mqtt.connect(opts.mqttUrl, {
    clientId: `sim-scenario-${s.name}-${process.pid}`.slice(0, 64),
    protocolVersion: 4,
    reconnectPeriod: 1000,
    connectTimeout: Math.min(timeoutMs, 10_000),
    ...(opts.username ? { username: opts.username } : {}),
    ...(opts.password ? { password: opts.password } : {}),
  });
  let last = '';
  client.on('error', (err) => (last = err.message));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.end(true);
      reject(new RunError(`${s.name}: cannot connect to ${opts.mqttUrl} within ${formatSpan(timeoutMs)}${last ? ` (${last})` : ''}`));
    }, timeoutMs);
    client.once('connect', () => {
      clearTimeout(timer);
      resolve(client);
    });
  });
}

/** Where simulated time begins: its `start` from now, after what its devices already sent. */
function beginning(s: Scenario, opts: RunOptions, clocks: ReadonlyMap<string, number>): number {
  const now = Date.now();
  const sent = Math.max(opts.notBefore ?? -Infinity, ...s.devices.map((d) => (clocks.get(d) ?? -Infinity) + 1000));
  const simStart = Math.max(now + s.start, sent);
  // Simulated time runs `speed` times faster than the wall clock: check where it ends up.
  const ahead = Math.max(simStart - now, simStart + s.duration - (now + s.duration / s.speed));
  if (ahead > FUTURE_LIMIT_MS) {
    const latest = s.devices.filter((d) => (clocks.get(d) ?? -Infinity) + 1000 >= sent);
    throw new RunError(
      `${s.name}: ${latest.slice(0, 3).join(', ')}${latest.length > 3 ? ' …' : ''} already reported up to ${new Date(sent - 1000).toISOString()} (simulated, by an earlier run on this broker), ` +
        `and the service ignores a device's readings older than those it has judged; begun after them, this run would reach ${formatSpan(ahead)} ahead of the wall clock, ` +
        `which the service refuses. Wait until then, or run it against a service that has not seen those readings ` +
        `(its devices' clocks are the retained topics simulators/clock/<device>; clear them with an empty retained message)`,
    );
  }
  return simStart;
}

export async function playScenario(s: Scenario, opts: RunOptions): Promise<Played> {
  const log = opts.log ?? (() => undefined);
  const timeout = opts.connectTimeoutMs ?? 30_000;
  const control = await connectControl(s, opts, timeout);
  let simStart: number;
  try {
    simStart = beginning(s, opts, await readClocks(control, s.devices));
  } catch (err) {
    await control.endAsync(true);
    throw err;
  }
  const simEnd = simStart + s.duration;
  const clock = new DeferredClock(s.speed, simStart);
  const fleet = new Fleet({
    estate: opts.estate,
    mqttUrl: opts.mqttUrl,
    devices: s.devices,
    seed: s.seed ?? opts.seed ?? 1,
    clock,
    hook: scenarioHook(s.steps, simStart, s.duration),
    log: (line) => log(`${s.name}: ${line}`),
    ...(s.rateHz !== undefined ? { rateHz: s.rateHz } : {}),
    ...(opts.qos !== undefined ? { qos: opts.qos } : {}),
    ...(opts.username ? { username: opts.username } : {}),
    ...(opts.password ? { password: opts.password } : {}),
  });
  fleet.start();
  if (!(await fleet.waitConnected(timeout))) {
    const n = fleet.devices.filter((d) => !d.connected).length;
    await Promise.all([fleet.stop(), control.endAsync(true)]);
    throw new RunError(`${s.name}: ${n} of ${fleet.devices.length} devices could not connect to ${opts.mqttUrl} within ${formatSpan(timeout)}`);
  }

  const records: StepRecord[] = [];
  const run = (step: Step) => {
    records.push({ step, sim: clock.now(), wall: Date.now() });
    log(`${s.name}: +${formatSpan(step.at)} ${step.device ?? ''}${step.device ? ' ' : ''}${describeAction(step.action)}${step.note ? `  — ${step.note}` : ''}`);
    const a = step.action;
    const device = step.device !== undefined ? fleet.device(step.device) : undefined;
    if (a.type === 'event') device?.publishEvent(a.code, a.active, a.detail);
    else if (a.type === 'offline') device?.setOffline(true);
    else if (a.type === 'online') device?.setOffline(false);
    else if (a.type === 'malformed') control.publish(a.topic, buildPayload(a, { now: Date.now(), sim: clock.now() }), { qos: 1 });
  };
  for (const step of s.steps) clock.at(simStart + step.at, () => run(step));
  const ended = new Promise<void>((resolve) => clock.at(simEnd, resolve));
  clock.begin();
  const startedAt = Date.now();
  await ended;
  const endedAt = Date.now();
  return {
    record: { scenario: s, startedAt, endedAt, simStart, simEnd, steps: records },
    async stop() {
      // Devices still offline cannot leave their clock themselves.
      const away = fleet.devices.filter((d) => !d.connected && d.stats.lastTs !== undefined);
      const summary = await fleet.stop();
      await writeClocks(control, new Map(away.map((d) => [d.spec.id, d.stats.lastTs!]))).catch(() => undefined);
      await control.endAsync();
      return summary;
    },
  };
}
