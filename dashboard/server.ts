/**
 * The fastify app, built apart from `listen()` so tests drive it with `inject()`.
 * Routes register here; each part's routes live in `routes/`.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Estate } from '../config/index.ts';
import { isStoreUnavailable } from '../storage/index.ts';
import type { Registry as PromRegistry } from 'prom-client';
import { TokenBook, type Principal } from './auth.ts';
import { NO_ROUTE, recordHttpMetrics } from './http-metrics.ts';
import { AuthLimiter, ClientAddress, ClientGuard, attachGuard, registerClientLimits, type TrustProxy } from './auth-limit.ts';
import { ApiError, ERRORS, codeForStatus, errorBody } from './errors.ts';
import { STATUS_CODES } from 'node:http';
import { healthRoutes, type Readiness } from './routes/health.ts';
import { ingestRoutes, type RejectsApi } from './routes/ingest.ts';
import { alertRoutes } from './routes/alerts.ts';
import { ackRoutes } from './routes/ack.ts';
import formbody from '@fastify/formbody';
import helmet from 'helmet';
import swagger from '@fastify/swagger';
import { DOCS_SCRIPT_SHA256, openApiOptions, openApiRoutes } from './routes/openapi.ts';
import type { AlertActions, AlertStore, AuditLog, Outbox } from '../alerts/index.ts';
import type { Registry } from '../config/index.ts';
import type { SeriesStore } from '../storage/index.ts';
import { registryRoutes } from './routes/registry.ts';
import { uiRoutes } from './ui-serve.ts';
import { auditRoutes } from './routes/audit.ts';
import { reportRoutes, type ReportsApi } from './routes/reports.ts';
import { pushRoutes, type PushApi } from './routes/push.ts';
import type { LatestCache } from './live/latest.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export interface ServerDeps {
  estate: Estate;
  /** ingest's rejects and unregistered devices (ingest's `RejectStore`) */
  rejects: RejectsApi;
  /** the audit log, for GET /api/audit */
  audit: Pick<AuditLog, 'list'>;
  metrics: PromRegistry;
  readiness: () => Readiness;
  log: Logger;
  /** the alerts part: what people do with alerts, each alert's history and acknowledgements, and its deliveries */
  alerts: { actions: AlertActions; store: Pick<AlertStore, 'history' | 'acks'>; outbox: Pick<Outbox, 'forAlert'> };
  registry: Registry;
  latest: LatestCache;
  store: SeriesStore;
  /** the reports part (docs/interfaces.md#reports); its routes are left out without it */
  reports?: ReportsApi;
  /** the IoT platforms' pushes (ingest's adapters; docs/adapters.md); left out without it */
  push?: PushApi;
  /** TRUST_PROXY: which proxies to believe about the client's address; unset: none (docs/security.md) */
  trustProxy?: TrustProxy;
}

/**
 * Security headers (helmet): a CSP the built UI, /api/docs and the /ack page work under (same
 * origin only; socket.io on the same origin; blob: URLs for report files shown in a frame or
 * downloaded; inline style attributes for the UI's bars and charts; the one inline script of
 * /api/docs by its hash), no framing by anyone, no referrer (ack links carry a token in
 * their path), nosniff. No upgrade-insecure-requests and no HSTS: the service is often
 * reached over plain HTTP on a LAN address, where those would break it; TLS is the proxy's.
 */
export const CSP_DIRECTIVES = {
  'default-src': ["'self'"],
  'script-src': ["'self'", `'sha256-${DOCS_SCRIPT_SHA256}'`],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:', 'blob:'],
  'font-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'frame-src': ["'self'", 'blob:'],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
} as const;

const securityHeaders = {
  contentSecurityPolicy: { useDefaults: false, directives: CSP_DIRECTIVES as unknown as Record<string, string[]> },
  frameguard: { action: 'deny' as const },
  referrerPolicy: { policy: 'no-referrer' as const },
  strictTransportSecurity: false,
};

/** A URL as it may be logged: an acknowledgement link's token and a CTWing push URL's secret are credentials (docs/security.md). */
export function loggedUrl(url: string): string {
  return url.replace(/^\/ack\/[^/?#]+/, '/ack/<token>').replace(/^(\/ingest\/ctwing\/[^/?#]+\/)[^/?#]+/, '$1<secret>');
}

export function buildServer(deps: ServerDeps): FastifyInstance {
  // One client-address rule and one failed-token budget per client for this server: the
  // socket.io hub attached to it takes the same (guardOf in auth-limit.ts).
  const guard = new ClientGuard(new ClientAddress(deps.trustProxy ?? false), new AuthLimiter());
  const app: FastifyInstance = Fastify({
    trustProxy: guard.address.trust,
    loggerInstance: deps.log.child({ part: 'http' }) as FastifyBaseLogger,
    // No line per request: the service logs what happened, not that a request came (metrics count them).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    // Signed acknowledgement tokens are longer than fastify's default of 100.
    routerOptions: { maxParamLength: 1024 },
    // A path fastify cannot decode (bad percent-encoding): the catalogue's shape, not fastify's.
    frameworkErrors: (err, req, reply) => {
      httpMetrics.requests.inc({ route: NO_ROUTE, method: req.method, status: '400' });
      void (reply as unknown as FastifyReply).status(400).send(errorBody('BAD_REQUEST', err.message));
    },
    // What Node refuses before fastify sees a request (a request line or headers over 16 KiB,
    // a malformed request): answered in the error catalogue's shape too.
    clientErrorHandler: (err: Error & { code?: string }, socket) => {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const code = err.code === 'HPE_HEADER_OVERFLOW' ? 'HEADERS_TOO_LARGE' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'REQUEST_TIMEOUT' : 'BAD_REQUEST';
      const { status, message } = ERRORS[code];
      const body = JSON.stringify(errorBody(code, message));
      if (socket.writable) socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
      socket.destroy(err);
    },
  });
  attachGuard(app.server, guard);
  // Requests by route pattern, method and status, and their durations (http-metrics.ts).
  const httpMetrics = recordHttpMetrics(app, deps.metrics);
  const tokens = new TokenBook(deps.estate);
  app.decorateRequest('principal', null);

  // Security headers on every answer (docs/security.md), first, so that refusals carry them too.
  // helmet's middleware, made once: it only sets the same headers on each response.
  const setSecurityHeaders = helmet(securityHeaders);
  app.addHook('onRequest', (req, reply, done) => setSecurityHeaders(req.raw, reply.raw, (err) => done(err as Error | undefined)));

  const { limiter } = guard;
  // After the security headers' onRequest hook, so a 429 from here still has the headers.
  // A block, not an arrow's value: a fastify instance is thenable, and `after` would wait on it.
  app.after(() => {
    app.addHook('onRequest', async (req, reply) => {
      const header = req.headers.authorization;
      if (!header) {
        req.principal = null;
        return;
      }
      const wait = limiter.retryAfter(req.ip);
      if (wait > 0) {
        reply.header('retry-after', String(wait));
        throw new ApiError('TOO_MANY_REQUESTS');
      }
      req.principal = tokens.verify(header) ?? null;
      if (!req.principal) limiter.fail(req.ip);
    });
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; validation?: unknown }, req, reply) => {
    if (err instanceof ApiError) {
      req.log.info({ code: err.code, url: loggedUrl(req.url) }, err.message);
      return reply.status(err.status).send(errorBody(err.code, err.message));
    }
    if (err.validation) {
      req.log.info({ url: loggedUrl(req.url), err: err.message }, 'bad request');
      return reply.status(400).send(errorBody('BAD_REQUEST', err.message));
    }
    if (isStoreUnavailable(err)) {
      req.log.error({ err, url: loggedUrl(req.url) }, 'the operational store is unavailable');
      return reply.status(503).header('retry-after', '5').send(errorBody('STORE_UNAVAILABLE', ERRORS.STORE_UNAVAILABLE.message));
    }
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) {
      req.log.error({ err, url: loggedUrl(req.url) }, 'request failed');
      return reply.status(500).send(errorBody('INTERNAL', 'internal error'));
    }
    // fastify's own refusals (FST_ERR_CTP_*: a body too large, not JSON, a bad media type):
    // the catalogue's code for their status, their message kept.
    req.log.info({ url: loggedUrl(req.url), err: err.message, code: err.code }, 'request refused');
    const code = codeForStatus(status);
    return reply.status(ERRORS[code].status).send(errorBody(code, err.message));
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send(errorBody('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`)));

  // Requests per client on public routes (ack links, the adapters' /ingest/*): a route takes
  // its budget with perClient (auth-limit.ts); registered before the routes.
  registerClientLimits(app);
  // The acknowledgement page posts a plain HTML form.
  void app.register(formbody);
  // The OpenAPI document is made from the routes' own schemas: swagger first, so that it
  // sees every route registered in the plugin after it.
  void app.register(swagger, openApiOptions);
  void app.register(async (api) => {
    healthRoutes(api, { readiness: deps.readiness, metrics: deps.metrics, protectMetrics: deps.estate.auth.protectMetrics });
    ingestRoutes(api, { rejects: deps.rejects });
    alertRoutes(api, deps.alerts);
    auditRoutes(api, { audit: deps.audit });
    registryRoutes(api, { registry: deps.registry, latest: deps.latest, store: deps.store, overrides: deps.estate.rules });
    ackRoutes(api, deps.alerts);
    if (deps.reports) reportRoutes(api, { reports: deps.reports, registry: deps.registry });
    // In a scope of their own: their bodies are taken as the bytes sent.
    if (deps.push) void api.register(pushRoutes, { push: deps.push });
    openApiRoutes(api, () => app.swagger());
    // The web UI at `/`, last: it answers only what no route above did.
    uiRoutes(api, { log: deps.log });
  });
  return app;
}

/** The request's principal, or a 401. */
export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new ApiError('UNAUTHENTICATED');
  return req.principal;
}
