/**
 * Schema fuzzing of every HTTP route: the routes and their schemas are read from the running
 * service's /api/openapi.json; for each, bad path params, queries and bodies are generated
 * from a valid request (fast-check, fixed seed): wrong types, missing required keys, extra
 * keys, huge strings, unicode, negative and non-finite numbers, bad percent-encoding, bodies
 * that are not JSON, not an object, or over the 1 MiB body limit. Every answer is below 500;
 * every refusal is the error catalogue's `{"error": {"code", "message"}}` with a code of the
 * catalogue and its status; definite violations of a schema (a missing required key, a value
 * outside an enum, a string over its maxLength) are 400; the service stays up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { startService, type TestService } from '../harness/service.ts';
import { TOKENS, expectApiError } from './fixture.ts';

const SEED = Number(process.env.FC_SEED ?? 20261125);
const PER_ROUTE = 60;

let service: TestService;
beforeAll(async () => {
  service = await startService();
}, 120_000);
afterAll(async () => {
  await service?.stop();
});

interface Schema {
  type?: string | string[];
  enum?: unknown[];
  format?: string;
  pattern?: string;
  minimum?: number;
  maxLength?: number;
  minLength?: number;
  minProperties?: number;
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  nullable?: boolean;
}
interface Param {
  in: 'query' | 'path';
  name: string;
  required?: boolean;
  schema: Schema;
}
interface Op {
  method: string;
  path: string;
  params: Param[];
  body?: Schema;
}

const NOW = Date.now();

/** A value the schema accepts (the start that each mutation spoils). */
function valid(s: Schema, name = ''): unknown {
  if (s.enum) return s.enum[0];
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
  if (type === 'object') {
    const o: Record<string, unknown> = {};
    const props = s.properties ?? {};
    for (const k of s.required ?? []) o[k] = valid(props[k]!, k);
    if ((s.minProperties ?? 0) > Object.keys(o).length) {
      const k = Object.keys(props)[0]!;
      o[k] = valid(props[k]!, k);
    }
    return o;
  }
  if (type === 'array') return [];
  if (type === 'integer' || type === 'number') return s.minimum ?? 1;
  if (type === 'boolean') return true;
  if (s.format === 'date-time') return new Date(name === 'endsAt' || name === 'to' ? NOW + 3_600_000 : NOW - 3_600_000).toISOString();
  if (name === 'device') return 'EL-1-A';
  if (name === 'site') return 'jinfo-garden';
  if (name === 'metric') return 'pressure_mpa';
  return 'x';
}

const badScalar = fc.oneof(
  fc.constantFrom<unknown>(null, true, false, 0, -1, -1e308, 1e308, 1.5, '', ' ', '-1', 'NaN', 'Infinity', '1e309', '__proto__', 'constructor', '\u0000', '../..', '%00', '金佛花园🚒', '\ud800'),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.integer({ min: 100, max: 200_000 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 10, max: 3000 }).map((n) => '🚒'.repeat(n)),
  fc.constantFrom<unknown>([], [1, 2], {}, { a: 1 }, { __proto__: { polluted: 1 } }),
);
const queryValue = fc.oneof(
  fc.constantFrom('', '-1', '0', '1e309', 'NaN', 'true', '2026-02-30T00:00:00Z', 'yesterday', '%ZZ', '%00', '__proto__', '10000000000000000000000', '1.5', 'active', 'all'),
  fc.string({ unit: 'grapheme', maxLength: 20 }).map(encodeURIComponent),
  fc.integer({ min: 65, max: 20_000 }).map((n) => 'q'.repeat(n)),
  fc.integer({ min: 1, max: 500 }).map((n) => encodeURIComponent('中'.repeat(n))),
);
const pathValue = fc.oneof(
  fc.constantFrom('-1', '0', '..', '%2e%2e', '%ZZ', '%00', '__proto__', 'constructor', 'EL-1-A', 'NC-EL-1-A', 'report.json', '%F0%9F%9A%92'),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).map(encodeURIComponent),
  fc.integer({ min: 100, max: 3000 }).map((n) => 'p'.repeat(n)),
);

type Mutation =
  | { kind: 'drop'; key: string }
  | { kind: 'set'; key: string; value: unknown }
  | { kind: 'extra'; key: string; value: unknown }
  | { kind: 'replace'; value: unknown }
  | { kind: 'raw'; text: string; type: string }
  | { kind: 'huge' };

function requestFor(op: Op) {
  const queries = op.params.filter((p) => p.in === 'query');
  const paths = op.params.filter((p) => p.in === 'path');
  const base = (op.body ? valid(op.body) : undefined) as Record<string, unknown> | undefined;
  const keys = Object.keys(op.body?.properties ?? {});
  const mutation: fc.Arbitrary<Mutation | undefined> = op.body
    ? fc.oneof(
        keys.length ? fc.constantFrom(...keys).map((key): Mutation => ({ kind: 'drop', key })) : fc.constant(undefined),
        keys.length ? fc.tuple(fc.constantFrom(...keys), badScalar).map(([key, value]): Mutation => ({ kind: 'set', key, value })) : fc.constant(undefined),
        fc.tuple(fc.constantFrom('extra', '__proto__', 'constructor', 'x'.repeat(300)), badScalar).map(([key, value]): Mutation => ({ kind: 'extra', key, value })),
        fc.oneof(badScalar, fc.jsonValue({ maxDepth: 3 })).map((value): Mutation => ({ kind: 'replace', value })),
        fc.constantFrom<Mutation>(
          { kind: 'raw', text: '{"note": "unterminated', type: 'application/json' },
          { kind: 'raw', text: '', type: 'application/json' },
          { kind: 'raw', text: '[[[[[[[[[[', type: 'application/json' },
          { kind: 'raw', text: 'note=%ZZ&&==', type: 'application/x-www-form-urlencoded' },
          { kind: 'raw', text: 'hello', type: 'text/plain' },
          { kind: 'raw', text: '<a/>', type: 'application/xml' },
          { kind: 'raw', text: '{"a":1}', type: 'application/json; charset=latin1' },
          { kind: 'huge' },
        ),
      )
    : fc.constant(undefined);
  return fc.record({
    path: fc.tuple(...paths.map(() => pathValue)).map((values) => paths.reduce((p, param, i) => p.replace(`{${param.name}}`, values[i]!), op.path)),
    query: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...(queries.length ? queries.map((q) => q.name) : ['x'])), fc.constantFrom('extra', '__proto__', 'constructor[prototype]', 'a[b]')), queryValue), { maxLength: 4 }),
    dropRequired: fc.boolean(),
    mutation,
    auth: fc.constantFrom(true, true, true, false),
  }).map((r) => {
    const query = [...r.query];
    // Required query params are present unless this request is about leaving them out.
    if (!r.dropRequired) for (const q of queries) if (q.required && !query.some(([k]) => k === q.name)) query.push([q.name, encodeURIComponent(String(valid(q.schema, q.name)))]);
    return { ...r, query };
  });
}

function bodyOf(op: Op, m: Mutation | undefined): { body?: string; type?: string } {
  if (!op.body) return {};
  const base = valid(op.body) as Record<string, unknown>;
  if (!m) return { body: JSON.stringify(base), type: 'application/json' };
  switch (m.kind) {
    case 'drop': {
      const { [m.key]: _, ...rest } = base;
      return { body: JSON.stringify(rest), type: 'application/json' };
    }
    case 'set':
      return { body: JSON.stringify({ ...base, [m.key]: m.value }), type: 'application/json' };
    case 'extra':
      // Written as text, so that __proto__ is a key of the JSON.
      return { body: `${JSON.stringify(base).slice(0, -1)}${Object.keys(base).length ? ',' : ''}${JSON.stringify(m.key)}:${JSON.stringify(m.value) ?? 'null'}}`, type: 'application/json' };
    case 'replace':
      return { body: JSON.stringify(m.value) ?? 'null', type: 'application/json' };
    case 'raw':
      return { body: m.text, type: m.type };
    case 'huge':
      return { body: JSON.stringify({ ...base, comment: 'x'.repeat(1024 * 1024 + 10) }), type: 'application/json' };
  }
}

/** True when the request definitely breaks the route's schema, so that only a 400 (or an auth refusal) is right. */
function definitelyBad(op: Op, r: { dropRequired: boolean; query: [string, string][]; mutation: Mutation | undefined }): boolean {
  if (r.dropRequired && op.params.some((p) => p.in === 'query' && p.required)) return !r.query.some(([k]) => op.params.find((p) => p.name === k)?.required);
  for (const [k, v] of r.query) {
    const p = op.params.find((x) => x.in === 'query' && x.name === k);
    if (p?.schema.enum && !p.schema.enum.includes(decodeURIComponent(v.replace(/%(?![0-9A-F]{2})/gi, '%25')))) return true;
    if (p?.schema.maxLength !== undefined && v.length > p.schema.maxLength * 9) return true;
  }
  const m = r.mutation;
  if (op.body && m?.kind === 'drop' && op.body.required?.includes(m.key)) return true;
  return false;
}

describe('schema fuzzing of every route in /api/openapi.json', () => {
  it(`${PER_ROUTE} bad requests per route: never a 5xx, every refusal in the catalogue's shape, the service up`, async () => {
    const doc = (await (await fetch(`${service.url}/api/openapi.json`)).json()) as { paths: Record<string, Record<string, { parameters?: Param[]; requestBody?: { content: Record<string, { schema: Schema }> } }>> };
    const ops: Op[] = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ method: method.toUpperCase(), path, params: op.parameters ?? [], body: op.requestBody?.content['application/json']?.schema })),
    );
    // The routes of docs/interfaces.md#routes, reports' too, are in the document.
    const names = ops.map((o) => `${o.method} ${o.path}`);
    for (const r of ['GET /api/sites', 'GET /api/devices/{id}/series', 'POST /api/alerts/{id}/ack', 'POST /api/silences', 'DELETE /api/silences/{id}', 'POST /api/reports', 'GET /api/ingest/rejects', 'POST /ack/{token}', 'POST /api/maintenance']) expect(names).toContain(r);

    let refused = 0;
    let total = 0;
    const statuses = new Map<string, number>();
    for (const [i, op] of ops.entries()) {
      const samples = fc.sample(requestFor(op), { numRuns: PER_ROUTE, seed: SEED + i });
      for (const r of samples) {
        const { body, type } = bodyOf(op, r.mutation);
        const qs = r.query.map(([k, v]) => `${k}=${v}`).join('&');
        const url = `${service.url}${r.path}${qs ? `?${qs}` : ''}`;
        const what = `${op.method} ${url.slice(0, 200)} ${(body ?? '').slice(0, 200)}`;
        const res = await fetch(url, {
          method: op.method,
          headers: { accept: 'application/json', ...(r.auth ? { authorization: `Bearer ${TOKENS.admin}` } : {}), ...(type ? { 'content-type': type } : {}) },
          ...(body !== undefined ? { body } : {}),
        });
        const text = await res.text();
        total++;
        statuses.set(`${res.status}`, (statuses.get(`${res.status}`) ?? 0) + 1);
        expect(res.status, what).toBeLessThan(500);
        if (res.status >= 400) {
          refused++;
          let parsed: unknown;
          expect(() => (parsed = JSON.parse(text)), `${what}: ${text.slice(0, 200)}`).not.toThrow();
          expectApiError(res.status, parsed, what);
        }
        if (r.auth && definitelyBad(op, r)) expect([400, 404, 431], what).toContain(res.status);
      }
    }
    // The fuzzing refused most of what it sent (it is not sending valid requests by mistake).
    expect(refused / total).toBeGreaterThan(0.6);
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  }, 600_000);
});
