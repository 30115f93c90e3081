/**
 * The service as the benchmarks run it: through `npm start`, exactly what an operator runs
 * (package.json: `node scripts/ensure-build.mjs start && exec node --max-semi-space-size=8
 * dist/main.js`), in its own process group. After the `exec` the service is npm's child
 * itself, so its pid is the one measured (CPU from /proc/<pid>/stat, RSS, VmHWM); npm's own
 * process stays as its parent for as long as it runs, and `groupRssMb()` counts it too.
 *
 * Node flags beyond the start script's (`--node-args`, e.g. `--max-old-space-size=160` for
 * the soak) reach the service through NODE_OPTIONS; the inherited NODE_OPTIONS is dropped, so
 * the service starts as from a clean shell.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { delimiter, dirname } from 'node:path';
import { sleep } from '../test/harness/ports.ts';

export interface GroupProcess {
  pid: number;
  ppid: number;
  rssKb: number;
  cmd: string;
}

/** Every process whose process group is `pgid`, with its RSS (VmRSS). */
export function groupProcesses(pgid: number): GroupProcess[] {
  const out: GroupProcess[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[2]) !== pgid) continue;
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${name}/status`, 'utf8'));
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      out.push({ pid: Number(name), ppid: Number(f[1]), rssKb: Number(rss?.[1] ?? 0), cmd });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The group's process that runs the service (node … dist/main.js, or main.ts in an older tree). */
export function serviceProcess(procs: GroupProcess[]): GroupProcess | undefined {
  return procs.find((p) => /^\S*node /.test(p.cmd) && /(?:^|[ /])main\.(?:js|ts)$/.test(p.cmd));
}

export interface NpmStarted {
  /** the npm process (the group's leader) */
  npm: ChildProcess;
  /** the service's own process */
  pid: number;
  /** RSS of every process of the group, npm's included */
  groupRssMb(): number;
  /** SIGTERM to the npm process, as a shell or a process manager sends it; resolves when the whole group is gone */
  stop(): Promise<void>;
}

export async function npmStart(opts: { root: string; env: Record<string, string>; nodeArgs?: readonly string[]; stdio?: 'inherit' | 'ignore' }): Promise<NpmStarted> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // npm, the build check and the service on the Node that runs the bench
    PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
    npm_config_update_notifier: 'false',
    ...opts.env,
  };
  delete env.NODE_OPTIONS;
  if (opts.nodeArgs && opts.nodeArgs.length > 0) env.NODE_OPTIONS = opts.nodeArgs.join(' ');
  const io = opts.stdio ?? 'inherit';
  const npm = spawn('npm', ['start', '--silent'], { cwd: opts.root, env, detached: true, stdio: ['ignore', io, io] });
  const pgid = npm.pid!;
  const exited = new Promise<void>((r) => (npm.exitCode !== null ? r() : npm.once('exit', () => r())));
  let pid = 0;
  const deadline = Date.now() + 180_000;
  while (!pid) {
    if (npm.exitCode !== null) throw new Error(`npm start exited ${npm.exitCode}`);
    if (Date.now() > deadline) throw new Error('npm start: no service process after 180 s');
    pid = serviceProcess(groupProcesses(pgid))?.pid ?? 0;
    if (!pid) await sleep(20);
  }
  const gone = () => groupProcesses(pgid).length === 0;
  return {
    npm,
    pid,
    groupRssMb: () => groupProcesses(pgid).reduce((n, p) => n + p.rssKb, 0) / 1024,
    async stop() {
      if (!gone()) {
        try {
          process.kill(pgid, 'SIGTERM');
        } catch {
          // npm already gone
        }
      }
      await Promise.race([exited, sleep(30_000)]);
      for (let i = 0; i < 250 && !gone(); i++) await sleep(20);
      if (!gone()) {
        try {
          process.kill(-pgid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
        throw new Error('npm start left processes behind after SIGTERM');
      }
    },
  };
}
