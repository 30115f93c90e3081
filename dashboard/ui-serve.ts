/**
 * The web UI (`dashboard/ui/`, built by Vite into `dist/ui/`), served at `/`: a file of the
 * build when there is one, else `index.html` for the UI's own paths (`/sites/…`, `/alerts`),
 * so a reload or a shared link lands in the right view. The service's paths (`/api`, `/ack`,
 * `/socket.io`, `/healthz`, `/readyz`, `/metrics`) are never answered with the UI.
 *
 * Only a build made beforehand is served (`npm run build`, which `npm install` runs; `npm
 * start` builds what is missing first, scripts/ensure-build.mjs): the service never builds
 * anything and never writes here, so it starts on a read-only file system and where only the
 * production dependencies are installed. Without a build it says so in the log once, answers
 * the UI's paths with a page that says how to build it (503), and serves the build as soon as
 * one is there.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
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
const UI_INDEX = join(UI_DIR, 'index.html');
const SERVICE_PATH = /^\/(?:api|ack|socket\.io|healthz|readyz|metrics)(?:\/|$)/;

/** pino's logger, or anything that logs like it */
export interface UiLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * For the tests and tools that need the UI built (test/browser): builds it when it is missing
 * or older than its sources, by `node scripts/ensure-build.mjs ui` (Vite, from the dev
 * dependencies), and tells whether a build is there. The service itself never calls it.
 */
export function ensureUiBuilt(log: UiLog): boolean {
  try {
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'ensure-build.mjs'), 'ui'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000 });
    return existsSync(UI_INDEX);
  } catch (err) {
    const e = err as Error & { stderr?: Buffer };
    log.error({ err: (e.stderr?.toString() || e.message).slice(-2000) }, 'could not build the web UI (npm run build:ui shows why)');
    return existsSync(UI_INDEX);
  }
}

const NOT_BUILT = `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>Estate Sentinel</title></head>
<body style="font-family:system-ui,'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif;max-width:36rem;margin:3rem auto">
<p>界面尚未构建：请运行 <code>npm run build</code>（或 <code>npm run build:ui</code>）。</p><p>The web UI is not built: run <code>npm run build</code> (or <code>npm run build:ui</code>).</p></body></html>`;

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

/** The build is there when its index.html is. */
function built(): boolean {
  try {
    return statSync(UI_INDEX).isFile();
  } catch {
    return false;
  }
}

export function uiRoutes(app: FastifyInstance, deps: { log: UiLog }): void {
  if (!built()) {
    deps.log.error(
      { dir: UI_DIR },
      'the web UI is not built (dist/ui/index.html is missing): the API runs, the UI\'s pages answer 503 until it is built (npm run build, or npm run build:ui)',
    );
  }
  void app.register(fastifyStatic, { root: UI_DIR, serve: false });
  app.get('/*', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    if (SERVICE_PATH.test(path)) return reply.callNotFound();
    if (!built()) return reply.status(503).type('text/html; charset=utf-8').send(NOT_BUILT);
    const file = fileOf(path);
    // Vite names every asset by its content: cached for good. Everything else is checked each time.
    if (file && file !== 'index.html') return reply.sendFile(file, file.startsWith(`assets${sep}`) ? { maxAge: '365d', immutable: true } : { cacheControl: false });
    if (path.startsWith('/assets/')) return reply.callNotFound();
    return reply.header('cache-control', 'no-cache').sendFile('index.html', { cacheControl: false });
  });
}
