/**
 * Alerts and silences (docs/interfaces.md#routes): `GET /api/alerts`, `GET /api/alerts/:id`,
 * `GET /api/alerts/:id/deliveries`, `POST /api/alerts/:id/ack`, `GET/POST /api/silences`,
 * `DELETE /api/silences/:id`. A token sees only what it is scoped to; anything else is 404.
 */
import type { FastifyInstance } from 'fastify';
import type { Alert, AlertActions, AlertStore, Outbox } from '../../alerts/index.ts';
import { ApiError } from '../errors.ts';
import { requireRole } from '../auth.ts';
import { principalOf } from '../server.ts';
import { alertSchema, bearerErrors } from '../schemas.ts';

const alertList = { 200: { type: 'object', properties: { items: { type: 'array', items: alertSchema } } } } as const;
const history = {
  type: 'array',
  items: { type: 'object', properties: { at: { type: 'string' }, transition: { type: 'string' }, severity: { type: ['string', 'null'] }, actor: { type: ['string', 'null'] }, detail: { type: ['string', 'null'] } } },
} as const;
const acks = {
  type: 'array',
  items: { type: 'object', properties: { alertId: { type: 'string' }, department: { type: 'string' }, at: { type: 'string' }, actor: { type: 'string' }, via: { type: 'string' }, note: { type: ['string', 'null'] } } },
} as const;
const silenceSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    matchers: { type: 'object', additionalProperties: { type: 'string' } },
    startsAt: { type: 'string' },
    endsAt: { type: 'string' },
    createdBy: { type: 'string' },
    createdAt: { type: 'string' },
    comment: { type: 'string' },
  },
} as const;

const deliverySchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    event: { type: 'string' },
    recipient: { type: 'string' },
    channel: { type: 'object', properties: { type: { type: 'string' }, target: { type: 'string' } } },
    status: { type: 'string', enum: ['pending', 'sent', 'failed'] },
    attempts: { type: 'integer' },
    createdAt: { type: 'string', format: 'date-time' },
    nextAt: { type: ['string', 'null'], format: 'date-time' },
    sentAt: { type: ['string', 'null'], format: 'date-time' },
    failedAt: { type: ['string', 'null'], format: 'date-time' },
    deadline: { type: 'string', format: 'date-time' },
    lastError: { type: ['string', 'null'] },
  },
} as const;

const tags = ['alerts'];
const noAlert = [404, "NOT_FOUND: no such alert, or one the token may not see (outside its sites, or not routed to its departments)"] as const;
const alertRoute = {
  operationId: 'getAlert',
  tags,
  summary: 'One alert with its history and acknowledgements',
  response: { 200: { ...alertSchema, properties: { ...alertSchema.properties, history, acks } }, ...bearerErrors(noAlert, 503) },
};
const deliveriesRoute = {
  operationId: 'listAlertDeliveries',
  tags,
  summary: "Where the alert's notifications stand: recipient, channel, status, attempts (no bodies, no secrets)",
  response: { 200: { type: 'object', properties: { items: { type: 'array', items: deliverySchema } } }, ...bearerErrors(noAlert, 503) },
};
const silencesRoute = {
  operationId: 'listSilences',
  tags: ['silences'],
  summary: 'The silences (maintenance windows) the token may see',
  response: { 200: { type: 'object', properties: { items: { type: 'array', items: silenceSchema } } }, ...bearerErrors(503) },
};
const deleteSilenceRoute = {
  operationId: 'deleteSilence',
  tags: ['silences'],
  summary: 'Ends a silence (operator, admin)',
  response: { 204: { type: 'null', description: 'deleted' }, ...bearerErrors(403, [404, "NOT_FOUND: no such silence, or one outside the token's scope"], 503) },
};

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export function alertJson(a: Alert) {
  return {
    id: a.id,
    key: a.key,
    site: a.site,
    siteName: a.siteName,
    building: a.building,
    device: a.device,
    kind: a.kind,
    rule: a.rule,
    metric: a.metric,
    severity: a.severity,
    state: a.state,
    value: a.value,
    threshold: a.threshold,
    unit: a.unit,
    startsAt: iso(a.startsAt),
    firedAt: iso(a.firedAt),
    endsAt: iso(a.endsAt),
    ackDeadline: iso(a.ackDeadline),
    ackedAt: iso(a.ackedAt),
    ackedBy: a.ackedBy,
    ackNote: a.ackNote,
    escalatedAt: iso(a.escalatedAt),
    departments: a.departments,
    notified: a.notified,
    announcedAt: iso(a.announcedAt),
    housekeeping: a.housekeeping,
    // a site's outage (kind `site`, device ''): the devices that went dark
    devices: a.devices ?? null,
    summary: a.summary,
    mutedBy: a.mutedBy,
    flapping: a.flapping,
    source: a.source,
  };
}

const time = { type: 'string', format: 'date-time' } as const;
const ACK_ERRORS = { not_found: 'NOT_FOUND', forbidden: 'FORBIDDEN', already_acknowledged: 'CONFLICT', resolved: 'CONFLICT', forged: 'NOT_FOUND', expired: 'GONE', reused: 'CONFLICT' } as const;

export interface AlertRouteDeps {
  actions: AlertActions;
  store: Pick<AlertStore, 'history' | 'acks'>;
  outbox: Pick<Outbox, 'forAlert'>;
}

export function alertRoutes(app: FastifyInstance, deps: AlertRouteDeps): void {
  const { actions } = deps;

  app.get<{ Querystring: { state?: 'active' | 'all'; site?: string; department?: string; from?: string; to?: string; limit?: number } }>(
    '/api/alerts',
    {
      schema: {
        operationId: 'listAlerts',
        tags,
        summary: 'Alerts, newest first (`active`: firing or acknowledged, not yet resolved)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: { type: 'string', enum: ['active', 'all'], default: 'active' },
            site: { type: 'string', maxLength: 64 },
            department: { type: 'string', maxLength: 64 },
            from: time,
            to: time,
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 200 },
          },
        },
        response: { ...alertList, ...bearerErrors(400, [404, "NOT_FOUND: a site outside the token's scope, or (a department token) a department not its own"], 503) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const q = req.query;
      if (q.site !== undefined && p.role !== 'department' && p.sites !== null && !p.sites.has(q.site)) throw new ApiError('NOT_FOUND', `no site ${q.site}`);
      if (q.department !== undefined && p.role === 'department' && !p.departments?.has(q.department)) throw new ApiError('NOT_FOUND', `no department ${q.department}`);
      const items = await actions.list(p, {
        state: q.state ?? 'active',
        limit: q.limit ?? 200,
        ...(q.site !== undefined ? { site: q.site } : {}),
        ...(q.department !== undefined ? { department: q.department } : {}),
        ...(q.from ? { from: Date.parse(q.from) } : {}),
        ...(q.to ? { to: Date.parse(q.to) } : {}),
      });
      return { items: items.map(alertJson) };
    },
  );

  app.get<{ Params: { id: string } }>('/api/alerts/:id', { schema: alertRoute }, async (req) => {
    const a = await actions.get(principalOf(req), req.params.id);
    if (!a) throw new ApiError('NOT_FOUND', `no alert ${req.params.id}`);
    const [rows, acked] = await Promise.all([deps.store.history(a.id), deps.store.acks(a.id)]);
    return { ...alertJson(a), history: rows.map((h) => ({ ...h, at: iso(h.at) })), acks: acked.map((x) => ({ ...x, at: iso(x.at) })) };
  });

  // Where the alert's notifications stand, oldest first: no bodies (their links carry
  // acknowledgement tokens) and no secrets. A department token sees only its own deliveries.
  app.get<{ Params: { id: string } }>(
    '/api/alerts/:id/deliveries',
    { schema: deliveriesRoute },
    async (req) => {
      const p = principalOf(req);
      const a = await actions.get(p, req.params.id);
      if (!a) throw new ApiError('NOT_FOUND', `no alert ${req.params.id}`);
      const all = await deps.outbox.forAlert(a.id);
      const mine = p.role === 'department' ? all.filter((d) => p.departments?.has(d.recipient)) : all;
      return {
        items: mine.map((d) => ({
          id: d.id,
          event: d.event,
          recipient: d.recipient,
          channel: d.channel,
          status: d.status,
          attempts: d.attempts,
          createdAt: iso(d.createdAt),
          nextAt: iso(d.nextAt),
          sentAt: iso(d.sentAt),
          failedAt: iso(d.failedAt),
          deadline: iso(d.deadline),
          lastError: d.lastError,
        })),
      };
    },
  );

  app.post<{ Params: { id: string }; Body: { note?: string } | null }>(
    '/api/alerts/:id/ack',
    {
      schema: {
        operationId: 'acknowledgeAlert',
        tags,
        summary: "Acknowledges the alert: an operator for the site's property company (or sub-district office), a department for its own departments",
        body: { type: ['object', 'null'], additionalProperties: false, properties: { note: { type: 'string', maxLength: 1000 } } },
        response: {
          200: alertSchema,
          ...bearerErrors(400, [403, 'FORBIDDEN: a viewer token'], noAlert, [409, 'CONFLICT: already acknowledged for this recipient, or resolved'], 413, 415, 503),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      requireRole(p, 'operator', 'department', 'admin');
      const r = await actions.ack(p, req.params.id, req.body?.note ?? null);
      if (!r.ok) throw new ApiError(ACK_ERRORS[r.code], r.message);
      return alertJson(r.alert);
    },
  );

  app.get('/api/silences', { schema: silencesRoute }, async (req) => ({ items: (await actions.silences(principalOf(req))).map((s) => ({ ...s, startsAt: iso(s.startsAt), endsAt: iso(s.endsAt), createdAt: iso(s.createdAt) })) }));

  app.post<{ Body: { matchers: Record<string, string>; startsAt?: string; endsAt: string; comment: string } }>(
    '/api/silences',
    {
      schema: {
        operationId: 'createSilence',
        tags: ['silences'],
        summary: 'A maintenance window: matching alerts are recorded but not announced (operator, admin)',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['matchers', 'endsAt', 'comment'],
          properties: {
            matchers: {
              type: 'object',
              additionalProperties: false,
              minProperties: 1,
              properties: { site: { type: 'string' }, device: { type: 'string' }, kind: { type: 'string' }, rule: { type: 'string' }, severity: { type: 'string', enum: ['warning', 'critical'] } },
            },
            startsAt: time,
            endsAt: time,
            comment: { type: 'string', minLength: 1, maxLength: 500 },
          },
        },
        response: {
          201: silenceSchema,
          ...bearerErrors([400, 'BAD_REQUEST: the body is not valid, `endsAt` is not after `startsAt`, or a scoped token names none of its sites'], 403, [404, "NOT_FOUND: a site outside the token's scope"], 413, 415, 503),
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      requireRole(p, 'operator', 'admin');
      const b = req.body;
      // A site outside the token's scope is not found, as everywhere else (docs/interfaces.md#roles).
      if (b.matchers.site !== undefined && p.sites !== null && !p.sites.has(b.matchers.site)) throw new ApiError('NOT_FOUND', `no site ${b.matchers.site}`);
      const r = await actions.createSilence(p, { matchers: b.matchers, startsAt: b.startsAt ? Date.parse(b.startsAt) : Date.now(), endsAt: Date.parse(b.endsAt), comment: b.comment });
      if ('error' in r) throw new ApiError('BAD_REQUEST', r.error);
      return reply.status(201).send({ ...r, startsAt: iso(r.startsAt), endsAt: iso(r.endsAt), createdAt: iso(r.createdAt) });
    },
  );

  app.delete<{ Params: { id: string } }>('/api/silences/:id', { schema: deleteSilenceRoute }, async (req, reply) => {
    const p = principalOf(req);
    requireRole(p, 'operator', 'admin');
    if (!(await actions.deleteSilence(p, req.params.id))) throw new ApiError('NOT_FOUND', `no silence ${req.params.id}`);
    return reply.status(204).send();
  });
}
