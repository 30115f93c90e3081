/**
 * `npm run bench -- --soak`: the whole service for 10 minutes (`--soak-minutes`) at a steady
 * 10,000 msg/s (`--soak-rate`) of QoS 1 telemetry from 1,000 devices of all four kinds, with
 * faults on a schedule:
 *
 *   at 20 % of the run  InfluxDB stopped for 10 % of the run (2:00–3:00 of 10 min): the spool grows, then drains;
 *   at 50 %             Mosquitto (persistent, no queue limit) restarted: the publishers keep
 *                       their unacknowledged and new readings and send them once it is back;
 *   at 70 %             a burst of the scenarios' events (every elevator trapped or alarmed, and
 *                       leaks, tampering, blocked lanes, pump faults), cleared 5 % of the run later.
 *
 * The service runs as its own process, started by `npm start` (bench/npm-start.ts: after npm's
 * `exec`, dist/main.js is npm's child itself), so its RSS is its own.
 * Every 5 s: its RSS (/proc/<pid>/status), V8 heap and spool bytes (/metrics), CPU
 * (/proc/<pid>/stat), readings made and acknowledged (the publisher), points stored
 * (/metrics) and the age of the newest reading in InfluxDB. At the end: readings made,
 * acknowledged, stored and lost (counted in InfluxDB), the summary, a table with one row per
 * 30 s and a PNG plot (bench/soak-plot.ts).
 *
 * The publisher is bench/soak-publisher.ts, run in its own process.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import mqtt from 'mqtt';
import { parse as parseYaml } from 'yaml';
import type { Kind } from '../config/index.ts';
import { startInfluxd } from '../test/harness/influxd.ts';
import { startMosquitto } from '../test/harness/mosquitto.ts';
import { freePort, sleep, waitFor } from '../test/harness/ports.ts';
import { tempDir } from '../test/harness/service.ts';
import { npmStart } from './npm-start.ts';
import type { PublishArgs } from './soak-publisher.ts';
import { clock, INFLUX_FAULT, markdownTable, renderPng, soakSvg, summarize, summaryText, tableRows, type FaultWindow, type SoakSample } from './soak-plot.ts';

export interface SoakOptions {
  root: string;
  minutes: number;
  rate: number;
  /** where the PNG goes */
  png: string;
  nodeArgs: string[];
  cpuSeconds: (pid: number) => number;
}

const SITE = 'soak';
const SAMPLE_MS = 5000;
const KINDS: [Kind, string, number][] = [
  ['hydrant', 'H', 400],
  ['elevator', 'EL', 200],
  ['water', 'W', 200],
  ['firelane', 'FL', 200],
];
/** the measurement field every kind sends (simulators/models/common.ts) */
const COUNT_FIELD = 'battery_pct';

export interface DeviceDef {
  id: string;
  kind: Kind;
  building: string;
  attributes: Record<string, number>;
}

function fleet(): DeviceDef[] {
  const out: DeviceDef[] = [];
  for (const [kind, prefix, n] of KINDS) {
    for (let i = 0; i < n; i++) {
      out.push({ id: `${prefix}${String(i).padStart(4, '0')}`, kind, building: `${(i % 30) + 1}栋`, attributes: kind === 'elevator' ? { floors: 18, lowestFloor: -1, ratedSpeedMps: 1.75 } : {} });
    }
  }
  return out;
}

/** The events the scenarios raise (simulators/scenarios/*.yaml), by kind: the file name starts with the kind. */
function scenarioEvents(root: string): Map<Kind, { code: string; detail?: string }[]> {
  const byKind = new Map<Kind, { code: string; detail?: string }[]>();
  const dir = join(root, 'simulators/scenarios');
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
    const kind = f.split('-')[0] as Kind;
    if (!KINDS.some(([k]) => k === kind)) continue;
    const doc = parseYaml(readFileSync(join(dir, f), 'utf8')) as { steps?: { event?: { code: string; active: boolean; detail?: string } }[] };
    for (const step of doc.steps ?? []) {
      const e = step.event;
      if (!e?.active) continue;
      const list = byKind.get(kind) ?? [];
      if (!list.some((x) => x.code === e.code)) list.push({ code: e.code, detail: e.detail });
      byKind.set(kind, list);
    }
  }
  return byKind;
}

function estateYaml(devices: DeviceDef[], hookPort: number): string {
  const hook = (path: string) => `[ { type: webhook, url: "http://127.0.0.1:${hookPort}/${path}", secret: soak } ]`;
  const depts: [string, string][] = [
    ['market-supervision', '区市场监管局'],
    ['fire-rescue', '区消防救援支队'],
    ['health-commission', '区卫生健康委'],
    ['water-authority', '区水务局'],
    ['housing', '区住建局'],
  ];
  return `sites:
  - id: ${SITE}
    name: 浸泡测试小区
    property: { name: 测试物业, channels: ${hook('property')} }
    devices:
${devices.map((d) => `      - { id: ${d.id}, kind: ${d.kind}, building: "${d.building}", intervalSec: 60${Object.keys(d.attributes).length ? `, attributes: ${JSON.stringify(d.attributes)}` : ''} }`).join('\n')}
departments:
${depts.map(([id, name]) => `  - { id: ${id}, name: ${name}, channels: ${hook(id)} }`).join('\n')}
`;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

async function metricsText(url: string): Promise<string | undefined> {
  try {
    const r = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(4000) });
    return await r.text();
  } catch {
    return undefined;
  }
}

function metricOf(text: string | undefined, name: string): number | null {
  if (!text) return null;
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

export async function soak(opts: SoakOptions): Promise<void> {
  const T = opts.minutes * 60;
  const devices = fleet();
  const events = scenarioEvents(opts.root);
  const [influx, broker] = await Promise.all([startInfluxd(), startMosquitto({ durable: true })]);
  const dir = tempDir('estate-soak-');

  // Webhooks: the first alert.firing per device, for the burst's delay.
  const firstAlert = new Map<string, number>();
  let webhooks = 0;
  const byEvent = new Map<string, number>();
  const hookPort = await freePort();
  const receiver = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      webhooks++;
      try {
        const b = JSON.parse(raw) as { event?: string; alert?: { device?: string } };
        const dev = b.alert?.device;
        byEvent.set(`${req.url?.slice(1)} ${b.event}`, (byEvent.get(`${req.url?.slice(1)} ${b.event}`) ?? 0) + 1);
        if (b.event === 'alert.firing' && dev && !firstAlert.has(dev)) firstAlert.set(dev, Date.now());
      } catch {
        // a digest or something else: counted only
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(hookPort, '127.0.0.1', r));

  const config = join(dir, 'estate.yaml');
  writeFileSync(config, estateYaml(devices, hookPort));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const service = await npmStart({
    root: opts.root,
    nodeArgs: opts.nodeArgs,
    env: { CONFIG: config, DATA_DIR: join(dir, 'data'), MQTT_URL: broker.url, INFLUX_URL: influx.url, INFLUX_DB: 'soak', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', MQTT_CLIENT_ID: 'estate-soak' },
  });
  const pid = service.pid;
  const samples: SoakSample[] = [];
  const faults: FaultWindow[] = [];
  const notes: string[] = [];
  let progress = { generated: 0, acked: 0, queued: 0, reconnects: 0, at: Date.now() };
  let final: { generated: number; acked: number; seconds: number; reconnects: number } | undefined;
  let counts = { generated: 0, acked: 0, stored: 0 };
  let burst = { sent: 0, alerted: 0, p50: NaN, p99: NaN, max: NaN };
  try {
    // Ready (it can serve) and subscribed: readings sent before the subscription would not reach a fresh session.
    await waitFor('the service', async () => {
      const r = await fetch(`${url}/readyz`).catch(() => undefined);
      return r?.status === 200 && ((await r.json()) as { broker?: { connected?: boolean } }).broker?.connected === true;
    }, 60_000, 100);
    const stored0 = metricOf(await metricsText(url), 'estate_readings_stored_total') ?? 0;
    const runStartMs = Date.now();
    const argsFile = join(dir, 'publisher.json');
    writeFileSync(argsFile, JSON.stringify({ url: broker.url, site: SITE, devices, rate: opts.rate, seconds: T, connections: 4 } satisfies PublishArgs));
    const pub = spawn(process.execPath, ['--import', 'tsx', join(dirname(import.meta.filename), 'soak-publisher.ts'), argsFile], {
      cwd: opts.root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const pubDone = new Promise<void>((resolveDone, reject) => {
      let buf = '';
      pub.stdout!.on('data', (d) => {
        buf += d;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          const m = JSON.parse(line);
          if (m.done) final = m;
          else progress = m;
        }
      });
      pub.on('exit', (code) => (code === 0 ? resolveDone() : reject(new Error(`soak publisher exited ${code}`))));
    });
    const t = () => (Date.now() - runStartMs) / 1000;

    // The sampler.
    let cpuPrev = { at: Date.now(), cpu: opts.cpuSeconds(pid) };
    let writes = { sum: 0, count: 0 };
    let sampling = true;
    const sampler = (async () => {
      let nextAt = runStartMs + SAMPLE_MS;
      while (sampling) {
        await sleep(Math.max(0, nextAt - Date.now()));
        nextAt += SAMPLE_MS;
        if (!sampling) break;
        const at = Date.now();
        const cpu = opts.cpuSeconds(pid);
        const cpuPct = (100 * (cpu - cpuPrev.cpu)) / ((at - cpuPrev.at) / 1000);
        cpuPrev = { at, cpu };
        const rss = rssMb(pid);
        const text = await metricsText(url);
        // Readings made by now: the publisher reports every 250 ms and makes them at a steady rate.
        const made = Math.min(Math.round(opts.rate * T), Math.round(progress.generated + (opts.rate * (Date.now() - progress.at)) / 1000));
        const acked = progress.acked;
        let delayS: number | null = null;
        // The age of the newest reading in InfluxDB, while readings are being made.
        if (!final) {
          try {
            const r = await fetch(`${influx.url}/query?${new URLSearchParams({ db: 'soak', epoch: 'ms', q: `SELECT last(${COUNT_FIELD}) FROM hydrant WHERE time > now() - 30m` })}`, { signal: AbortSignal.timeout(3000) });
            const last = (await r.json())?.results?.[0]?.series?.[0]?.values?.[0]?.[0];
            if (typeof last === 'number') delayS = Math.max(0, (at - last) / 1000);
          } catch {
            // InfluxDB down
          }
        }
        const wSum = metricOf(text, 'estate_store_write_seconds_sum');
        const wCount = metricOf(text, 'estate_store_write_seconds_count');
        let writeMs: number | null = null;
        if (wSum !== null && wCount !== null) {
          if (wCount > writes.count) writeMs = (1000 * (wSum - writes.sum)) / (wCount - writes.count);
          writes = { sum: wSum, count: wCount };
        }
        const storedNow = metricOf(text, 'estate_readings_stored_total');
        const stored = storedNow === null ? (samples.at(-1)?.stored ?? 0) : storedNow - stored0;
        const heap = metricOf(text, 'nodejs_heap_size_used_bytes');
        const spool = metricOf(text, 'estate_spool_bytes');
        const s: SoakSample = {
          t: (at - runStartMs) / 1000,
          rssMb: rss,
          heapMb: heap === null ? null : heap / 2 ** 20,
          cpuPct,
          spoolMb: spool === null ? null : spool / 2 ** 20,
          generated: made,
          acked,
          stored,
          lag: Math.max(0, made - stored),
          delayS,
          writeMs,
          load: loadavg()[0]!,
        };
        samples.push(s);
        if (process.env.SOAK_VERBOSE) console.log(JSON.stringify(s));
      }
    })();

    // The faults, on a schedule scaled to the run.
    const at = async (frac: number) => {
      const wait = runStartMs + frac * T * 1000 - Date.now();
      if (wait > 0) await sleep(wait);
    };
    const schedule = (async () => {
      await at(0.2);
      const outage: FaultWindow = { name: INFLUX_FAULT, start: t(), end: NaN };
      faults.push(outage);
      console.log(`${fmt(t())} stopping InfluxDB for ${(0.1 * T).toFixed(0)} s`);
      await influx.stop();
      await at(0.3);
      await influx.start();
      outage.end = t();
      console.log(`${fmt(t())} InfluxDB back`);

      await at(0.5);
      const restart: FaultWindow = { name: 'broker restart', start: t(), end: NaN };
      faults.push(restart);
      console.log(`${fmt(t())} restarting Mosquitto`);
      await broker.stop();
      await broker.start();
      // until the service is subscribed again
      await waitFor('the service back on the broker', async () => metricOf(await metricsText(url), 'estate_broker_connected') === 1, 60_000, 200).catch(() => notes.push('the service did not report estate_broker_connected 1 within 60 s of the broker restart'));
      restart.end = t();
      console.log(`${fmt(t())} Mosquitto back, service connected`);

      await at(0.7);
      const window: FaultWindow = { name: 'event burst', start: t(), end: NaN };
      faults.push(window);
      const client = await mqtt.connectAsync(broker.url, { clientId: 'soak-events', protocolVersion: 4 });
      const targets: { d: DeviceDef; code: string; detail?: string }[] = [];
      const perKind = new Map<Kind, number>();
      for (const d of devices) {
        const list = events.get(d.kind);
        if (!list?.length) continue;
        const k = perKind.get(d.kind) ?? 0;
        if (d.kind !== 'elevator' && k >= 50) continue;
        perKind.set(d.kind, k + 1);
        // elevators: every other one trapped, the rest the other scenario events in turn
        const e = d.kind === 'elevator' && k % 2 === 0 ? (list.find((x) => x.code === 'trapped') ?? list[0]!) : list[k % list.length]!;
        targets.push({ d, code: e.code, detail: e.detail });
      }
      const sentAt = new Map<string, number>();
      for (const x of targets) {
        sentAt.set(x.d.id, Date.now());
        await client.publishAsync(`estate/${SITE}/${x.d.kind}/${x.d.id}/event`, JSON.stringify({ ts: Date.now(), code: x.code, active: true, detail: x.detail ?? 'soak' }), { qos: 1 });
      }
      console.log(`${fmt(t())} ${targets.length} events raised (${[...perKind].map(([k, n]) => `${n} ${k}`).join(', ')})`);
      await at(0.75);
      for (const x of targets) await client.publishAsync(`estate/${SITE}/${x.d.kind}/${x.d.id}/event`, JSON.stringify({ ts: Date.now(), code: x.code, active: false, detail: 'soak: cleared' }), { qos: 1 });
      window.end = t();
      console.log(`${fmt(t())} events cleared`);
      await client.endAsync();
      const delays = [...sentAt].filter(([d]) => firstAlert.has(d)).map(([d, s]) => firstAlert.get(d)! - s).sort((a, b) => a - b);
      const pct = (p: number) => delays[Math.min(delays.length - 1, Math.ceil((p / 100) * delays.length) - 1)] ?? NaN;
      burst = { sent: targets.length, alerted: delays.length, p50: pct(50), p99: pct(99), max: delays.at(-1) ?? NaN };
    })();

    await pubDone;
    await schedule;
    console.log(`${fmt(t())} publishing done; waiting for the rest to be stored`);
    // The drain: until every reading made is in InfluxDB, or the count stops growing for 20 s (at most 3 min).
    const countStored = async (): Promise<number> => {
      let n = 0;
      for (const [kind] of KINDS) {
        const r = await influx.query(`SELECT count(${COUNT_FIELD}) FROM ${kind} WHERE time >= ${runStartMs - 1000}ms`, 'soak');
        n += Number(r.results?.[0]?.series?.[0]?.values?.[0]?.[1] ?? 0);
      }
      return n;
    };
    let stored = await countStored();
    let stableSince = Date.now();
    const deadline = Date.now() + 180_000;
    while (stored < (final?.generated ?? 0) && Date.now() < deadline && Date.now() - stableSince < 20_000) {
      await sleep(1000);
      const c = await countStored();
      if (c !== stored) stableSince = Date.now();
      stored = c;
    }
    await sleep(SAMPLE_MS); // one more sample after the drain
    sampling = false;
    await sampler;
    counts = { generated: final?.generated ?? progress.generated, acked: final?.acked ?? progress.acked, stored };
    if (final && final.reconnects) notes.push(`the publishers reconnected ${final.reconnects} times`);
    const rejects = await metricsText(url);
    const rejectLines = (rejects ?? '').split('\n').filter((l) => l.startsWith('estate_ingest_rejects_total{') && !l.endsWith(' 0'));
    if (rejectLines.length) notes.push(`rejects: ${rejectLines.join(', ')}`);
  } finally {
    await service.stop();
    await new Promise((r) => receiver.close(r));
    await Promise.all([broker.destroy(), influx.destroy()]);
  }

  const warmup = Math.min(60, 0.1 * T);
  const summary = summarize(samples, faults, counts, warmup);
  const rows = tableRows(samples, faults, 30);
  console.log(`\nSoak: ${opts.minutes} min at ${opts.rate.toLocaleString('en')} msg/s QoS 1, ${devices.length} devices (${KINDS.map(([k, , n]) => `${n} ${k}`).join(', ')}), warm-up ${warmup.toFixed(0)} s`);
  console.log(summaryText(summary, faults));
  console.log(`event burst: ${burst.sent} events, ${burst.alerted} devices alerted by webhook; publish → first webhook p50 ${burst.p50.toFixed(0)} ms, p99 ${burst.p99.toFixed(0)} ms, max ${burst.max.toFixed(0)} ms; ${webhooks} webhook requests in all (${[...byEvent].sort().map(([k, n]) => `${k} ${n}`).join(', ')})`);
  for (const n of notes) console.log(n);
  console.log('\n' + markdownTable(rows));
  const svg = soakSvg(samples, faults, {
    title: `Estate Sentinel soak — ${opts.minutes} min at ${opts.rate.toLocaleString('en')} msg/s QoS 1, ${devices.length} devices`,
    subtitle: `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC · ${counts.generated.toLocaleString('en')} made, ${counts.stored.toLocaleString('en')} stored, ${(counts.generated - counts.stored).toLocaleString('en')} lost · RSS ${summary.rss.start.toFixed(0)}→${summary.rss.end.toFixed(0)} MB (max ${summary.rss.max.toFixed(0)}), ${summary.rssSlopeMbPerMin.toFixed(2)} MB/min after warm-up`,
  });
  mkdirSync(dirname(opts.png), { recursive: true });
  writeFileSync(opts.png.replace(/\.png$/, '') + '.svg', svg);
  writeFileSync(opts.png.replace(/\.png$/, '') + '.json', JSON.stringify({ options: { minutes: opts.minutes, rate: opts.rate }, summary, burst, faults, samples }, null, 1));
  await renderPng(svg, opts.png);
  console.log(`\nplot: ${opts.png} (and .svg, .json beside it)`);
}

const fmt = (t: number) => `[${clock(t)}]`;
