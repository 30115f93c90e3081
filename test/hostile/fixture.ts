/**
 * Shared pieces of the hostile-input tests: the demo tokens of config/estate.yaml, a webhook
 * receiver for deliveries (and their ack links), a check of the error catalogue's shape, and
 * the HTTP API alone for `inject()`.
 */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { Registry as PromRegistry } from 'prom-client';
import { Registry, loadEstate, type Estate } from '../../config/index.ts';
import { ERRORS } from '../../dashboard/errors.ts';
import { LatestCache, buildServer, type ServerDeps } from '../../dashboard/index.ts';
import { ROOT } from '../harness/service.ts';
import { freePort } from '../harness/ports.ts';

/** Bearer tokens of config/estate.yaml's demo principals (the file holds their SHA-256). */
export const TOKENS = {
  admin: 'demo-admin',
  operator: 'demo-ops-jinfo',
  otherOperator: 'demo-ops-nancheng',
  viewer: 'demo-viewer',
  department: 'demo-fire',
  otherDepartment: 'demo-market',
} as const;

export interface Delivery {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  raw: string;
  body: { event: string; ackUrl?: string; alert: { id: string; device: string; key: string } };
}

export interface Receiver {
  port: number;
  got: Delivery[];
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 that answers every delivery 204 and keeps it. */
export async function startReceiver(): Promise<Receiver> {
  const port = await freePort();
  const got: Delivery[] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      got.push({ path: req.url!, headers: req.headers, raw, body: JSON.parse(raw) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { port, got, close: () => new Promise((r) => server.close(() => r())) };
}

/** The demo estate with its webhooks pointed at `hookPort`, and the given environment for `${VAR}`s. */
export function demoEstate(hookPort: number, vars: Record<string, string> = {}): Estate {
  return loadEstate(join(ROOT, 'config/estate.yaml'), { DEMO_HOOK_PORT: String(hookPort), ...vars });
}

/** The error catalogue's answer: `{"error": {"code", "message"}}`, a code of the catalogue, a 4xx status that fits it. */
export function expectApiError(status: number, body: unknown, what: string): void {
  expect(status, what).toBeGreaterThanOrEqual(400);
  expect(status, what).toBeLessThan(500);
  expect(body, what).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
  const e = (body as { error: { code: string; message: string } }).error;
  expect(Object.keys(body as object), what).toEqual(['error']);
  expect(Object.keys(ERRORS), what).toContain(e.code);
  expect(ERRORS[e.code as keyof typeof ERRORS].status, `${what}: ${e.code}`).toBe(status);
}

/**
 * The HTTP API alone (buildServer), for `inject()`: the registry and latest values of the
 * estate, a ready service, and none of the other parts (rejects, audit, alerts, the series
 * store) unless `over` gives them; a route that needs one it was not given fails with 500.
 */
export function apiServer(estate: Estate, over: Partial<ServerDeps> = {}): FastifyInstance {
  const registry = new Registry(estate);
  return buildServer({
    estate,
    rejects: {} as ServerDeps['rejects'],
    audit: {} as ServerDeps['audit'],
    alerts: {} as ServerDeps['alerts'],
    metrics: new PromRegistry(),
    readiness: () => ({ ready: true, broker: { connected: true, url: 'mqtt://x' }, spool: { writable: true, segments: 0, bytes: 0, full: false }, store: { kind: 'embedded', up: true, backlogBytes: 0 } }),
    log: pino({ level: 'silent' }),
    registry,
    latest: new LatestCache(registry),
    store: {} as ServerDeps['store'],
    ...over,
  });
}
