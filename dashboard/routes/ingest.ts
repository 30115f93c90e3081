/** What ingest refused: `GET /api/ingest/rejects` and `GET /api/devices/unregistered`. */
import type { FastifyInstance } from 'fastify';
import { requireRole, siteFilter } from '../auth.ts';
import { principalOf } from '../server.ts';
import { bearerErrors } from '../schemas.ts';

/**
 * What these routes read of ingest's tables: what ingest's `RejectStore` gives (handed in by
 * app.ts; the dashboard never imports ingest, DESIGN.md).
 */
export interface RejectsApi {
  listRejects(opts: { limit: number; reason?: string; before?: number; sites?: readonly string[] }): Promise<{ id: number; at: number; reason: string; site: string | null; topic: string; detail: string; payload: string }[]>;
  listUnregistered(sites?: readonly string[]): Promise<{ device: string; site: string; kind: string; topic: string; firstSeen: number; lastSeen: number; count: number; reason: string }[]>;
}

const REASONS = ['bad_topic', 'unknown_device', 'bad_payload', 'bad_metric', 'bad_timestamp', 'store_rejected', 'spool_full'];
const tags = ['ingest'];
const departmentsRefused = [403, 'FORBIDDEN: a department token'] as const;

export function ingestRoutes(app: FastifyInstance, deps: { rejects: RejectsApi }): void {
  app.get<{ Querystring: { limit?: number; reason?: string; before?: number } }>(
    '/api/ingest/rejects',
    {
      schema: {
        operationId: 'listRejects',
        tags,
        summary: 'What ingest refused, newest first, with its reason, topic, detail and raw payload',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            reason: { type: 'string', enum: REASONS },
            before: { type: 'integer', minimum: 1 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              items: { type: 'array', items: { type: 'object', properties: { at: { type: 'string' }, reason: { type: 'string' }, topic: { type: 'string' }, detail: { type: 'string' }, payload: { type: 'string' } } } },
              next: { type: 'integer' },
            },
          },
          ...bearerErrors(400, departmentsRefused, 503),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      requireRole(p, 'viewer', 'operator', 'admin');
      const limit = req.query.limit ?? 100;
      const sites = siteFilter(p);
      // Rejects whose topic names no site (bad_topic, store_rejected) are for the whole estate: admins only.
      const rows = await deps.rejects.listRejects({ limit: limit + 1, ...(req.query.reason ? { reason: req.query.reason } : {}), ...(req.query.before ? { before: req.query.before } : {}), ...(sites ? { sites } : {}) });
      const page = rows.slice(0, limit);
      return {
        items: page.map((r) => ({ at: new Date(r.at).toISOString(), reason: r.reason, topic: r.topic, detail: r.detail, payload: r.payload })),
        ...(rows.length > limit ? { next: page.at(-1)!.id } : {}),
      };
    },
  );

  const unregistered = {
    type: 'object',
    properties: {
      device: { type: 'string' },
      site: { type: 'string' },
      kind: { type: 'string' },
      topic: { type: 'string' },
      firstSeen: { type: 'string' },
      lastSeen: { type: 'string' },
      messages: { type: 'integer' },
      reason: { type: 'string' },
    },
  };
  const unregisteredRoute = {
    operationId: 'listUnregisteredDevices',
    tags,
    summary: 'Devices that published but are not in the estate file (or under another site or kind), newest first',
    response: { 200: { type: 'object', properties: { items: { type: 'array', items: unregistered } } }, ...bearerErrors(departmentsRefused, 503) },
  };
  app.get('/api/devices/unregistered', { schema: unregisteredRoute }, async (req) => {
    const p = principalOf(req);
    requireRole(p, 'viewer', 'operator', 'admin');
    const rows = await deps.rejects.listUnregistered(siteFilter(p));
    return {
      items: rows.map((r) => ({
        device: r.device,
        site: r.site,
        kind: r.kind,
        topic: r.topic,
        firstSeen: new Date(r.firstSeen).toISOString(),
        lastSeen: new Date(r.lastSeen).toISOString(),
        messages: r.count,
        reason: r.reason,
      })),
    };
  });
}
