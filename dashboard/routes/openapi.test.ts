/**
 * /api/openapi.json as a client generator reads it: a valid OpenAPI 3.0 document (checked by
 * @seriousme/openapi-schema-validator against the specification's own JSON schema), every
 * operation with a unique operationId and tags of the declared list, its security (`[]` on the
 * public routes, the bearer token elsewhere, /metrics following `auth.protectMetrics`), and
 * its refusals: statuses of the error catalogue, each referring to the one `Error` schema.
 * The server is built with buildServer alone (dashboard/testing/document.ts).
 */
import { describe, expect, it } from 'vitest';
import { Validator } from '@seriousme/openapi-schema-validator';
import { ERRORS } from '../errors.ts';
import { openApiDocument, operationsOf as operations } from '../testing/document.ts';
import { OPENAPI_TAGS } from './openapi.ts';

/** The routes anyone may call without a token. */
const PUBLIC = ['GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /ack/{token}', 'POST /ack/{token}', 'GET /ingest/onenet/{id}', 'POST /ingest/onenet/{id}', 'POST /ingest/ctwing/{id}/{secret}', 'GET /api/openapi.json', 'GET /api/docs'];

describe('/api/openapi.json', () => {
  it('is a valid OpenAPI 3.0 document', async () => {
    for (const protectMetrics of [false, true]) {
      const doc = await openApiDocument({ protectMetrics });
      const result = await new Validator().validate(doc);
      expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)?.slice(0, 4000)).toEqual([]);
      expect(result.valid).toBe(true);
    }
  });

  it('gives every operation a unique operationId and tags of the declared list', async () => {
    const ops = operations(await openApiDocument());
    const declared = OPENAPI_TAGS.map((t) => t.name);
    expect(ops.filter(({ op }) => !op.operationId).map((o) => o.name)).toEqual([]);
    const ids = ops.map(({ op }) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ops.filter(({ op }) => !op.tags?.length || op.tags.some((t) => !declared.includes(t))).map((o) => o.name)).toEqual([]);
    // The service's interface only: the web UI's fallback and socket.io are not in it.
    expect(ops.filter(({ name }) => !/ \/(api|ack|ingest)\/| \/(healthz|readyz|metrics)$/.test(name)).map((o) => o.name)).toEqual([]);
  });

  it('marks the public routes public and every other one bearer; /metrics as auth.protectMetrics says', async () => {
    const ops = operations(await openApiDocument());
    for (const p of PUBLIC) expect(ops.map((o) => o.name), p).toContain(p);
    for (const { name, op } of ops) expect(op.security, name).toEqual(PUBLIC.includes(name) ? [] : [{ bearer: [] }]);
    for (const { name, op } of ops) if (!PUBLIC.includes(name)) expect(Object.keys(op.responses), name).toEqual(expect.arrayContaining(['401', '429']));
    const isProtected = operations(await openApiDocument({ protectMetrics: true })).find((o) => o.name === 'GET /metrics')!.op;
    expect(isProtected.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(isProtected.responses)).toEqual(expect.arrayContaining(['200', '401', '429']));
  });

  it("declares each route's refusals with the catalogue's statuses, all referring to the Error schema", async () => {
    const doc = await openApiDocument();
    expect(doc.components.schemas!.Error).toMatchObject({ properties: { error: { required: ['code', 'message'] } }, required: ['error'] });
    const statuses = new Set(Object.values(ERRORS).map((e) => e.status));
    const codes = Object.keys(ERRORS);
    for (const { name, op } of operations(doc)) {
      for (const [status, answer] of Object.entries(op.responses)) {
        if (Number(status) < 400 || (name === 'GET /readyz' && status === '503')) continue;
        expect(statuses, `${name} ${status}`).toContain(Number(status));
        expect(answer.content?.['application/json']?.schema, `${name} ${status}`).toEqual({ $ref: '#/components/schemas/Error' });
        // Its description names the code it answers with (a code of the catalogue, or the adapters' SPOOL_UNAVAILABLE).
        const code = /^([A-Z_]+):/.exec(answer.description)?.[1];
        expect([...codes, 'SPOOL_UNAVAILABLE'], `${name} ${status}: ${answer.description}`).toContain(code);
        if (code && code in ERRORS) expect(ERRORS[code as keyof typeof ERRORS].status, `${name} ${status}`).toBe(Number(status));
        if (code === 'STORE_UNAVAILABLE' || status === '429') expect(Object.keys(answer.headers ?? {}), `${name} ${status}`).toContain('Retry-After');
      }
    }
    // What routes can be refused with, at least: a validated body or query 400, an id 404, a write 413 and 415.
    const byName = Object.fromEntries(operations(doc).map((o) => [o.name, Object.keys(o.op.responses)]));
    expect(byName['POST /api/silences']).toEqual(expect.arrayContaining(['400', '401', '403', '404', '413', '415', '429', '503']));
    expect(byName['POST /api/alerts/{id}/ack']).toEqual(expect.arrayContaining(['400', '401', '403', '404', '409', '413', '415', '429', '503']));
    expect(byName['GET /api/devices/{id}/series']).toEqual(expect.arrayContaining(['400', '401', '404', '429']));
    expect(byName['POST /ack/{token}']).toEqual(expect.arrayContaining(['404', '409', '410', '413', '415']));
    expect(byName['POST /ingest/ctwing/{id}/{secret}']).toEqual(expect.arrayContaining(['401', '404', '413', '503']));
  });
});
