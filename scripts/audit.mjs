// @ts-check
/**
 * `node scripts/audit.mjs [report.json]` (.ci/run): the production dependencies against the
 * npm registry's advisories, `npm audit --omit=dev --audit-level=high --json`.
 *
 * - exit 1: the advisory service answered, and an advisory of high or critical severity
 *   concerns a production dependency (each one is listed);
 * - exit 0: it answered with none at that level (lower ones are counted);
 * - exit 0 with a warning: it did not answer with a report — unreachable, refused, an error
 *   status (npm exits 1 then too, with an error object instead of a report). CI must not fail
 *   because the advisory service is away; it says so loudly instead.
 *
 * The two cases are told apart by what npm printed, not by its exit code (1 in both): a
 * report has `auditReportVersion` and `metadata.vulnerabilities`; anything else is "no answer".
 * With a file argument, that saved output is judged instead of asking npm (for tests).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const LEVELS = ['info', 'low', 'moderate', 'high', 'critical'];
const FAIL_AT = LEVELS.indexOf('high');

/**
 * @param {string} text what `npm audit --json` printed
 * @returns {{ kind: 'report', failing: string[], counts: Record<string, number> } | { kind: 'no-answer', why: string }}
 */
export function judge(text) {
  /** @type {any} */
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    return { kind: 'no-answer', why: `npm audit printed no JSON: ${text.trim().slice(0, 300) || '(nothing)'}` };
  }
  if (!json || typeof json !== 'object' || json.auditReportVersion === undefined || !json.metadata?.vulnerabilities) {
    const why = json?.error?.summary || json?.message || json?.error?.code || JSON.stringify(json).slice(0, 300);
    return { kind: 'no-answer', why: String(why) };
  }
  /** @type {string[]} */
  const failing = [];
  for (const [name, v] of Object.entries(json.vulnerabilities ?? {})) {
    const vuln = /** @type {any} */ (v);
    if (LEVELS.indexOf(vuln.severity) < FAIL_AT) continue;
    const via = (vuln.via ?? []).map((/** @type {any} */ x) => (typeof x === 'string' ? x : `${x.title ?? ''} ${x.url ?? ''}`.trim())).join('; ');
    failing.push(`${name} (${vuln.severity}, ${vuln.range ?? '?'}): ${via}${vuln.fixAvailable ? ' — a fix is available' : ''}`);
  }
  return { kind: 'report', failing, counts: json.metadata.vulnerabilities };
}

const file = process.argv[2];
let text;
if (file) {
  text = readFileSync(file, 'utf8');
} else {
  const r = spawnSync('npm', ['audit', '--omit=dev', '--audit-level=high', '--json'], { encoding: 'utf8', timeout: 120_000 });
  text = r.stdout || r.stderr || (r.error ? JSON.stringify({ message: r.error.message }) : '');
}
const verdict = judge(text);
if (verdict.kind === 'no-answer') {
  process.stderr.write(`audit: WARNING — the advisory service gave no report, so the production dependencies were NOT checked: ${verdict.why}\n`);
  process.exit(0);
}
const c = verdict.counts;
const summary = LEVELS.map((l) => `${c[l] ?? 0} ${l}`).join(', ');
if (verdict.failing.length > 0) {
  process.stderr.write(`audit: production dependencies with high or critical advisories (${summary}):\n${verdict.failing.map((f) => `  ${f}`).join('\n')}\n`);
  process.exit(1);
}
process.stdout.write(`audit: no high or critical advisory in the production dependencies (${summary})\n`);
