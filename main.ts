/**
 * `npm start`: reads the environment and the estate file, runs the service until SIGINT or
 * SIGTERM. A user's mistake (bad configuration, port taken) ends with one clear message
 * and a non-zero exit, never a stack trace.
 */
import { ConfigError, EnvError, loadEstate, readEnv } from './config/index.ts';
import { BrokerPortError } from './ingest/index.ts';
import { createApp, type App } from './app.ts';

export async function run(): Promise<App> {
  const env = readEnv();
  const estate = loadEstate(env.CONFIG);
  const app = createApp({ env, estate });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'stopping');
    app.stop().then(
      () => process.exit(0),
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

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/main.ts')) {
  run().catch(explainAndExit);
}
