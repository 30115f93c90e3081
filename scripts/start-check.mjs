// @ts-check
/**
 * `node scripts/start-check.mjs [DIR]` (.ci/run): `npm start` in DIR (default: this checkout)
 * on the embedded defaults, with a fresh DATA_DIR and free PORT and MQTT_PORT, must answer
 * /readyz 200 within 60 s, then stop on a SIGTERM to the npm process within 30 s, with its
 * "stopped" line logged and no process of its group left. Exit 0 and one line of figures when
 * all that holds; exit 1 with npm's output otherwise.
 *
 * Plain JavaScript with no dependency, so it runs in a production install (npm ci --omit=dev),
 * where there is no tsx and no vitest. test/start.test.ts checks the same in the suite.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const dir = resolve(process.argv[2] ?? join(import.meta.dirname, '..'));

/** @returns {Promise<number>} */
function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => res(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** @param {number} pgid */
function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

const data = mkdtempSync(join(tmpdir(), 'estate-start-check-'));
const [port, mqttPort] = [await freePort(), await freePort()];
/** @type {NodeJS.ProcessEnv} */
const env = { ...process.env, DATA_DIR: join(data, 'data'), PORT: String(port), HOST: '127.0.0.1', MQTT_PORT: String(mqttPort), LOG_LEVEL: 'info', npm_config_update_notifier: 'false' };
for (const k of ['MQTT_URL', 'INFLUX_URL', 'OPERATIONAL_DB', 'CONFIG', 'SHARD']) delete env[k];

const t0 = performance.now();
const npm = spawn('npm', ['start'], { cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
const pgid = /** @type {number} */ (npm.pid);
let out = '';
npm.stdout?.on('data', (d) => (out += d));
npm.stderr?.on('data', (d) => (out += d));
/** @type {Promise<number | null>} */
const exited = new Promise((r) => npm.once('exit', (code) => r(code)));

/** @param {string} why */
function fail(why) {
  process.stderr.write(`start-check (${dir}): ${why}\n--- npm start's output ---\n${out.slice(-6000)}\n`);
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // gone
  }
  rmSync(data, { recursive: true, force: true });
  process.exit(1);
}

let readyMs = 0;
while (!readyMs) {
  if (npm.exitCode !== null) fail(`npm start exited ${npm.exitCode} before it was ready`);
  if (performance.now() - t0 > 60_000) fail('not ready within 60 s');
  const r = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
  if (r?.status === 200) readyMs = performance.now() - t0;
  else await sleep(50);
}

const t1 = performance.now();
process.kill(pgid, 'SIGTERM');
const code = await Promise.race([exited, sleep(30_000).then(() => 'timeout')]);
if (code === 'timeout') fail('npm start did not stop within 30 s of SIGTERM');
while (groupAlive(pgid)) {
  if (performance.now() - t1 > 35_000) fail('npm exited but processes of its group are still there');
  await sleep(20);
}
const stopMs = performance.now() - t1;
const logged = out.split('\n').some((l) => {
  try {
    return JSON.parse(l).msg === 'stopped';
  } catch {
    return false;
  }
});
if (!logged) fail('the service did not log "stopped"');
if (code !== 0) fail(`npm start exited ${code} after SIGTERM`);
rmSync(data, { recursive: true, force: true });
process.stdout.write(`start-check (${dir}): ready in ${readyMs.toFixed(0)} ms on ${process.version}, stopped cleanly on SIGTERM in ${stopMs.toFixed(0)} ms, nothing left behind\n`);
