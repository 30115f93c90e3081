/**
 * The simulators against a real Mosquitto and the whole service (embedded store): what a
 * fleet publishes is accepted without a single reject; a broker outage loses nothing (each
 * device buffers and replays, every reading lands exactly once); the CLI refuses a bad
 * option with exit code 2 and runs a site end to end; `npm run demo` explains a taken port.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { startMosquitto, type Mosquitto } from './harness/mosquitto.ts';
import { ROOT, removeDir, startService, tempDir, type TestService } from './harness/service.ts';
import { freePort, waitFor } from './harness/ports.ts';
import { Fleet } from '../simulators/index.ts';

const ADMIN = { authorization: 'Bearer demo-admin' };
let broker: Mosquitto;
let svc: TestService;

beforeAll(async () => {
  // Durable, so the service's persistent session and its backlog survive the broker's restart.
  broker = await startMosquitto({ durable: true });
  svc = await startService({ env: { MQTT_URL: broker.url } });
});

afterAll(async () => {
  await svc?.stop();
  await broker?.destroy();
  if (svc) removeDir(svc.dataDir);
});

interface Reject {
  reason: string;
  topic: string;
  detail: string;
}

async function rejectsFor(site: string): Promise<Reject[]> {
  const r = await fetch(`${svc.url}/api/ingest/rejects?limit=1000`, { headers: ADMIN });
  expect(r.status).toBe(200);
  return ((await r.json()) as { items: Reject[] }).items.filter((i) => i.topic.startsWith(`estate/${site}/`));
}

/** Waits until the store holds exactly the readings each device made in this run, one point per reading. */
async function expectAllStored(fleet: Fleet): Promise<void> {
  for (const d of fleet.devices) {
    const count = () => svc.app.store.count(d.spec.kind, 'battery_pct', { device: d.spec.id, from: d.stats.firstTs!, to: d.stats.lastTs! + 1 });
    await waitFor(`${d.stats.generated} readings of ${d.spec.id} in the store`, async () => (await count()) === d.stats.generated, 30_000, 100).catch(async (err: Error) => {
      const stored = await count();
      throw new Error(`${err.message} (stored ${stored}, stats ${JSON.stringify(d.stats)})`);
    });
  }
}

function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('a fleet on a real broker', () => {
  it('publishes readings of every kind that the service takes without a reject', async () => {
    // The hook is how scenarios will script faults: here HY-02 reports a fixed pressure.
    const fleet = new Fleet({
      estate: svc.app.estate,
      mqttUrl: broker.url,
      sites: ['jinfo-garden'],
      rateHz: 10,
      seed: 5,
      hook: (r) => (r.device.id === 'HY-02' ? { ...r.metrics, pressure_mpa: 0.123 } : undefined),
    });
    fleet.start();
    try {
      expect(await fleet.waitConnected(30_000)).toBe(true);
      await waitFor('a few readings per device', () => fleet.devices.every((d) => d.stats.sent >= 20), 30_000);
    } finally {
      await fleet.stop();
    }
    for (const [kind, metric] of [['elevator', 'speed_mps'], ['hydrant', 'pressure_mpa'], ['firelane', 'occupied'], ['water', 'chlorine_mgl']] as const) {
      await waitFor(`${kind} ${metric} in the store`, async () => (await svc.app.store.count(kind, metric)) > 0, 20_000);
    }
    await expectAllStored(fleet);
    expect(await rejectsFor('jinfo-garden')).toEqual([]);
    const latest = await svc.app.store.latest('hydrant', ['HY-06', 'HY-02']);
    expect(latest.get('HY-06')?.fields.pressure_mpa).toBeGreaterThan(0.07);
    expect(latest.get('HY-02')?.fields.pressure_mpa).toBe(0.123);
  });

  it('buffers through a broker outage and replays in order: every reading lands exactly once', async () => {
    // A watcher with a persistent session sees the order in which HY-01's readings reach the broker.
    const watcher = await mqtt.connectAsync(broker.url, { clientId: `watch-${process.pid}`, protocolVersion: 4, clean: false, reconnectPeriod: 200 });
    const seen: number[] = [];
    watcher.on('message', (_topic, payload) => {
      const body = JSON.parse(payload.toString()) as { seq: number } | { seq: number }[];
      for (const r of Array.isArray(body) ? body : [body]) seen.push(r.seq);
    });
    await watcher.subscribeAsync('estate/jinfo-garden/hydrant/HY-01/telemetry', { qos: 1 });
    const fleet = new Fleet({ estate: svc.app.estate, mqttUrl: broker.url, sites: ['jinfo-garden'], rateHz: 5, seed: 6, reconnectPeriodMs: 200 });
    fleet.start();
    const dev = fleet.device('HY-01')!;
    try {
      expect(await fleet.waitConnected(30_000)).toBe(true);
      await waitFor('readings before the outage', () => dev.stats.sent >= 5, 20_000);
      await broker.stop();
      await waitFor('the devices to notice the outage', () => fleet.devices.every((d) => !d.connected), 20_000);
      const during = dev.stats.generated;
      await waitFor('readings buffered during the outage', () => dev.stats.generated >= during + 10 && dev.stats.buffered >= 10, 20_000);
      await broker.start();
      expect(await fleet.waitConnected(30_000)).toBe(true);
      const after = dev.stats.generated;
      await waitFor('readings after the outage', () => dev.stats.generated >= after + 5, 20_000);
    } finally {
      await fleet.stop();
    }
    await waitFor('the watcher to see every reading', () => new Set(seen).size === dev.stats.generated, 20_000).finally(() => watcher.endAsync());
    // In order: a QoS 1 resend of a message in flight at the outage may repeat a seq, never reorder new ones.
    const firsts = seen.filter((seq, i) => seen.indexOf(seq) === i);
    expect(firsts).toEqual([...firsts].sort((a, b) => a - b));
    expect(dev.stats.replayed).toBeGreaterThanOrEqual(10);
    expect(fleet.summary().dropped).toBe(0);
    expect(fleet.summary().buffered).toBe(0);
    await expectAllStored(fleet);
    // Each seq once: the stored points are exactly the device's seq range, one per reading.
    expect(dev.stats.lastSeq! - dev.stats.firstSeq! + 1).toBe(dev.stats.generated);
    expect(await rejectsFor('jinfo-garden')).toEqual([]);
  });
});

describe('the simulator CLI', () => {
  it('refuses a bad option with one line and exit code 2', async () => {
    const r = await runCli(['simulators/cli.ts', '--rate', 'abc']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--rate abc/);
    const sites = await runCli(['simulators/cli.ts', '--sites', 'atlantis']);
    expect(sites.code).toBe(2);
    expect(sites.stderr).toMatch(/unknown site atlantis; the estate file has jinfo-garden, nancheng-mansion/);
  });

  it('runs one site for a duration, leaves cleanly and says what it sent', async () => {
    const r = await runCli(['simulators/cli.ts', '--mqtt', broker.url, '--sites', 'nancheng-mansion', '--rate', '5', '--duration', '3s', '--seed', '3']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/28 devices, \d+ readings published/);
    await waitFor('the CLI readings in the store', async () => (await svc.app.store.count('water', 'ph', { device: 'NC-WS-01' })) > 0, 20_000);
    expect(await rejectsFor('nancheng-mansion')).toEqual([]);
  });
});

describe('npm run demo', () => {
  it('explains a taken MQTT port, with the two ways to proceed, and exits non-zero', async () => {
    const dataDir = tempDir();
    try {
      const r = await runCli(['demo.ts'], {
        MQTT_PORT: String(broker.port),
        PORT: String(await freePort()),
        DEMO_HOOK_PORT: String(await freePort()),
        DATA_DIR: dataDir,
        CONFIG: join(ROOT, 'config/estate.yaml'),
      });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/already taken/);
      expect(r.stderr).toContain(`MQTT_URL=mqtt://127.0.0.1:${broker.port} npm run demo`);
      expect(r.stderr).toMatch(/MQTT_PORT=\d+ npm run demo/);
    } finally {
      removeDir(dataDir);
    }
  });

  it('runs the service with the simulators and its story (a trapping announced within 30 s), and on SIGINT stops the service before the devices', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'demo.ts'], {
      cwd: ROOT,
      env: { ...process.env, MQTT_PORT: String(await freePort()), PORT: String(port), DEMO_HOOK_PORT: String(await freePort()), DATA_DIR: dataDir, HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor('the demo banner', () => {
        if (child.exitCode !== null) throw new Error(`demo exited: ${out}`);
        return out.includes('/readyz') && out.includes('demo-admin');
      }, 60_000);
      await waitFor('stored readings', async () => {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        return Number(/^estate_readings_stored_total (\d+)/m.exec(text)?.[1] ?? 0) >= 58; // as many as the demo estate has devices
      }, 30_000, 200);
      const rejects = (await (await fetch(`http://127.0.0.1:${port}/api/ingest/rejects`, { headers: ADMIN })).json()) as { items: unknown[] };
      expect(rejects.items).toEqual([]);
      // The story's first incident, delivered to market supervision and the property company.
      await waitFor('the story\'s trapping delivered', () => /webhook \/department\/market-supervision: alert\.firing \[critical\] .*EL-2-A 困人/.test(out) && /webhook \/property\/jinfo-garden: alert\.firing \[critical\] .*EL-2-A 困人/.test(out), 40_000, 200);
      expect(out).toContain('story 1: a passenger trapped');
      const before = out.length;
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(out).toMatch(/stopping the service[\s\S]*stopping the simulators/);
      // Nobody hears the devices leave: the service stopped first.
      expect(out.slice(before)).not.toMatch(/device_silent|设备离线|offline/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      removeDir(dataDir);
    }
  });
});
