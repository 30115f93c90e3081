/**
 * `/api/openapi.json` (public): the OpenAPI 3 document, made by @fastify/swagger from every
 * route's JSON schemas; `/api/docs` (public): a page that shows it, zh-CN and en, with no
 * script from elsewhere. docs/interfaces.md ("HTTP API") is the reference in words.
 *
 * Every operation has an operationId and tags (given by its route), its answers and the
 * refusals it can give (`errorResponses` in ../schemas.ts), and its security: a bearer token,
 * or `security: []` for the public routes (the probes, /metrics unless `auth.protectMetrics`,
 * the acknowledgement links, the IoT platforms' pushes, this document and its page). Refusals
 * refer to one `Error` schema, the error catalogue's body.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { SwaggerOptions } from '@fastify/swagger';
import { errorSchema } from '../schemas.ts';

/** The groups of operations, in the order the document lists them. */
export const OPENAPI_TAGS = [
  { name: 'probes', description: 'Liveness, readiness and Prometheus metrics' },
  { name: 'registry', description: 'Sites and devices with their latest values, and their time series' },
  { name: 'alerts', description: 'Alerts, their history, acknowledgements and deliveries' },
  { name: 'silences', description: 'Maintenance windows that mute matching alerts' },
  { name: 'acknowledgement links', description: "The signed links of deliveries' ackUrl: acknowledging without a login" },
  { name: 'reports', description: 'Health, maintenance and accountability reports, and maintenance records' },
  { name: 'ingest', description: 'What ingest refused: rejected messages and unregistered devices' },
  { name: 'adapters', description: "IoT platforms' HTTP pushes (OneNET, CTWing); docs/adapters.md" },
  { name: 'access', description: "The token's own principal, and the audit log" },
  { name: 'docs', description: 'This document and the page that shows it' },
];

/** Paths that are part of the service's interface; the rest (the web UI) are left out of the document. */
const SERVICE_PATH = /^\/(?:api|ack|ingest)\/|^\/(?:healthz|readyz|metrics)$/;

const text = { type: 'string' } as const;

/**
 * What the document says of requests that the routes take without a schema to validate them:
 * the IoT platforms' pushes are taken as the bytes sent (OneNET signs them as sent), and an
 * acknowledgement link's POST takes whatever form it is sent. Documentation only.
 */
const UNPARSED: Record<string, { querystring?: object; body?: object; consumes?: string[] }> = {
  // The ack page's form (or a client's JSON); an empty body acknowledges without a note.
  'POST /ack/:token': {
    consumes: ['application/x-www-form-urlencoded', 'application/json'],
    body: { type: 'object', properties: { note: { type: 'string', description: 'kept with the acknowledgement; the first 1,000 characters' } } },
  },
  'GET /ingest/onenet/:id': {
    querystring: {
      type: 'object',
      properties: {
        msg: { ...text, description: 'the text to echo back' },
        nonce: { ...text, description: "OneNET's nonce" },
        signature: { ...text, description: 'Base64(MD5(token + nonce + msg)); a `+` may arrive as a space' },
      },
    },
  },
  'POST /ingest/onenet/:id': {
    body: {
      type: 'object',
      description: "OneNET's push, signed over the text of `msg` (or `enc_msg`) exactly as sent",
      properties: {
        msg: { description: 'a JSON object or array of messages (or a string holding one)' },
        enc_msg: { ...text, description: "safe mode: the messages, AES-256-CBC encrypted, Base64" },
        nonce: text,
        msg_signature: { ...text, description: 'Base64(MD5(token + nonce + msg text)); also read as `signature`' },
        signature: text,
      },
      additionalProperties: true,
    },
  },
  'POST /ingest/ctwing/:id/:secret': {
    body: {
      type: 'object',
      description: "CTWing's subscription push: dataReport, deviceOnlineOfflineReport, eventReport, …",
      properties: { messageType: text, deviceId: text, IMEI: text, timestamp: { type: 'integer' }, payload: { type: 'object', additionalProperties: true } },
      required: ['messageType'],
      additionalProperties: true,
    },
  },
};

interface Doc {
  components?: { schemas?: Record<string, unknown>; [k: string]: unknown };
  paths?: Record<string, Record<string, { security?: Record<string, string[]>[]; requestBody?: { required?: boolean }; responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> }>>;
  [k: string]: unknown;
}

/** A schema of the error catalogue's body, as @fastify/swagger writes it out. */
function isErrorShape(schema: unknown): boolean {
  const s = schema as { type?: unknown; properties?: Record<string, { properties?: Record<string, unknown> }> } | undefined;
  const error = s?.properties?.error?.properties;
  return s?.type === 'object' && Object.keys(s.properties ?? {}).length === 1 && error !== undefined && 'code' in error && 'message' in error;
}

/**
 * The document as served: refusals refer to one `Error` component instead of each carrying
 * the body's schema, and every operation says its security (a bearer token unless it is public).
 */
export function finishDocument(doc: Doc): Doc {
  for (const ops of Object.values(doc.paths ?? {})) {
    for (const op of Object.values(ops)) {
      op.security ??= [{ bearer: [] }];
      for (const [status, answer] of Object.entries(op.responses ?? {})) {
        if (Number(status) < 400) continue;
        for (const media of Object.values(answer.content ?? {})) if (isErrorShape(media.schema)) media.schema = { $ref: '#/components/schemas/Error' };
      }
    }
  }
  // An acknowledgement link's POST needs no body (no note); @fastify/swagger marks every documented body required.
  const ackPost = doc.paths?.['/ack/{token}']?.post;
  if (ackPost?.requestBody) ackPost.requestBody.required = false;
  doc.components = { ...doc.components, schemas: { ...doc.components?.schemas, Error: errorSchema } };
  return doc;
}

export const openApiOptions: SwaggerOptions = {
  openapi: {
    openapi: '3.0.3',
    info: {
      title: 'Estate Sentinel API',
      description:
        'Residential-compound equipment monitoring: registry, live values, series, alerts, silences, reports, and the IoT platforms\' pushes. ' +
        'Every refusal is {"error": {"code", "message"}} with a code of the error catalogue. docs/interfaces.md describes every interface in words.',
      version: '1',
    },
    tags: OPENAPI_TAGS,
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: "a token of the estate file's auth.tokens (stored there as its SHA-256)" } } },
    security: [{ bearer: [] }],
  },
  hiddenTag: 'hidden',
  // Only the service's interface, not the UI's fallback or the socket.io path; the pushes' bodies as documentation.
  transform: ({ schema, url, route }) => {
    const extra = UNPARSED[`${String(route.method)} ${url}`] ?? {};
    return { schema: { ...(schema ?? {}), ...extra, ...(SERVICE_PATH.test(url) ? {} : { hide: true }) }, url };
  },
  transformObject: (document) => ('openapiObject' in document ? (finishDocument(document.openapiObject as Doc) as typeof document.openapiObject) : document.swaggerObject),
};

const PAGE_HEAD = `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>Estate Sentinel API</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;max-width:72rem;margin:1.5rem auto;padding:0 1rem;color:#222}
h2{margin-top:1.6rem;border-bottom:1px solid #ddd}.op{margin:.6rem 0;padding:.5rem .7rem;border:1px solid #e3e3e3;border-radius:6px}
.m{display:inline-block;min-width:4.2rem;font-weight:600}.get{color:#0b6}.post{color:#05c}.delete{color:#c33}
code,pre{font-family:ui-monospace,monospace;font-size:.85rem}pre{background:#f6f6f6;padding:.5rem;overflow:auto;max-height:18rem}
summary{cursor:pointer}</style></head><body>
<h1>Estate Sentinel API</h1><p>接口说明（由 OpenAPI 文档生成）· The API, from <a href="/api/openapi.json">/api/openapi.json</a>.
认证：<code>Authorization: Bearer &lt;token&gt;</code> · Auth: a bearer token.</p><div id="ops">加载中… Loading…</div>
<script>`;

/** The page's one script, inline; allowed by the CSP by its hash (dashboard/server.ts), not by 'unsafe-inline'. */
const SCRIPT = `
fetch('/api/openapi.json').then(r=>r.json()).then(doc=>{
  const esc=s=>String(s).replace(/[&<>"]/g,c=>'&#'+c.charCodeAt(0)+';');
  const groups={};
  for(const [path,ops] of Object.entries(doc.paths||{}))for(const [m,op] of Object.entries(ops)){const g=path.split('/')[2]||path.split('/')[1];(groups[g]=groups[g]||[]).push([m,path,op]);}
  document.getElementById('ops').innerHTML=Object.entries(groups).map(([g,list])=>'<h2>'+esc(g)+'</h2>'+list.map(([m,p,op])=>{
    const params=(op.parameters||[]).map(x=>'<code>'+esc(x.in)+' '+esc(x.name)+(x.required?'*':'')+'</code>').join(' ');
    const body=op.requestBody?'<details><summary>request body</summary><pre>'+esc(JSON.stringify(op.requestBody.content['application/json']?.schema,null,2))+'</pre></details>':'';
    const res=Object.entries(op.responses||{}).map(([c,r])=>'<details><summary>'+esc(c)+'</summary><pre>'+esc(JSON.stringify(r.content?.['application/json']?.schema??r.description,null,2))+'</pre></details>').join('');
    return '<div class="op"><span class="m '+m+'">'+m.toUpperCase()+'</span><code>'+esc(p)+'</code> '+params+body+res+'</div>';}).join('')).join('');
});
`;
export const DOCS_SCRIPT_SHA256 = createHash('sha256').update(SCRIPT).digest('base64');

const PAGE = `${PAGE_HEAD}${SCRIPT}</script></body></html>`;

export function openApiRoutes(app: FastifyInstance, document: () => unknown): void {
  const tags = ['docs'];
  app.get(
    '/api/openapi.json',
    {
      schema: {
        operationId: 'getOpenApiDocument',
        tags,
        summary: 'This OpenAPI 3 document',
        security: [],
        response: { 200: { description: 'the document', type: 'object', additionalProperties: true } },
      },
    },
    async () => document(),
  );
  app.get(
    '/api/docs',
    {
      schema: {
        operationId: 'getApiDocsPage',
        tags,
        summary: 'A page that shows this document (zh-CN and en)',
        security: [],
        response: { 200: { description: 'the page', content: { 'text/html': { schema: { type: 'string' } } } } },
      },
    },
    async (_req, reply) => reply.type('text/html; charset=utf-8').send(PAGE),
  );
}
