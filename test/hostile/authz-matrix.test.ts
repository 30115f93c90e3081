/**
 * The authorization matrix: every route × every role (viewer, operator, department, admin,
 * and no token) × inside and outside the token's scope, against one table of expected
 * statuses (docs/interfaces.md#roles: no token 401, a role that may not 403, anything outside the
 * token's scope 404 — the same answer as for an id that does not exist). Valid tokens only
 * (the failed-auth limiter counts bad ones per address), one bad token at the end.
 *
 * Principals (config/estate.yaml's demo tokens, plus a viewer of one site added here):
 * - viewer `demo-viewer-jinfo`, operator `demo-ops-jinfo`: site jinfo-garden; outside = nancheng-mansion
 * - department `demo-fire` (fire-rescue): alerts routed to fire rescue; outside = an elevator
 *   alert (market supervision). It is not scoped by site: the registry, series and reports of
 *   every site are open to it (the contract scopes departments by their alerts only).
 * - admin `demo-admin`: the whole estate; "outside" is simply another site, and visible.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { io } from 'socket.io-client';
import { parseEstate } from '../../config/index.ts';
import { startMosquitto, type Mosquitto } from '../harness/mosquitto.ts';
import { ROOT, startService, type TestService } from '../harness/service.ts';
import { device } from '../harness/publish.ts';
import { waitFor } from '../harness/ports.ts';
import { TOKENS, expectApiError, startReceiver, type Receiver } from './fixture.ts';

type Who = 'none' | 'viewer' | 'operator' | 'department' | 'admin';
type Scope = 'in' | 'out';
const WHO: Who[] = ['none', 'viewer', 'operator', 'department', 'admin'];
const BEARER: Record<Who, string | undefined> = { none: undefined, viewer: 'demo-viewer-jinfo', operator: TOKENS.operator, department: TOKENS.department, admin: TOKENS.admin };

let mosquitto: Mosquitto;
let service: TestService;
let receiver: Receiver;
let dev: MqttClient;
/** alert ids: jinfo hydrant (fire rescue + jinfo property), nancheng hydrant (fire rescue), jinfo elevator (market supervision) */
const alerts = { jinfoHydrant: '', nanchengHydrant: '', jinfoElevator: '' };
const reports = { jinfo: '', nancheng: '' };

async function call(who: Who, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const auth = BEARER[who];
  const r = await fetch(`${service.url}${path}`, {
    method,
    headers: { accept: 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* metrics, docs: text */
  }
  return { status: r.status, body: parsed };
}

beforeAll(async () => {
  receiver = await startReceiver();
  mosquitto = await startMosquitto();
  const hash = createHash('sha256').update('demo-viewer-jinfo').digest('hex');
  const yaml = readFileSync(join(ROOT, 'config/estate.yaml'), 'utf8').replace(/^( {2}tokens:\n)/m, `$1    - { name: viewer-jinfo, role: viewer, sha256: ${hash}, sites: [jinfo-garden] }\n`);
  const estate = parseEstate(yaml, 'estate.yaml+viewer-jinfo', { DEMO_HOOK_PORT: String(receiver.port) });
  service = await startService({ estate, env: { MQTT_URL: mosquitto.url } });
  dev = await device(mosquitto.url);
  const event = (topic: string, code: string) => dev.publishAsync(topic, JSON.stringify({ code, active: true }), { qos: 1 });
  await event('estate/jinfo-garden/hydrant/HY-03/event', 'tamper');
  await event('estate/nancheng-mansion/hydrant/NC-HY-01/event', 'tamper');
  await event('estate/jinfo-garden/elevator/EL-1-A/event', 'trapped');
  const list = await waitFor(
    'three alerts',
    async () => {
      const r = await call('admin', 'GET', '/api/alerts?state=all');
      const items = (r.body as { items: { id: string; device: string }[] }).items;
      return items.length >= 3 ? items : undefined;
    },
    30_000,
  );
  alerts.jinfoHydrant = list.find((a) => a.device === 'HY-03')!.id;
  alerts.nanchengHydrant = list.find((a) => a.device === 'NC-HY-01')!.id;
  alerts.jinfoElevator = list.find((a) => a.device === 'EL-1-A')!.id;
  const period = { kind: 'health', from: new Date(Date.now() - 86_400_000).toISOString(), to: new Date(Date.now() - 60_000).toISOString() };
  reports.jinfo = ((await call('admin', 'POST', '/api/reports', { ...period, sites: ['jinfo-garden'] })).body as { id: string }).id;
  reports.nancheng = ((await call('admin', 'POST', '/api/reports', { ...period, sites: ['nancheng-mansion'] })).body as { id: string }).id;
}, 120_000);

afterAll(async () => {
  await dev?.endAsync();
  await service?.stop();
  await mosquitto?.destroy();
  await receiver?.close();
});

const site = (s: Scope) => (s === 'in' ? 'jinfo-garden' : 'nancheng-mansion');
const hydrant = (s: Scope) => (s === 'in' ? 'HY-03' : 'NC-HY-01');
const elevator = (s: Scope) => (s === 'in' ? 'EL-1-A' : 'NC-EL-1-A');
/** The alert inside or outside the principal's scope: by site for site-scoped tokens, by department for a department token. */
const alertFor = (who: Who, s: Scope) => (s === 'in' ? alerts.jinfoHydrant : who === 'department' ? alerts.jinfoElevator : alerts.nanchengHydrant);
const hour = (h: number) => new Date(Date.now() + h * 3_600_000).toISOString();

/** A silence for a DELETE to remove, made by the admin, at the site inside or outside the scope. */
async function freshSilence(s: Scope): Promise<string> {
  const r = await call('admin', 'POST', '/api/silences', { matchers: { site: site(s) }, endsAt: hour(1), comment: 'matrix' });
  expect(r.status).toBe(201);
  return (r.body as { id: string }).id;
}

interface Row {
  route: string;
  /** the request for a principal and a scope */
  req: (who: Who, s: Scope) => Promise<{ method: string; path: string; body?: unknown }> | { method: string; path: string; body?: unknown };
  /** expected status per principal: [inside, outside]; one number for both; several allowed as an array (a repeated ack is 409) */
  expect: Record<Who, number | [number | number[], number | number[]]>;
}

const ALL_200 = { none: 401, viewer: 200, operator: 200, department: 200, admin: 200 } as const;
const PUBLIC = { none: 200, viewer: 200, operator: 200, department: 200, admin: 200 } as const;
const SITE_SCOPED_READ = { none: 401, viewer: [200, 404], operator: [200, 404], department: 200, admin: 200 } as Row['expect'];
const ACKED = [200, 409];

// The table. Scope-free routes give the same answer inside and outside.
const MATRIX: Row[] = [
  { route: 'GET /healthz', req: () => ({ method: 'GET', path: '/healthz' }), expect: PUBLIC },
  { route: 'GET /readyz', req: () => ({ method: 'GET', path: '/readyz' }), expect: PUBLIC },
  { route: 'GET /metrics', req: () => ({ method: 'GET', path: '/metrics' }), expect: PUBLIC },
  { route: 'GET /api/openapi.json', req: () => ({ method: 'GET', path: '/api/openapi.json' }), expect: PUBLIC },
  { route: 'GET /api/docs', req: () => ({ method: 'GET', path: '/api/docs' }), expect: PUBLIC },
  { route: 'GET /api/me', req: () => ({ method: 'GET', path: '/api/me' }), expect: ALL_200 },
  { route: 'GET /api/sites', req: () => ({ method: 'GET', path: '/api/sites' }), expect: ALL_200 },
  { route: 'GET /api/devices?site=', req: (_w, s) => ({ method: 'GET', path: `/api/devices?site=${site(s)}` }), expect: SITE_SCOPED_READ },
  { route: 'GET /api/devices/:id', req: (_w, s) => ({ method: 'GET', path: `/api/devices/${hydrant(s)}` }), expect: SITE_SCOPED_READ },
  { route: 'GET /api/devices/:id/series', req: (_w, s) => ({ method: 'GET', path: `/api/devices/${hydrant(s)}/series?metric=pressure_mpa` }), expect: SITE_SCOPED_READ },
  { route: 'GET /api/devices/unregistered', req: () => ({ method: 'GET', path: '/api/devices/unregistered' }), expect: { none: 401, viewer: 200, operator: 200, department: 403, admin: 200 } },
  { route: 'GET /api/ingest/rejects', req: () => ({ method: 'GET', path: '/api/ingest/rejects' }), expect: { none: 401, viewer: 200, operator: 200, department: 403, admin: 200 } },
  { route: 'GET /api/alerts', req: () => ({ method: 'GET', path: '/api/alerts?state=all' }), expect: ALL_200 },
  // A department token filters by department, not by site.
  { route: 'GET /api/alerts?site=', req: (_w, s) => ({ method: 'GET', path: `/api/alerts?site=${site(s)}` }), expect: { none: 401, viewer: [200, 404], operator: [200, 404], department: 200, admin: 200 } },
  { route: 'GET /api/alerts?department=', req: (_w, s) => ({ method: 'GET', path: `/api/alerts?department=${s === 'in' ? 'fire-rescue' : 'market-supervision'}` }), expect: { none: 401, viewer: 200, operator: 200, department: [200, 404], admin: 200 } },
  { route: 'GET /api/alerts/:id', req: (w, s) => ({ method: 'GET', path: `/api/alerts/${alertFor(w, s)}` }), expect: { none: 401, viewer: [200, 404], operator: [200, 404], department: [200, 404], admin: 200 } },
  { route: 'POST /api/alerts/:id/ack', req: (w, s) => ({ method: 'POST', path: `/api/alerts/${alertFor(w, s)}/ack`, body: { note: `matrix ${w}` } }), expect: { none: 401, viewer: 403, operator: [ACKED, 404], department: [ACKED, 404], admin: [ACKED, ACKED] } },
  { route: 'GET /api/silences', req: () => ({ method: 'GET', path: '/api/silences' }), expect: ALL_200 },
  { route: 'POST /api/silences', req: (_w, s) => ({ method: 'POST', path: '/api/silences', body: { matchers: { site: site(s), device: hydrant(s) }, endsAt: hour(1), comment: 'matrix' } }), expect: { none: 401, viewer: 403, operator: [201, 404], department: 403, admin: 201 } },
  { route: 'DELETE /api/silences/:id', req: async (_w, s) => ({ method: 'DELETE', path: `/api/silences/${await freshSilence(s)}` }), expect: { none: 401, viewer: 403, operator: [204, 404], department: 403, admin: 204 } },
  { route: 'GET /api/audit', req: () => ({ method: 'GET', path: '/api/audit' }), expect: { none: 401, viewer: 403, operator: 403, department: 403, admin: 200 } },
  { route: 'GET /api/reports', req: () => ({ method: 'GET', path: '/api/reports' }), expect: ALL_200 },
  { route: 'GET /api/reports/:id', req: (_w, s) => ({ method: 'GET', path: `/api/reports/${s === 'in' ? reports.jinfo : reports.nancheng}` }), expect: SITE_SCOPED_READ },
  { route: 'GET /api/reports/:id/:file', req: (_w, s) => ({ method: 'GET', path: `/api/reports/${s === 'in' ? reports.jinfo : reports.nancheng}/report.json` }), expect: SITE_SCOPED_READ },
  {
    route: 'POST /api/reports',
    req: (_w, s) => ({ method: 'POST', path: '/api/reports', body: { kind: 'maintenance', from: hour(-48), to: hour(-1), sites: [site(s)] } }),
    expect: { none: 401, viewer: 403, operator: [201, 404], department: 201, admin: 201 },
  },
  {
    route: 'POST /api/maintenance',
    req: (_w, s) => ({ method: 'POST', path: '/api/maintenance', body: { device: elevator(s), task: 'elevator_maintenance', doneAt: hour(-2) } }),
    expect: { none: 401, viewer: 403, operator: [201, 404], department: 403, admin: 201 },
  },
];

describe('authorization matrix', () => {
  it('every route × every role × inside and outside scope answers as the table says', async () => {
    const got: string[] = [];
    const want: string[] = [];
    for (const row of MATRIX) {
      for (const who of WHO) {
        const e = row.expect[who];
        const [inside, outside] = Array.isArray(e) ? e : [e, e];
        for (const [scope, expected] of [['in', inside], ['out', outside]] as const) {
          const { method, path, body } = await row.req(who, scope);
          const r = await call(who, method, path, body);
          const allowed = Array.isArray(expected) ? expected : [expected];
          const line = `${row.route} ${who} ${scope}`;
          // One line per cell, so that a failure shows every cell that differs at once.
          got.push(`${line}: ${allowed.includes(r.status) ? allowed.join('|') : r.status}`);
          want.push(`${line}: ${allowed.join('|')}`);
          if (r.status >= 400) expectApiError(r.status, r.body, `${line} ${method} ${path}`);
        }
      }
    }
    expect(got).toEqual(want);
  });

  it('live updates (socket.io): the handshake needs a token, and subscribe follows the same scope', async () => {
    // What each principal gets for `subscribe {site}` inside and outside its scope: a snapshot, or an error code.
    const table: Record<Exclude<Who, 'none'>, [string, string]> = {
      viewer: ['snapshot', 'NOT_FOUND'],
      operator: ['snapshot', 'NOT_FOUND'],
      department: ['snapshot', 'snapshot'],
      admin: ['snapshot', 'snapshot'],
    };
    const got: Record<string, [string, string]> = {};
    for (const who of Object.keys(table) as Exclude<Who, 'none'>[]) {
      const socket = io(service.url, { path: '/socket.io', auth: { token: BEARER[who] }, reconnection: false, transports: ['websocket'] });
      try {
        await new Promise<void>((resolve, reject) => {
          socket.once('connect', () => resolve());
          socket.once('connect_error', reject);
        });
        const answer = async (s: Scope) => {
          const r = (await socket.timeout(10_000).emitWithAck('subscribe', { site: site(s) })) as { error?: { code: string } };
          return r.error ? r.error.code : 'snapshot';
        };
        got[who] = [await answer('in'), await answer('out')];
      } finally {
        socket.close();
      }
    }
    expect(got).toEqual(table);
    const anonymous = io(service.url, { path: '/socket.io', reconnection: false, transports: ['websocket'] });
    const refused = await new Promise<string>((resolve) => {
      anonymous.once('connect', () => resolve('connected'));
      anonymous.once('connect_error', (e) => resolve(e.message));
    });
    anonymous.close();
    expect(refused).not.toBe('connected');
  });

  it('outside the scope looks exactly like an id that does not exist', async () => {
    const outside = await call('operator', 'GET', '/api/devices/NC-HY-01');
    const missing = await call('operator', 'GET', '/api/devices/NO-SUCH-1');
    expect([outside.status, missing.status]).toEqual([404, 404]);
    expect((outside.body as { error: { code: string } }).error.code).toBe((missing.body as { error: { code: string } }).error.code);
    const alertOutside = await call('department', 'GET', `/api/alerts/${alerts.jinfoElevator}`);
    const alertMissing = await call('department', 'GET', '/api/alerts/01NOSUCHALERT0000000000000');
    expect([alertOutside.status, alertMissing.status]).toEqual([404, 404]);
  });

  it('lists are filtered to the scope', async () => {
    const devices = (await call('operator', 'GET', '/api/devices')).body as { items: { site: string }[] };
    expect(new Set(devices.items.map((d) => d.site))).toEqual(new Set(['jinfo-garden']));
    const sites = (await call('viewer', 'GET', '/api/sites')).body as { items: { id: string }[] };
    expect(sites.items.map((s) => s.id)).toEqual(['jinfo-garden']);
    const fire = (await call('department', 'GET', '/api/alerts?state=all')).body as { items: { id: string }[] };
    expect(fire.items.map((a) => a.id).sort()).toEqual([alerts.jinfoHydrant, alerts.nanchengHydrant].sort());
    const ops = (await call('operator', 'GET', '/api/alerts?state=all')).body as { items: { site: string }[] };
    expect(ops.items.every((a) => a.site === 'jinfo-garden')).toBe(true);
    const reportList = (await call('operator', 'GET', '/api/reports')).body as { items: { id: string }[] };
    expect(reportList.items.map((r) => r.id)).not.toContain(reports.nancheng);
  });

  it('a token that is not in the estate file is 401, on every route that needs one', async () => {
    const r = await fetch(`${service.url}/api/sites`, { headers: { authorization: 'Bearer demo-nobody' } });
    expect(r.status).toBe(401);
    expectApiError(r.status, await r.json(), 'bad token');
  });
});
