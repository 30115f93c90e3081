/**
 * `npm run screenshots:demo`: `npm run demo` exactly as a newcomer runs it (embedded broker
 * and store, its simulated devices and story), on free ports, and after two minutes a PNG of
 * its alerts view and of its deliveries view at 1280×800 in docs/screenshots/ (demo-alerts.png,
 * demo-deliveries.png). `--after <seconds>` waits another time. What the story raises within
 * two minutes is in simulators/story.ts.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, tempDir } from '../harness/service.ts';
import { freePort, sleep, waitFor } from '../harness/ports.ts';
import { launch, openSignedIn } from './chromium.ts';

const { values } = parseArgs({ options: { after: { type: 'string', default: '120' } } });
const AFTER_MS = Number(values.after) * 1000;
const OUT = join(ROOT, 'docs', 'screenshots');

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const [port, mqttPort, hookPort] = [await freePort(), await freePort(), await freePort()];
  const base = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', MQTT_PORT: String(mqttPort), DEMO_HOOK_PORT: String(hookPort), DATA_DIR: join(tempDir('estate-demo-shots-'), 'data'), PUBLIC_URL: base };
  delete env.CONFIG;
  delete env.MQTT_URL;
  const demo = spawn('npm', ['run', 'demo'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'], detached: true });
  const stop = async () => {
    if (demo.exitCode !== null) return;
    process.kill(-demo.pid!, 'SIGINT');
    await new Promise((r) => demo.once('exit', r));
  };
  try {
    await waitFor('the demo', async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200, 120_000, 250);
    const started = Date.now();
    console.log(`demo ready at ${base}; screenshots in ${AFTER_MS / 1000} s`);
    await sleep(AFTER_MS);
    const browser = await launch();
    try {
      for (const [name, path] of [
        ['demo-alerts', '/alerts'],
        ['demo-deliveries', '/deliveries'],
      ] as const) {
        const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
        await openSignedIn(page, base, 'demo-admin', path);
        await page.waitForSelector('table tbody tr', { timeout: 20_000 });
        await sleep(800);
        await page.screenshot({ path: join(OUT, `${name}.png`) });
        console.log(`docs/screenshots/${name}.png (${Math.round((Date.now() - started) / 1000)} s after ready)`);
        await page.close();
      }
    } finally {
      await browser.close();
    }
  } finally {
    await stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
