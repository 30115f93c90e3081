/**
 * The demo's story (`npm run demo`, README): scripted incidents in the demo estate that start
 * within two minutes of the start, clear a few minutes later, and come again, over and over,
 * so that a new user sees alerts raised, delivered, escalated and resolved at once, on top of
 * the fleet's normal readings:
 *
 * - a passenger trapped in 金佛花园 2栋A梯 (the `trapped` event; escalates if nobody acknowledges);
 * - hydrant HY-03 losing pressure (0.08 MPa, below 0.10 for 60 s: critical), left
 *   unacknowledged long enough to escalate to housing;
 * - the fire lane beside 3栋 blocked (the `blocked` event, and occupied);
 * - free chlorine too low in tank WS-01 (0.03 mg/L; the demo judges WS-01's chlorine over
 *   1 minute instead of GB 5749's 10, `DEMO_RULES`, so that it fits the story).
 *
 * Metric changes go through the fleet's reading hook (the device sends them in its normal
 * readings, its own clock and seq); events are published by the device itself.
 */
import type { RuleOverride } from '../config/index.ts';
import type { Fleet } from './fleet.ts';
import type { Metrics, MetricValue } from './model.ts';
import type { PendingReading } from './device.ts';

export interface StoryStep {
  /** ms into the story's cycle */
  at: number;
  device: string;
  /** an event to raise (true) or clear (false) */
  event?: { code: string; active: boolean; detail?: string };
  /** metrics to force in the device's readings from now on; `null` ends what was forced */
  set?: Readonly<Record<string, MetricValue>> | null;
  /** what happens, for the log */
  note: string;
}

const S = 1000;

export const DEMO_STORY: readonly StoryStep[] = [
  { at: 20 * S, device: 'EL-2-A', event: { code: 'trapped', active: true, detail: '困在5楼与6楼之间' }, set: { running: false, door_open: false, passengers_present: true, in_door_zone: false, speed_mps: 0 }, note: 'a passenger trapped in 金佛花园 2栋A梯' },
  { at: 35 * S, device: 'HY-03', set: { pressure_mpa: 0.08 }, note: 'hydrant HY-03 loses pressure (0.08 MPa)' },
  { at: 50 * S, device: 'FL-02', event: { code: 'blocked', active: true, detail: '私家车占用 a private car parked across it' }, set: { occupied: true, vehicle_count: 1 }, note: 'the fire lane beside 3栋 is blocked' },
  { at: 65 * S, device: 'WS-01', set: { chlorine_mgl: 0.03 }, note: 'free chlorine too low in tank WS-01 (0.03 mg/L)' },
  { at: 170 * S, device: 'EL-2-A', event: { code: 'trapped', active: false }, set: null, note: 'the passenger is out; 2栋A梯 back in service' },
  { at: 200 * S, device: 'FL-02', event: { code: 'blocked', active: false }, set: null, note: 'the car is moved off the fire lane' },
  { at: 420 * S, device: 'HY-03', set: null, note: 'HY-03 pressure back to normal (nobody acknowledged it: it escalated to housing after 5 min)' },
  { at: 260 * S, device: 'WS-01', set: null, note: 'WS-01 chlorine dosing restored' },
];

/** The story's cycle: after it the story begins again. */
export const DEMO_CYCLE_MS = 480 * S;

/** Rule changes the story needs (applied to the demo's estate only). */
export const DEMO_RULES: readonly RuleOverride[] = [{ rule: 'chlorine_low', device: 'WS-01', warning: { forSec: 30 }, critical: { forSec: 60 } }];

export class Story {
  private readonly forced = new Map<string, Readonly<Record<string, MetricValue>>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private fleet: Fleet | undefined;
  private cycle = 0;

  constructor(
    private readonly steps: readonly StoryStep[] = DEMO_STORY,
    private readonly cycleMs = DEMO_CYCLE_MS,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  /** The fleet's reading hook: what the story forces replaces the model's values. */
  readonly hook = (r: PendingReading): Metrics | undefined => {
    const f = this.forced.get(r.device.id);
    return f ? { ...r.metrics, ...f } : undefined;
  };

  start(fleet: Fleet): void {
    this.fleet = fleet;
    this.plan();
  }

  private plan(): void {
    const cycle = ++this.cycle;
    for (const step of this.steps) this.after(step.at, () => this.run(step, cycle));
    this.after(this.cycleMs, () => this.plan());
  }

  private after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private run(step: StoryStep, cycle: number): void {
    const device = this.fleet?.device(step.device);
    if (!device) return;
    if (step.set === null) this.forced.delete(step.device);
    else if (step.set) this.forced.set(step.device, step.set);
    if (step.event) device.publishEvent(step.event.code, step.event.active, step.event.detail);
    this.log(`story ${cycle}: ${step.note}`);
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.forced.clear();
  }
}
