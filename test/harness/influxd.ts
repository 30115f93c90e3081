/**
 * A throwaway InfluxDB 1.x (Debian's `influxd`) on free ports with a temp data dir,
 * listening on 127.0.0.1 only. `stop()` and `start()` again keep the data, for outage tests.
 * `env` adds to influxd's environment, which overrides its configuration file
 * (`INFLUXDB_DATA_MAX_VALUES_PER_TAG=3`: `[data] max-values-per-tag = 3`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports.ts';

export interface Influxd {
  url: string;
  port: number;
  dir: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** removes the data dir too */
  destroy(): Promise<void>;
  query(q: string, db?: string): Promise<any>;
}

export async function startInfluxd(opts: { env?: Record<string, string> } = {}): Promise<Influxd> {
  if (process.env.INFLUX_URL) {
    if (opts.env) throw new Error('cannot set the environment of an external InfluxDB (INFLUX_URL is set)');
    const url = process.env.INFLUX_URL;
    return {
      url,
      port: Number(new URL(url).port),
      dir: '',
      start: async () => {},
      stop: async () => {
        throw new Error('cannot stop an external InfluxDB (INFLUX_URL is set)');
      },
      destroy: async () => {},
      query: (q, db) => query(url, q, db),
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'estate-influxd-'));
  const port = await freePort();
  const rpc = await freePort();
  const conf = join(dir, 'influxd.conf');
  writeFileSync(
    conf,
    `reporting-disabled = true
bind-address = "127.0.0.1:${rpc}"
[meta]
  dir = "${dir}/meta"
[data]
  dir = "${dir}/data"
  wal-dir = "${dir}/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:${port}"
  log-enabled = false
[monitor]
  store-enabled = false
[subscriber]
  enabled = false
[continuous_queries]
  enabled = false
[logging]
  level = "warn"
`,
  );
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const h: Influxd = {
    url,
    port,
    dir,
    async start() {
      child = spawn('influxd', ['-config', conf], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...opts.env } });
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
      const c = child;
      await waitFor(
        `influxd on ${url}`,
        async () => {
          if (c.exitCode !== null) throw new Error(`influxd exited: ${stderr}`);
          const r = await fetch(`${url}/ping`);
          return r.status === 204;
        },
        30_000,
      );
    },
    async stop() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        c.once('exit', () => resolve());
        c.kill('SIGTERM');
        setTimeout(() => c.kill('SIGKILL'), 5000).unref();
      });
    },
    async destroy() {
      await h.stop();
      rmSync(dir, { recursive: true, force: true });
    },
    query: (q, db) => query(url, q, db),
  };
  await h.start();
  return h;
}

async function query(url: string, q: string, db?: string): Promise<any> {
  const params = new URLSearchParams({ q, epoch: 'ms' });
  if (db) params.set('db', db);
  const r = await fetch(`${url}/query`, { method: 'POST', body: params });
  return r.json();
}
