/** `/healthz`, `/readyz` and `/metrics` (CONTRACT section 5). */
import type { FastifyInstance } from 'fastify';
import type { Registry as PromRegistry } from 'prom-client';
import { ApiError } from '../errors.ts';

export interface Readiness {
  ready: boolean;
  broker: { connected: boolean; url: string; /** why the last connection attempt failed (ingest/broker-error.ts), while not connected */ error?: { code: string; message: string } };
  spool: { writable: boolean; segments: number; bytes: number; full: boolean };
  store: { kind: string; up: boolean; backlogBytes: number; error?: string };
}

export function healthRoutes(app: FastifyInstance, deps: { readiness: () => Readiness; metrics: PromRegistry; protectMetrics: boolean }): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  // Ready = broker connected and spool writable. The store being away does not make the
  // service unready (the spool holds the readings); the body says so.
  app.get('/readyz', async (_req, reply) => {
    const r = deps.readiness();
    return reply.status(r.ready ? 200 : 503).send(r);
  });

  app.get('/metrics', async (req, reply) => {
    if (deps.protectMetrics && !req.principal) throw new ApiError('UNAUTHENTICATED');
    return reply.type(deps.metrics.contentType).send(await deps.metrics.metrics());
  });
}
