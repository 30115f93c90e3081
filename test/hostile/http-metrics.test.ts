/**
 * HTTP request metrics (dashboard/http-metrics.ts) on the registry the server is given: by
 * route pattern, method and status, never the raw URL, so that ids, ack tokens and random
 * paths sent by anyone make no series of their own. The HTTP API driven with `inject()`.
 */
import { describe, expect, it } from 'vitest';
import { Registry as PromRegistry } from 'prom-client';
import type { AlertActions } from '../../alerts/index.ts';
import type { ServerDeps } from '../../dashboard/index.ts';
import { TOKENS, apiServer, demoEstate } from './fixture.ts';

const ESTATE = demoEstate(1);
const auth = { authorization: `Bearer ${TOKENS.admin}` };

/** The registry's `estate_http_*` sample lines, without HELP/TYPE. */
async function httpLines(metrics: PromRegistry): Promise<string[]> {
  return (await metrics.metrics()).split('\n').filter((l) => l.startsWith('estate_http_'));
}

const sample = (lines: string[], name: string, labels: string) => {
  const line = lines.find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
};

describe('HTTP request metrics', () => {
  it('count requests by route pattern, method and status, and time them by route pattern and method', async () => {
    const metrics = new PromRegistry();
    // Ack links checked by a stand-in for the alerts part: every link is forged.
    const actions = { fromLink: async () => ({ ok: false, code: 'forged', message: 'not a valid link' }) } as unknown as AlertActions;
    const app = apiServer(ESTATE, { metrics, alerts: { actions } as ServerDeps['alerts'] });
    try {
      const answers: number[] = [];
      const send = async (method: 'GET' | 'POST', url: string, headers: Record<string, string> = {}) => answers.push((await app.inject({ method, url, headers })).statusCode);
      await send('GET', '/api/devices/HY-03', auth);
      await send('GET', '/api/devices/EL-1-A', auth);
      await send('GET', '/api/devices/NO-SUCH-1', auth);
      await send('GET', '/api/devices/HY-03');
      await send('GET', `/ack/${'x'.repeat(40)}`, { accept: 'application/json' });
      await send('GET', `/ack/${'y'.repeat(40)}`, { accept: 'application/json' });
      await send('POST', '/api/nowhere-1', auth);
      await send('POST', '/api/nowhere-2', auth);
      await send('GET', '/healthz');
      await send('GET', '/api/devices/%E0%A4%A', auth);
      expect(answers).toEqual([200, 200, 404, 401, 404, 404, 404, 404, 200, 400]);

      const lines = await httpLines(metrics);
      const count = (route: string, method: string, status: number) => sample(lines, 'estate_http_requests_total', `route="${route}",method="${method}",status="${status}"`);
      expect({
        device200: count('/api/devices/:id', 'GET', 200),
        device404: count('/api/devices/:id', 'GET', 404),
        device401: count('/api/devices/:id', 'GET', 401),
        ack404: count('/ack/:token', 'GET', 404),
        noRoute: count('(none)', 'POST', 404),
        healthz: count('/healthz', 'GET', 200),
        undecodable: count('(none)', 'GET', 400),
      }).toEqual({ device200: 2, device404: 1, device401: 1, ack404: 2, noRoute: 2, healthz: 1, undecodable: 1 });
      const timed = (route: string, method: string) => sample(lines, 'estate_http_request_duration_seconds_count', `route="${route}",method="${method}"`);
      expect([timed('/api/devices/:id', 'GET'), timed('/ack/:token', 'GET'), timed('(none)', 'POST'), timed('/healthz', 'GET')]).toEqual([4, 2, 2, 1]);
      expect(sample(lines, 'estate_http_request_duration_seconds_bucket', 'le="10",route="/api/devices/:id",method="GET"')).toBe(4);

      // No URL, id or token in any label: one series per pattern, whatever was asked.
      for (const raw of ['HY-03', 'EL-1-A', 'NO-SUCH-1', 'xxxx', 'yyyy', 'nowhere']) expect(lines.filter((l) => l.includes(raw)), raw).toEqual([]);
      const routes = new Set(lines.map((l) => /route="([^"]*)"/.exec(l)?.[1]));
      expect([...routes].sort()).toEqual(['(none)', '/ack/:token', '/api/devices/:id', '/healthz']);
    } finally {
      await app.close();
    }
  });

  it('a flood of distinct URLs adds no series', async () => {
    const metrics = new PromRegistry();
    const app = apiServer(ESTATE, { metrics });
    try {
      await app.inject({ method: 'GET', url: '/api/devices/D-0', headers: auth });
      await app.inject({ method: 'DELETE', url: '/api/x/0' });
      const before = (await httpLines(metrics)).length;
      for (let i = 1; i <= 200; i++) {
        await app.inject({ method: 'GET', url: `/api/devices/D-${i}?q=${i}`, headers: auth });
        await app.inject({ method: 'DELETE', url: `/api/x/${i}` });
      }
      const after = await httpLines(metrics);
      expect(after.length).toBe(before);
      expect(sample(after, 'estate_http_requests_total', 'route="/api/devices/:id",method="GET",status="404"')).toBe(201);
      expect(sample(after, 'estate_http_requests_total', 'route="(none)",method="DELETE",status="404"')).toBe(201);
    } finally {
      await app.close();
    }
  });
});
