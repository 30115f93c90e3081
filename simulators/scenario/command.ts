/**
 * `npm run simulate -- --scenario … [--assert]`: loads the scenario files, runs them against
 * the broker and, with `--assert`, checks each one's alerts against the service's API.
 * Exit codes: 0 every scenario ran (and passed); 1 a scenario failed, or could not run or be
 * checked; 2 a bad option, estate file or scenario file (nothing was run).
 * What it prints: per scenario a header and one line per verdict (met, missing, unexpected:
 * device, rule, severity, departments, why), then one line for the whole run.
 */
import { ConfigError, loadEstate, type Estate } from '../../config/index.ts';
import type { CliOptions } from '../options.ts';
import { ServiceApi, ServiceApiError } from './api.ts';
import { loadScenarios, ScenarioError } from './load.ts';
import type { Verdict } from './assert.ts';
import { runScenarios, type ScenarioResult } from './plan.ts';
import { formatSeconds, formatSpan } from './schema.ts';
import type { Scenario } from './types.ts';

export interface Output {
  out: (text: string) => void;
  err: (text: string) => void;
}

const stdio: Output = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

export async function scenarioCommand(opts: CliOptions, io: Output = stdio): Promise<number> {
  let estate: Estate;
  let scenarios: Scenario[];
  try {
    estate = loadEstate(opts.config);
    scenarios = loadScenarios(opts.scenarios ?? [], estate);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof ScenarioError) {
      io.err(`simulate: ${err.message}\n`);
      return 2;
    }
    throw err;
  }

  const api = opts.assert ? new ServiceApi(opts.api ?? 'http://127.0.0.1:8080', opts.token ?? 'demo-admin') : undefined;
  if (api) {
    // Before anything runs: a wrong --api or --token should not cost the length of a run.
    try {
      await api.alerts(Date.now());
    } catch (err) {
      if (!(err instanceof ServiceApiError)) throw err;
      io.err(`simulate: ${err.message}\n`);
      return 1;
    }
  }

  io.out(`simulate: ${scenarios.length} scenario${scenarios.length === 1 ? '' : 's'} → ${opts.mqtt}${api ? `, asserting against ${opts.api}` : ''}\n`);
  for (const s of scenarios) io.out(`  ${describeScenario(s)}\n`);
  const results = await runScenarios(scenarios, {
    estate,
    mqttUrl: opts.mqtt,
    seed: opts.seed,
    qos: opts.qos,
    parallel: opts.parallel ?? 1,
    ...(api ? { api } : {}),
    log: (line) => io.out(`  ${line}\n`),
    onResult: (r) => io.out(`${formatResult(r)}\n`),
  });
  const summary = formatSummary(results, api !== undefined);
  const bad = results.some(failed);
  (bad ? io.err : io.out)(`simulate: ${summary}\n`);
  return bad ? 1 : 0;
}

export function describeScenario(s: Scenario): string {
  const devices = s.devices.length === 1 ? '1 device' : `${s.devices.length} devices`;
  return `${s.name}: ${devices}, ${formatSpan(s.duration)} simulated at ${s.speed}× (${formatSeconds(s.duration / s.speed)} real), ${s.steps.length} steps, ${s.expect.length} expected alert${s.expect.length === 1 ? '' : 's'}`;
}

export function verdictLine(v: Verdict): string {
  return `${v.outcome.padEnd(10)} ${v.text}`;
}

export function failed(r: ScenarioResult): boolean {
  return r.error !== undefined || (r.verdicts?.some((v) => v.outcome !== 'met') ?? false);
}

export function formatResult(r: ScenarioResult): string {
  const s = r.scenario;
  const lines: string[] = [];
  if (r.verdicts) {
    const bad = r.verdicts.filter((v) => v.outcome !== 'met').length;
    lines.push(`${failed(r) ? 'FAIL' : 'PASS'} ${s.name} (${s.file})${bad ? `: ${bad} problem${bad === 1 ? '' : 's'}` : ''}`);
    for (const v of r.verdicts) lines.push(`  ${verdictLine(v)}`);
    if (r.verdicts.length === 0) lines.push('  (nothing expected and nothing fired)');
  } else if (!r.error) {
    lines.push(`DONE ${s.name} (${s.file})${r.summary ? `: ${r.summary.sent} readings from ${r.summary.devices} devices` : ''}`);
  }
  if (r.error) lines.push(`${r.verdicts ? '  ' : `FAIL ${s.name} (${s.file})\n  `}error: ${r.error}`);
  return lines.join('\n');
}

export function formatSummary(results: readonly ScenarioResult[], asserted: boolean): string {
  const bad = results.filter(failed);
  const verdicts = results.flatMap((r) => r.verdicts ?? []);
  const count = (o: Verdict['outcome']) => verdicts.filter((v) => v.outcome === o).length;
  if (!asserted) return `${results.length - bad.length} of ${results.length} scenarios ran${bad.length ? `; ${bad.length} could not run` : ''}`;
  return (
    `${bad.length === 0 ? 'PASS' : 'FAIL'}: ${results.length - bad.length} of ${results.length} scenarios passed; ` +
    `${count('met')} met, ${count('missing')} missing, ${count('unexpected')} unexpected` +
    (results.some((r) => r.error) ? `, ${results.filter((r) => r.error).length} could not run or be read` : '')
  );
}
