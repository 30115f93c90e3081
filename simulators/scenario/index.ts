/**
 * Scenarios (simulators/README.md, "Scenarios"): scripted faults on top of normal readings, and the alerts
 * they must raise. Load a file, run it against a broker, assert against the service's API.
 */
export type { Action, Expectation, RejectExpectation, Scenario, Step } from './types.ts';
export { parseSpan, formatSpan } from './schema.ts';
export { parseScenario, loadScenario, loadScenarios, scenarioFiles, ScenarioError, type FileProblem } from './load.ts';
export { DeviceTimeline, scenarioHook, buildPayload } from './timeline.ts';
export { playScenario, describeAction, RunError, type Played, type RunOptions, type RunRecord, type StepRecord } from './runner.ts';
export { ServiceApi, ServiceApiError, type AlertSource, type ApiAlert, type ApiReject } from './api.ts';
export { judgeRun, alertsOfRun, deadlineOf, passed, watchRun, type Outcome, type Shortfall, type Verdict, type WatchOptions } from './assert.ts';
export { runScenarios, type PlanOptions, type ScenarioResult } from './plan.ts';
export { describeScenario, verdictLine, formatResult, formatSummary, failed } from './command.ts';
