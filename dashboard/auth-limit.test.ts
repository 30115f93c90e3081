/**
 * The client-address rule and the failed-token limiter: TRUST_PROXY as the environment reads
 * it, `ClientAddress.of` giving what fastify's `req.ip` gives under the same setting (the
 * socket.io handshake relies on it), and the limiter's numbers and bounds.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { EnvError, readEnv } from '../config/index.ts';
import { AUTH_LIMIT, AuthLimiter, CLIENT_LIMITS, ClientAddress, clientKey, perClient, registerClientLimits } from './auth-limit.ts';
import { ApiError, errorBody } from './errors.ts';

const trust = (v: string | undefined) => readEnv({ TRUST_PROXY: v }).TRUST_PROXY;

describe('TRUST_PROXY', () => {
  it('reads a hop count, true/false or a list of proxies; unset or 0 trusts nothing', () => {
    expect(trust(undefined)).toBe(false);
    expect(trust('')).toBe(false);
    expect(trust('0')).toBe(false);
    expect(trust('false')).toBe(false);
    expect(trust('1')).toBe(1);
    expect(trust('2')).toBe(2);
    expect(trust('true')).toBe(true);
    expect(trust('10.0.0.0/8,127.0.0.1')).toEqual(['10.0.0.0/8', '127.0.0.1']);
    expect(trust(' 10.0.0.0/8 , ::1, fd00::/8 ')).toEqual(['10.0.0.0/8', '::1', 'fd00::/8']);
    expect(trust('loopback,uniquelocal')).toEqual(['loopback', 'uniquelocal']);
    expect(trust('10.0.0.0/255.0.0.0')).toEqual(['10.0.0.0/255.0.0.0']);
  });

  it('refuses anything else with ENV_INVALID, naming the bad entries', () => {
    for (const bad of ['yes', '-1', '65', '1,2', '10.0.0.0/33', '10.0.0.0/0', '::/0', '10.0.0.0/255.0.255.0', 'proxy.local', '10.0.0.1,', '10.0.0.1/8/8']) {
      let err: unknown;
      try {
        trust(bad);
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(EnvError);
      expect((err as EnvError).code).toBe('ENV_INVALID');
      expect((err as Error).message, bad).toMatch(/TRUST_PROXY: must be true, false, a hop count/);
    }
  });

  it('every value it accepts, proxy-addr accepts too', () => {
    for (const v of ['1', '64', 'true', '10.0.0.0/8,127.0.0.1', '::1,fd00::/8', 'loopback,linklocal,uniquelocal', '10.0.0.0/255.0.0.0', '1.2.3.4/32', '::ffff:10.0.0.1']) {
      expect(() => new ClientAddress(trust(v)), v).not.toThrow();
    }
  });
});

describe('ClientAddress', () => {
  const SETTINGS = [undefined, 'false', 'true', '1', '2', '127.0.0.1', '10.0.0.0/8,127.0.0.1', 'loopback'];
  const ARRIVALS: { peer: string; xff?: string }[] = [
    { peer: '127.0.0.1' },
    { peer: '127.0.0.1', xff: '203.0.113.7' },
    { peer: '127.0.0.1', xff: '198.51.100.9, 203.0.113.7' },
    { peer: '127.0.0.1', xff: '198.51.100.9, 203.0.113.7, 10.1.2.3' },
    { peer: '127.0.0.1', xff: '198.51.100.9,10.1.2.3' },
    { peer: '127.0.0.1', xff: 'not an address, 203.0.113.7' },
    { peer: '127.0.0.1', xff: '' },
    { peer: '192.0.2.66', xff: '198.51.100.9' },
    { peer: '::1', xff: '2001:db8::1' },
    { peer: '10.1.2.3', xff: '203.0.113.7' },
  ];

  it("gives fastify's req.ip under every setting, for every X-Forwarded-For", async () => {
    const got: string[] = [];
    const want: string[] = [];
    for (const setting of SETTINGS) {
      const address = new ClientAddress(trust(setting));
      const app = Fastify({ trustProxy: address.trust });
      app.get('/', async (req) => ({ ip: req.ip, ours: address.of(req.raw) }));
      for (const a of ARRIVALS) {
        const r = (await app.inject({ url: '/', remoteAddress: a.peer, headers: a.xff !== undefined ? { 'x-forwarded-for': a.xff } : {} })).json() as { ip: string; ours: string };
        const line = `${setting} ${a.peer} [${a.xff ?? ''}]`;
        got.push(`${line}: ${r.ours}`);
        want.push(`${line}: ${r.ip}`);
      }
      await app.close();
    }
    expect(got).toEqual(want);
  });

  it('the settings mean what docs/security.md says', () => {
    const req = (peer: string, xff?: string) => ({ socket: { remoteAddress: peer }, headers: xff ? { 'x-forwarded-for': xff } : {}, connection: { remoteAddress: peer } }) as never;
    expect(new ClientAddress(trust(undefined)).of(req('127.0.0.1', '203.0.113.7'))).toBe('127.0.0.1');
    expect(new ClientAddress(trust('1')).of(req('127.0.0.1', '198.51.100.9, 203.0.113.7'))).toBe('203.0.113.7');
    expect(new ClientAddress(trust('127.0.0.1')).of(req('192.0.2.66', '198.51.100.9'))).toBe('192.0.2.66');
    expect(new ClientAddress(trust('10.0.0.0/8,127.0.0.1')).of(req('127.0.0.1', '198.51.100.9, 203.0.113.7, 10.1.2.3'))).toBe('203.0.113.7');
    // true believes the leftmost entry, which the client writes: documented as unsafe.
    expect(new ClientAddress(trust('true')).of(req('127.0.0.1', '198.51.100.9, 203.0.113.7'))).toBe('198.51.100.9');
  });
});

describe('AuthLimiter', () => {
  it('10 bad tokens within a minute block for 5 minutes; older failures fall out of the window', () => {
    expect(AUTH_LIMIT).toEqual({ max: 10, windowMs: 60_000, blockMs: 300_000 });
    let now = 0;
    const l = new AuthLimiter(AUTH_LIMIT, () => now);
    for (let i = 0; i < 9; i++) l.fail('a');
    expect(l.retryAfter('a')).toBe(0);
    now = 60_000; // the first nine are a minute old
    l.fail('a');
    expect(l.retryAfter('a')).toBe(0);
    for (let i = 0; i < 9; i++) l.fail('a');
    expect(l.retryAfter('a')).toBe(300);
    expect(l.retryAfter('b')).toBe(0);
    now += 299_001;
    expect(l.retryAfter('a')).toBe(1);
    now += 999;
    expect(l.retryAfter('a')).toBe(0);
  });

  it('a flood of distinct addresses keeps at most 10,000 of each kind, and the newest blocks', () => {
    let now = 0;
    const l = new AuthLimiter({ max: 2, windowMs: 60_000, blockMs: 300_000 }, () => now);
    for (let i = 0; i < 12_000; i++) {
      l.fail(`x${i}`);
      l.fail(`x${i}`);
    }
    const maps = l as unknown as { failures: Map<string, number[]>; blocked: Map<string, number> };
    expect(maps.blocked.size).toBe(10_000);
    expect(l.retryAfter('x11999')).toBe(300);
    expect(l.retryAfter('x0')).toBe(0);
    for (let i = 0; i < 12_000; i++) l.fail(`y${i}`);
    expect(maps.failures.size).toBe(10_000);
  });
});

describe('a client', () => {
  it('is an IPv4 address, or an IPv6 /64; an IPv4-mapped address is its IPv4 one', () => {
    expect(clientKey('203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe(clientKey('2001:db8:1:2:ffff::9'));
    expect(clientKey('2001:db8:1:2::1')).not.toBe(clientKey('2001:db8:1:3::1'));
  });

  it('the failed-token limiter counts a /64 as one client', () => {
    const l = new AuthLimiter();
    for (let i = 1; i <= AUTH_LIMIT.max; i++) l.fail(`2001:db8:1:2::${i.toString(16)}`);
    expect(l.retryAfter('2001:db8:1:2:dead:beef:0:1')).toBe(300);
    expect(l.retryAfter('2001:db8:1:3::1')).toBe(0);
    const m = new AuthLimiter();
    for (let i = 0; i < AUTH_LIMIT.max; i++) m.fail('::ffff:203.0.113.7');
    expect(m.retryAfter('203.0.113.7')).toBe(300);
  });
});

describe('perClient', () => {
  async function app(): Promise<FastifyInstance> {
    const a = Fastify();
    a.setErrorHandler((err, _req, reply) => (err instanceof ApiError ? reply.status(err.status).send(errorBody(err.code, err.message)) : reply.send(err)));
    registerClientLimits(a);
    // Two plugins, as two parts' routes would be: one budget for the name all the same.
    void a.register(async (p) => {
      p.get('/ack/:token', { onRequest: perClient(p, 'ack') }, async () => 'a');
    });
    void a.register(async (p) => {
      p.addHook('onRequest', perClient(p, 'ack'));
      p.post('/ack/:token', async () => 'b');
    });
    void a.register(async (p) => {
      p.get('/open', async () => 'open');
    });
    await a.ready();
    return a;
  }

  it('one budget per name and client, across plugins and routes; other clients and routes that take none apart', async () => {
    const a = await app();
    const { max } = CLIENT_LIMITS.ack;
    for (let i = 0; i < max; i++) {
      const r = await a.inject({ method: i % 2 ? 'POST' : 'GET', url: '/ack/x' });
      if (r.statusCode !== 200) throw new Error(`request ${i}: ${r.statusCode}`);
    }
    const over = await a.inject({ method: 'POST', url: '/ack/y' });
    expect(over.statusCode).toBe(429);
    expect(over.json()).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect((await a.inject({ url: '/ack/x', remoteAddress: '127.0.0.2' })).statusCode).toBe(200);
    expect((await a.inject({ url: '/open' })).statusCode).toBe(200);
    await a.close();
  });

  it('refuses to make a hook when the plugin is not registered, instead of limiting nothing', () => {
    const a = Fastify();
    expect(() => perClient(a, 'ack')).toThrow(/not registered/);
  });
});
