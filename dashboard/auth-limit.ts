/**
 * Limits on clients, by the client's address as fastify resolves it (TRUST_PROXY):
 *
 * - `AuthLimiter`: failed authentication. An address that presents `max` bad tokens within
 *   `windowMs` is answered 429 for `blockMs`, whatever it presents, so a token cannot be
 *   guessed by trying. Good tokens are never counted. In memory, per instance.
 * - `ClientAddress`: the one rule for "which address is the client", used by fastify (its
 *   `trustProxy` option, hence `req.ip`) and by the socket.io handshake, with fastify's own
 *   copy of proxy-addr, so both read X-Forwarded-For the same way.
 * - `ClientGuard`: the two together. One per HTTP server: the HTTP API and the socket.io hub
 *   attached to the same server share its budget (`guardOf`), so a guesser gets one budget
 *   whatever the way in.
 * - `perClient`: requests per client on public routes (ack links; the adapters' `/ingest/*`
 *   have none by count, docs/security.md says why),
 *   with `@fastify/rate-limit`, answered 429 RATE_LIMITED with Retry-After.
 *
 * A client is an IPv4 address or an IPv6 /64 (`clientKey`): one host or LAN has a /64 to
 * itself, and would otherwise have 2^64 budgets.
 *
 * docs/security.md, "Behind a TLS proxy" and "Limits".
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { createRequire } from 'node:module';
import type { FastifyInstance, onRequestAsyncHookHandler } from 'fastify';
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import { ApiError } from './errors.ts';

export interface AuthLimitOptions {
  max: number;
  windowMs: number;
  blockMs: number;
}

/** 10 bad tokens within a minute block the address for 5 minutes. */
export const AUTH_LIMIT: AuthLimitOptions = { max: 10, windowMs: 60_000, blockMs: 300_000 };

/** The key of a client address in every limit here: the address, or its /64 for IPv6 (an IPv4-mapped one as IPv4), as @fastify/rate-limit keys it. */
export function clientKey(address: string): string {
  return normalizeIP(address);
}

/** Addresses remembered at most, for failures and for blocks each: a flood of distinct ones cannot grow memory. */
const MAX_ADDRESSES = 10_000;

export class AuthLimiter {
  private readonly failures = new Map<string, number[]>();
  private readonly blocked = new Map<string, number>();

  constructor(
    private readonly opts: AuthLimitOptions = AUTH_LIMIT,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds to wait, or 0 when this address may try. */
  retryAfter(client: string): number {
    const address = clientKey(client);
    const until = this.blocked.get(address);
    if (until === undefined) return 0;
    const left = until - this.now();
    if (left <= 0) {
      this.blocked.delete(address);
      return 0;
    }
    return Math.ceil(left / 1000);
  }

  fail(client: string): void {
    const address = clientKey(client);
    const now = this.now();
    const list = (this.failures.get(address) ?? []).filter((t) => now - t < this.opts.windowMs);
    list.push(now);
    if (list.length >= this.opts.max) {
      this.blocked.delete(address);
      this.blocked.set(address, now + this.opts.blockMs);
      this.failures.delete(address);
      // Blocks are kept in the order they were set: the first ones end first.
      while (this.blocked.size > MAX_ADDRESSES) this.blocked.delete(this.blocked.keys().next().value!);
    } else {
      this.failures.delete(address);
      this.failures.set(address, list);
    }
    // Bounded: forget the addresses that failed least recently under a flood of distinct ones.
    while (this.failures.size > MAX_ADDRESSES) this.failures.delete(this.failures.keys().next().value!);
  }
}

/** TRUST_PROXY as config/env.ts gives it. */
export type TrustProxy = boolean | number | readonly string[];

type TrustFn = (address: string, hop: number) => boolean;
interface ProxyAddr {
  all(req: IncomingMessage, trust?: TrustFn): string[];
  compile(val: string[]): TrustFn;
}

/** The copy of proxy-addr that fastify itself computes `req.ip` with, loaded from where fastify resolves it. */
const proxyAddr = createRequire(createRequire(import.meta.url).resolve('fastify'))('@fastify/proxy-addr') as ProxyAddr;

/** Which address a request comes from, under the TRUST_PROXY setting. */
export class ClientAddress {
  /** What fastify's `trustProxy` option gets: false, or the one trust function both sides use. */
  readonly trust: false | TrustFn;

  constructor(setting: TrustProxy = false) {
    if (setting === false || setting === 0) this.trust = false;
    else if (setting === true) this.trust = () => true;
    // As fastify's own reading of a number: the hops next to the service, the socket's peer first.
    else if (typeof setting === 'number') this.trust = (_a, hop) => hop < setting;
    else this.trust = proxyAddr.compile([...setting]);
  }

  /** The client's address: the socket's, or the first X-Forwarded-For entry (from the right) that no trusted proxy added. As fastify's `req.ip`. */
  of(req: IncomingMessage): string {
    if (!this.trust) return req.socket.remoteAddress ?? '';
    const all = proxyAddr.all(req, this.trust);
    return all[all.length - 1] ?? '';
  }
}

export class ClientGuard {
  constructor(
    readonly address: ClientAddress = new ClientAddress(),
    readonly limiter: AuthLimiter = new AuthLimiter(),
  ) {}
}

const guards = new WeakMap<HttpServer, ClientGuard>();

/** Makes `guard` the one of everything served by `server` (buildServer does, for its fastify server). */
export function attachGuard(server: HttpServer, guard: ClientGuard): void {
  guards.set(server, guard);
}

/** The guard of the HTTP API served by `server`, if buildServer made it. */
export function guardOf(server: HttpServer): ClientGuard | undefined {
  return guards.get(server);
}

/**
 * Requests per client on public routes, by name: the routes that take one name share one
 * budget per client. In memory, per instance; at most `cache` clients remembered per name.
 */
export const CLIENT_LIMITS = {
  /** GET and POST /ack/:token together: far above a duty desk opening and acknowledging 60 alerts a minute */
  ack: { max: 120, timeWindow: 60_000 },
} as const;

export type ClientLimitName = keyof typeof CLIENT_LIMITS;

const CLIENTS_REMEMBERED = 10_000;

/** Registers @fastify/rate-limit on `app` (buildServer does, before the routes): no route is limited until it asks with `perClient`. */
export function registerClientLimits(app: FastifyInstance): void {
  void app.register(rateLimit, {
    global: false,
    cache: CLIENTS_REMEMBERED,
    // The plugin's default key, req.ip under TRUST_PROXY with IPv6 by /64 (clientKey).
    // Thrown, so the server's error handler answers it in the catalogue's shape; Retry-After is set before.
    errorResponseBuilder: (_req, ctx) => new ApiError('RATE_LIMITED', `too many requests from this address; try again in ${ctx.after}`),
  });
}

const hooks = new WeakMap<HttpServer, Map<ClientLimitName, onRequestAsyncHookHandler>>();

/**
 * The onRequest hook that counts a route's requests in the named budget, for a route's
 * options: `app.get('/ack/:token', { onRequest: perClient(app, 'ack') }, handler)`. One
 * budget per name and server, whichever plugin (encapsulated instance) asks.
 */
export function perClient(app: FastifyInstance, name: ClientLimitName): onRequestAsyncHookHandler {
  let byName = hooks.get(app.server);
  if (!byName) hooks.set(app.server, (byName = new Map()));
  let hook = byName.get(name);
  if (!hook) {
    if (!app.hasDecorator('rateLimit')) throw new Error('perClient: @fastify/rate-limit is not registered (registerClientLimits) before this route');
    // One handler, one store: every route given it shares the budget (a route's own config.rateLimit would get a store of its own).
    hook = app.rateLimit({ ...CLIENT_LIMITS[name], cache: CLIENTS_REMEMBERED }) as unknown as onRequestAsyncHookHandler;
    byName.set(name, hook);
  }
  return hook;
}
