/**
 * The whole service for a test: in-process (`startService`) or as a child process that a
 * test can SIGKILL (`spawnService`). Each gets its own DATA_DIR and free ports.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { readEnv, type Estate } from '../../config/index.ts';
import { createApp, type App } from '../../app.ts';
import { freePort, waitFor } from './ports.ts';
import { freshDatabase } from '../../storage/operational/testing/postgres.ts';

/**
 * `ESTATE_TEST_STORE=postgres` runs every in-process service of the suite on PostgreSQL (a
 * fresh database each, dropped when it stops) instead of its SQLite file, so the same suite
 * proves both operational stores (.ci/run does both).
 */
const TEST_STORE = process.env.ESTATE_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';

export const ROOT = resolve(import.meta.dirname, '../..');

export interface ServiceOptions {
  env?: Record<string, string | undefined>;
  estate?: Estate;
  dataDir?: string;
  /** AppOptions.drainMs: how long a stop keeps the server answering, unready */
  drainMs?: number;
  /** the app, made and not yet started (a test that watches what it does from its first message) */
  made?: (app: App) => void;
}

export interface TestService {
  app: App;
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

export function tempDir(prefix = 'estate-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startService(opts: ServiceOptions = {}): Promise<TestService> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? tempDir();
  const port = await freePort();
  // A service on PostgreSQL keeps its database with its data dir: one per data dir, dropped with it.
  const pg = TEST_STORE === 'postgres' && !opts.env?.OPERATIONAL_DB ? await databaseFor(dataDir) : undefined;
  const env = readEnv({
    CONFIG: join(ROOT, 'config/estate.yaml'),
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    MQTT_PORT: opts.env?.MQTT_URL ? undefined : String(await freePort()),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    MQTT_CLIENT_ID: `estate-test-${process.pid}-${port}`,
    STORE_FLUSH_MS: '50',
    ...(pg ? { OPERATIONAL_DB: pg.url } : {}),
    ...opts.env,
  });
  const app = createApp({ env, ...(opts.estate ? { estate: opts.estate } : {}), ...(opts.drainMs ? { drainMs: opts.drainMs } : {}), log: pino({ level: env.LOG_LEVEL }) });
  opts.made?.(app);
  await app.start();
  // Ready (it can serve) and subscribed: a test's devices publish at once, and the broker keeps
  // nothing for a session that does not exist yet.
  await waitFor('the service to be ready and connected to the broker', () => app.readiness().ready && app.readiness().broker.connected, 20_000);
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    dataDir,
    async stop() {
      await app.stop();
      // A data dir the harness made is the harness's to remove (and its database with it).
      if (ownDir) {
        rmSync(dataDir, { recursive: true, force: true });
        await dropDatabaseOf(dataDir);
      }
    },
  };
}

const databases = new Map<string, Awaited<ReturnType<typeof freshDatabase>>>();

async function databaseFor(dataDir: string): Promise<{ url: string }> {
  let db = databases.get(dataDir);
  if (!db) databases.set(dataDir, (db = await freshDatabase()));
  return db;
}

async function dropDatabaseOf(dataDir: string): Promise<void> {
  const db = databases.get(dataDir);
  databases.delete(dataDir);
  await db?.drop();
}

export interface ChildService {
  url: string;
  child: ChildProcess;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Runs the service in a child process, ready when /readyz answers 200 with the broker
 * connected: `main.ts` through tsx, or with `compiled` what `npm start` runs (dist/main.js,
 * which the caller has built: buildOnce), which starts in about half the time.
 */
export async function spawnService(env: Record<string, string>, opts: { compiled?: boolean } = {}): Promise<ChildService> {
  const port = env.PORT ?? String(await freePort());
  const args = opts.compiled ? ['--max-semi-space-size=8', join(ROOT, 'dist', 'main.js')] : ['--import', 'tsx', join(ROOT, 'main.ts')];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', HOST: '127.0.0.1', ...env, PORT: port },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out = (out + d).slice(-20_000)));
  child.stderr!.on('data', (d) => (out = (out + d).slice(-20_000)));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`service on ${url}`, async () => {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`service exited ${child.signalCode ?? child.exitCode}: ${out}`);
    const r = await fetch(`${url}/readyz`).catch(() => undefined);
    return r?.status === 200 && ((await r.json()) as { broker: { connected: boolean } }).broker.connected;
  }, 60_000, 100);
  return {
    url,
    child,
    output: () => out,
    kill: (signal = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}

/** Builds dist/ when it is missing or older than its sources (scripts/ensure-build.mjs), as `npm start` does. */
export function buildOnce(): void {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'ensure-build.mjs'), 'start'], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
  if (r.status !== 0) throw new Error(`scripts/ensure-build.mjs failed: ${r.stderr || r.stdout}`);
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  void dropDatabaseOf(dir);
}
