/** `GET /api/audit`: every write (acknowledgement, silence, report request), who and when; admins only. */
import type { FastifyInstance } from 'fastify';
import type { AlertStore } from '../../alerts/index.ts';
import { requireRole } from '../auth.ts';
import { principalOf } from '../server.ts';

export function auditRoutes(app: FastifyInstance, deps: { store: AlertStore }): void {
  app.get<{ Querystring: { limit?: number } }>(
    '/api/audit',
    {
      schema: {
        querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 200 } } },
        response: {
          200: {
            type: 'object',
            properties: {
              items: {
                type: 'array',
                items: { type: 'object', properties: { at: { type: 'string', format: 'date-time' }, actor: { type: 'string' }, action: { type: 'string' }, target: { type: ['string', 'null'] }, detail: { type: ['string', 'null'] } } },
              },
            },
          },
        },
      },
    },
    async (req) => {
      requireRole(principalOf(req), 'admin');
      return { items: deps.store.auditLog(req.query.limit ?? 200).map((r) => ({ ...r, at: new Date(r.at).toISOString() })) };
    },
  );
}
