/**
 * `GET /api/me`: the token's own principal. `GET /api/audit`: every write (acknowledgement,
 * silence, report request, maintenance record), who and when; admins only.
 */
import type { FastifyInstance } from 'fastify';
import type { AuditLog } from '../../alerts/index.ts';
import { requireRole } from '../auth.ts';
import { principalOf } from '../server.ts';
import { bearerErrors } from '../schemas.ts';

const tags = ['access'];

export function auditRoutes(app: FastifyInstance, deps: { audit: Pick<AuditLog, 'list'> }): void {
  // Who the token is: its role and scope, so a client need not guess from refusals.
  app.get(
    '/api/me',
    {
      schema: {
        operationId: 'getMe',
        tags,
        summary: "The token's own principal: its name, role and scope",
        response: {
          ...bearerErrors(),
          200: {
            type: 'object',
            properties: { name: { type: 'string' }, role: { type: 'string' }, sites: { type: ['array', 'null'], items: { type: 'string' } }, departments: { type: ['array', 'null'], items: { type: 'string' } } },
          },
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      return { name: p.name, role: p.role, sites: p.sites ? [...p.sites] : null, departments: p.departments ? [...p.departments] : null };
    },
  );

  app.get<{ Querystring: { limit?: number } }>(
    '/api/audit',
    {
      schema: {
        operationId: 'listAudit',
        tags,
        summary: 'Every write (acknowledgement, silence, report request, maintenance record), who and when; admins only',
        querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 200 } } },
        response: {
          ...bearerErrors(400, [403, 'FORBIDDEN: not an admin token'], 503),
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
      return { items: (await deps.audit.list(req.query.limit ?? 200)).map((r) => ({ ...r, at: new Date(r.at).toISOString() })) };
    },
  );
}
