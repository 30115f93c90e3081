/**
 * A Mosquitto of the test's own on a free port on 127.0.0.1, with the settings a test
 * needs (persistence and queue sizes for "nothing lost" tests). Restartable.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort, onFreePort, waitFor } from './ports.ts';
import { connect } from 'node:net';

export interface MosquittoOptions {
  /** persistence true and no queue limit, as docs/interfaces.md#the-broker asks of a production broker */
  durable?: boolean;
  extra?: string;
  /** a TLS listener (the URL is then mqtts://) with these PEM files */
  tls?: { cafile: string; certfile: string; keyfile: string };
  /** logins from this password file only, and this ACL (no anonymous clients) */
  auth?: { passwordFile: string; aclFile: string };
}

export interface Mosquitto {
  url: string;
  port: number;
  start(): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<void>;
  destroy(): Promise<void>;
}

const MOSQUITTO = process.env.MOSQUITTO_BIN ?? (process.platform === 'linux' ? '/usr/sbin/mosquitto' : 'mosquitto');

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<Mosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'estate-mosquitto-'));
  let port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  const writeConf = () =>
    writeFileSync(
      conf,
      [
        `listener ${port} 127.0.0.1`,
        ...(opts.tls ? [`cafile ${opts.tls.cafile}`, `certfile ${opts.tls.certfile}`, `keyfile ${opts.tls.keyfile}`] : []),
        ...(opts.auth ? ['allow_anonymous false', `password_file ${opts.auth.passwordFile}`, `acl_file ${opts.auth.aclFile}`] : ['allow_anonymous true']),
        // As root, Mosquitto would drop to the user "mosquitto", who cannot write the temp dir.
        `user ${userInfo().username}`,
        ...(opts.durable
          ? ['persistence true', `persistence_location ${dir}/`, 'max_queued_messages 0', 'max_queued_bytes 0', 'autosave_interval 1']
          : ['persistence false']),
        opts.extra ?? '',
        '',
      ].join('\n'),
    );
  const urlOf = (p: number) => `${opts.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${p}`;
  let child: ChildProcess | undefined;
  let started = false;

  /** Starts mosquitto once; rejects at once if it exits, with its stderr. */
  async function launch(): Promise<void> {
    writeConf();
    const c = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    let stderr = '';
    c.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    const up = await waitFor(`mosquitto on ${port}`, () => {
      if (c.exitCode !== null) return 'exited';
      return new Promise<'up' | false>((resolve) => {
        const s = connect(port, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          // Its own "… running" line, so that another process listening on the port is not taken for it.
          resolve(c.exitCode === null && / running\b/.test(stderr) ? 'up' : false);
        });
        s.once('error', () => resolve(false));
      });
    });
    if (up === 'exited') throw new Error(`mosquitto exited: ${stderr}`);
  }

  const m: Mosquitto = {
    url: urlOf(port),
    port,
    async start() {
      // Mosquitto exits when its port was taken before it bound it: another one, until the caller has the URL.
      await onFreePort(launch, async (err) => {
        if (started || !/Address already in use/i.test(String(err))) return false;
        port = await freePort();
        m.port = port;
        m.url = urlOf(port);
        return true;
      });
      started = true;
    },
    async stop(signal = 'SIGTERM') {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        c.once('exit', () => resolve());
        c.kill(signal);
      });
    },
    async destroy() {
      await m.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await m.start();
  return m;
}
