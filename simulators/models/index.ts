/** The device models by kind, and a small stateful wrapper that steps one device. */
import type { Kind } from '../../config/index.ts';
import type { DeviceModel, Metrics, ModelContext, SimDeviceSpec } from '../model.ts';
import { deviceSeed } from '../random.ts';
import { elevatorModel } from './elevator.ts';
import { firelaneModel } from './firelane.ts';
import { hydrantModel } from './hydrant.ts';
import { waterModel } from './water.ts';

export { elevatorModel, landingsOf } from './elevator.ts';
export { firelaneModel, MAX_STOP_MS } from './firelane.ts';
export { hydrantModel } from './hydrant.ts';
export { waterModel } from './water.ts';

const MODELS: Record<Kind, DeviceModel<unknown>> = {
  elevator: elevatorModel as DeviceModel<unknown>,
  hydrant: hydrantModel as DeviceModel<unknown>,
  firelane: firelaneModel as DeviceModel<unknown>,
  water: waterModel as DeviceModel<unknown>,
};

export function modelFor(kind: Kind): DeviceModel<unknown> {
  return MODELS[kind];
}

/**
 * One device's readings over a run: starts at `t0` and is stepped forward in time. The same
 * (seed, device, t0, step times) always gives the same readings.
 */
export class DeviceSimulation {
  readonly ctx: ModelContext;
  private readonly model: DeviceModel<unknown>;
  private state: unknown;

  constructor(spec: SimDeviceSpec, runSeed: number, t0: number) {
    this.ctx = { spec, seed: deviceSeed(runSeed, spec.id) };
    this.model = modelFor(spec.kind);
    this.state = this.model.init(this.ctx, t0);
  }

  /** The readings at `t`, advancing the device's state to it. */
  next(t: number): Metrics {
    const { state, metrics } = this.model.step(this.ctx, this.state, t);
    this.state = state;
    return metrics;
  }
}
