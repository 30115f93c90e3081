/**
 * How the service serves the web UI (dashboard/ui-serve.ts): the build's files, index.html for
 * the UI's own paths (a reload of /sites/… or /devices/EL.1), and never the UI in place of the
 * service's own paths: an unknown /api route is still the API's JSON 404.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { removeDir, startService, type TestService } from '../harness/service.ts';
import { UI_DIR } from '../../dashboard/ui-serve.ts';

describe('serving the web UI', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService();
  });
  afterAll(async () => {
    await service?.stop();
    if (service) removeDir(service.dataDir);
  });

  const get = (path: string, headers: Record<string, string> = {}) => service.app.http.inject({ method: 'GET', url: path, headers });

  it.each(['/', '/login', '/alerts?state=all', '/sites/jinfo-garden', '/devices/EL-1-A', '/devices/EL.1', '/ingest'])('answers %s with the UI', async (path) => {
    const r = await get(path);
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/html/);
    expect(r.headers['cache-control']).toBe('no-cache');
    expect(r.body).toContain('<div id="app">');
  });

  it('serves the built assets, cached for good since their names are their content', async () => {
    const js = readdirSync(join(UI_DIR, 'assets')).find((f) => f.endsWith('.js'))!;
    const r = await get(`/assets/${js}`);
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/javascript/);
    expect(r.headers['cache-control']).toMatch(/immutable/);
  });

  it.each(['/api/nope', '/api', '/ack/', '/socket.io/nope', '/assets/missing.js', '/metrics/x', '/healthz/x'])('never answers %s with the UI', async (path) => {
    const r = await get(path);
    expect(r.statusCode).toBe(404);
    expect(r.body).not.toContain('<div id="app">');
  });

  it('leaves the service routes theirs', async () => {
    expect((await get('/healthz')).json()).toEqual({ status: 'ok' });
    expect((await get('/api/sites')).statusCode).toBe(401);
    expect((await get('/metrics')).headers['content-type']).toMatch(/^text\/plain/);
  });

  it('keeps a path that climbs out of the build inside it', async () => {
    const r = await get('/..%2f..%2fpackage.json');
    expect(r.body).not.toContain('"estate-sentinel"');
  });
});
