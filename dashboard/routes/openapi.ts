/**
 * `/api/openapi.json` (public): the OpenAPI 3 document, made by @fastify/swagger from every
 * route's JSON schemas; `/api/docs` (public): a page that shows it, zh-CN and en, with no
 * script from elsewhere.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { SwaggerOptions } from '@fastify/swagger';

export const openApiOptions: SwaggerOptions = {
  openapi: {
    openapi: '3.0.3',
    info: {
      title: 'Estate Sentinel API',
      description: 'Residential-compound equipment monitoring: registry, live values, series, alerts, silences, reports (CONTRACT section 5).',
      version: '1',
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
  },
  // Only the API, not the UI's fallback or the socket.io path.
  hiddenTag: 'hidden',
  transform: ({ schema, url }) => ({ schema: { ...(schema ?? {}), ...(url.startsWith('/api') || url.startsWith('/ack') || ['/healthz', '/readyz', '/metrics'].includes(url) ? {} : { hide: true }) }, url }),
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
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => document());
  app.get('/api/docs', { schema: { hide: true } }, async (_req, reply) => reply.type('text/html; charset=utf-8').send(PAGE));
}
