/**
 * Loads the estate YAML file: parse, substitute ${VAR}, validate against the schema,
 * check cross-references, and freeze. Every problem is collected and reported at once,
 * each with its YAML path and line, so one run shows everything to fix.
 *
 * Two parsers, one result: a file without mistakes is read by js-yaml (YAML 1.2's core
 * schema, as `yaml` reads it; about 10 times faster and a fifth of the memory: 0.65 s and
 * 0.26 GB where `yaml`'s document took 6 s and 1.3 GB for 100,000 devices,
 * docs/performance.md). Anything wrong, or a document with aliases, is read again by `yaml`,
 * whose document knows each node's line and bounds alias expansion, and the report comes
 * from there.
 */
import { readFileSync } from 'node:fs';
import { CORE_SCHEMA, load as loadFast } from 'js-yaml';
import { LineCounter, parseDocument, isNode } from 'yaml';
import type { Document } from 'yaml';
import { estateSchema, type Estate } from './schema.ts';
import { checkReferences } from './references.ts';

export type YamlPath = ReadonlyArray<string | number>;

export interface ConfigProblem {
  /** the YAML path, '' for the document as a whole (and for syntax errors, which have no path) */
  path: string;
  line?: number;
  /** given for syntax errors, where the line alone may not be enough */
  column?: number;
  message: string;
}

function where(p: ConfigProblem): string {
  const at = p.line ? `line ${p.line}${p.column ? `, column ${p.column}` : ''}` : '';
  if (p.path) return at ? `${at}, ${p.path}` : p.path;
  if (p.column) return at;
  return at ? `${at}, (top level)` : '(top level)';
}

/** A configuration the service cannot start with; `message` is the whole report. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      `${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'} in the estate file\n` +
        problems.map((p) => `  - ${where(p)}: ${p.message}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

export function formatPath(path: YamlPath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${part}` : part;
  }
  return out;
}

const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces ${VAR} and ${VAR:-default} in every string of the tree, as a new tree; reports
 * unset variables. `path` is where `value` is: one stack, pushed and popped on the way down
 * and copied only into a problem (a path array per node was garbage of a 100,000-device file).
 */
/**
 * A string of the parsed file as a string of its own, one for each text: V8 makes a string of
 * 13 characters or more cut out of a larger one a slice that keeps the larger one alive (one
 * department's webhook URL kept the whole estate file's text, 11.6 MB at 100,000 devices), and
 * the parser makes every occurrence a string of its own (each device's kind and building were
 * 48 bytes of copies; docs/performance.md, "City scale"). Copied through UTF-16, which keeps
 * every code unit as it is; `strings` holds the texts met so far in this file.
 */
function own(s: string, strings: Map<string, string>): string {
  let t = strings.get(s);
  if (t === undefined) {
    t = s.length < 13 ? s : Buffer.from(s, 'utf16le').toString('utf16le');
    strings.set(t, t);
  }
  return t;
}

function substitute(value: unknown, env: NodeJS.ProcessEnv, path: (string | number)[], problems: { path: YamlPath; message: string }[], strings: Map<string, string>): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return own(value, strings);
    return own(value.replace(VAR, (_, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      problems.push({ path: [...path], message: `environment variable ${name} is not set` });
      return '';
    }), strings);
  }
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      out[i] = substitute(value[i], env, path, problems, strings);
      path.pop();
    }
    return out;
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k in value) {
      if (!Object.hasOwn(value, k)) continue;
      path.push(k);
      out[k] = substitute((value as Record<string, unknown>)[k], env, path, problems, strings);
      path.pop();
    }
    return out;
  }
  return value;
}

function lineOf(doc: Document, counter: LineCounter, path: YamlPath): number | undefined {
  // Walk up until a node exists (an unknown or missing key has no node of its own).
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

export function parseEstate(text: string, file: string, env: NodeJS.ProcessEnv = process.env): Estate {
  return quickly(text, env) ?? exactly(text, file, env);
}

/** The estate, if the file has no mistake and no alias; undefined otherwise (then `exactly` says what). */
export function quickly(text: string, env: NodeJS.ProcessEnv): Estate | undefined {
  let raw: unknown;
  try {
    raw = loadFast(text, { schema: CORE_SCHEMA });
  } catch {
    return undefined; // a syntax error, a duplicate key
  }
  if (sharesNodes(raw)) return undefined;
  const { estate, found } = validate(raw, env);
  return found.length === 0 ? estate : undefined;
}

/** Substitution, the schema and the cross-references on the parsed tree: the estate, frozen, and every problem found (by YAML path). */
function validate(raw: unknown, env: NodeJS.ProcessEnv): { estate?: Estate; found: { path: YamlPath; message: string }[] } {
  const found: { path: YamlPath; message: string }[] = [];
  const substituted = substitute(raw ?? {}, env, [], found, new Map());
  const parsed = estateSchema.safeParse(substituted);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const keys = issue.code === 'unrecognized_keys' ? (issue as { keys: string[] }).keys : undefined;
      if (keys) {
        for (const key of keys) found.push({ path: [...(issue.path as YamlPath), key], message: 'unknown key' });
      } else {
        found.push({ path: issue.path as YamlPath, message: describe(issue) });
      }
    }
  }
  // On the raw data, so that reference mistakes come in the same report as schema mistakes.
  found.push(...checkReferences(substituted));
  return found.length === 0 && parsed.success ? { estate: deepFreeze(shareAttributes(parsed.data)), found } : { found };
}

/**
 * Devices whose attributes are alike share one attributes object (most carry their kind's
 * defaults): one object per device and set of defaults was 6.6 MB at 100,000 devices
 * (docs/performance.md, "City scale"). They are frozen with the rest.
 */
function shareAttributes(estate: Estate): Estate {
  const shared = new Map<string, Record<string, unknown>>();
  for (const site of estate.sites) {
    for (const d of site.devices) {
      const key = `${d.kind}\0${JSON.stringify(d.attributes)}`;
      const same = shared.get(key);
      if (same) (d as { attributes: unknown }).attributes = same;
      else shared.set(key, d.attributes);
    }
  }
  return estate;
}

/** Whether a mapping or list is reached twice: js-yaml makes an alias the same object as its anchor. */
function sharesNodes(root: unknown): boolean {
  const seen = new Set<object>();
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (!v || typeof v !== 'object') continue;
    if (seen.has(v)) return true;
    seen.add(v);
    for (const c of Array.isArray(v) ? v : Object.values(v)) if (c && typeof c === 'object') stack.push(c);
  }
  return false;
}

/** `yaml`'s document: slower, and it knows where each node stands, for the report. */
export function exactly(text: string, file: string, env: NodeJS.ProcessEnv): Estate {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax) {
    // Only the first: the parser's recovery turns one misplaced indent into a cascade of
    // follow-on errors on the lines below, which would bury the one to fix.
    const pos = counter.linePos(syntax.pos[0]);
    throw new ConfigError(file, [{ path: '', line: pos.line, column: pos.col, message: `YAML syntax: ${syntax.message.split('\n')[0]}` }]);
  }
  const raw = doc.toJS({ maxAliasCount: 100 }) as unknown;
  const { estate, found } = validate(raw, env);
  if (!estate) {
    // One problem per path, the first found: an unset ${VAR} also makes its value empty, and a
    // malformed id that a token names also "does not exist"; the first says what to fix.
    const seen = new Set<string>();
    const problems: ConfigProblem[] = [];
    for (const p of found) {
      const path = formatPath(p.path);
      if (seen.has(path)) continue;
      seen.add(path);
      problems.push({ path, line: lineOf(doc, counter, p.path), message: p.message });
    }
    // In the file's order, so the report reads top to bottom.
    problems.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
    throw new ConfigError(file, problems);
  }
  return estate;
}

function describe(issue: { code: string; message: string; path: PropertyKey[] }): string {
  if (issue.code === 'invalid_union' && issue.path.at(-1) === 'kind') {
    return 'unknown kind: expected elevator, hydrant, firelane or water';
  }
  if (issue.code === 'invalid_union' && issue.path.at(-1) === 'type') {
    return 'unknown channel type: expected webhook, wecom, dingtalk or email';
  }
  const message = issue.message.replace(/^Invalid input: /, '');
  const missing = /^expected (\w+), received undefined$/.exec(message);
  if (missing) return `missing (expected ${missing[1] === 'object' ? 'a mapping' : missing[1] === 'array' ? 'a list' : `a ${missing[1]}`})`;
  return message;
}

export function loadEstate(file: string, env: NodeJS.ProcessEnv = process.env): Estate {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: `cannot read the file: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }]);
  }
  return parseEstate(text, file, env);
}
