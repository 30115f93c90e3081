/**
 * The HTTP API's OpenAPI document for tests: the server built with buildServer and parts that
 * are never called (the document is made from the routes' schemas alone), every optional part
 * given so that all routes are in it.
 */
import pino from 'pino';
import { Registry as PromRegistry } from 'prom-client';
import { parseEstate, Registry } from '../../config/index.ts';
import { buildServer, type ServerDeps } from '../server.ts';
import { LatestCache } from '../live/latest.ts';

export interface DocumentedOperation {
  operationId?: string;
  tags?: string[];
  summary?: string;
  security?: Record<string, string[]>[];
  responses: Record<string, { description: string; content?: Record<string, { schema?: { $ref?: string } }>; headers?: Record<string, unknown> }>;
}

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, DocumentedOperation>>;
  components: { schemas?: Record<string, unknown>; securitySchemes?: Record<string, unknown> };
  [k: string]: unknown;
}

export async function openApiDocument(opts: { protectMetrics?: boolean } = {}): Promise<OpenApiDocument> {
  const estate = parseEstate(
    `
sites:
  - id: s1
    name: 金佛花园
    devices: [ { id: HY-1, kind: hydrant, building: "3栋" } ]
auth:
  protectMetrics: ${opts.protectMetrics === true}
`,
    'openapi-document.yaml',
    {},
  );
  const registry = new Registry(estate);
  const unused = {} as never;
  const deps: ServerDeps = {
    estate,
    registry,
    latest: new LatestCache(registry),
    metrics: new PromRegistry(),
    readiness: () => unused,
    log: pino({ level: 'silent' }),
    store: unused,
    rejects: unused,
    audit: unused,
    alerts: { actions: unused, store: unused, outbox: unused },
    reports: unused,
    push: unused,
  };
  const app = buildServer(deps);
  try {
    const r = await app.inject({ method: 'GET', url: '/api/openapi.json' });
    if (r.statusCode !== 200) throw new Error(`/api/openapi.json answered ${r.statusCode}: ${r.body.slice(0, 200)}`);
    return r.json() as OpenApiDocument;
  } finally {
    await app.close();
  }
}

/** Every operation as `METHOD /path/{param}`. */
export function operationsOf(doc: OpenApiDocument): { name: string; method: string; path: string; op: DocumentedOperation }[] {
  return Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, method: method.toUpperCase(), path, op })));
}
