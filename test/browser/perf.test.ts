/**
 * The compound view with 500 device tiles, each device publishing twice a second for 5 s:
 * measures the first paint, long tasks (PerformanceObserver 'longtask') and the frame rate,
 * prints them, and holds the UI to no long task over 200 ms (generous on purpose: a slow
 * machine is not a failure, a full re-render per event is).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { MqttClient } from 'mqtt';
import { startMosquitto, type Mosquitto } from '../harness/mosquitto.ts';
import { startService, removeDir, type TestService } from '../harness/service.ts';
import { hydrantEstate, hydrantId } from '../harness/estates.ts';
import { device, telemetry } from '../harness/publish.ts';
import { launch, openSignedIn, watchErrors } from './chromium.ts';

const DEVICES = 500;
const SITE = 'load-test';
const SECONDS = 5;
const PER_SECOND = 2;

declare global {
  interface Window {
    __perf?: { longTasks: { start: number; duration: number }[]; frames: number[] };
  }
}

describe('compound view with 500 tiles', () => {
  let mosquitto: Mosquitto;
  let service: TestService;
  let browser: Browser;
  let mqtt: MqttClient;

  beforeAll(async () => {
    mosquitto = await startMosquitto();
    service = await startService({ estate: hydrantEstate(DEVICES, SITE), env: { MQTT_URL: mosquitto.url } });
    browser = await launch();
    mqtt = await device(mosquitto.url);
  });

  afterAll(async () => {
    await browser?.close();
    await mqtt?.endAsync();
    await service?.stop();
    await mosquitto?.destroy();
    if (service) removeDir(service.dataDir);
  });

  it('paints within a second and takes 5 s of updates without a long task over 200 ms', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(60_000);
    const errors = watchErrors(page);
    // Observers from the first byte: long tasks and every animation frame.
    await page.addInitScript(() => {
      const perf = { longTasks: [] as { start: number; duration: number }[], frames: [] as number[] };
      window.__perf = perf;
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) perf.longTasks.push({ start: e.startTime, duration: e.duration });
      }).observe({ type: 'longtask', buffered: true });
      const frame = (t: number) => {
        perf.frames.push(t);
        requestAnimationFrame(frame);
      };
      requestAnimationFrame(frame);
    });
    await openSignedIn(page, service.url, 'demo-admin', `/sites/${SITE}`);
    await page.waitForFunction((n) => document.querySelectorAll('.tile').length === n, DEVICES);
    await page.locator('.live[data-state="live"]').waitFor();
    const load = await page.evaluate(() => ({
      firstPaint: performance.getEntriesByName('first-paint')[0]?.startTime ?? NaN,
      firstContentfulPaint: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN,
      tilesAt: performance.now(),
    }));
    // Stamp the tile elements: after the updates they must be the same ones (updated, not rebuilt).
    await page.evaluate(() => document.querySelectorAll('.tile').forEach((el, i) => ((el as HTMLElement & { stamp?: number }).stamp = i)));

    const started = await page.evaluate(() => performance.now());
    let sent = 0;
    for (let tick = 0; tick < SECONDS * PER_SECOND; tick++) {
      const at = Date.now();
      for (let i = 0; i < DEVICES; i++) {
        const pressure = 0.2 + ((i + tick) % 50) / 100;
        mqtt.publish(`estate/${SITE}/hydrant/${hydrantId(i)}/telemetry`, telemetry({ pressure_mpa: pressure, temp_c: 10 + (tick % 10) }), { qos: 0 });
        sent++;
      }
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 / PER_SECOND - (Date.now() - at))));
    }
    // The last batch is out within the hub's 250 ms flush: the window ends a second after the last round.
    await new Promise((r) => setTimeout(r, 1000));
    const ended = await page.evaluate(() => performance.now());
    const perf = await page.evaluate(() => window.__perf!);
    const rebuilt = await page.evaluate(() => [...document.querySelectorAll('.tile')].filter((el, i) => (el as HTMLElement & { stamp?: number }).stamp !== i).length);

    // The last round's values reach the tiles. Tiles out of sight write nothing until they
    // come into view: look at each, as a user would.
    const last = SECONDS * PER_SECOND - 1;
    const expected = (i: number) => `${String(Math.round((0.2 + ((i + last) % 50) / 100) * 100) / 100)} MPa`;
    for (const i of [0, 137, 499]) {
      const value = page.locator(`.tile[data-device="${hydrantId(i)}"] [data-metric="pressure_mpa"]`);
      const look = async () => {
        await value.scrollIntoViewIfNeeded();
        return value.textContent();
      };
      await expect.poll(look, { timeout: 30_000, message: `tile ${hydrantId(i)}` }).toBe(expected(i));
    }

    const during = perf.longTasks.filter((t) => t.start >= started && t.start <= ended);
    const frames = perf.frames.filter((t) => t >= started && t <= ended);
    const gaps = frames.slice(1).map((t, i) => t - frames[i]!);
    const fps = (frames.length - 1) / ((frames.at(-1)! - frames[0]!) / 1000);
    const figures = {
      tiles: DEVICES,
      messagesSent: sent,
      firstPaintMs: Math.round(load.firstPaint),
      firstContentfulPaintMs: Math.round(load.firstContentfulPaint),
      tilesRenderedMs: Math.round(load.tilesAt),
      updateWindowMs: Math.round(ended - started),
      longTasks: during.length,
      longestTaskMs: Math.round(Math.max(0, ...during.map((t) => t.duration))),
      longTasksAtLoad: perf.longTasks.filter((t) => t.start < started).map((t) => Math.round(t.duration)),
      fps: Math.round(fps * 10) / 10,
      longestFrameGapMs: Math.round(Math.max(0, ...gaps)),
    };
    console.log(`ui perf: ${JSON.stringify(figures)}`);

    expect(errors).toEqual([]);
    expect(rebuilt).toBe(0);
    expect(figures.longestTaskMs).toBeLessThan(200);
    // The aim is under 1 s (measured 0.3–0.7 s on a busy two-core machine); 2 s keeps a loaded CI from failing on speed alone.
    expect(load.firstContentfulPaint).toBeLessThan(2000);
  });
});
