/**
 * Security headers (docs/security.md) on the UI, the API, /api/docs and the /ack page, and
 * the proof that the CSP costs nothing: Chromium opens the built UI's views, the API docs
 * page, an acknowledgement page (and submits it) and a report file through a blob: URL in a
 * frame, and no page reports a CSP violation. Real Mosquitto; the embedded store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import type { Browser, ConsoleMessage, Page } from 'playwright-core';
import type { MqttClient } from 'mqtt';
import { startMosquitto, type Mosquitto } from '../harness/mosquitto.ts';
import { startService, type TestService } from '../harness/service.ts';
import { device } from '../harness/publish.ts';
import { waitFor } from '../harness/ports.ts';
import { launch, openSignedIn, watchErrors } from '../browser/chromium.ts';
import { TOKENS, demoEstate, startReceiver, type Receiver } from './fixture.ts';

const WAIT = 30_000;
let mosquitto: Mosquitto;
let service: TestService;
let receiver: Receiver;
let dev: MqttClient;
let browser: Browser;
let ackUrl: string;

beforeAll(async () => {
  receiver = await startReceiver();
  mosquitto = await startMosquitto();
  service = await startService({ estate: demoEstate(receiver.port), env: { MQTT_URL: mosquitto.url } });
  dev = await device(mosquitto.url);
  // Readings for the device's charts, then a tamper event: critical at once.: its delivery to fire rescue carries an ack link.
  const now = Date.now();
  for (let i = 10; i > 0; i--) await dev.publishAsync('estate/jinfo-garden/hydrant/HY-03/telemetry', JSON.stringify({ ts: now - i * 60_000, metrics: { pressure_mpa: 0.3 + i / 100, temp_c: 12 } }), { qos: 1 });
  await dev.publishAsync('estate/jinfo-garden/hydrant/HY-03/event', JSON.stringify({ code: 'tamper', active: true, detail: '井盖被打开' }), { qos: 1 });
  const d = await waitFor('a delivery with an ack link', () => receiver.got.find((g) => g.body.event === 'alert.firing' && g.path === '/department/fire-rescue'), WAIT);
  ackUrl = d.body.ackUrl!;
  browser = await launch();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await dev?.endAsync();
  await service?.stop();
  await mosquitto?.destroy();
  await receiver?.close();
});

function csp(headers: Headers): Map<string, string[]> {
  const value = headers.get('content-security-policy');
  expect(value).toBeTruthy();
  return new Map(
    value!
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((p) => p[0])
      .map(([name, ...sources]) => [name!, sources]),
  );
}

function expectCommonHeaders(h: Headers, what: string): void {
  expect(h.get('x-content-type-options'), what).toBe('nosniff');
  expect(h.get('referrer-policy'), what).toBe('no-referrer');
  expect(h.get('x-frame-options'), what).toBe('DENY');
  const p = csp(h);
  expect(p.get('frame-ancestors'), what).toEqual(["'none'"]);
  expect(p.get('default-src'), what).toEqual(["'self'"]);
  expect(p.get('object-src'), what).toEqual(["'none'"]);
  // No script from elsewhere, no inline script by 'unsafe-inline', no eval.
  const scripts = p.get('script-src')!;
  expect(scripts[0], what).toBe("'self'");
  expect(scripts.filter((s) => s !== "'self'").every((s) => /^'sha256-[A-Za-z0-9+/]+=*'$/.test(s)), what).toBe(true);
  // Plain HTTP on a LAN address must keep working: no upgrade of requests to https.
  expect(p.has('upgrade-insecure-requests'), what).toBe(false);
  expect(h.get('x-powered-by'), what).toBeNull();
}

describe('headers', () => {
  it('the UI, the API, the public routes, refusals and the ack page all carry them', async () => {
    const auth = { authorization: `Bearer ${TOKENS.admin}` };
    const answers: [string, Response][] = [
      ['UI index', await fetch(`${service.url}/`)],
      ['UI deep link', await fetch(`${service.url}/sites/jinfo-garden`)],
      ['API', await fetch(`${service.url}/api/sites`, { headers: auth })],
      ['API 401', await fetch(`${service.url}/api/sites`)],
      ['API 404', await fetch(`${service.url}/api/devices/NOPE`, { headers: auth })],
      ['healthz', await fetch(`${service.url}/healthz`)],
      ['metrics', await fetch(`${service.url}/metrics`)],
      ['openapi', await fetch(`${service.url}/api/openapi.json`)],
      ['docs', await fetch(`${service.url}/api/docs`)],
      ['ack page', await fetch(ackUrl)],
      ['forged ack', await fetch(`${ackUrl.slice(0, -4)}AAAA`)],
    ];
    expect(answers.map(([w, r]) => [w, r.status])).toEqual([
      ['UI index', 200],
      ['UI deep link', 200],
      ['API', 200],
      ['API 401', 401],
      ['API 404', 404],
      ['healthz', 200],
      ['metrics', 200],
      ['openapi', 200],
      ['docs', 200],
      ['ack page', 200],
      ['forged ack', 404],
    ]);
    for (const [what, r] of answers) expectCommonHeaders(r.headers, what);
    const ui = await fetch(`${service.url}/`);
    const p = csp(ui.headers);
    // socket.io and the API on the same origin only; report files as blob: URLs in a frame.
    expect(p.get('connect-src')).toEqual(["'self'"]);
    expect(p.get('frame-src')).toEqual(["'self'", 'blob:']);
    expect(p.get('form-action')).toEqual(["'self'"]);
  });

  it('/api/docs: the CSP allows exactly the page\'s inline script, by its hash', async () => {
    const r = await fetch(`${service.url}/api/docs`);
    const html = await r.text();
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    expect(scripts).toHaveLength(1);
    const hash = createHash('sha256').update(scripts[0]!).digest('base64');
    expect(csp(r.headers).get('script-src')).toEqual(["'self'", `'sha256-${hash}'`]);
  });

});

/** CSP violations a page reports, in any of its frames: the console message and the DOM event. */
async function watchCsp(page: Page): Promise<string[]> {
  const found: string[] = [];
  page.on('console', (m: ConsoleMessage) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) found.push(m.text());
  });
  await page.addInitScript(() =>
    document.addEventListener('securitypolicyviolation', (e) => console.error(`Refused to load (Content Security Policy): ${e.violatedDirective} ${e.blockedURI}`)),
  );
  return found;
}

describe('in Chromium, under the CSP', () => {
  it('the UI views, /api/docs, the ack page and a report in a blob: frame work, with no violation', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    context.setDefaultTimeout(WAIT);
    const page = await context.newPage();
    const violations = await watchCsp(page);
    const errors = watchErrors(page);
    try {
      await openSignedIn(page, service.url, TOKENS.admin, '/');
      await page.locator('.site-card[data-site="jinfo-garden"]').waitFor();
      // socket.io on the same origin: the compound view goes live.
      await page.goto(`${service.url}/sites/jinfo-garden`);
      await page.locator('.tile[data-device="HY-03"]').waitFor();
      await page.locator('.live[data-state="live"]').waitFor();
      await page.goto(`${service.url}/devices/HY-03`);
      // The charts (uPlot: a canvas, styled from script).
      await page.locator('.chart-card[data-metric="pressure_mpa"] canvas').first().waitFor();
      await page.goto(`${service.url}/alerts`);
      await page.locator('tr[data-device="HY-03"][data-rule]').first().waitFor();
      await page.goto(`${service.url}/reports`);
      await page.getByTestId('report-form').waitFor();

      // What the reports view does with a report file: fetched with the token, shown from a blob: URL in a frame.
      const framed = await page.evaluate(async (token) => {
        const to = new Date();
        const from = new Date(to.getTime() - 86_400_000);
        const auth = { authorization: `Bearer ${token}` };
        const made = await fetch('/api/reports', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'health', from: from.toISOString(), to: to.toISOString() }) });
        const report = await made.json();
        const blob = await (await fetch(report.formats.html, { headers: auth })).blob();
        const frame = document.createElement('iframe');
        frame.src = URL.createObjectURL(blob);
        document.body.appendChild(frame);
        await new Promise((resolve) => frame.addEventListener('load', resolve, { once: true }));
        return { status: made.status, text: frame.contentDocument?.body?.innerText.length ?? 0 };
      }, TOKENS.admin);
      expect(framed.status).toBe(201);
      expect(framed.text).toBeGreaterThan(20);

      // /api/docs runs its inline script (allowed by its hash) and lists the routes.
      await page.goto(`${service.url}/api/docs`);
      await expect.poll(() => page.locator('#ops .op').count(), { timeout: WAIT }).toBeGreaterThan(10);

      // The ack page: shown, and its form posts (form-action 'self').
      await page.goto(ackUrl);
      await page.locator('textarea[name=note]').fill('已派人 on the way');
      await page.click('button[type=submit]');
      await page.getByText('已确认，谢谢。').waitFor();

      expect(violations).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});

describe('the failed-auth limiter', () => {
  it('a 429 from the failed-auth limiter carries them too', async () => {
    // The limiter counts per address; this test's own service, and the last test of the file to use it.
    let last: Response | undefined;
    for (let i = 0; i < 11; i++) last = await fetch(`${service.url}/api/sites`, { headers: { authorization: `Bearer wrong-${i}` } });
    expect(last!.status).toBe(429);
    expectCommonHeaders(last!.headers, '429');
  });
});
