/**
 * For tests of what Prometheus and Grafana read: the metric families a scrape of /metrics
 * names, and the metric names a PromQL expression uses, so a rule or a panel that names a
 * metric the service does not export is found without a Prometheus; and promtool, where it is
 * installed, to check what only Prometheus's own parser can.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

/** Every series name a scrape can have: each family, with `_bucket`, `_sum`, `_count` for histograms and summaries. */
export function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m as unknown as [string, string, string];
    names.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(name + s);
  }
  return names;
}

/** The sample of one series in a scrape (`name{labels}` as prom-client writes it, labels in their order), or undefined. */
export function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

/** The sum of every series of a family whose labels include all of `labels`. */
export function sum(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(m[3]);
  }
  return total;
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'inf', 'nan', 'atan2']);

/**
 * The metric names a PromQL expression selects: identifiers that are not functions,
 * aggregations, keywords, label names (in `{…}`, `by (…)`, `on (…)`), durations or
 * Grafana variables.
 */
export function promqlMetricNames(expr: string): string[] {
  let e = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ');
  e = e.replace(/\boffset\s+\S+/g, ' ');
  const names = new Set<string>();
  for (const m of e.matchAll(/(?<![\w:.])([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    const [, name, call] = m as unknown as [string, string, string | undefined];
    if (call || KEYWORDS.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names];
}

/** Metrics Prometheus makes itself for every target, not the service. */
export const SYNTHETIC = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);

/** The promtool binary (PROMTOOL, or promtool on the PATH: Debian's `prometheus` package), or undefined when there is none. */
export function findPromtool(): string | undefined {
  const bin = process.env.PROMTOOL || 'promtool';
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? bin : undefined;
}

/**
 * Checks PromQL expressions with promtool (`check rules` on a file of recording rules made of
 * them): each must parse. Grafana's `$__rate_interval` and variables are replaced first.
 * Returns promtool's output and whether it succeeded.
 */
export function checkExpressions(promtool: string, exprs: readonly string[], dir: string): { ok: boolean; output: string } {
  const rules = exprs.map((e, i) => ({
    record: `estate:check:${i}`,
    expr: e.replace(/\$__rate_interval|\$__interval/g, '1m').replace(/\$\{?(\w+)\}?/g, '.*'),
  }));
  const file = join(dir, 'expressions.yml');
  writeFileSync(file, stringify({ groups: [{ name: 'check', rules }] }));
  const r = spawnSync(promtool, ['check', 'rules', file], { encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}
