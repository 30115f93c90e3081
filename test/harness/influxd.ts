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
import { freePort, onFreePort, waitFor } from './ports.ts';

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
  let port = await freePort();
  // influxd's RPC port (backup and restore), which nothing here uses but influxd always opens.
  let rpc = await freePort();
  const conf = join(dir, 'influxd.conf');
  const writeConf = () =>
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
  let child: ChildProcess | undefined;
  let started = false;

  /** Starts influxd once; rejects at once if it exits, with its stderr. */
  async function launch(): Promise<void> {
    writeConf();
    const c = spawn('influxd', ['-config', conf], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...opts.env } });
    child = c;
    let stderr = '';
    c.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    const up = await waitFor(
      `influxd on ${h.url}`,
      async () => {
        if (c.exitCode !== null) return 'exited';
        const r = await fetch(`${h.url}/ping`);
        return r.status === 204 ? 'up' : false;
      },
      30_000,
    );
    if (up === 'exited') throw new Error(`influxd exited: ${stderr}`);
  }

  const h: Influxd = {
    url: `http://127.0.0.1:${port}`,
    port,
    dir,
    async start() {
      // influxd exits when a port was taken before it bound it: another RPC port always, another
      // HTTP port only until the caller has the URL (not for a restart in an outage test).
      await onFreePort(launch, async (err) => {
        const taken = /listen tcp 127\.0\.0\.1:(\d+): bind: address already in use/.exec(String(err));
        if (taken && Number(taken[1]) === rpc) rpc = await freePort();
        else if (taken && !started) {
          port = await freePort();
          h.port = port;
          h.url = `http://127.0.0.1:${port}`;
        } else return false;
        return true;
      });
      started = true;
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
    query: (q, db) => query(h.url, q, db),
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
