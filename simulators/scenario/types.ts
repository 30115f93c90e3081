/**
 * A scenario once loaded and checked against the estate file: every time in milliseconds,
 * steps in time order, each expectation tied to the step it follows. The runner, the
 * assertion and the reports work on this, never on the raw YAML.
 */
import type { Kind, Severity } from '../../config/index.ts';
import type { MetricValue } from '../model.ts';
import type { RejectReason } from './schema.ts';

export type Action =
  | { type: 'set'; metrics: Readonly<Record<string, MetricValue>> }
  | { type: 'ramp'; metric: string; from?: number; to: number; over: number }
  | { type: 'clear'; metrics: readonly string[] | 'all' }
  | { type: 'event'; code: string; active: boolean; detail?: string }
  | { type: 'offline' }
  | { type: 'online' }
  | { type: 'withhold'; on: boolean }
  | { type: 'malformed'; topic: string; payload: string; json: boolean; padTo?: number };

export interface Step {
  /** position in time order, 0-based */
  readonly index: number;
  /** simulated ms from the scenario's start */
  readonly at: number;
  /** the step's name, or `#n` (its 1-based position in the file) */
  readonly label: string;
  readonly note?: string;
  /** the device it acts on; a malformed step on a free topic has none */
  readonly device?: string;
  readonly action: Action;
}

export interface Expectation {
  /** position in the file's `expect`, 0-based */
  readonly index: number;
  readonly device: string;
  readonly kind: Kind;
  readonly rule: string;
  readonly severity: Severity;
  readonly departments: readonly string[];
  /** the step it follows */
  readonly after: Step;
  /** simulated ms */
  readonly within: number;
  /** undefined: not checked; null: must not be muted */
  readonly mutedBy?: string | null;
}

export interface RejectExpectation {
  readonly index: number;
  readonly reason: RejectReason;
  readonly topic: string;
}

export interface Scenario {
  readonly file: string;
  readonly name: string;
  readonly description: string;
  readonly seed?: number;
  readonly speed: number;
  /** simulated start relative to now, ms (negative) */
  readonly start: number;
  /** simulated ms */
  readonly duration: number;
  readonly rateHz?: number;
  /** real ms */
  readonly allowance: number;
  /** real ms */
  readonly settle: number;
  readonly steps: readonly Step[];
  readonly expect: readonly Expectation[];
  readonly expectNone: boolean;
  readonly expectRejects: readonly RejectExpectation[];
  /** devices named by a step or an expectation */
  readonly touched: readonly string[];
  /** every device that publishes during the run: the touched ones, `devices` and the `sites`' */
  readonly devices: readonly string[];
}

/** Real time a scenario takes to play, without connecting and settling. */
export function playTimeMs(s: Pick<Scenario, 'duration' | 'speed'>): number {
  return s.duration / s.speed;
}
