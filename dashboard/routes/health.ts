/** `/healthz`, `/readyz` and `/metrics` (docs/interfaces.md#probes-and-metrics; docs/operations.md). */
import type { FastifyInstance } from 'fastify';
import type { Registry as PromRegistry } from 'prom-client';
import { ApiError } from '../errors.ts';
import { bearerErrors } from '../schemas.ts';

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

const open = { additionalProperties: true } as const;
const num = { type: 'integer' } as const;
/**
 * /readyz's body, for the document: every level keeps what the handler sends (additional
 * properties pass through as they are), so the schema documents the body without trimming it.
 */
const readinessSchema = {
  type: 'object',
  ...open,
  properties: {
    ready: { type: 'boolean' },
    stopping: { type: 'boolean' },
    operational: {
      type: 'object',
      ...open,
      properties: { dialect: { type: 'string', enum: ['sqlite', 'postgres'] }, up: { type: 'boolean' }, refusing: { type: 'boolean' }, checkedAt: { type: ['string', 'null'], format: 'date-time' }, error: { type: 'string' } },
    },
    broker: {
      type: 'object',
      ...open,
      properties: { connected: { type: 'boolean' }, url: { type: 'string' }, error: { type: 'object', ...open, properties: { code: { type: 'string' }, message: { type: 'string' } } } },
    },
    spool: { type: 'object', ...open, properties: { writable: { type: 'boolean' }, segments: num, bytes: num, maxBytes: num, full: { type: 'boolean' } } },
    store: { type: 'object', ...open, properties: { kind: { type: 'string' }, up: { type: 'boolean' }, backlogBytes: num, error: { type: 'string' } } },
  },
} as const;

export function healthRoutes(app: FastifyInstance, deps: { readiness: () => Readiness; metrics: PromRegistry; protectMetrics: boolean }): void {
  const tags = ['probes'];
  // Alive: the process answers. Nothing else is checked (a restart would not mend a store away).
  app.get(
    '/healthz',
    {
      schema: {
        operationId: 'getHealth',
        tags,
        summary: 'Alive: the process answers',
        security: [],
        response: { 200: { description: 'always, while the process answers', type: 'object', properties: { status: { type: 'string', enum: ['ok'] } } } },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        operationId: 'getReadiness',
        tags,
        summary: 'Ready: it can serve (the operational store usable, the spool not full, no stop begun)',
        security: [],
        response: {
          200: { description: 'ready; the broker and the series store may still be away (the body says so)', ...readinessSchema },
          503: { description: 'not ready: the operational store unusable, the spool full, or a stop begun (the body says which)', ...readinessSchema },
        },
      },
    },
    async (_req, reply) => {
      const r = deps.readiness();
      return reply.status(r.ready ? 200 : 503).header('cache-control', 'no-store').send(r);
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        operationId: 'getMetrics',
        tags,
        summary: 'Prometheus metrics (text format)',
        // Public unless the estate file sets auth.protectMetrics: then any token may read them.
        security: deps.protectMetrics ? [{ bearer: [] }] : [],
        response: {
          200: { description: 'the Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } },
          ...(deps.protectMetrics ? bearerErrors() : {}),
        },
      },
    },
    async (req, reply) => {
      if (deps.protectMetrics && !req.principal) throw new ApiError('UNAUTHENTICATED');
      return reply.type(deps.metrics.contentType).send(await deps.metrics.metrics());
    },
  );
}
