/**
 * `npm run bench -- --only start`: how long `npm start` takes from spawn to /readyz 200, and
 * how much memory it holds then, on the embedded defaults (Aedes broker on a free MQTT_PORT,
 * SQLite store, the demo estate) with a fresh DATA_DIR each run. Runs `npm start` in its own
 * process group, as a shell would, and stops it with SIGTERM to the npm process.
 *
 * For each run: start to ready (ms), the service's RSS (the node process that listens) and the
 * whole group's RSS (npm's own process stays as the parent: it is counted there), both read
 * from /proc when /readyz first answers 200 and again 5 s later; then the median of the runs.
 *
 *   npx tsx bench/start.ts [--runs 3] [--tree DIR]   # DIR: another checkout, e.g. to measure before a change
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, sleep } from '../test/harness/ports.ts';
import { groupProcesses, serviceProcess, type GroupProcess as Proc } from './npm-start.ts';
import { removeDir, tempDir } from '../test/harness/service.ts';

export interface StartRun {
  readyMs: number;
  serviceRssMb: number;
  groupRssMb: number;
  serviceRssSettledMb: number;
  groupRssSettledMb: number;
  processes: string[];
  /** SIGTERM to the npm process → npm gone */
  npmExitMs: number;
  /** SIGTERM to the npm process → no process of the group left (Infinity: some still there after 30 s) */
  stopMs: number;
  /** processes of the group still there when npm had exited */
  leftWhenNpmExited: string[];
}

type Figures = Omit<StartRun, 'processes' | 'leftWhenNpmExited'>;

export interface StartResult {
  runs: StartRun[];
  median: Figures;
  node: string;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

export async function measureStart(opts: { tree: string; runs: number; log?: (line: string) => void }): Promise<StartResult> {
  const runs: StartRun[] = [];
  for (let i = 0; i < opts.runs; i++) {
    const dir = tempDir('estate-bench-start-');
    const [port, mqttPort] = [await freePort(), await freePort()];
    const url = `http://127.0.0.1:${port}`;
    const t0 = performance.now();
    const npm = spawn('npm', ['start'], {
      cwd: opts.tree,
      detached: true,
      env: { ...process.env, DATA_DIR: join(dir, 'data'), PORT: String(port), HOST: '127.0.0.1', MQTT_PORT: String(mqttPort), LOG_LEVEL: 'warn', npm_config_update_notifier: 'false' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    npm.stderr!.on('data', (d) => (err = (err + d).slice(-4000)));
    const exited = new Promise<void>((r) => npm.once('exit', () => r()));
    const pgid = npm.pid!;
    try {
      let readyMs = 0;
      const deadline = Date.now() + 120_000;
      while (readyMs === 0) {
        if (npm.exitCode !== null) throw new Error(`npm start exited ${npm.exitCode}: ${err}`);
        if (Date.now() > deadline) throw new Error(`npm start not ready after 120 s: ${err}`);
        const r = await fetch(`${url}/readyz`).catch(() => undefined);
        if (r?.status === 200) readyMs = performance.now() - t0;
        else await sleep(25);
      }
      const at = groupProcesses(pgid);
      await sleep(5000);
      const settled = groupProcesses(pgid);
      const mb = (kb: number) => kb / 1024;
      const sum = (ps: Proc[]) => mb(ps.reduce((n, p) => n + p.rssKb, 0));
      const t1 = performance.now();
      process.kill(pgid, 'SIGTERM');
      await Promise.race([exited, sleep(30_000)]);
      const npmExitMs = performance.now() - t1;
      const leftWhenNpmExited = groupProcesses(pgid).map((p) => `${p.pid} ${p.cmd.slice(0, 100)}`);
      let stopMs = Infinity;
      while (performance.now() - t1 < 30_000) {
        if (groupProcesses(pgid).length === 0) {
          stopMs = performance.now() - t1;
          break;
        }
        await sleep(20);
      }
      const run: StartRun = {
        readyMs,
        serviceRssMb: mb(serviceProcess(at)?.rssKb ?? 0),
        groupRssMb: sum(at),
        serviceRssSettledMb: mb(serviceProcess(settled)?.rssKb ?? 0),
        groupRssSettledMb: sum(settled),
        processes: at.map((p) => `${p.pid} ${(p.rssKb / 1024).toFixed(0)} MB ${p.cmd.slice(0, 100)}`),
        npmExitMs,
        stopMs,
        leftWhenNpmExited,
      };
      runs.push(run);
      opts.log?.(`run ${i + 1}: ready ${run.readyMs.toFixed(0)} ms, service RSS ${run.serviceRssMb.toFixed(0)} MB (${run.serviceRssSettledMb.toFixed(0)} MB 5 s later), group ${run.groupRssMb.toFixed(0)} MB (${run.groupRssSettledMb.toFixed(0)} MB) in ${at.length} processes; SIGTERM to npm: npm gone in ${npmExitMs.toFixed(0)} ms, the group in ${stopMs.toFixed(0)} ms`);
      for (const p of run.processes) opts.log?.(`    ${p}`);
      if (leftWhenNpmExited.length > 0) opts.log?.(`    left when npm had exited: ${leftWhenNpmExited.join('; ')}`);
    } finally {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // the group is gone, as it should be
      }
      await Promise.race([exited, sleep(5000)]);
      removeDir(dir);
    }
  }
  const pick = (k: keyof Figures) => median(runs.map((r) => r[k]));
  const node = (await new Promise<string>((r) => {
    const c = spawn('node', ['--version'], { cwd: opts.tree, stdio: ['ignore', 'pipe', 'ignore'] });
    let v = '';
    c.stdout.on('data', (d) => (v += d));
    c.on('exit', () => r(v.trim()));
  })) || '?';
  return {
    runs,
    node,
    median: { readyMs: pick('readyMs'), serviceRssMb: pick('serviceRssMb'), groupRssMb: pick('groupRssMb'), serviceRssSettledMb: pick('serviceRssSettledMb'), groupRssSettledMb: pick('groupRssSettledMb'), npmExitMs: pick('npmExitMs'), stopMs: pick('stopMs') },
  };
}

export function describeStart(r: StartResult): string {
  const m = r.median;
  return `npm start on ${r.node}, median of ${r.runs.length}: start to ready ${m.readyMs.toFixed(0)} ms; RSS at ready: service ${m.serviceRssMb.toFixed(0)} MB, with npm's process ${m.groupRssMb.toFixed(0)} MB; 5 s later ${m.serviceRssSettledMb.toFixed(0)} MB and ${m.groupRssSettledMb.toFixed(0)} MB; SIGTERM to npm → npm gone ${m.npmExitMs.toFixed(0)} ms, every process of the group gone ${m.stopMs.toFixed(0)} ms${r.runs.some((x) => x.leftWhenNpmExited.length > 0) ? ' (processes outlived npm)' : ''}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, tree: { type: 'string', default: resolve(import.meta.dirname, '..') } } });
  const r = await measureStart({ tree: resolve(values.tree!), runs: Number(values.runs), log: (l) => console.log(l) });
  console.log(describeStart(r));
}
