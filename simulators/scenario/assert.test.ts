/**
 * The assertion against a hand-written fake of the service's API (a local HTTP server
 * answering canned `/api/alerts` and `/api/ingest/rejects`): met, missing, unexpected,
 * wrong severity, wrong department, too late, muted or not, rejects, and the API's errors.
 * Times are fixed relative to a run that ended in the past, so nothing depends on how
 * fast the machine is.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadEstate } from '../../config/index.ts';
import { ServiceApi, type ApiAlert, type ApiReject } from './api.ts';
import { watchRun } from './assert.ts';
import { scenarioCommand, verdictLine } from './command.ts';
import { parseScenario } from './load.ts';
import type { RunRecord } from './runner.ts';

const estate = loadEstate(join(resolve(import.meta.dirname, '../..'), 'config/estate.yaml'), {});

const scenario = parseScenario(
  `
name: fake
description: against a fake API
speed: 60
duration: 20m
allowance: 10s
settle: 1s
steps:
  - { at: 0s, device: HY-03, set: { pressure_mpa: 0.15 } }
  - { at: 10m, device: HY-03, name: drop, set: { pressure_mpa: 0.13 } }
  - { at: 2m, device: EL-2-A, name: pit-work, event: { code: safety_circuit_open } }
  - { at: 3m, device: HY-04, malformed: { payload: "not json" } }
  - { at: 19m, device: HY-03, clear: all }
  - { at: 19m, device: EL-2-A, event: { code: safety_circuit_open, active: false } }
expect:
  - { device: HY-03, rule: pressure_low, severity: warning, department: [fire-rescue, property], after: drop, within: 7m }
  - { device: EL-2-A, rule: safety_circuit_open, severity: critical, department: market-supervision, after: pit-work, within: 20s, mutedBy: inspection }
expectRejects:
  - { reason: bad_payload, topic: estate/jinfo-garden/hydrant/HY-04/telemetry }
`,
  'fake.yaml',
  estate,
);

// A run that began 10 minutes ago: simulated time began at T0, the steps ran at T0 + at / speed.
const T0 = Date.now() - 600_000;
const record: RunRecord = {
  scenario,
  startedAt: T0,
  endedAt: T0 + 20_000,
  simStart: T0 - 6 * 3_600_000,
  simEnd: T0 - 6 * 3_600_000 + 1_200_000,
  steps: scenario.steps.map((step) => ({ step, sim: T0 - 6 * 3_600_000 + step.at, wall: T0 + step.at / 60 })),
};
// The step "drop" ran at T0 + 10 s: the warning is due within 7 s (7 min at 60×) + 10 s.
const DROP = T0 + 10_000;
const PIT = T0 + 2000;

const iso = (t: number) => new Date(t).toISOString();
function alert(over: Partial<ApiAlert> & { fired?: number | null }): ApiAlert {
  const { fired = DROP + 6000, ...rest } = over;
  return {
    id: `a${Math.random()}`,
    site: 'jinfo-garden',
    device: 'HY-03',
    rule: 'pressure_low',
    severity: 'warning',
    state: 'firing',
    startsAt: iso(record.simStart + 600_000),
    firedAt: fired === null ? null : iso(fired),
    departments: ['fire-rescue', 'property'],
    mutedBy: null,
    value: 0.13,
    unit: 'MPa',
    ...rest,
  };
}
const pit = (over: Partial<ApiAlert> = {}) => alert({ device: 'EL-2-A', rule: 'safety_circuit_open', severity: 'critical', fired: PIT + 500, departments: ['market-supervision', 'property'], mutedBy: 'inspection', ...over });
const reject: ApiReject = { at: iso(T0 + 3000), reason: 'bad_payload', topic: 'estate/jinfo-garden/hydrant/HY-04/telemetry', detail: 'not JSON' };

let server: Server;
let base: string;
let canned: { alerts: ApiAlert[]; rejects: ApiReject[] } = { alerts: [], rejects: [] };
const seen: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.url!);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== 'Bearer demo-admin') return json(401, { error: { code: 'UNAUTHORIZED', message: 'no such token' } });
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/api/alerts') return json(200, { items: canned.alerts });
    if (url.pathname === '/api/ingest/rejects') {
      // Two pages: the first ends with a cursor.
      if (url.searchParams.get('before') === 'p2') return json(200, { items: canned.rejects.slice(1) });
      return json(200, canned.rejects.length > 1 ? { items: canned.rejects.slice(0, 1), next: 'p2' } : { items: canned.rejects });
    }
    json(404, { error: { code: 'NOT_FOUND', message: `no route ${req.method} ${url.pathname}` } });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

beforeEach(() => {
  seen.length = 0;
});

async function lines(alerts: ApiAlert[], rejects: ApiReject[] = [reject]): Promise<string[]> {
  canned = { alerts, rejects };
  const verdicts = await watchRun(record, new ServiceApi(base, 'demo-admin'));
  return verdicts.map(verdictLine);
}

describe('the assertion against the API', () => {
  it('meets every expectation: right severity, departments, mute and in time', async () => {
    const out = await lines([alert({}), pit()]);
    expect(out).toEqual([
      'met        HY-03 pressure_low warning → fire-rescue, property: fired 6.0 s after step drop (limit 7m at 60× + 10.0 s = 17.0 s)',
      'met        EL-2-A safety_circuit_open critical → market-supervision: fired 0.5 s after step pit-work (limit 20s at 60× + 10.0 s = 10.3 s), muted by inspection',
      'met        reject bad_payload on estate/jinfo-garden/hydrant/HY-04/telemetry (not JSON)',
    ]);
    // From before the simulated start: the API filters on when a condition began.
    expect(seen[0]).toBe(`/api/alerts?state=all&from=${encodeURIComponent(iso(record.simStart - 60_000))}&limit=1000`);
  });

  it.each([
    ['no alert at all', [], 'missing    HY-03 pressure_low warning → fire-rescue, property: no such alert'],
    ['an alert still pending', [alert({ state: 'pending', fired: null })], 'missing    HY-03 pressure_low warning → fire-rescue, property: pending but never fired'],
    ['the wrong severity', [alert({ severity: 'critical' })], 'missing    HY-03 pressure_low warning → fire-rescue, property: fired as critical'],
    ['the wrong department', [alert({ departments: ['water-authority', 'property'] })], 'missing    HY-03 pressure_low warning → fire-rescue, property: routed to water-authority, property, not fire-rescue'],
    ['too late', [alert({ fired: DROP + 17_500 })], 'missing    HY-03 pressure_low warning → fire-rescue, property: too late: fired 17.5 s after step drop (limit 7m at 60× + 10.0 s = 17.0 s)'],
    ['an alert that fired before the run', [alert({ fired: T0 - 1000 })], 'missing    HY-03 pressure_low warning → fire-rescue, property: no such alert'],
  ])('reports %s as missing', async (_what, alerts, line) => {
    const out = await lines([...alerts, pit()]);
    expect(out[0]).toBe(line);
    expect(out.slice(1).every((l) => l.startsWith('met '))).toBe(true);
  });

  it('says when a muted alert was expected unmuted, and the other way round', async () => {
    const out = await lines([alert({}), pit({ mutedBy: null })]);
    expect(out[1]).toBe('missing    EL-2-A safety_circuit_open critical → market-supervision: mutedBy null, expected inspection');
  });

  it('names every alert on the scenario devices that nothing expected; others are not its business', async () => {
    const out = await lines([
      alert({}),
      pit(),
      alert({ rule: 'battery_low', value: 19, unit: '%', fired: T0 + 4000 }),
      alert({ device: 'HY-04', rule: 'leak', severity: 'critical', state: 'resolved', value: null, fired: T0 + 5000 }),
      alert({ device: 'HY-05', rule: 'leak', severity: 'critical' }),
    ]);
    expect(out.filter((l) => l.startsWith('unexpected'))).toEqual([
      `unexpected HY-03 battery_low warning → fire-rescue, property: fired ${iso(T0 + 4000)}, value 19 % (firing)`,
      `unexpected HY-04 leak critical → fire-rescue, property: fired ${iso(T0 + 5000)} (resolved)`,
    ]);
  });

  it('gives each of two alerts of one device and rule to the expectation it fits', async () => {
    const twice = parseScenario(
      `name: twice\ndescription: d\nspeed: 60\nduration: 20m\nsettle: 0s\nsteps:\n  - { at: 1m, device: HY-03, name: a, set: { pressure_mpa: 0.13 } }\n  - { at: 8m, device: HY-03, clear: all }\n  - { at: 10m, device: HY-03, name: b, set: { pressure_mpa: 0.05 } }\n  - { at: 19m, device: HY-03, clear: all }\nexpect:\n` +
        `  - { device: HY-03, rule: pressure_low, severity: critical, department: fire-rescue, after: b, within: 2m }\n  - { device: HY-03, rule: pressure_low, severity: warning, department: fire-rescue, after: a, within: 6m }\n`,
      'twice.yaml',
      estate,
    );
    canned = { alerts: [alert({ severity: 'critical', fired: T0 + 11_500 }), alert({ state: 'resolved', fired: T0 + 6000 })], rejects: [] };
    const run: RunRecord = { ...record, scenario: twice, steps: twice.steps.map((step) => ({ step, sim: 0, wall: T0 + step.at / 60 })) };
    const out = (await watchRun(run, new ServiceApi(base, 'demo-admin'))).map(verdictLine);
    expect(out).toEqual([expect.stringMatching(/^met {8}HY-03 pressure_low critical → fire-rescue: fired 1\.5 s after step b/), expect.stringMatching(/^met {8}HY-03 pressure_low warning → fire-rescue: fired 5\.0 s after step a/)]);
  });

  it('reports a missing reject, one of another reason, and a reading of a scenario device that was refused', async () => {
    const refused: ApiReject = { at: iso(T0 + 5000), reason: 'bad_metric', topic: 'estate/jinfo-garden/hydrant/HY-03/telemetry', detail: 'pressure_mpa: NaN' };
    expect((await lines([alert({}), pit()], [])).at(-1)).toBe('missing    reject bad_payload on estate/jinfo-garden/hydrant/HY-04/telemetry: not in /api/ingest/rejects');
    expect((await lines([alert({}), pit()], [{ ...reject, reason: 'bad_topic', detail: 'x' }])).at(-1)).toBe('missing    reject bad_payload on estate/jinfo-garden/hydrant/HY-04/telemetry: rejected as bad_topic instead (x)');
    // Two pages of rejects: the second holds the one that should not be there.
    const out = await lines([alert({}), pit()], [reject, refused, { ...refused, at: iso(T0 - 1000) }]);
    expect(out.slice(2)).toEqual([
      'met        reject bad_payload on estate/jinfo-garden/hydrant/HY-04/telemetry (not JSON)',
      'unexpected reject bad_metric on estate/jinfo-garden/hydrant/HY-03/telemetry (pressure_mpa: NaN)',
    ]);
    expect(seen.filter((u) => u.startsWith('/api/ingest/rejects'))).toContain('/api/ingest/rejects?limit=1000&before=p2');
  });
});

describe('reading the verdict', () => {
  it('keeps reading until what is expected has fired, without waiting out the deadline', async () => {
    let now = record.startedAt + 15_000;
    let polls = 0;
    const api = {
      alerts: async () => (++polls >= 3 ? [alert({}), pit()] : [pit()]),
      rejects: async () => [reject],
    };
    const run = { ...record, endedAt: now - 5000 };
    const verdicts = await watchRun(run, api, { now: () => now, sleep: async (ms) => void (now += ms), pollMs: 500 });
    expect(verdicts.map((v) => v.outcome)).toEqual(['met', 'met', 'met']);
    expect(polls).toBe(3);
  });

  it('gives up once the last deadline has passed', async () => {
    let now = record.startedAt + 15_000;
    const api = { alerts: async () => [pit()], rejects: async () => [reject] };
    const verdicts = await watchRun({ ...record, endedAt: now }, api, { now: () => now, sleep: async (ms) => void (now += ms), pollMs: 500 });
    expect(verdicts[0]!.outcome).toBe('missing');
    // The drop's deadline: T0 + 10 s + 7 s + 10 s.
    expect(now).toBeGreaterThanOrEqual(DROP + 17_000);
    expect(now).toBeLessThan(DROP + 17_000 + 1000);
  });
});

describe('the API client', () => {
  it('says what to fix when the token is refused, a route is missing or the service is not there', async () => {
    await expect(new ServiceApi(base, 'wrong').alerts(0)).rejects.toThrow('GET /api/alerts answered 401: the service does not know the token (--token, or ESTATE_TOKEN)');
    const free = createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
    const port = (free.address() as AddressInfo).port;
    await new Promise<void>((r) => free.close(() => r()));
    await expect(new ServiceApi(`http://127.0.0.1:${port}`, 'demo-admin').alerts(0)).rejects.toThrow(`cannot reach the service at http://127.0.0.1:${port} (ECONNREFUSED): is it running, and is --api right?`);
    const other = new ServiceApi(`${base}/v2`, 'demo-admin');
    await expect(other.alerts(0)).rejects.toThrow('GET /api/alerts answered 404: this service has no such route (no route GET /v2/api/alerts); is it an Estate Sentinel with alerts?');
  });
});

describe('the command', () => {
  const run = async (opts: Partial<Parameters<typeof scenarioCommand>[0]>) => {
    let out = '';
    let err = '';
    const code = await scenarioCommand(
      { config: join(resolve(import.meta.dirname, '../..'), 'config/estate.yaml'), mqtt: 'mqtt://127.0.0.1:1', seed: 1, qos: 1, help: false, assert: true, api: base, token: 'demo-admin', ...opts },
      { out: (t) => void (out += t), err: (t) => void (err += t) },
    );
    return { code, out, err };
  };

  it('refuses a bad scenario file with exit code 2, listing its problems, and runs nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scenario-'));
    try {
      writeFileSync(join(dir, 'bad.yaml'), 'name: bad\ndescription: d\nduration: 1m\nsteps: [{ at: 0s, device: HY-99, withhold: true }]\n');
      const r = await run({ scenarios: [join(dir, 'bad.yaml')] });
      expect(r.code).toBe(2);
      expect(r.err).toBe(`simulate: ${join(dir, 'bad.yaml')}: 1 problem in the scenario\n  - line 4, steps[0].device: device HY-99 is not in the estate file\n`);
      expect(r.out).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says at once, with exit code 1, when the API refuses the token', async () => {
    seen.length = 0;
    const r = await run({ scenarios: [join(resolve(import.meta.dirname, '..'), 'scenarios/battery-low.yaml')], token: 'nobody' });
    expect(r.code).toBe(1);
    expect(r.err).toBe('simulate: GET /api/alerts answered 401: the service does not know the token (--token, or ESTATE_TOKEN)\n');
    expect(r.out).toBe('');
  });
});
