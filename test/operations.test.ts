/**
 * What an operator reads (docs/operations.md): /metrics under the standard and the service's
 * own names, counting what really happened — an alert fired, its deliveries sent, retried and
 * given up, their latency, a report made — and the probes of docs/interfaces.md#probes-and-metrics: ready is
 * "it can serve" (the operational store usable, the spool not full, no stop begun); the broker
 * away leaves it ready and says so; the operational store closed or stalled makes it unready;
 * a stop makes it unready at once while the server still answers. Real Mosquitto, the
 * embedded series store, a real webhook receiver; the service in-process.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { parseEstate, type Estate } from '../config/index.ts';
import { Receiver, type Received } from '../alerts/delivery/testing/receiver.ts';
import { freshDatabase, type TestDatabase } from '../storage/operational/testing/postgres.ts';
import { startMosquitto, type Mosquitto } from './harness/mosquitto.ts';
import { ROOT, startService, type TestService } from './harness/service.ts';
import { startTcpProxy } from './harness/tcp-proxy.ts';
import { device } from './harness/publish.ts';
import { sleep, waitFor } from './harness/ports.ts';
import { exportedNames, sample, sum } from './harness/prometheus.ts';
import { gitCommit, readBuildInfo } from '../metrics.ts';

const ADMIN = { authorization: 'Bearer demo-admin' };
let broker: Mosquitto;
const rx = new Receiver();
const services: TestService[] = [];
const clients: MqttClient[] = [];

/** One site, two elevators; the property company on one webhook, market supervision on a flaky one and one that refuses. */
function estate(): Estate {
  return parseEstate(
    `
sites:
  - id: garden
    name: 金佛花园
    property: { name: 渝南物业, channels: [ { type: webhook, url: "${rx.url('/property')}" } ] }
    devices:
      - { id: EL-1, kind: elevator, building: "1栋", intervalSec: 86400 }
      - { id: EL-2, kind: elevator, building: "2栋", intervalSec: 86400 }
departments:
  - id: market-supervision
    name: 区市场监管局
    channels:
      - { type: webhook, url: "${rx.url('/flaky')}" }
      - { type: webhook, url: "${rx.url('/refuse')}" }
auth:
  tokens:
    - { name: admin, role: admin, sha256: cce7a2cf1ae045989cfc914fb95a41526f167a838b3c7d33745143614abace7c }
`,
    'operations.yaml',
    {},
  );
}

async function service(opts: { env?: Record<string, string>; drainMs?: number } = {}): Promise<TestService> {
  const svc = await startService({ estate: estate(), env: { MQTT_URL: broker.url, MQTT_CLIENT_ID: `ops-${process.pid}-${services.length}`, ...opts.env }, ...(opts.drainMs ? { drainMs: opts.drainMs } : {}) });
  services.push(svc);
  return svc;
}

const scrape = async (svc: TestService) => (await fetch(`${svc.url}/metrics`)).text();

async function readyz(svc: TestService): Promise<{ status: number; body: any }> {
  const r = await fetch(`${svc.url}/readyz`);
  return { status: r.status, body: await r.json() };
}

beforeAll(async () => {
  let flaky = 0;
  rx.respond = (r: Received) => {
    if (r.url === '/refuse') return { status: 400, body: '{"error":"no such hook"}' };
    if (r.url === '/flaky' && flaky++ === 0) return { status: 503 };
    return { status: 204 };
  };
  await rx.listen();
  broker = await startMosquitto({ durable: true });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
  for (const s of services.splice(0)) await s.stop().catch(() => undefined);
});

afterAll(async () => {
  await rx.close();
  await broker?.destroy();
});

describe('/metrics', () => {
  it('default process and Node metrics under their standard names; every other metric of the service prefixed estate_; build info', async () => {
    const svc = await service();
    const text = await scrape(svc);
    const names = exportedNames(text);
    for (const n of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_eventloop_lag_seconds', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_gc_duration_seconds']) {
      expect(names, n).toContain(n);
    }
    expect([...names].filter((n) => n.startsWith('estate_process_') || n.startsWith('estate_nodejs_'))).toEqual([]);
    const own = [...names].filter((n) => !n.startsWith('process_') && !n.startsWith('nodejs_'));
    expect(own.filter((n) => !n.startsWith('estate_'))).toEqual([]);
    const build = /^estate_build_info\{version="([^"]+)",node="([^"]+)"(?:,commit="([0-9a-f]{12})")?\} 1$/m.exec(text);
    expect(build, 'estate_build_info').not.toBeNull();
    expect(build![1]).toBe((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
    expect(build![2]).toBe(process.versions.node);
    for (const n of ['estate_operational_store_up', 'estate_broker_connected', 'estate_store_up', 'estate_ready']) expect(sample(text, n), n).toBe(1);
    expect(sample(text, 'estate_spool_max_bytes')).toBe(svc.app.env.SPOOL_MAX_BYTES);
    expect(sample(text, 'estate_outbox_pending')).toBe(0);
    expect(sample(text, 'estate_outbox_oldest_pending_seconds')).toBe(0);
    // Counters rules take increase() of exist from the start, at 0.
    expect(sample(text, 'estate_deliveries_failed_total{channel="webhook",reason="rejected"}')).toBe(0);
    expect(sample(text, 'estate_reports_failed_total{kind="health",trigger="schedule"}')).toBe(0);
  });

  it('an alert fired and delivered: open alerts and transitions by rule, sends, a retry and a give-up by channel, latency from firedAt, the outbox drained; a report made', async () => {
    const svc = await service();
    const dev = await device(broker.url);
    clients.push(dev);
    rx.received.length = 0;
    await dev.publishAsync('estate/garden/elevator/EL-1/event', JSON.stringify({ code: 'trapped', active: true, detail: 'operations test' }), { qos: 1 });

    // /property at once, /flaky after one 503 and its retry (0.5-1 s), /refuse given up; the
    // give-up raises delivery_failed, which the property company hears of too (at once).
    const firingOf = (rule: string) => rx.received.filter((r) => (r.json as { event?: string; alert?: { rule: string } })?.event === 'alert.firing' && (r.json as { alert: { rule: string } }).alert.rule === rule);
    await waitFor('both accepted', () => firingOf('trapped').filter((r) => r.status === 204).length === 2, 20_000);
    const text = await waitFor('the counters', async () => {
      const t = await scrape(svc);
      return sample(t, 'estate_deliveries_sent_total{channel="webhook"}') === 3 && sample(t, 'estate_deliveries_failed_total{channel="webhook",reason="rejected"}') === 1 ? t : undefined;
    }, 10_000, 100);
    expect(sample(text, 'estate_alerts_open{state="firing",rule="trapped",severity="critical"}')).toBe(1);
    expect(sample(text, 'estate_alert_transitions_total{transition="firing",rule="trapped"}')).toBe(1);
    expect(sample(text, 'estate_delivery_retries_total{channel="webhook"}')).toBe(1);
    expect(sample(text, 'estate_deliveries_failed_total{channel="webhook",reason="deadline"}')).toBe(0);
    expect(firingOf('delivery_failed').map((r) => `${r.url} ${r.status}`)).toEqual(['/property 204']);
    expect(sample(text, 'estate_delivery_latency_seconds_count{channel="webhook",event="alert.firing"}')).toBe(3);
    // The retried one took at least its backoff (0.5-1 s), the others well under it.
    expect(sum(text, 'estate_delivery_latency_seconds_bucket', { channel: 'webhook', event: 'alert.firing', le: '0.5' })).toBe(2);
    expect(sum(text, 'estate_delivery_latency_seconds_bucket', { channel: 'webhook', event: 'alert.firing', le: '10' })).toBe(3);

    // The delivery's createdAt, which latency counts from, is the alert's firedAt: the same commit.
    const alerts = (await (await fetch(`${svc.url}/api/alerts?state=active`, { headers: ADMIN })).json()) as { items: { id: string; rule: string; firedAt: string }[] };
    const trapped = alerts.items.find((a) => a.rule === 'trapped')!;
    const deliveries = (await (await fetch(`${svc.url}/api/alerts/${trapped.id}/deliveries`, { headers: ADMIN })).json()) as { items: { event: string; createdAt: string | number }[] };
    const firing = deliveries.items.filter((d) => d.event === 'alert.firing');
    expect(firing).toHaveLength(3);
    for (const d of firing) expect(new Date(d.createdAt).getTime()).toBe(Date.parse(trapped.firedAt));

    // The give-up raised the delivery_failed system alert: open, by its rule.
    const after = await waitFor('delivery_failed open', async () => {
      const t = await scrape(svc);
      return sum(t, 'estate_alerts_open', { rule: 'delivery_failed' }) === 1 ? t : undefined;
    }, 10_000, 100);
    expect(sample(after, 'estate_outbox_pending')).toBe(0);
    expect(sample(after, 'estate_outbox_oldest_pending_seconds')).toBe(0);

    // Resolved: the open count goes back to 0 (the series stays, at 0).
    await dev.publishAsync('estate/garden/elevator/EL-1/event', JSON.stringify({ code: 'trapped', active: false, detail: '' }), { qos: 1 });
    const resolved = await waitFor('resolved', async () => {
      const t = await scrape(svc);
      return sample(t, 'estate_alerts_open{state="firing",rule="trapped",severity="critical"}') === 0 ? t : undefined;
    }, 10_000, 100);
    expect(sample(resolved, 'estate_alert_transitions_total{transition="resolved",rule="trapped"}')).toBe(1);

    const to = Date.now() - 1000;
    const made = await fetch(`${svc.url}/api/reports`, { method: 'POST', headers: { ...ADMIN, 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'health', from: new Date(to - 86_400_000).toISOString(), to: new Date(to).toISOString() }) });
    expect(made.status).toBe(201);
    const reported = await scrape(svc);
    expect(sample(reported, 'estate_reports_made_total{kind="health",trigger="request"}')).toBe(1);
    expect(sample(reported, 'estate_reports_failed_total{kind="health",trigger="request"}')).toBe(0);
  }, 60_000);

  it('a pending delivery older than the scrape shows its age; the outbox figures are NaN, not a failed scrape, when the store cannot answer', async () => {
    const svc = await service();
    const past = Date.now() - 120_000;
    await svc.app.outbox.enqueue([{ alertId: 'held', event: 'report.ready', recipient: 'property', channel: { type: 'webhook', url: 'http://127.0.0.1:9/never' }, body: { version: 1, event: 'report.ready', sentAt: new Date(past).toISOString(), department: { id: 'property', name: 'p' }, report: { id: 'held', kind: 'health', from: '', to: '', formats: { html: '', csv: '', json: '' } } }, deadline: Date.now() + 600_000 }], past);
    const text = await scrape(svc);
    expect(sample(text, 'estate_outbox_pending')).toBe(1);
    expect(sample(text, 'estate_outbox_oldest_pending_seconds')).toBeGreaterThanOrEqual(119);
    await sleep(1100); // past the shared reading of one scrape
    await svc.app.db.close();
    const res = await fetch(`${svc.url}/metrics`);
    expect(res.status).toBe(200);
    const closed = await res.text();
    expect(closed).toMatch(/^estate_outbox_pending nan$/im);
    expect(closed).toMatch(/^estate_operational_store_up 0$/m);
    expect(closed).toMatch(/^estate_ready 0$/m);
  });
});

describe('/readyz (docs/interfaces.md#probes-and-metrics)', () => {
  it('the broker away: still ready (200), broker.connected false, and /metrics says so', async () => {
    const own = await startMosquitto({ durable: true });
    try {
      const svc = await service({ env: { MQTT_URL: own.url } });
      expect((await readyz(svc)).status).toBe(200);
      await own.stop();
      await waitFor('the service to notice', () => !svc.app.readiness().broker.connected, 10_000);
      const r = await readyz(svc);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ ready: true, stopping: false, broker: { connected: false }, operational: { up: true }, spool: { writable: true, full: false } });
      const text = await scrape(svc);
      expect(sample(text, 'estate_broker_connected')).toBe(0);
      expect(sample(text, 'estate_ready')).toBe(1);
      expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
    } finally {
      await own.destroy();
    }
  });

  it('the operational store refusing: 503 with operational.up false, at once', async () => {
    const svc = await service();
    expect((await readyz(svc)).body.operational).toMatchObject({ up: true, refusing: false, dialect: svc.app.db.dialect });
    await svc.app.db.close();
    const r = await readyz(svc);
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ ready: false, operational: { up: false }, broker: { connected: true } });
    expect(r.body.operational.error).toBeTruthy();
    expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
  });

  it('a stop begun: 503 with stopping true while the server still answers, then the server closes', async () => {
    const svc = await service({ drainMs: 1500 });
    expect((await readyz(svc)).status).toBe(200);
    const stopped = svc.app.stop();
    const during = await readyz(svc);
    expect(during.status).toBe(503);
    expect(during.body).toMatchObject({ ready: false, stopping: true, operational: { up: true }, broker: { connected: true } });
    expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${svc.url}/api/sites`, { headers: ADMIN })).status).toBe(200);
    await stopped;
    await expect(fetch(`${svc.url}/healthz`)).rejects.toThrow();
  });

  it('PostgreSQL stalled: unready within the probe interval plus its timeout, ready again once it answers', async () => {
    let pg: TestDatabase | undefined;
    let proxy: Awaited<ReturnType<typeof startTcpProxy>> | undefined;
    try {
      pg = await freshDatabase();
      const target = new URL(pg.url);
      proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
      target.port = String(proxy.port);
      const svc = await service({ env: { OPERATIONAL_DB: target.toString() } });
      expect((await readyz(svc)).body.operational).toMatchObject({ dialect: 'postgres', up: true });
      await proxy.stall();
      const stalledAt = Date.now();
      const r = await waitFor('unready', async () => {
        const x = await readyz(svc);
        return x.status === 503 ? x : undefined;
      }, 15_000, 100);
      // Every 5 s, 2 s to answer: within about 7 s, and /readyz itself never waits on the store.
      expect(Date.now() - stalledAt).toBeLessThan(8_000);
      expect(r.body.operational).toMatchObject({ up: false, error: expect.stringMatching(/no answer within/) });
      await proxy.resume();
      await waitFor('ready again', async () => (await readyz(svc)).status === 200, 15_000, 100);
    } finally {
      await proxy?.resume().catch(() => undefined);
      for (const s of services.splice(0)) await s.stop().catch(() => undefined);
      await proxy?.close();
      await pg?.drop();
    }
  }, 40_000);
});

describe('estate_build_info', () => {
  const SHA = 'a'.repeat(8) + 'b'.repeat(32);
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  function checkout(files: Record<string, string>): string {
    const root = mkdtempSync(join(tmpdir(), 'estate-build-'));
    dirs.push(root);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return root;
  }

  it('reads the commit from .git without git: a branch, packed refs, a detached HEAD, a worktree; none without .git', () => {
    expect(gitCommit(checkout({ '.git/HEAD': 'ref: refs/heads/main\n', '.git/refs/heads/main': `${SHA}\n` }))).toBe(SHA.slice(0, 12));
    expect(gitCommit(checkout({ '.git/HEAD': 'ref: refs/heads/main\n', '.git/packed-refs': `# pack-refs with: peeled\n${SHA} refs/heads/main\n` }))).toBe(SHA.slice(0, 12));
    expect(gitCommit(checkout({ '.git/HEAD': `${SHA}\n` }))).toBe(SHA.slice(0, 12));
    const main = checkout({ '.git/HEAD': 'ref: refs/heads/main\n', '.git/refs/heads/other': `${SHA}\n`, '.git/worktrees/w/HEAD': 'ref: refs/heads/other\n', '.git/worktrees/w/commondir': '../..\n' });
    const worktree = checkout({ '.git': `gitdir: ${join(main, '.git/worktrees/w')}\n` });
    expect(gitCommit(worktree)).toBe(SHA.slice(0, 12));
    expect(gitCommit(checkout({ 'package.json': '{}' }))).toBeUndefined();
  });

  it('finds package.json above dist/ (the image runs dist/main.js), and leaves the commit out where there is no .git', () => {
    const root = checkout({ 'package.json': JSON.stringify({ name: 'estate-sentinel', version: '9.8.7' }), 'dist/metrics.js': '' });
    expect(readBuildInfo(join(root, 'dist'))).toEqual({ version: '9.8.7' });
  });
});
