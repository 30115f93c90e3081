/**
 * Loads scenario files: YAML syntax, the schema, then the checks against the estate file.
 * Every problem of every file comes in one `ScenarioError`, each naming its file, its line
 * and its YAML path, so one run shows everything to fix.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { LineCounter, isNode, parseDocument, type Document } from 'yaml';
import { formatPath, type Estate } from '../../config/index.ts';
import { checkScenario, type Problem } from './check.ts';
import { scenarioSchema } from './schema.ts';
import type { Scenario } from './types.ts';

export interface FileProblem {
  file: string;
  /** YAML path such as steps[2].set.pressure_mpa; '' for the file as a whole */
  path: string;
  line?: number;
  message: string;
}

/** One or more scenario files that cannot run; `message` is the whole report. */
export class ScenarioError extends Error {
  readonly code = 'SCENARIO_INVALID';
  constructor(readonly problems: readonly FileProblem[]) {
    const files = [...new Set(problems.map((p) => p.file))];
    super(
      files
        .map((file) => {
          const mine = problems.filter((p) => p.file === file);
          const lines = mine.map((p) => `  - ${[p.line ? `line ${p.line}` : '', p.path].filter(Boolean).join(', ') || '(top level)'}: ${p.message}`);
          return `${file}: ${mine.length} problem${mine.length === 1 ? '' : 's'} in the scenario\n${lines.join('\n')}`;
        })
        .join('\n'),
    );
    this.name = 'ScenarioError';
  }
}

function lineOf(doc: Document, counter: LineCounter, path: readonly (string | number)[]): number | undefined {
  // Walk up until a node exists (a missing or unknown key has no node of its own).
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}

function valueAt(value: unknown, path: readonly (string | number)[]): unknown {
  let v = value;
  for (const part of path) v = v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[part] : undefined;
  return v;
}

function describe(issue: { code: string; message: string }): string {
  const message = issue.message.replace(/^Invalid input: /, '');
  if (issue.code === 'invalid_value' && /^expected one of/.test(message)) return message.replace(/\|/g, ', ');
  return message;
}

/** Parses and checks one scenario from its text. */
export function parseScenario(text: string, file: string, estate: Estate): Scenario {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax) {
    // Only the first: the parser's recovery turns one bad indent into a cascade below it.
    const pos = counter.linePos(syntax.pos[0]);
    throw new ScenarioError([{ file, path: '', line: pos.line, message: `YAML syntax (column ${pos.col}): ${syntax.message.split('\n')[0]}` }]);
  }
  const raw = doc.toJS({ maxAliasCount: 100 }) as unknown;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ScenarioError([{ file, path: '', message: 'expected a mapping with name, description, duration, steps and expect' }]);
  }
  const found: Problem[] = [];
  const parsed = scenarioSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path as (string | number)[];
      if (issue.code === 'unrecognized_keys') for (const key of issue.keys) found.push({ path: [...path, key], message: 'unknown key' });
      else if (valueAt(raw, path) === undefined && path.length > 0) found.push({ path, message: 'missing' });
      else found.push({ path, message: describe(issue) });
    }
  } else {
    const { scenario, problems } = checkScenario(file, parsed.data, estate);
    if (scenario) return scenario;
    found.push(...problems);
  }
  const seen = new Set<string>();
  const out: FileProblem[] = [];
  for (const p of found) {
    const path = formatPath(p.path);
    const key = `${path}\u0000${p.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const line = lineOf(doc, counter, p.path);
    out.push({ file, path, ...(line !== undefined ? { line } : {}), message: p.message });
  }
  out.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
  throw new ScenarioError(out);
}

export function loadScenario(file: string, estate: Estate): Scenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ScenarioError([{ file, path: '', message: `cannot read the file: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }]);
  }
  return parseScenario(text, file, estate);
}

/** Files and directories (every *.yaml / *.yml in it, by name) to scenario files. */
export function scenarioFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let dir = false;
    try {
      dir = statSync(p).isDirectory();
    } catch {
      // Left to loadScenario, which says the file cannot be read.
    }
    if (!dir) out.push(p);
    else out.push(...readdirSync(p).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(p, f)));
  }
  return [...new Set(out)];
}

/** Loads every scenario; all problems of all files in one error. A name used twice is one. */
export function loadScenarios(paths: readonly string[], estate: Estate): Scenario[] {
  const files = scenarioFiles(paths);
  if (files.length === 0) throw new ScenarioError([{ file: paths.join(', '), path: '', message: 'no scenario files (*.yaml) there' }]);
  const problems: FileProblem[] = [];
  const scenarios: Scenario[] = [];
  const byName = new Map<string, string>();
  for (const file of files) {
    try {
      const s = loadScenario(file, estate);
      const other = byName.get(s.name);
      if (other) problems.push({ file, path: 'name', message: `${s.name} is also the name of ${basename(other)}` });
      byName.set(s.name, file);
      scenarios.push(s);
    } catch (err) {
      if (!(err instanceof ScenarioError)) throw err;
      problems.push(...err.problems);
    }
  }
  if (problems.length > 0) throw new ScenarioError(problems);
  return scenarios;
}
