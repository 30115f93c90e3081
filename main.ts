/**
 * `npm start`: reads the environment and the estate file, runs the service until SIGINT or
 * SIGTERM. A user's mistake (bad configuration, port taken) ends with one clear message
 * and a non-zero exit, never a stack trace.
 *
 * `npm start` runs the compiled file, `node --max-semi-space-size=8 dist/main.js`, through
 * `exec` (package.json): the shell npm starts the script with becomes this process, so a
 * SIGTERM or SIGINT that npm forwards reaches it (docs/deploy.md, "npm start").
 */
import { realpathSync } from 'node:fs';
import { ConfigError, EnvError, loadEstate, readEnv } from './config/index.ts';
import { BrokerPortError } from './ingest/index.ts';
import { createApp, type App } from './app.ts';
import { releaseStartMemory } from './memory.ts';

export async function run(): Promise<App> {
  const env = readEnv();
  const estate = loadEstate(env.CONFIG);
  const app = createApp({ env, estate });
  // The estate's parse and the parts' construction leave their garbage in V8's page pool;
  // returned before the parts start (memory.ts).
  const releasedMs = releaseStartMemory();
  app.log.debug({ ms: releasedMs }, 'start memory released');
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'stopping');
    const started = Date.now();
    app.stop().then(
      () => {
        app.log.info({ signal, ms: Date.now() - started }, 'stopped');
        process.exit(0);
      },
      (err) => {
        app.log.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  try {
    await app.start();
  } catch (err) {
    await app.stop().catch(() => undefined);
    throw err;
  }
  return app;
}

export function explainAndExit(err: unknown): never {
  if (err instanceof ConfigError || err instanceof EnvError || err instanceof BrokerPortError) {
    process.stderr.write(`estate-sentinel: ${err.message}\n`);
    process.exit(2);
  }
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'EADDRINUSE') {
    process.stderr.write(`estate-sentinel: the HTTP port is already taken (${e.message}); set PORT to a free one.\n`);
    process.exit(2);
  }
  process.stderr.write(`estate-sentinel: failed to start: ${e?.stack ?? String(err)}\n`);
  process.exit(1);
}

/** true when this file is the program (`node dist/main.js`, `node --import tsx main.ts`), not imported (demo.ts, tests) */
function isProgram(): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === import.meta.filename;
  } catch {
    return false;
  }
}

if (isProgram()) {
  run().catch(explainAndExit);
}
