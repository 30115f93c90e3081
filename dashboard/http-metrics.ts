/**
 * HTTP request metrics on the registry the server is given:
 *
 * - `estate_http_requests_total{route, method, status}`: requests answered;
 * - `estate_http_request_duration_seconds{route, method}`: from the request's arrival to the
 *   last byte of its answer handed to Node.
 *
 * `route` is the route's pattern as registered (`/api/alerts/:id`, `/ack/:token`, the UI's
 * `/*`), never the URL: ids and tokens would make a series each. A request no route matched
 * (a 404) is `route="(none)"`; so is a path fastify cannot decode (bad percent-encoding,
 * answered 400 before any hook runs), counted by server.ts's `frameworkErrors` but not timed.
 * Refusals of a hook (401, 429, a body too large) count under the route they were meant for.
 * What Node refuses before fastify sees a request (headers over 16 KiB, a malformed request
 * line) is not counted.
 */
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, type Registry as PromRegistry } from 'prom-client';

export const NO_ROUTE = '(none)';

/** Seconds: a route of the operational store answers in milliseconds; a report or a series query may take seconds. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface HttpMetrics {
  requests: Counter<'route' | 'method' | 'status'>;
  duration: Histogram<'route' | 'method'>;
}

/** The metrics, registered on `registry` once (a second server on the same registry shares them). */
export function httpMetrics(registry: PromRegistry): HttpMetrics {
  const requests =
    (registry.getSingleMetric('estate_http_requests_total') as HttpMetrics['requests'] | undefined) ??
    new Counter({ name: 'estate_http_requests_total', help: 'HTTP requests answered, by route pattern, method and status', labelNames: ['route', 'method', 'status'] as const, registers: [registry] });
  const duration =
    (registry.getSingleMetric('estate_http_request_duration_seconds') as HttpMetrics['duration'] | undefined) ??
    new Histogram({
      name: 'estate_http_request_duration_seconds',
      help: 'Time from an HTTP request\'s arrival to its answer, by route pattern and method',
      labelNames: ['route', 'method'] as const,
      buckets: BUCKETS,
      registers: [registry],
    });
  return { requests, duration };
}

/** Counts and times every request `app` answers (a root hook: every route, every plugin). */
export function recordHttpMetrics(app: FastifyInstance, registry: PromRegistry): HttpMetrics {
  const m = httpMetrics(registry);
  app.addHook('onResponse', async (req, reply) => {
    // The pattern of the route that answered; the not-found handler has none (fastify gives it no url, or the raw URL as '*').
    const route = req.is404 ? NO_ROUTE : (req.routeOptions.url ?? NO_ROUTE);
    m.requests.inc({ route, method: req.method, status: String(reply.statusCode) });
    m.duration.observe({ route, method: req.method }, reply.elapsedTime / 1000);
  });
  return m;
}
