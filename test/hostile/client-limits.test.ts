/**
 * Limits per client behind a TLS proxy (docs/security.md, "Behind a TLS proxy"): which
 * address is the client (TRUST_PROXY), the one failed-token budget of the HTTP API and the
 * socket.io handshake, and that X-Forwarded-For counts only where a trusted proxy added it.
 *
 * The HTTP API is the server itself (buildServer) driven with `inject()`, its socket coming
 * from the proxy at 127.0.0.1 unless a test says otherwise; socket.io needs a listening
 * server: buildServer's, on 127.0.0.1, with the live hub started on it as app.ts does (no
 * guard passed: the hub takes the server's). Last, the whole service (app.ts) started with
 * TRUST_PROXY=1, to show the setting reaches both.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance, InjectOptions } from 'fastify';
import pino from 'pino';
import type { AlertActions } from '../../alerts/index.ts';
import { io } from 'socket.io-client';
import { Registry, readEnv } from '../../config/index.ts';
import { Bus } from '../../bus.ts';
import { LatestCache, LiveHub, type ServerDeps } from '../../dashboard/index.ts';
import { CLIENT_LIMITS } from '../../dashboard/auth-limit.ts';
import { startService } from '../harness/service.ts';
import { TOKENS, apiServer, demoEstate, expectApiError } from './fixture.ts';

const ESTATE = demoEstate(1);
const A = '203.0.113.7';
const B = '198.51.100.9';
/** as the limiter is set: the 10th bad token within a minute blocks the address */
const MAX = 10;

const open: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

/** The HTTP API with TRUST_PROXY as the environment would give it (unset: undefined); closed after the test. */
function server(trustProxy?: string, over: Partial<ServerDeps> = {}): FastifyInstance {
  const app = apiServer(ESTATE, { trustProxy: readEnv({ TRUST_PROXY: trustProxy }).TRUST_PROXY, ...over });
  open.push(() => app.close());
  return app;
}

interface From {
  /** X-Forwarded-For as the request arrives */
  xff?: string;
  /** the socket's peer; the proxy by default */
  peer?: string;
}

async function me(app: FastifyInstance, token: string, from: From = {}) {
  const opts: InjectOptions = {
    method: 'GET',
    url: '/api/me',
    remoteAddress: from.peer ?? '127.0.0.1',
    headers: { authorization: `Bearer ${token}`, ...(from.xff ? { 'x-forwarded-for': from.xff } : {}) },
  };
  const r = await app.inject(opts);
  return { status: r.statusCode, retryAfter: r.headers['retry-after'], body: r.json() as unknown };
}

async function wrong(app: FastifyInstance, n: number, from: From | ((i: number) => From)) {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) statuses.push((await me(app, `wrong-${i}`, typeof from === 'function' ? from(i) : from)).status);
  return statuses;
}

describe('behind TRUST_PROXY=1', () => {
  it("client A's wrong tokens lock A out, not B", async () => {
    const app = server('1');
    expect(await wrong(app, MAX, { xff: A })).toEqual(Array(MAX).fill(401));
    const locked = await me(app, TOKENS.admin, { xff: A });
    expect(locked.status).toBe(429);
    expect(Number(locked.retryAfter)).toBeGreaterThan(290);
    expectApiError(locked.status, locked.body, 'A locked out');
    expect((locked.body as { error: { code: string } }).error.code).toBe('TOO_MANY_REQUESTS');
    // B, through the same proxy: its own budget, untouched.
    expect((await me(app, TOKENS.admin, { xff: B })).status).toBe(200);
    expect((await me(app, 'wrong-b', { xff: B })).status).toBe(401);
  });

  it('an address the client put in front of the proxy\'s cannot spoof another client', async () => {
    const app = server('1');
    // The attacker at A sends "X-Forwarded-For: B"; the proxy appends A. Only the proxy's entry is believed.
    expect(await wrong(app, MAX, { xff: `${B}, ${A}` })).toEqual(Array(MAX).fill(401));
    expect((await me(app, TOKENS.admin, { xff: B })).status).toBe(200);
    expect((await me(app, TOKENS.admin, { xff: A })).status).toBe(429);
  });
});

describe('TRUST_PROXY unset', () => {
  it('X-Forwarded-For is ignored: every request from one socket address is one client', async () => {
    const app = server(undefined);
    // A new X-Forwarded-For on each wrong token buys no new budget.
    expect(await wrong(app, MAX, (i) => ({ xff: `192.0.2.${i + 1}` }))).toEqual(Array(MAX).fill(401));
    expect((await me(app, TOKENS.admin, { xff: B })).status).toBe(429);
    // Another socket address is another client.
    expect((await me(app, TOKENS.admin, { peer: '127.0.0.2' })).status).toBe(200);
  });
});

describe('TRUST_PROXY as a list of proxies', () => {
  it("a hop that is not a trusted proxy is the client, whatever X-Forwarded-For it sends", async () => {
    const app = server('10.0.0.0/8,127.0.0.1');
    // Straight to the service from 192.0.2.66, claiming to be B behind a proxy.
    expect(await wrong(app, MAX, { peer: '192.0.2.66', xff: B })).toEqual(Array(MAX).fill(401));
    expect((await me(app, TOKENS.admin, { xff: B })).status).toBe(200);
    expect((await me(app, TOKENS.admin, { peer: '192.0.2.66' })).status).toBe(429);
    // Through two trusted proxies (10.1.2.3, then 127.0.0.1): the client is the first untrusted entry from the right.
    expect(await wrong(app, MAX, { xff: `${B}, ${A}, 10.1.2.3` })).toEqual(Array(MAX).fill(401));
    expect((await me(app, TOKENS.admin, { xff: A })).status).toBe(429);
    expect((await me(app, TOKENS.admin, { xff: B })).status).toBe(200);
  });
});

describe('ack links', () => {
  // A stand-in for the alerts part: every link is forged (404), so no alert is needed.
  const actions = {
    fromLink: async () => ({ ok: false, code: 'forged', message: 'not a valid link' }),
    ackByLink: async () => ({ ok: false, code: 'forged', message: 'not a valid link' }),
  } as unknown as AlertActions;
  const ackServer = (trustProxy?: string) => server(trustProxy, { alerts: { actions } as ServerDeps['alerts'] });
  const link = (app: FastifyInstance, method: 'GET' | 'POST', from: From, n = 0) =>
    app.inject({
      method,
      url: `/ack/${'t'.repeat(40)}${n}`,
      remoteAddress: from.peer ?? '127.0.0.1',
      headers: { accept: 'application/json', ...(from.xff ? { 'x-forwarded-for': from.xff } : {}), ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
      ...(method === 'POST' ? { payload: '{}' } : {}),
    });
  const { max } = CLIENT_LIMITS.ack;

  it(`behind TRUST_PROXY=1: ${max} a minute per client, GET and POST together, then 429 RATE_LIMITED with Retry-After; another client is not limited`, async () => {
    expect(max).toBe(120);
    const app = ackServer('1');
    const statuses = new Set<number>();
    // Half GETs, half POSTs, on different links: one budget for the client, whatever it asks.
    for (let i = 0; i < max; i++) statuses.add((await link(app, i % 2 ? 'POST' : 'GET', { xff: A }, i)).statusCode);
    expect([...statuses]).toEqual([404]);
    for (const method of ['GET', 'POST'] as const) {
      const r = await link(app, method, { xff: A });
      expect(r.statusCode, method).toBe(429);
      expectApiError(r.statusCode, r.json(), `${method} past the limit`);
      expect((r.json() as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
      const wait = Number(r.headers['retry-after']);
      expect(wait, 'Retry-After').toBeGreaterThan(0);
      expect(wait, 'Retry-After').toBeLessThanOrEqual(60);
      // Refused before the route: with the security headers all the same.
      expect(r.headers['referrer-policy']).toBe('no-referrer');
    }
    // B through the same proxy, and A's entry spoofed in front of the proxy's by B: B's own budget.
    expect((await link(app, 'GET', { xff: B })).statusCode).toBe(404);
    expect((await link(app, 'POST', { xff: `${A}, ${B}` })).statusCode).toBe(404);
    // A bearer token does not lift it, and the failed-token budget is another matter.
    const withToken = await app.inject({ method: 'GET', url: '/ack/x', headers: { authorization: `Bearer ${TOKENS.admin}`, 'x-forwarded-for': A, accept: 'application/json' } });
    expect(withToken.statusCode).toBe(429);
    expect((await me(app, TOKENS.admin, { xff: A })).status).toBe(200);
  });

  it('TRUST_PROXY unset: X-Forwarded-For buys no new budget', async () => {
    const app = ackServer(undefined);
    for (let i = 0; i < max; i++) expect((await link(app, 'GET', { xff: `192.0.2.${(i % 250) + 1}` }, i)).statusCode).toBe(404);
    expect((await link(app, 'GET', { xff: B })).statusCode).toBe(429);
    expect((await link(app, 'GET', { peer: '127.0.0.2' })).statusCode).toBe(404);
  });
});

/** The handshake's outcome: 'connected' or the refusal's code. */
async function handshake(url: string, token: string, xff?: string): Promise<string> {
  const socket = io(url, { path: '/socket.io', auth: { token }, reconnection: false, transports: ['websocket'], ...(xff ? { extraHeaders: { 'x-forwarded-for': xff } } : {}) });
  try {
    return await new Promise<string>((resolve) => {
      socket.once('connect', () => resolve('connected'));
      socket.once('connect_error', (e) => resolve(e.message));
    });
  } finally {
    socket.close();
  }
}

const api = async (url: string, token: string, xff?: string) =>
  (await fetch(`${url}/api/me`, { headers: { authorization: `Bearer ${token}`, ...(xff ? { 'x-forwarded-for': xff } : {}) } })).status;

describe('one budget for the HTTP API and socket.io', () => {
  /** buildServer's server listening on 127.0.0.1, with the live hub on it as app.ts starts it. */
  async function live(trustProxy?: string) {
    const app = server(trustProxy);
    const registry = new Registry(ESTATE);
    const hub = new LiveHub({
      estate: ESTATE,
      registry,
      latest: new LatestCache(registry),
      alerts: { list: async () => [], canSee: () => true },
      bus: new Bus(() => {}),
      log: pino({ level: 'silent' }),
    });
    hub.start(app.server);
    open.push(() => hub.stop());
    await app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    return { app, url };
  }

  it('behind TRUST_PROXY=1: half the wrong tokens on the API, half on socket.io, and A is locked out of both; B is not', async () => {
    const { url } = await live('1');
    const half = MAX / 2;
    for (let i = 0; i < half; i++) expect(await api(url, `wrong-${i}`, A)).toBe(401);
    for (let i = 0; i < half - 1; i++) expect(await handshake(url, `wrong-s${i}`, A)).toBe('UNAUTHENTICATED');
    // The 10th, on socket.io, blocks A everywhere.
    expect(await handshake(url, 'wrong-last', A)).toBe('UNAUTHENTICATED');
    expect(await handshake(url, TOKENS.admin, A)).toBe('TOO_MANY_REQUESTS');
    expect(await api(url, TOKENS.admin, A)).toBe(429);
    // B, through the same proxy, on both ways in.
    expect(await handshake(url, TOKENS.admin, B)).toBe('connected');
    expect(await api(url, TOKENS.admin, B)).toBe(200);
  });

  it('behind TRUST_PROXY=1: wrong tokens on socket.io lock the API, with the client\'s spoofed entry ignored', async () => {
    const { url } = await live('1');
    // The client sent "X-Forwarded-For: B" itself; the proxy added A. ws:// carries it in the upgrade request.
    for (let i = 0; i < MAX; i++) expect(await handshake(url, `wrong-${i}`, `${B}, ${A}`)).toBe('UNAUTHENTICATED');
    expect(await api(url, TOKENS.admin, A)).toBe(429);
    expect(await api(url, TOKENS.admin, B)).toBe(200);
    expect(await handshake(url, TOKENS.admin, B)).toBe('connected');
  });

  it('TRUST_PROXY unset: the socket address, on both ways in', async () => {
    const { url } = await live(undefined);
    for (let i = 0; i < MAX - 1; i++) expect(await handshake(url, `wrong-${i}`, `192.0.2.${i + 1}`)).toBe('UNAUTHENTICATED');
    expect(await api(url, 'wrong-last', B)).toBe(401);
    expect(await api(url, TOKENS.admin, A)).toBe(429);
    expect(await handshake(url, TOKENS.admin, A)).toBe('TOO_MANY_REQUESTS');
  });
});

describe('the whole service', () => {
  it('started with TRUST_PROXY=1, it counts clients by the address the proxy wrote, on the API and socket.io', async () => {
    const service = await startService({ env: { TRUST_PROXY: '1' } });
    open.push(() => service.stop());
    for (let i = 0; i < MAX / 2; i++) expect(await api(service.url, `wrong-${i}`, A)).toBe(401);
    for (let i = 0; i < MAX / 2; i++) expect(await handshake(service.url, `wrong-s${i}`, A)).toBe('UNAUTHENTICATED');
    expect(await api(service.url, TOKENS.admin, A)).toBe(429);
    expect(await handshake(service.url, TOKENS.admin, A)).toBe('TOO_MANY_REQUESTS');
    expect(await api(service.url, TOKENS.admin, B)).toBe(200);
    expect(await handshake(service.url, TOKENS.admin, B)).toBe('connected');
  }, 60_000);
});
