/**
 * What a device model is: a pure function of (device, device seed, simulated time, previous
 * state) to (next state, readings). No I/O, no clock, no hidden randomness, so the same seed
 * gives the same readings and the models are tested without MQTT.
 */
import type { Kind } from '../config/index.ts';

export type MetricValue = number | boolean;
export type Metrics = Record<string, MetricValue>;

/** One device of the estate file, as a simulator sees it. */
export interface SimDeviceSpec {
  readonly id: string;
  readonly kind: Kind;
  readonly site: string;
  readonly building: string;
  /** seconds between regular reports in the estate file */
  readonly intervalSec: number;
  readonly attributes: Readonly<Record<string, unknown>>;
}

export interface ModelContext {
  readonly spec: SimDeviceSpec;
  /** the device's seed: the run's seed combined with the device id (see `deviceSeed`) */
  readonly seed: number;
}

export interface DeviceModel<S> {
  readonly kind: Kind;
  /** The state at the start of a run, `t` in epoch ms of simulated time. */
  init(ctx: ModelContext, t: number): S;
  /**
   * Advances the state to `t` (later than the state's own time; an earlier `t` only reads)
   * and returns the device's readings at `t`. Never mutates `state`.
   */
  step(ctx: ModelContext, state: S, t: number): { state: S; metrics: Metrics };
}

/** A number attribute of the device, or `fallback` when absent or not a number. */
export function numberAttr(spec: SimDeviceSpec, name: string, fallback: number): number {
  const v = spec.attributes[name];
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}
