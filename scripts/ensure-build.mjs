// @ts-check
/**
 * The build that `npm start`, `npm run demo` and `npm run simulate` run, made when it is
 * missing or older than its sources: `node scripts/ensure-build.mjs start|prepare|ui`.
 *
 * Two parts, each checked and built on its own:
 * - the service: TypeScript compiled by tsc (tsconfig.build.json) into dist/, checked by
 *   dist/main.js against every .ts the build compiles and the tsconfigs;
 * - the web UI: Vite's bundle in dist/ui, checked by dist/ui/index.html against dashboard/ui
 *   and the files of config/ and alerts/ it bundles. Built into a temporary folder and swapped
 *   in, so that a service serving dist/ui meanwhile never sees half a build.
 *
 * `prepare` (npm install, npm ci): builds what is missing or stale; with the build tools not
 * installed (`npm ci --omit=dev`) or no sources (a deployment of dist/ alone) it says so and
 * leaves the install alone. `start`: the same, but with no dist/main.js and no way to build it,
 * it fails with the reason (exit 1); a stale build that cannot be made again (no tools, a
 * read-only file system) is started as it is, with a warning. `ui`: the web UI only (tests).
 *
 * Plain JavaScript, no dependency: it runs before anything is compiled, and where only the
 * production dependencies are installed. It never runs at the service's run time: the service
 * (dist/main.js) only serves what is built (dashboard/ui-serve.ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const UI_DIR = join(DIST, 'ui');
/** the folders tsconfig.build.json compiles (besides the root's *.ts) */
const SERVICE_DIRS = ['config', 'ingest', 'storage', 'alerts', 'dashboard', 'reports', 'simulators', 'scripts'];
/** what the web UI bundles besides dashboard/ui (dashboard/ui/vite.config.ts) */
const UI_SHARED = ['config', join('alerts', 'summary.ts')];

/** @param {string} line */
const say = (line) => process.stderr.write(`estate-sentinel build: ${line}\n`);

/** @param {string} p */
function mtime(p) {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * The newest mtime of the files under `p` that `keep` accepts (p itself when it is a file).
 * @param {string} p
 * @param {(name: string) => boolean} keep
 * @returns {number}
 */
function newest(p, keep) {
  let st;
  try {
    st = statSync(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return keep(p) ? st.mtimeMs : 0;
  let n = 0;
  for (const e of readdirSync(p, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    n = Math.max(n, newest(join(p, e.name), keep));
  }
  return n;
}

/** @param {string} name */
const isSource = (name) => name.endsWith('.ts') && !name.endsWith('.test.ts');

function serviceSources() {
  const rootTs = readdirSync(ROOT).filter((f) => isSource(f) && f !== 'vitest.config.ts').map((f) => join(ROOT, f));
  const files = [...rootTs, join(ROOT, 'tsconfig.json'), join(ROOT, 'tsconfig.build.json')];
  const ui = join(ROOT, 'dashboard', 'ui');
  return Math.max(
    ...files.map(mtime),
    ...SERVICE_DIRS.map((d) => newest(join(ROOT, d), (f) => isSource(f) && !f.startsWith(ui + '/'))),
  );
}

function uiSources() {
  return Math.max(newest(join(ROOT, 'dashboard', 'ui'), (f) => !f.endsWith('.test.ts')), ...UI_SHARED.map((d) => newest(join(ROOT, d), isSource)));
}

/**
 * `missing`, `stale` or `fresh`; `fresh` when the sources are not there (a deployment of dist/ alone).
 * @param {'service' | 'ui'} part
 */
function state(part) {
  const out = part === 'service' ? join(DIST, 'main.js') : join(UI_DIR, 'index.html');
  if (!existsSync(out)) return 'missing';
  if (!existsSync(join(ROOT, 'main.ts'))) return 'fresh';
  return (part === 'service' ? serviceSources() : uiSources()) > mtime(out) ? 'stale' : 'fresh';
}

/** @param {string} pkg the package whose bin to find, e.g. typescript/bin/tsc */
function tool(pkg) {
  try {
    return createRequire(join(ROOT, 'package.json')).resolve(pkg);
  } catch {
    return undefined;
  }
}

/**
 * @param {string} what
 * @param {string[]} args
 */
function run(what, args) {
  const started = Date.now();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000 });
  if (r.status === 0) {
    say(`${what} built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return true;
  }
  say(`${what}: the build failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`})`);
  return false;
}

function buildService() {
  const tsc = tool('typescript/bin/tsc');
  if (!tsc) return undefined;
  return run('the service (tsc -p tsconfig.build.json → dist/)', [tsc, '-p', join(ROOT, 'tsconfig.build.json')]);
}

function buildUi() {
  const vitePkg = tool('vite/package.json');
  if (!vitePkg) return undefined;
  const vite = join(dirname(vitePkg), 'bin', 'vite.js');
  let tmp;
  try {
    mkdirSync(DIST, { recursive: true });
    tmp = mkdtempSync(join(DIST, '.ui-build-'));
  } catch (err) {
    say(`the web UI: cannot write into dist/ (${/** @type {Error} */ (err).message})`);
    return false;
  }
  const ok = run('the web UI (vite → dist/ui)', [vite, 'build', '--config', join(ROOT, 'dashboard', 'ui', 'vite.config.ts'), '--outDir', tmp, '--emptyOutDir', '--logLevel', 'warn']);
  try {
    if (ok) {
      const old = `${tmp}-old`;
      if (existsSync(UI_DIR)) renameSync(UI_DIR, old);
      renameSync(tmp, UI_DIR);
      rmSync(old, { recursive: true, force: true });
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return ok;
}

/**
 * Builds one part when needed. True when a build is there afterwards (fresh, or stale and kept).
 * @param {'service' | 'ui'} part
 */
function ensure(part) {
  const s = state(part);
  if (s === 'fresh') return true;
  const name = part === 'service' ? 'dist/main.js' : 'dist/ui';
  if (!existsSync(join(ROOT, 'main.ts'))) {
    say(`${name} is missing and there are no sources to build it from`);
    return false;
  }
  say(s === 'missing' ? `${name} is missing: building it` : `${name} is older than its sources: building it again`);
  const built = part === 'service' ? buildService() : buildUi();
  if (built) return true;
  if (built === undefined) {
    say(`the build tools are not installed (an install without dev dependencies, npm ci --omit=dev): run npm run build on a full install (npm ci) first${s === 'stale' ? `; ${name} is used as it is` : ''}`);
  } else if (s === 'stale') {
    say(`${name} is used as it is`);
  }
  return s === 'stale';
}

const mode = /** @type {'start' | 'prepare' | 'ui'} */ (process.argv[2] ?? 'start');
if (!['start', 'prepare', 'ui'].includes(mode)) {
  say(`usage: node scripts/ensure-build.mjs start|prepare|ui (not ${mode})`);
  process.exit(2);
}
if (mode === 'ui') {
  process.exit(ensure('ui') ? 0 : 1);
}
if (mode === 'prepare' && !existsSync(join(ROOT, 'main.ts'))) {
  // npm ci before the sources are there (the Dockerfile's first layer): nothing to build yet.
  process.exit(0);
}
const service = ensure('service');
const ui = ensure('ui');
if (mode === 'start') {
  if (!service) {
    say('cannot start: dist/main.js is missing (npm run build makes it; npm install runs it)');
    process.exit(1);
  }
  if (!ui) say('the web UI is not built: the service starts without it (npm run build:ui makes it)');
}
process.exit(0);
