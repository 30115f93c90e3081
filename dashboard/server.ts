/**
 * The fastify app, built apart from `listen()` so tests drive it with `inject()`.
 * Routes register here; each part's routes live in `routes/`.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Estate } from '../config/index.ts';
import type { OperationalStore } from '../storage/index.ts';
import type { Registry as PromRegistry } from 'prom-client';
import { TokenBook, type Principal } from './auth.ts';
import { AuthLimiter } from './auth-limit.ts';
import { ApiError, errorBody } from './errors.ts';
import { healthRoutes, type Readiness } from './routes/health.ts';
import { ingestRoutes } from './routes/ingest.ts';
import { alertRoutes } from './routes/alerts.ts';
import { ackRoutes } from './routes/ack.ts';
import formbody from '@fastify/formbody';
import swagger from '@fastify/swagger';
import { openApiOptions, openApiRoutes } from './routes/openapi.ts';
import type { AlertActions, AlertStore } from '../alerts/index.ts';
import type { Registry } from '../config/index.ts';
import type { SeriesStore } from '../storage/index.ts';
import { registryRoutes } from './routes/registry.ts';
import { uiRoutes } from './ui-serve.ts';
import { auditRoutes } from './routes/audit.ts';
import { reportRoutes, type ReportsApi } from './routes/reports.ts';
import type { LatestCache } from './live/latest.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export interface ServerDeps {
  estate: Estate;
  ops: OperationalStore;
  metrics: PromRegistry;
  readiness: () => Readiness;
  log: Logger;
  alerts: { actions: AlertActions; store: AlertStore };
  registry: Registry;
  latest: LatestCache;
  store: SeriesStore;
  /** the reports part (CONTRACT section 7); its routes are left out without it */
  reports?: ReportsApi;
}

export function buildServer(deps: ServerDeps): FastifyInstance {
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.log.child({ part: 'http' }) as FastifyBaseLogger,
    disableRequestLogging: true,
    bodyLimit: 1024 * 1024,
    // Signed acknowledgement tokens are longer than fastify's default of 100.
    routerOptions: { maxParamLength: 1024 },
  });
  const tokens = new TokenBook(deps.estate);
  app.decorateRequest('principal', null);

  const limiter = new AuthLimiter();
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

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; validation?: unknown }, req, reply) => {
    if (err instanceof ApiError) {
      req.log.info({ code: err.code, url: req.url }, err.message);
      return reply.status(err.status).send(errorBody(err.code, err.message));
    }
    if (err.validation) {
      req.log.info({ url: req.url, err: err.message }, 'bad request');
      return reply.status(400).send(errorBody('BAD_REQUEST', err.message));
    }
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) req.log.error({ err, url: req.url }, 'request failed');
    else req.log.info({ url: req.url, err: err.message }, 'request refused');
    return reply.status(status).send(errorBody(status >= 500 ? 'INTERNAL' : (err.code ?? 'BAD_REQUEST'), status >= 500 ? 'internal error' : err.message));
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send(errorBody('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`)));

  // The acknowledgement page posts a plain HTML form.
  void app.register(formbody);
  // The OpenAPI document is made from the routes' own schemas: swagger first, so that it
  // sees every route registered in the plugin after it.
  void app.register(swagger, openApiOptions);
  void app.register(async (api) => {
    healthRoutes(api, { readiness: deps.readiness, metrics: deps.metrics, protectMetrics: deps.estate.auth.protectMetrics });
    ingestRoutes(api, { ops: deps.ops });
    alertRoutes(api, deps.alerts);
    auditRoutes(api, { store: deps.alerts.store });
    registryRoutes(api, { registry: deps.registry, latest: deps.latest, store: deps.store, overrides: deps.estate.rules });
    ackRoutes(api, deps.alerts);
    if (deps.reports) reportRoutes(api, { reports: deps.reports, registry: deps.registry });
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
