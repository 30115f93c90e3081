/**
 * The simulators speaking each adapter (simulators/platforms/), end to end: a Fleet with `via`
 * makes the devices behind OneNET (safe mode: the rig's adapter has an aesKey), CTWing (a
 * thing model, and binary frames through both codecs), ChirpStack and a vendor's gateway report
 * through their platforms to the real service; what each model produced is what InfluxDB holds,
 * at the reading's own time, after the profile's inverse and its forward mapping (within what a
 * codec's integers carry). And `npm run simulate -- --via …` as a user runs it: on this rig's
 * estate, and on the demo estate (config/estate.yaml) with every type, through the compiled
 * CLI that `npm run simulate` starts, into a service of that estate.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet, type Metrics } from '../../simulators/index.ts';
import { buildOnce, ROOT } from '../harness/service.ts';
import { sleep, waitFor } from '../harness/ports.ts';
import { sum } from '../harness/prometheus.ts';
import { adapterEstateYaml, metricsText, rejects, rows, startRig, type Rig } from './rig.ts';

let rig: Rig;
let dir: string;

beforeAll(async () => {
  rig = await startRig('simvia');
  dir = mkdtempSync(join(tmpdir(), 'estate-simvia-'));
}, 60_000);

afterAll(async () => {
  await rig?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

/** What each device's readings must come back as: metric → the tolerance its platform allows (0: exact). */
const EXPECT: Record<string, Record<string, number>> = {
  // OneNET, kPa on the wire (profile scale 0.001), encrypted
  'HY-07': { pressure_mpa: 1e-9, battery_pct: 1e-9 },
  'HY-08': { pressure_mpa: 1e-9, battery_pct: 1e-9 },
  // CTWing APPdata, hydrant-pressure-v1: whole kPa, whole %
  'HY-C1': { pressure_mpa: 0.0005 + 1e-9, battery_pct: 0.5 + 1e-9, tamper: 0, leak: 0 },
  // CTWing APPdata, water-quality-v1: hundredths
  'WQ-1': { turbidity_ntu: 0.005 + 1e-9, chlorine_mgl: 0.005 + 1e-9, ph: 0.005 + 1e-9, battery_pct: 0.5 + 1e-9 },
  // CTWing thing model without a profile: the catalog's names, every metric of the model
  'WQ-2': { turbidity_ntu: 0, chlorine_mgl: 0, ph: 0, tds_mgl: 0, temp_c: 0, tank_level_pct: 0, outlet_pressure_mpa: 0, pump_running: 0, battery_pct: 0, rssi_dbm: 0 },
  // ChirpStack, object as its codec would give it
  'FL-L1': { occupied: 0, vehicle_count: 0, obstruction_pct: 1e-9 },
};
const KIND: Record<string, string> = { 'HY-07': 'hydrant', 'HY-08': 'hydrant', 'HY-C1': 'hydrant', 'WQ-1': 'water', 'WQ-2': 'water', 'FL-L1': 'firelane' };

function close(stored: unknown, made: unknown, tolerance: number): boolean {
  if (typeof made === 'boolean') return stored === made;
  return typeof stored === 'number' && typeof made === 'number' && Math.abs(stored - made) <= tolerance;
}

describe('a Fleet via every adapter type', () => {
  it("reports each device's model readings through its platform; InfluxDB holds them at their own times", async () => {
    const made = new Map<string, { t: number; metrics: Metrics }[]>();
    const fleet = new Fleet({
      estate: rig.svc.app.estate,
      mqttUrl: rig.broker.url,
      http: rig.url,
      via: ['onenet', 'ctwing', 'chirpstack', 'mqtt-json'],
      devices: [...Object.keys(EXPECT), 'EL-9'],
      rateHz: 2,
      seed: 7,
      clientIdPrefix: 'simvia-',
      hook: (r) => void made.set(r.device.id, [...(made.get(r.device.id) ?? []), { t: r.t, metrics: r.metrics }]),
    });
    expect(fleet.devices).toEqual([]);
    expect(fleet.platformDevices.map((d) => `${d.spec.id} ${d.link.name}`).sort()).toEqual(
      ['EL-9 mqtt-json lift-gw', 'FL-L1 chirpstack lora', 'HY-07 onenet cmcc', 'HY-08 onenet cmcc', 'HY-C1 ctwing ctw', 'WQ-1 ctwing ctw', 'WQ-2 ctwing ctw'].sort(),
    );
    const before = await metricsText(rig);
    fleet.start();
    expect(await fleet.waitConnected(15_000)).toBe(true);
    await sleep(4000);
    const summary = await fleet.stop();
    expect(summary.dropped).toBe(0);
    expect(summary.sent).toBe(summary.generated);
    expect(summary.generated).toBeGreaterThanOrEqual(7 * 6);

    for (const [device, metrics] of Object.entries(EXPECT)) {
      const readings = made.get(device)!;
      const cols = Object.keys(metrics);
      const stored = await rowsAtTimes(device, KIND[device]!, cols, readings.length);
      expect(stored.map((s) => s.time), device).toEqual(readings.map((r) => r.t));
      for (const [i, r] of readings.entries()) {
        for (const m of cols) {
          if (!close(stored[i]![m], r.metrics[m], metrics[m]!)) throw new Error(`${device} ${m} at ${r.t}: stored ${String(stored[i]![m])}, the model made ${String(r.metrics[m])}`);
        }
      }
    }
    // The vendor's gateway has no time field in this profile: its readings are taken at their arrival, in order.
    const lift = made.get('EL-9')!;
    const storedLift = await rowsAtTimes('EL-9', 'elevator', ['floor', 'speed_mps', 'door_open'], lift.length);
    expect(storedLift.map((s) => [s.floor, s.speed_mps, s.door_open])).toEqual(lift.map((r) => [r.metrics.floor, r.metrics.speed_mps, r.metrics.door_open]));

    // They came through the adapters: pushes accepted, nothing refused.
    const after = await metricsText(rig);
    for (const adapter of ['cmcc', 'ctw']) expect(sum(after, 'estate_adapter_pushes_total', { adapter, outcome: 'accepted' }) - sum(before, 'estate_adapter_pushes_total', { adapter, outcome: 'accepted' }), adapter).toBeGreaterThan(0);
    expect((await rejects(rig)).filter((r) => /adapter/.test(r.detail))).toEqual([]);
    // The OneNET and CTWing devices said they were going offline as they left.
    // (A push is answered once it is in the spool, not yet in InfluxDB: waited for.)
    for (const d of ['HY-07', 'WQ-1']) await waitFor(`${d} offline in InfluxDB`, async () => (await rows(rig, `SELECT last(online) FROM status WHERE device = '${d}'`))[0]?.last === false, 15_000);
  }, 60_000);
});

async function rowsAtTimes(device: string, measurement: string, cols: string[], n: number) {
  return waitFor(`${n} readings of ${device}`, async () => {
    const r = await rows(rig, `SELECT ${cols.join(', ')} FROM ${measurement} WHERE device = '${device}' AND ${cols[0]} = ${cols[0]}`);
    const mine = r.filter((x) => x[cols[0]!] !== null);
    return mine.length >= n ? mine : undefined;
  }, 15_000);
}

/** The CLI from its sources (tsx), or as `npm run simulate -- …` runs it (the compiled dist/simulators/cli.js). */
function simulate(args: string[], how: 'tsx' | 'npm' = 'tsx'): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child =
      how === 'npm'
        ? spawn('npm', ['run', '--silent', 'simulate', '--', ...args], {
            cwd: ROOT,
            // npm and the CLI on the Node that runs the tests
            env: { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`, npm_config_update_notifier: 'false' },
            stdio: ['ignore', 'pipe', 'pipe'],
          })
        : spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'simulators/cli.ts'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('npm run simulate -- --via', () => {
  it('--via onenet: only the devices behind OneNET, pushing to --http; their readings stored', async () => {
    const config = join(dir, 'estate.yaml');
    writeFileSync(config, adapterEstateYaml((p) => rig.rx.url(p)));
    const t0 = Date.now();
    const r = await simulate(['--config', config, '--via', 'onenet', '--http', rig.url, '--mqtt', rig.broker.url, '--rate', '2', '--duration', '3s', '--seed', '11']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/3 devices behind adapters \(3 via onenet cmcc, pushes to http:\/\/127\.0\.0\.1:\d+;/);
    expect(r.out).toMatch(/simulate: 3 devices, \d+ readings published/);
    const fresh = await rows(rig, `SELECT pressure_mpa FROM hydrant WHERE device = 'HY-09' AND time >= ${t0}ms`);
    expect(fresh.length).toBeGreaterThanOrEqual(4);
    for (const f of fresh) expect(f.pressure_mpa as number).toBeGreaterThan(0.2);
    // Nothing from the other kinds of adapters in that run.
    expect(await rows(rig, `SELECT occupied FROM firelane WHERE device = 'FL-L1' AND time >= ${t0}ms`)).toEqual([]);
  }, 60_000);

  it('refuses a type that is not an adapter type, --http without --via, and a --via no device is behind', async () => {
    const config = join(dir, 'native.yaml');
    writeFileSync(config, 'sites:\n  - id: s\n    name: S\n    property: { name: P }\n    devices:\n      - { id: HY-1, kind: hydrant, building: "1栋" }\n');
    const bad = await simulate(['--via', 'lorawan']);
    expect(bad.code).toBe(2);
    expect(bad.out).toContain('--via lorawan: expected adapter types separated by commas (onenet, ctwing, chirpstack, mqtt-json) or all');
    const http = await simulate(['--http', 'http://127.0.0.1:1']);
    expect(http.code).toBe(2);
    expect(http.out).toContain('--http goes with --via');
    const none = await simulate(['--config', config, '--via', 'all']);
    expect(none.code).toBe(2);
    expect(none.out).toContain('no device is behind a onenet or ctwing or chirpstack or mqtt-json adapter in the estate file (it names no adapters)');
  }, 60_000);
});

/** The demo estate's devices behind adapters (config/estate.yaml), a metric each must store, and what they report through. */
const DEMO: Record<string, { kind: string; metric: string; via: string }> = {
  'HY-NB-1': { kind: 'hydrant', metric: 'pressure_mpa', via: 'onenet cmcc-hydrants' },
  'HY-NB-2': { kind: 'hydrant', metric: 'pressure_mpa', via: 'onenet cmcc-hydrants' },
  'WS-NB-1': { kind: 'water', metric: 'chlorine_mgl', via: 'ctwing ctwing-water' },
  'FL-LR-1': { kind: 'firelane', metric: 'occupied', via: 'chirpstack lora' },
  'EL-6-A': { kind: 'elevator', metric: 'floor', via: 'mqtt-json lift-gw' },
};

describe('npm run simulate -- --via all on the demo estate', () => {
  let demo: Rig;

  beforeAll(async () => {
    // What `npm run simulate` runs is the build; made here (if stale) so that the run below is only the run.
    buildOnce();
    // The service on config/estate.yaml itself, its webhooks to this rig's receiver.
    const yaml = readFileSync(join(ROOT, 'config/estate.yaml'), 'utf8');
    demo = await startRig('simviademo', { yaml: (hook) => yaml.replaceAll('http://127.0.0.1:${DEMO_HOOK_PORT:-9100}', hook('')) });
  }, 250_000);

  afterAll(async () => {
    await demo?.stop();
  }, 60_000);

  it('every device behind an adapter reports through its platform and is stored; no MQTT device runs, nothing is refused', async () => {
    const before = await metricsText(demo);
    const t0 = Date.now();
    const r = await simulate(['--config', 'config/estate.yaml', '--via', 'all', '--http', demo.url, '--mqtt', demo.broker.url, '--rate', '2', '--duration', '4s', '--seed', '5'], 'npm');
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('simulate: 5 devices behind adapters (2 via onenet cmcc-hydrants, 1 via ctwing ctwing-water, 1 via chirpstack lora, 1 via mqtt-json lift-gw, pushes to http://127.0.0.1:');
    expect(r.out).toMatch(/simulate: 5 devices, \d+ readings published/);
    expect(r.out, 'the platforms had no trouble').not.toMatch(/retrying|given up|HTTP \d{3}/);
    expect(demo.svc.app.estate.sites.flatMap((s) => s.devices.filter((d) => d.source).map((d) => d.id)).sort()).toEqual(Object.keys(DEMO).sort());

    for (const [device, { kind, metric }] of Object.entries(DEMO)) {
      await waitFor(`readings of ${device} in InfluxDB`, async () => (await rows(demo, `SELECT ${metric} FROM ${kind} WHERE device = '${device}' AND time >= ${t0 - 60_000}ms`)).length >= 4, 15_000);
    }
    // The profiles' mappings came back in range (kPa → MPa; per cent; the terminal's floor within the building's).
    for (const p of await rows(demo, `SELECT pressure_mpa FROM hydrant WHERE device = 'HY-NB-1'`)) expect(p.pressure_mpa as number).toBeLessThan(2);
    for (const f of await rows(demo, `SELECT floor FROM elevator WHERE device = 'EL-6-A'`)) expect(f.floor as number).toBeGreaterThanOrEqual(-1);
    // Only the devices behind adapters ran: none of the estate's own MQTT devices.
    expect(await rows(demo, `SELECT pressure_mpa FROM hydrant WHERE device = 'HY-01'`)).toEqual([]);
    expect(await rows(demo, `SELECT floor FROM elevator WHERE device = 'EL-1-A'`)).toEqual([]);
    // The pushes were the adapters' and accepted; nothing refused (any reject would name its adapter).
    const after = await metricsText(demo);
    for (const adapter of ['cmcc-hydrants', 'ctwing-water']) {
      expect(sum(after, 'estate_adapter_pushes_total', { adapter, outcome: 'accepted' }) - sum(before, 'estate_adapter_pushes_total', { adapter, outcome: 'accepted' }), adapter).toBeGreaterThan(0);
      expect(sum(after, 'estate_adapter_auth_failures_total', { adapter }), adapter).toBe(0);
    }
    expect(await rejects(demo)).toEqual([]);
  }, 120_000);
});
