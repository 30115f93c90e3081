/**
 * Reports (docs/interfaces.md#reports, docs/reports.md): `POST /api/reports`, `GET /api/reports`,
 * `GET /api/reports/:id`, the files at `/api/reports/:id/report.{html,csv,json}`, and
 * `POST /api/maintenance`. A token sees a report only when it may see every site the report
 * covers; a report over all sites only an unscoped token. The reports part is handed in
 * (the dashboard never imports it): `ReportsApi` is what these routes need of it.
 */
import { createReadStream } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { MAINTENANCE_TASKS, REPORT_KINDS, type Registry, type ReportFormat as Format, type ReportKind, type ReportView } from '../../config/index.ts';
import { canSeeSite, requireRole, type Principal } from '../auth.ts';
import { ApiError } from '../errors.ts';
import { principalOf } from '../server.ts';
import { bearerErrors } from '../schemas.ts';

type Task = keyof typeof MAINTENANCE_TASKS;

export interface ReportsApi {
  request(req: { kind: ReportKind; from: number; to: number; sites: string[] | null; requestedBy: string }): Promise<ReportView>;
  list(): ReportView[];
  get(id: string): ReportView | undefined;
  file(id: string, format: Format): { path: string; contentType: string } | undefined;
  recordMaintenance(input: { device: string; task: Task; doneAt: number; note: string | null; recordedBy: string }): Promise<{
    id: string;
    site: string;
    device: string;
    task: string;
    doneAt: number;
    recordedBy: string;
    recordedAt: number;
    note: string | null;
  }>;
}

const time = { type: 'string', format: 'date-time' } as const;
/** How far ahead of the server's clock a time may be (clocks differ a little). */
const SKEW_MS = 5 * 60_000;
const MAX_SPAN_MS = 400 * 86_400_000;

function canSeeReport(p: Principal, sites: readonly string[] | null): boolean {
  return sites === null ? p.sites === null : sites.every((s) => canSeeSite(p, s));
}

const reportSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    kind: { type: 'string' },
    from: { type: 'string', format: 'date-time' },
    to: { type: 'string', format: 'date-time' },
    sites: { type: ['array', 'null'], items: { type: 'string' } },
    schedule: { type: ['string', 'null'] },
    createdAt: { type: 'string', format: 'date-time' },
    formats: { type: 'object', properties: { html: { type: 'string' }, csv: { type: 'string' }, json: { type: 'string' } } },
  },
} as const;
const maintenanceSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    site: { type: 'string' },
    device: { type: 'string' },
    task: { type: 'string' },
    doneAt: { type: 'string', format: 'date-time' },
    recordedBy: { type: 'string' },
    recordedAt: { type: 'string', format: 'date-time' },
    note: { type: ['string', 'null'] },
  },
} as const;
const tags = ['reports'];
const noReport = [404, "NOT_FOUND: no such report, or one over a site the token may not see"] as const;
const reportRoute = { operationId: 'getReport', tags, summary: 'One report, with the links of its files', response: { 200: reportSchema, ...bearerErrors(noReport) } };
const fileAnswer = { 200: { description: 'the report file: text/html, text/csv or application/json', content: { 'text/html': { schema: { type: 'string' } }, 'text/csv': { schema: { type: 'string' } }, 'application/json': { schema: { type: 'object', additionalProperties: true } } } }, ...bearerErrors([404, 'NOT_FOUND: no such report or file, or a report the token may not see']) };
const fileRoute = { operationId: 'getReportFile', tags, summary: 'A report file: `report.html`, `report.csv` or `report.json`', response: fileAnswer };

export function reportRoutes(app: FastifyInstance, deps: { reports: ReportsApi; registry: Registry }): void {
  const { reports, registry } = deps;
  const visible = (p: Principal, id: string): ReportView => {
    const r = reports.get(id);
    if (!r || !canSeeReport(p, r.sites)) throw new ApiError('NOT_FOUND', `no report ${id}`);
    return r;
  };

  app.post<{ Body: { kind: ReportKind; from: string; to: string; sites?: string[] } }>(
    '/api/reports',
    {
      schema: {
        operationId: 'requestReport',
        tags,
        summary: 'Makes a report now (operator, department, admin)',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['kind', 'from', 'to'],
          properties: {
            kind: { type: 'string', enum: [...REPORT_KINDS] },
            from: time,
            to: time,
            sites: { type: 'array', items: { type: 'string', maxLength: 64 }, minItems: 1, maxItems: 500 },
          },
        },
        response: {
          201: reportSchema,
          ...bearerErrors(
            [400, 'BAD_REQUEST: the body is not valid, `from` is not before `to`, `to` is in the future, or the period is over 400 days'],
            [403, 'FORBIDDEN: a viewer token'],
            [404, "NOT_FOUND: a site that does not exist or is outside the token's scope"],
            413,
            415,
            503,
          ),
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      requireRole(p, 'operator', 'department', 'admin');
      const from = Date.parse(req.body.from);
      const to = Date.parse(req.body.to);
      if (!(from < to)) throw new ApiError('BAD_REQUEST', '`from` must be before `to`');
      if (to > Date.now() + SKEW_MS) throw new ApiError('BAD_REQUEST', '`to` must not be in the future');
      if (to - from > MAX_SPAN_MS) throw new ApiError('BAD_REQUEST', 'a report covers at most 400 days');
      let sites: string[] | null;
      if (req.body.sites) {
        for (const s of req.body.sites) if (!registry.sites.has(s) || !canSeeSite(p, s)) throw new ApiError('NOT_FOUND', `no site ${s}`);
        sites = [...new Set(req.body.sites)].sort();
      } else sites = p.sites === null ? null : [...p.sites].sort();
      const view = await reports.request({ kind: req.body.kind, from, to, sites, requestedBy: p.name });
      return reply.status(201).send(view);
    },
  );

  app.get<{ Querystring: { kind?: ReportKind; limit?: number } }>(
    '/api/reports',
    {
      schema: {
        operationId: 'listReports',
        tags,
        summary: 'Reports the token may see, scheduled and requested, newest first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { kind: { type: 'string', enum: [...REPORT_KINDS] }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
        },
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: reportSchema } } }, ...bearerErrors(400) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const items = reports.list().filter((r) => canSeeReport(p, r.sites) && (req.query.kind === undefined || r.kind === req.query.kind));
      return { items: items.slice(0, req.query.limit ?? 100) };
    },
  );

  app.get<{ Params: { id: string } }>('/api/reports/:id', { schema: reportRoute }, async (req) => visible(principalOf(req), req.params.id));

  // The file is streamed as it is: the answer is documented, not serialized through a schema.
  app.get<{ Params: { id: string; file: string } }>('/api/reports/:id/:file', { schema: fileRoute as never }, async (req, reply) => {
    const r = visible(principalOf(req), req.params.id);
    const m = /^report\.(html|csv|json)$/.exec(req.params.file);
    const file = m ? reports.file(r.id, m[1] as Format) : undefined;
    if (!file) throw new ApiError('NOT_FOUND', `no file ${req.params.file} in report ${r.id}`);
    reply.type(file.contentType);
    reply.header('cache-control', 'private, max-age=3600');
    reply.header('content-disposition', `${m![1] === 'csv' ? 'attachment' : 'inline'}; filename="${r.kind}-${r.id}.${m![1]}"`);
    return reply.send(createReadStream(file.path));
  });

  app.post<{ Body: { device: string; task: Task; doneAt: string; note?: string } }>(
    '/api/maintenance',
    {
      schema: {
        operationId: 'recordMaintenance',
        tags,
        summary: 'Records maintenance done on a device, for the maintenance report (operator, admin)',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['device', 'task', 'doneAt'],
          properties: {
            device: { type: 'string', minLength: 1, maxLength: 64 },
            task: { type: 'string', enum: Object.keys(MAINTENANCE_TASKS) },
            doneAt: time,
            note: { type: 'string', maxLength: 1000 },
          },
        },
        response: {
          201: maintenanceSchema,
          ...bearerErrors(
            [400, "BAD_REQUEST: the body is not valid, a task of another kind of device, or `doneAt` in the future"],
            [403, 'FORBIDDEN: a viewer or department token'],
            [404, "NOT_FOUND: no such device, or one outside the token's scope"],
            413,
            415,
            503,
          ),
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      requireRole(p, 'operator', 'admin');
      const b = req.body;
      const device = registry.device(b.device);
      if (!device || !canSeeSite(p, device.site)) throw new ApiError('NOT_FOUND', `no device ${b.device}`);
      const task = MAINTENANCE_TASKS[b.task];
      if (task.kind !== device.kind) throw new ApiError('BAD_REQUEST', `${b.task} is a task of ${task.kind} devices; ${b.device} is of kind ${device.kind}`);
      const doneAt = Date.parse(b.doneAt);
      if (doneAt > Date.now() + SKEW_MS) throw new ApiError('BAD_REQUEST', '`doneAt` must not be in the future');
      const r = await reports.recordMaintenance({ device: b.device, task: b.task, doneAt, note: b.note ?? null, recordedBy: p.name });
      return reply.status(201).send({ ...r, doneAt: new Date(r.doneAt).toISOString(), recordedAt: new Date(r.recordedAt).toISOString() });
    },
  );
}
