/**
 * Signed acknowledgement links (`ackUrl`, docs/interfaces.md#acknowledgement-links), public: `GET /ack/:token`
 * shows the alert, `POST /ack/:token` acknowledges it for the department the link was made for.
 * A forged link is "not found", a resolved alert's link has expired (410), a used one is
 * refused (409). HTML for people (zh-CN and en), JSON for a client that asks for it.
 * Both count in one budget per client (`perClient(app, 'ack')`: 120 a minute), 429 RATE_LIMITED past it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AlertActions, Alert } from '../../alerts/index.ts';
import { errorBody } from '../errors.ts';
import { perClient, CLIENT_LIMITS } from '../auth-limit.ts';
import { errorResponses } from '../schemas.ts';

const STATUS = { forged: 404, expired: 410, reused: 409, not_found: 404, forbidden: 403, already_acknowledged: 409, resolved: 410 } as const;
const CODE = { forged: 'NOT_FOUND', expired: 'GONE', reused: 'CONFLICT', not_found: 'NOT_FOUND', forbidden: 'FORBIDDEN', already_acknowledged: 'CONFLICT', resolved: 'GONE' } as const;
const TEXT: Record<string, { zh: string; en: string }> = {
  forged: { zh: '链接无效。', en: 'This link is not valid.' },
  expired: { zh: '告警已恢复，链接已失效。', en: 'The alert has resolved; the link has expired.' },
  reused: { zh: '已通过此链接确认过。', en: 'Already acknowledged with this link.' },
  done: { zh: '已确认，谢谢。', en: 'Acknowledged. Thank you.' },
};

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${esc(title)}</title>
<style>body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;color:#222}
.sev-critical{color:#b00020}.sev-warning{color:#a15c00}button{font-size:1.1rem;padding:.6rem 1.4rem}textarea{width:100%}.en{color:#555}</style></head><body>${body}</body></html>`;
}

function alertHtml(a: Alert): string {
  const sev = a.severity === 'critical' ? '严重 critical' : '警告 warning';
  return `<h1 class="sev-${a.severity}">${esc(sev)}</h1><p>${esc(a.summary['zh-CN'])}</p><p class="en">${esc(a.summary.en)}</p>
<p>${esc(a.siteName)} · ${esc(a.building)} · ${esc(a.device)}</p>`;
}

const wantsJson = (req: FastifyRequest) => (req.headers.accept ?? '').includes('application/json');

function refuse(req: FastifyRequest, reply: FastifyReply, code: keyof typeof STATUS, message: string) {
  reply.status(STATUS[code]);
  if (wantsJson(req)) return reply.send(errorBody(CODE[code], message));
  const t = TEXT[code] ?? { zh: message, en: message };
  return reply.type('text/html; charset=utf-8').send(page('Estate Sentinel', `<p>${esc(t.zh)}</p><p class="en">${esc(t.en)}</p>`));
}

/** How the routes document themselves in /api/openapi.json: public, HTML or JSON (Accept), the refusals of a link. */
const tags = ['acknowledgement links'];
/** The page, or the JSON a client that asks for it gets (fastify serializes that through `json`: every key it sends). */
const page200 = (description: string, json: object) => ({ description, content: { 'text/html': { schema: { type: 'string' } }, 'application/json': { schema: json } } });
const linkJson = {
  type: 'object',
  properties: {
    alert: { type: 'string', description: "the alert's id" },
    recipient: { type: 'string', description: 'who the link acknowledges for' },
    summary: { type: 'object', properties: { 'zh-CN': { type: 'string' }, en: { type: 'string' } } },
    severity: { type: 'string', enum: ['warning', 'critical'] },
    state: { type: 'string' },
  },
} as const;
const ackedJson = { type: 'object', properties: { acknowledged: { type: 'boolean' }, alert: { type: 'string' }, state: { type: 'string' } } } as const;
const linkRefusals = [
  [404, 'NOT_FOUND: the link is not valid (forged, or its alert is gone)'],
  [409, 'CONFLICT: the link was already used, or the alert is already acknowledged for its department'],
  [410, 'GONE: the alert has resolved; the link has expired'],
  [429, `RATE_LIMITED: more than ${CLIENT_LIMITS.ack.max} requests to ack links within a minute from this client; try again after Retry-After`],
  [503, 'STORE_UNAVAILABLE: the operational store cannot be used right now; try again after Retry-After'],
] as const;

export function ackRoutes(app: FastifyInstance, deps: { actions: AlertActions }): void {
  const limited = perClient(app, 'ack');
  const getSchema = {
    operationId: 'openAckLink',
    tags,
    summary: "An acknowledgement link's page: the alert and a form to acknowledge it (JSON with Accept: application/json)",
    security: [],
    response: { 200: page200('the page (or, asked for JSON, the alert id, recipient, summary, severity and state)', linkJson), ...errorResponses(...linkRefusals) },
  };
  const postSchema = {
    operationId: 'acknowledgeByLink',
    tags,
    summary: "Acknowledges the link's alert for the department the link was made for, with an optional note (a form, or JSON)",
    security: [],
    response: {
      200: page200('acknowledged (or, asked for JSON, {acknowledged, alert, state})', ackedJson),
      ...errorResponses([400, 'BAD_REQUEST: a JSON body that does not parse'], ...linkRefusals, [403, 'FORBIDDEN: the department of the link may no longer act on this alert'], [413, 'PAYLOAD_TOO_LARGE: the body is over 1 MiB'], [415, 'UNSUPPORTED_MEDIA_TYPE: the body is neither a form nor JSON']),
    },
  };
  app.get<{ Params: { token: string } }>('/ack/:token', { onRequest: limited, schema: getSchema }, async (req, reply) => {
    const r = await deps.actions.fromLink(req.params.token);
    if (!r.ok) return refuse(req, reply, r.code, r.message);
    if (wantsJson(req)) return { alert: r.alert.id, recipient: r.recipient, summary: r.alert.summary, severity: r.alert.severity, state: r.alert.state };
    const form = `<form method="post"><p><label>备注 Note<br><textarea name="note" rows="3" maxlength="1000"></textarea></label></p><button type="submit">确认告警 Acknowledge</button></form>`;
    return reply.type('text/html; charset=utf-8').send(page('确认告警 Acknowledge', alertHtml(r.alert) + form));
  });

  app.post<{ Params: { token: string }; Body: { note?: string } | null }>('/ack/:token', { onRequest: limited, schema: postSchema }, async (req, reply) => {
    const note = typeof req.body?.note === 'string' && req.body.note.trim() ? req.body.note.trim().slice(0, 1000) : null;
    const r = await deps.actions.ackByLink(req.params.token, note);
    if (!r.ok) return refuse(req, reply, r.code, r.message);
    if (wantsJson(req)) return { acknowledged: true, alert: r.alert.id, state: r.alert.state };
    return reply.type('text/html; charset=utf-8').send(page('已确认 Acknowledged', alertHtml(r.alert) + `<p>${TEXT.done!.zh}</p><p class="en">${TEXT.done!.en}</p>`));
  });
}
