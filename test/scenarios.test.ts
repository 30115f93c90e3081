/**
 * Every scenario of simulators/scenarios against the whole service (real Mosquitto and
 * InfluxDB): each raises exactly the alerts it lists, with their severity and departments,
 * in time, and nothing else on its devices; its malformed messages are in the reject list.
 * Scenarios on different devices run at the same time. Then the CLI, as an integrator runs
 * it, in a process of its own: a scenario run again passes again (it goes on after the
 * simulated time the first run left on the broker), and `--assert` exits 1 naming what is
 * missing.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEstate, type Estate } from '../config/index.ts';
import { failed, formatResult, formatSummary, loadScenarios, runScenarios, ServiceApi } from '../simulators/index.ts';
import { startInfluxd, type Influxd } from './harness/influxd.ts';
import { startMosquitto, type Mosquitto } from './harness/mosquitto.ts';
import { freePort } from './harness/ports.ts';
import { ROOT, removeDir, startService, type TestService } from './harness/service.ts';

/** Run again by the CLI at the end. */
const AGAIN = 'hydrant-tamper-event';

let influx: Influxd;
let broker: Mosquitto;
let svc: TestService;
let hooks: Server;
let hookPort: number;
let estate: Estate;

beforeAll(async () => {
  // Deliveries go somewhere that takes them, so no retries compete for the CPU.
  hookPort = await freePort();
  hooks = createServer((req, res) => req.resume().on('end', () => res.writeHead(204).end()));
  await new Promise<void>((r) => hooks.listen(hookPort, '127.0.0.1', r));
  [influx, broker] = await Promise.all([startInfluxd(), startMosquitto({ durable: true })]);
  estate = loadEstate(join(ROOT, 'config/estate.yaml'), { DEMO_HOOK_PORT: String(hookPort) });
  svc = await startService({ estate, env: { MQTT_URL: broker.url, INFLUX_URL: influx.url, INFLUX_DB: `scenarios_${process.pid}` } });
});

afterAll(async () => {
  await svc?.stop();
  await new Promise((r) => hooks?.close(r));
  await Promise.all([broker?.destroy(), influx?.destroy()]);
  if (svc) removeDir(svc.dataDir);
});

function simulate(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'simulators/cli.ts', '--mqtt', broker.url, '--api', svc.url, ...args], {
      cwd: ROOT,
      env: { ...process.env, ESTATE_TOKEN: 'demo-admin', DEMO_HOOK_PORT: String(hookPort) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the scenarios', () => {
  it('each raise exactly the alerts they expect, and nothing else', async () => {
    const all = loadScenarios([join(ROOT, 'simulators/scenarios')], estate);
    const results = await runScenarios(all, { estate, mqttUrl: broker.url, api: new ServiceApi(svc.url, 'demo-admin'), parallel: 16 });
    const report = `${results.filter(failed).map(formatResult).join('\n')}\n${formatSummary(results, true)}`;
    expect(results.filter(failed).map((r) => r.scenario.name), report).toEqual([]);
    expect(results.every((r) => r.verdicts !== undefined)).toBe(true);
  }, 210_000);

  it('npm run simulate -- --scenario … --assert: a scenario run again passes again; exit 1 naming a missing alert', async () => {
    const ok = await simulate(['--scenario', `simulators/scenarios/${AGAIN}.yaml`, '--assert']);
    expect(ok.stderr, ok.stdout).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^PASS hydrant-tamper-event \(simulators\/scenarios\/hydrant-tamper-event\.yaml\)$/m);
    expect(ok.stdout).toMatch(/^ {2}met {8}NC-HY-03 tamper critical → fire-rescue, property: fired \d+\.\d s after step raised/m);

    // A lane that is blocked, with the wrong department expected.
    const dir = mkdtempSync(join(tmpdir(), 'scenario-'));
    try {
      const file = join(dir, 'wrong.yaml');
      writeFileSync(
        file,
        `name: wrong-department\ndescription: a blocked lane is not the water authority's\nspeed: 30\nduration: 2m\nsteps:\n` +
          `  - { at: 30s, device: NC-FL-05, event: { code: blocked } }\n` +
          `  - { at: 1m, device: NC-FL-05, event: { code: blocked, active: false } }\n` +
          `expect:\n  - { device: NC-FL-05, rule: blocked, severity: critical, department: water-authority, within: 20s }\n`,
      );
      const bad = await simulate(['--scenario', file, '--assert']);
      expect(bad.code, bad.stdout + bad.stderr).toBe(1);
      expect(bad.stdout).toMatch(/^ {2}missing {4}NC-FL-05 blocked critical → water-authority: routed to fire-rescue, property, not water-authority$/m);
      expect(bad.stderr).toMatch(/^simulate: FAIL: 0 of 1 scenarios passed; 0 met, 1 missing, 0 unexpected$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
