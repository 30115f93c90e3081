/** `/healthz`, `/readyz` and `/metrics` (CONTRACT section 5; docs/operations.md). */
import type { FastifyInstance } from 'fastify';
import type { Registry as PromRegistry } from 'prom-client';
import { ApiError } from '../errors.ts';

/**
 * What /readyz answers. Ready (v2) = it can serve: the operational store usable, the spool not
 * full, no stop begun. The broker and the series store being away do not make it unready (the
 * dashboard is needed most then); `broker` and `store` say so.
 */
export interface Readiness {
  ready: boolean;
  /** a stop has begun: unready from its first moment, while the server still answers */
  stopping?: boolean;
  /** the operational store (docs/operational-store.md) */
  operational?: {
    dialect: string;
    up: boolean;
    /** the alert committer's last batch was refused (its changes wait) */
    refusing: boolean;
    /** when the last probe answered, RFC 3339; null before the first */
    checkedAt: string | null;
    /** why the last probe failed, while not up */
    error?: string;
  };
  broker: { connected: boolean; url: string; /** why the last connection attempt failed (ingest/broker-error.ts), while not connected */ error?: { code: string; message: string } };
  spool: { writable: boolean; segments: number; bytes: number; maxBytes?: number; full: boolean };
  store: { kind: string; up: boolean; backlogBytes: number; error?: string };
}

export function healthRoutes(app: FastifyInstance, deps: { readiness: () => Readiness; metrics: PromRegistry; protectMetrics: boolean }): void {
  // Alive: the process answers. Nothing else is checked (a restart would not mend a store away).
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const r = deps.readiness();
    return reply.status(r.ready ? 200 : 503).header('cache-control', 'no-store').send(r);
  });

  app.get('/metrics', async (req, reply) => {
    if (deps.protectMetrics && !req.principal) throw new ApiError('UNAUTHENTICATED');
    return reply.type(deps.metrics.contentType).send(await deps.metrics.metrics());
  });
}
