/**
 * The web UI (`dashboard/ui/`, built by Vite into `dist/ui/`), served at `/`: a file of the
 * build when there is one, else `index.html` for the UI's own paths (`/sites/…`, `/alerts`),
 * so a reload or a shared link lands in the right view. The service's paths (`/api`, `/ack`,
 * `/socket.io`, `/healthz`, `/readyz`, `/metrics`) are never answered with the UI.
 *
 * A fresh clone has no build: the first start builds it, synchronously, before it listens,
 * and says so in the log. A build older than its sources is built again the same way.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, normalize, sep } from 'node:path';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return from;
  }
}

/** The project's root (also when running from `dist/`). */
const ROOT = findRoot(import.meta.dirname);
export const UI_DIR = join(ROOT, 'dist', 'ui');
const UI_SOURCES = join(ROOT, 'dashboard', 'ui');
/** Files outside dashboard/ui that the UI bundles: the metric catalog and the rule names. */
const SHARED_SOURCES = [join(ROOT, 'config', 'catalog.ts'), join(ROOT, 'alerts', 'summary.ts')];
const SERVICE_PATH = /^\/(?:api|ack|socket\.io|healthz|readyz|metrics)(?:\/|$)/;

/** pino's logger, or anything that logs like it */
export interface UiLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (!e.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** `missing`, `stale` (a source is newer than the build) or `fresh`; `fresh` too when the sources are not there (a deployment of the build alone). */
export function uiBuildState(): 'missing' | 'stale' | 'fresh' {
  const index = join(UI_DIR, 'index.html');
  if (!existsSync(index)) return 'missing';
  if (!existsSync(UI_SOURCES)) return 'fresh';
  const sources = Math.max(newestSource(UI_SOURCES), ...SHARED_SOURCES.filter(existsSync).map((f) => statSync(f).mtimeMs));
  return sources > statSync(index).mtimeMs ? 'stale' : 'fresh';
}

/**
 * Builds the UI into `dist/ui` when it is missing or stale; true when a build is there.
 * Built into a temporary folder and swapped in, so that two processes starting at once
 * (parallel tests) never serve half a build.
 */
export function ensureUiBuilt(log: UiLog): boolean {
  const state = uiBuildState();
  if (state === 'fresh') return true;
  log.info({ dir: UI_DIR }, state === 'missing' ? 'building the web UI: dist/ui is missing' : 'building the web UI again: its sources changed');
  const started = Date.now();
  mkdirSync(dirname(UI_DIR), { recursive: true });
  const tmp = mkdtempSync(join(dirname(UI_DIR), '.ui-build-'));
  try {
    const vite = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
    execFileSync(process.execPath, [vite, 'build', '--config', join(UI_SOURCES, 'vite.config.ts'), '--outDir', tmp, '--emptyOutDir', '--logLevel', 'error'], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 300_000,
    });
    const old = `${tmp}-old`;
    if (existsSync(UI_DIR)) renameSync(UI_DIR, old);
    renameSync(tmp, UI_DIR);
    rmSync(old, { recursive: true, force: true });
    log.info({ dir: UI_DIR, ms: Date.now() - started }, 'built the web UI');
    return true;
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (existsSync(join(UI_DIR, 'index.html'))) return true;
    const e = err as Error & { stderr?: Buffer };
    log.error({ err: (e.stderr?.toString() || e.message).slice(0, 2000) }, 'could not build the web UI; the API runs without it (npm run build:ui shows why)');
    return false;
  }
}

const NOT_BUILT = `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>Estate Sentinel</title></head>
<body style="font-family:system-ui,'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif;max-width:36rem;margin:3rem auto">
<p>界面尚未构建：请运行 <code>npm run build:ui</code>，日志中有原因。</p><p>The web UI is not built: run <code>npm run build:ui</code>; the log says why.</p></body></html>`;

/** A path of the request inside the build, or undefined when it names no file there. */
function fileOf(urlPath: string): string | undefined {
  let rel: string;
  try {
    rel = normalize(decodeURIComponent(urlPath)).replace(/^[/\\]+/, '');
  } catch {
    return undefined;
  }
  if (rel === '' || rel.startsWith('..') || rel.includes(`${sep}..${sep}`)) return undefined;
  try {
    return statSync(join(UI_DIR, rel)).isFile() ? rel : undefined;
  } catch {
    return undefined;
  }
}

export function uiRoutes(app: FastifyInstance, deps: { log: UiLog }): void {
  const built = ensureUiBuilt(deps.log);
  void app.register(fastifyStatic, { root: UI_DIR, serve: false });
  app.get('/*', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    if (SERVICE_PATH.test(path)) return reply.callNotFound();
    if (!built) return reply.status(503).type('text/html; charset=utf-8').send(NOT_BUILT);
    const file = fileOf(path);
    // Vite names every asset by its content: cached for good. Everything else is checked each time.
    if (file && file !== 'index.html') return reply.sendFile(file, file.startsWith(`assets${sep}`) ? { maxAge: '365d', immutable: true } : { cacheControl: false });
    if (path.startsWith('/assets/')) return reply.callNotFound();
    return reply.header('cache-control', 'no-cache').sendFile('index.html', { cacheControl: false });
  });
}
