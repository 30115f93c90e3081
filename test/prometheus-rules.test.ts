/**
 * deploy/prometheus/: the alert rules and the scrape configuration the compose stack's
 * Prometheus runs. Parsed here: every rule the operators need is there, with a severity, a
 * summary and a runbook section in docs/operations.md; every expression names only metrics a
 * running service exports (scraped here, so a renamed metric breaks this test, not a pager at
 * night); the scrape job is the one the rules' `up{job=…}` names. Where promtool is installed
 * (Debian's `prometheus` package; not required), it checks both files and runs the rules' unit
 * tests (alerts.test.yml).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT, startService, type TestService } from './harness/service.ts';
import { SYNTHETIC, exportedNames, findPromtool, promqlMetricNames } from './harness/prometheus.ts';

const DIR = join(ROOT, 'deploy/prometheus');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const rules = (parse(readFileSync(join(DIR, 'alerts.yml'), 'utf8')) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const config = parse(readFileSync(join(DIR, 'prometheus.yml'), 'utf8')) as {
  rule_files: string[];
  scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[];
};

/** What each rule watches, as docs/operations.md names it. */
const WANTED: Record<string, RegExp> = {
  EstateSentinelDown: /\bup\{job="estate-sentinel"\}/,
  EstateOutboxStuck: /estate_outbox_oldest_pending_seconds > 300\b/,
  EstateOperationalStoreDown: /estate_operational_store_up == 0/,
  EstateSeriesStoreDown: /estate_store_up == 0/,
  EstateBrokerDown: /estate_broker_connected == 0/,
  EstateSpoolNearFull: /estate_spool_bytes \/ estate_spool_max_bytes > 0\.8\b/,
  EstateChannelFailing: /increase\(estate_deliveries_failed_total\[/,
};

/** GitHub's anchor of a Markdown heading. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

describe('deploy/prometheus/alerts.yml', () => {
  let svc: TestService;
  let names: Set<string>;

  beforeAll(async () => {
    svc = await startService();
    names = exportedNames(await (await fetch(`${svc.url}/metrics`)).text());
  });

  afterAll(async () => {
    await svc?.stop();
  });

  it('has every rule the operators need, each with a severity, a summary, a description and a runbook section that exists', () => {
    const alerts = new Map(rules.filter((r) => r.alert).map((r) => [r.alert!, r]));
    expect([...alerts.keys()].sort()).toEqual(Object.keys(WANTED).sort());
    const docs = readFileSync(join(ROOT, 'docs/operations.md'), 'utf8');
    const anchors = new Set([...docs.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchor(m[1]!)));
    for (const [name, pattern] of Object.entries(WANTED)) {
      const r = alerts.get(name)!;
      expect(r.expr, name).toMatch(pattern);
      expect(['critical', 'warning'], name).toContain(r.labels?.severity);
      expect(r.annotations?.summary, name).toBeTruthy();
      expect(r.annotations?.description, name).toBeTruthy();
      const runbook = r.annotations?.runbook ?? '';
      expect(runbook, name).toMatch(/^docs\/operations\.md#/);
      expect(anchors, `${name}: ${runbook}`).toContain(runbook.split('#')[1]);
    }
    // alerts.test.yml has each rule both quiet and firing.
    const unit = parse(readFileSync(join(DIR, 'alerts.test.yml'), 'utf8')) as { tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] };
    const cases = unit.tests.flatMap((t) => t.alert_rule_test);
    for (const name of Object.keys(WANTED)) {
      expect(cases.some((c) => c.alertname === name && c.exp_alerts.length > 0), `${name} firing in alerts.test.yml`).toBe(true);
      expect(cases.some((c) => c.alertname === name && c.exp_alerts.length === 0), `${name} quiet in alerts.test.yml`).toBe(true);
    }
  });

  it('names in every expression only metrics the running service exports (or Prometheus makes itself)', () => {
    expect(names.size).toBeGreaterThan(40);
    const missing = rules.flatMap((r) => promqlMetricNames(r.expr).filter((n) => !names.has(n) && !SYNTHETIC.has(n)).map((n) => `${r.alert ?? r.record}: ${n}`));
    expect(missing).toEqual([]);
    // Every rule names at least one metric (a typo that turned a name into a function would leave none).
    for (const r of rules) expect(promqlMetricNames(r.expr).length, r.alert).toBeGreaterThan(0);
  });

  it('is loaded by prometheus.yml, whose scrape job is the one the rules name, on the service\'s /metrics', () => {
    expect(config.rule_files).toEqual(['alerts.yml']);
    const job = config.scrape_configs.find((j) => j.job_name === 'estate-sentinel');
    expect(job).toBeDefined();
    expect(job!.metrics_path ?? '/metrics').toBe('/metrics');
    const jobs = new Set(rules.flatMap((r) => [...r.expr.matchAll(/job="([^"]+)"/g)].map((m) => m[1]!)));
    expect([...jobs]).toEqual(['estate-sentinel']);
  });

  const promtool = findPromtool();
  it.runIf(promtool)('promtool: the configuration and the rules check, and the rules\' unit tests pass', () => {
    for (const args of [
      ['check', 'config', join(DIR, 'prometheus.yml')],
      ['check', 'rules', join(DIR, 'alerts.yml')],
      ['test', 'rules', join(DIR, 'alerts.test.yml')],
    ]) {
      const r = spawnSync(promtool!, args, { encoding: 'utf8', cwd: DIR });
      expect(r.status, `promtool ${args.join(' ')}:\n${r.stdout}${r.stderr}`).toBe(0);
    }
  });
});
