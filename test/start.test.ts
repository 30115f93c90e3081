/**
 * `npm start` as an operator runs it: the compiled service (dist/main.js, never tsx or Vite),
 * started by npm through `sh -c … exec node …`, so that the SIGTERM (a container runtime, a
 * process manager) or SIGINT (Ctrl-C) npm forwards reaches the service itself. For each signal:
 * the service gets ready on the embedded defaults, stops cleanly when the npm process is
 * signalled, logs its stop, frees its ports, and leaves no process of its group behind (with
 * `sh -c node …` and no exec, the shell died and the service went on alone).
 *
 * Builds once if dist/ is missing or stale (scripts/ensure-build.mjs; about 20 s), then each
 * start takes a second or two; every wait is bounded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, dirname, join, resolve } from 'node:path';
import { freePort, sleep, waitFor } from './harness/ports.ts';
import { buildOnce, removeDir, tempDir } from './harness/service.ts';

const ROOT = resolve(import.meta.dirname, '..');

/** pid and command line of every process in process group `pgid` */
function group(pgid: number): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) !== pgid) continue;
      out.push({ pid: Number(name), cmd: readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim() });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** true when something accepts a TCP connection on 127.0.0.1:port */
function listening(port: number): Promise<boolean> {
  return new Promise((r) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), r(true)));
    s.once('error', () => r(false));
  });
}

describe('npm start', () => {
  const started: ChildProcess[] = [];
  const dirs: string[] = [];

  beforeAll(() => buildOnce(), 250_000);

  afterAll(async () => {
    for (const c of started) {
      try {
        process.kill(-c.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const d of dirs) removeDir(d);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('runs dist/main.js and stops cleanly on %s to the npm process, leaving nothing behind', async (signal) => {
    const dir = tempDir('estate-start-');
    dirs.push(dir);
    const [port, mqttPort] = [await freePort(), await freePort()];
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      // npm and the service on the Node that runs the tests
      PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
      DATA_DIR: join(dir, 'data'),
      PORT: String(port),
      HOST: '127.0.0.1',
      MQTT_PORT: String(mqttPort),
      LOG_LEVEL: 'info',
      npm_config_update_notifier: 'false',
    };
    for (const k of ['MQTT_URL', 'INFLUX_URL', 'OPERATIONAL_DB', 'CONFIG', 'SHARD']) delete env[k];
    // Its own process group, as a shell gives a command: the group is what must be empty at the end.
    const npm = spawn('npm', ['start'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(npm);
    const pgid = npm.pid!;
    let out = '';
    npm.stdout!.on('data', (d) => (out += d));
    npm.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => npm.once('exit', (code) => r(code)));

    await waitFor('/readyz 200', async () => {
      if (npm.exitCode !== null) throw new Error(`npm start exited ${npm.exitCode}: ${out}`);
      return (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200;
    }, 60_000, 50);

    // npm, and under it the service itself: no shell left between them, no tsx, no Vite.
    const procs = group(pgid);
    const service = procs.find((p) => / dist\/main\.js$/.test(p.cmd));
    expect(service, procs.map((p) => p.cmd).join('\n')).toBeDefined();
    expect(service!.cmd).toMatch(/node --max-semi-space-size=8 dist\/main\.js$/);
    expect(procs.filter((p) => p.pid !== pgid && p.pid !== service!.pid).map((p) => p.cmd)).toEqual([]);
    expect(procs.map((p) => p.cmd).join('\n')).not.toMatch(/tsx|vite/);

    process.kill(pgid, signal);
    const code = await Promise.race([exited, sleep(30_000).then(() => 'timeout' as const)]);
    expect(code, out).not.toBe('timeout');
    await waitFor('every process of the group gone', () => !groupAlive(pgid), 10_000, 20);

    const lines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; signal?: string });
    expect(lines.find((l) => l.msg === 'stopping')?.signal, out).toBe(signal);
    expect(lines.find((l) => l.msg === 'stopped')?.signal, out).toBe(signal);
    expect(code).toBe(0);
    expect(await listening(port)).toBe(false);
    expect(await listening(mqttPort)).toBe(false);
  }, 120_000);
});
