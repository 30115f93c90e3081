/**
 * `npm run bench -- --only ingest --devices 1000,10000,100000`: the cost per device and per
 * message at several estate sizes (issue 13). For each count, a fresh Mosquitto (default
 * settings) and a fresh InfluxDB, an estate file generated for that many devices
 * (bench/fleet.ts, the same generator the publisher uses), and the service through `npm start`
 * (bench/npm-start.ts); then, per count:
 *
 * - start to ready: spawn of `npm start` → the first /readyz 200 (polled every 50 ms);
 * - RSS before the first reading: the service's VmRSS once ready and subscribed, before the prime;
 * - the prime: every device publishes one reading (QoS 1, at the first rate), so that every
 *   device has its state before anything is measured at steady state;
 * - per rate (`--rates`, each for `--seconds`): sent msg/s, readings landed / sent (counted in
 *   InfluxDB by this phase's own timestamps, one field each kind always sends), the service's
 *   CPU µs per message (utime + stime from /proc over the phase and its landing, ÷ the
 *   messages it counted), the event loop's delay p99 over the publishing (prom-client's
 *   nodejs_eventloop_lag_p99_seconds from /metrics, which it resets on every scrape: scraped
 *   at the start and read at the end of the publishing; it samples every 10 ms, so an idle loop
 *   reads about 10 ms), and the load average;
 * - steady RSS: VmRSS 2 s after the last rate's readings landed; peak RSS: VmHWM then;
 * - alert latency (after that): `alertEvents` (200) `trapped` events, five a second, each from
 *   another elevator, while the first rate's load flows again; publish → the firing's arrival
 *   at the market department's webhook (a receiver in this process: one clock). 200 so that
 *   the p99 is not simply the slowest (with 30 it would be);
 * - KB per device: (steady RSS − the steady RSS of an empty estate, one site of no devices,
 *   started the same way and read 2 s after ready) ÷ devices; and the marginal KB per device
 *   between successive counts, (steady RSS_n − steady RSS_(n−1)) ÷ (n − n−1), which cancels
 *   what does not grow with devices (the buffers of the traffic itself, the code).
 *
 * InfluxDB 1.x refuses a tag's 100,001st value per measurement by default (max-values-per-tag):
 * the harness's influxd takes no config, but influxd reads INFLUXDB_DATA_MAX_VALUES_PER_TAG
 * from its environment, which it inherits from here; set to 0 (no limit).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { startInfluxd, type Influxd } from '../test/harness/influxd.ts';
import { startMosquitto } from '../test/harness/mosquitto.ts';
import { freePort, sleep } from '../test/harness/ports.ts';
import { removeDir, tempDir } from '../test/harness/service.ts';
import mqtt from 'mqtt';
import { alertReceiver, percentile, type AlertReceiver } from './alert-receiver.ts';
import { COUNT_FIELD, Fleet, type Device, type FleetSpec, type Kind, type Load } from './fleet.ts';
import { npmStart, type NpmStarted } from './npm-start.ts';

export interface PublishResult {
  sent: number;
  written: number;
  seconds: number;
}
export type Publish = (args: object) => Promise<PublishResult>;

export interface RateFigures {
  qos: 0 | 1;
  rate: number;
  sent: number;
  sentPerSec: number;
  landed: number;
  landedAtEnd: number;
  messages: number;
  cpuUsPerMessage: number | null;
  /** prom-client's nodejs_eventloop_lag_p99_seconds over the publishing, ms (includes its 10 ms sampling) */
  eventLoopP99Ms: number | null;
  eventLoopMaxMs: number | null;
  /** the service's VmRSS at the end of the phase */
  rssMb: number;
  load1: number;
}

export interface CountFigures {
  devices: number;
  kinds: Record<Kind, number>;
  metricsPerMessage: number;
  estateBytes: number;
  estateGenMs: number;
  readyMs: number | null;
  rssAtReadyMb: number | null;
  rssBeforeFirstMb: number | null;
  prime?: { sent: number; landed: number; seconds: number; cpuUsPerMessage: number | null };
  rates: RateFigures[];
  steadyRssMb: number | null;
  steadyHeapUsedMb: number | null;
  /** V8's heap as committed (nodejs_heap_size_total_bytes) and the array buffers and other memory outside it (nodejs_external_memory_bytes), at the same moment */
  steadyHeapTotalMb: number | null;
  steadyExternalMb: number | null;
  peakRssMb: number | null;
  groupPeakRssMb: number | null;
  kbPerDevice: number | null;
  marginalKbPerDevice: number | null;
  alertsOpen: number | null;
  /** the open alerts by state, rule and severity (estate_alerts_open's labels) */
  alertsByRule: Record<string, number>;
  /** alert transitions by transition and rule (estate_alert_transitions_total) */
  alertTransitions: Record<string, number>;
  rejects: number | null;
  /** publish of a `trapped` event → its webhook's arrival, while the first rate's load flows */
  alertLatency?: AlertLatency;
  load1: number;
  /** RSS every 500 ms from spawn, [s since spawn, MB] */
  rssSeries: [number, number][];
  error?: string;
}

export interface AlertLatency {
  qos: 0 | 1;
  rate: number;
  sent: number;
  received: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface ScaleResult {
  load: Load;
  seconds: number;
  node: string;
  cores: number;
  startedAt: string;
  loadavgAtStart: number[];
  loadavgAtEnd: number[];
  tree: string;
  baseline?: CountFigures;
  counts: CountFigures[];
}

export interface ScaleOptions {
  root: string;
  load: Load;
  counts: number[];
  rates: { qos: 0 | 1; rate: number }[];
  seconds: number;
  siteSize?: number;
  seed?: number;
  nodeArgs: string[];
  publish: Publish;
  cpuSeconds: (pid: number) => number;
  /** ms to wait for /readyz 200 before giving a count up */
  startTimeoutMs?: number;
  /** an empty estate first, as the baseline of KB per device */
  baseline?: boolean;
  /** `trapped` events to time, `ALERT_EVERY_MS` apart, while the first rate's load flows (0: none) */
  alertEvents?: number;
  log?: (line: string) => void;
}

const mb = (kb: number) => kb / 1024;
/** the alert latency's events, this far apart */
const ALERT_EVERY_MS = 200;

export function procKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Number(m?.[1] ?? 0);
  } catch {
    return 0;
  }
}

async function metricsText(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

/** A metric's value, summed over its label sets. */
function metricSum(text: string, name: string): number {
  let n = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) n += Number(m[1]);
  return n;
}

/** A metric's non-zero values by their label sets. */
function metricByLabels(text: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))) if (Number(m[2]) !== 0) out[m[1]!] = Number(m[2]);
  return out;
}

export async function countLanded(influx: Influxd, db: string, kinds: Kind[], from: number, to: number): Promise<number> {
  const q = kinds.map((k) => `SELECT count(${COUNT_FIELD[k]}) FROM ${k} WHERE time >= ${from}ms AND time < ${to}ms`).join('; ');
  const r = await influx.query(q, db).catch(() => undefined);
  let n = 0;
  for (const res of r?.results ?? []) n += Number(res?.series?.[0]?.values?.[0]?.[1] ?? 0);
  return n;
}

export async function scaleIngest(opts: ScaleOptions): Promise<ScaleResult> {
  const log = opts.log ?? ((l: string) => console.log(l));
  // The harness's influxd inherits this environment; influxd reads [data] max-values-per-tag from it.
  process.env.INFLUXDB_DATA_MAX_VALUES_PER_TAG = '0';
  const result: ScaleResult = {
    load: opts.load,
    seconds: opts.seconds,
    node: process.version,
    cores: cpus().length,
    startedAt: new Date().toISOString(),
    loadavgAtStart: loadavg(),
    loadavgAtEnd: [],
    tree: opts.root,
    counts: [],
  };
  if (opts.baseline !== false) {
    log('baseline: an empty estate (one site, no devices), started the same way…');
    result.baseline = await oneCount(opts, 0, log);
  }
  let previous: CountFigures | undefined;
  for (const n of opts.counts) {
    log(`${n.toLocaleString('en')} devices (${opts.load})…`);
    const c = await oneCount(opts, n, log);
    const base = result.baseline?.steadyRssMb;
    if (c.steadyRssMb !== null && base !== null && base !== undefined && n > 0) c.kbPerDevice = ((c.steadyRssMb - base) * 1024) / n;
    if (c.steadyRssMb !== null && previous?.steadyRssMb != null && n > previous.devices) c.marginalKbPerDevice = ((c.steadyRssMb - previous.steadyRssMb) * 1024) / (n - previous.devices);
    result.counts.push(c);
    if (c.steadyRssMb !== null) previous = c;
  }
  result.loadavgAtEnd = loadavg();
  return result;
}

/** The steady figures of a size (RSS, peak, V8's heap, external memory), logged; returns the /metrics text they were read with. */
async function readSteady(c: CountFigures, pid: number, url: string, log: (l: string) => void): Promise<string> {
  const text = await metricsText(url);
  const rss = mb(procKb(pid, 'VmRSS'));
  c.steadyRssMb = rss;
  c.steadyHeapUsedMb = metricSum(text, 'nodejs_heap_size_used_bytes') / 1e6;
  c.steadyHeapTotalMb = metricSum(text, 'nodejs_heap_size_total_bytes') / 1e6;
  c.steadyExternalMb = metricSum(text, 'nodejs_external_memory_bytes') / 1e6;
  c.peakRssMb = mb(procKb(pid, 'VmHWM'));
  log(`  steady: RSS ${rss.toFixed(0)} MB, V8 heap ${c.steadyHeapUsedMb.toFixed(0)} MB used of ${c.steadyHeapTotalMb.toFixed(0)} committed, external ${c.steadyExternalMb.toFixed(0)} MB`);
  return text;
}

async function oneCount(opts: ScaleOptions, n: number, log: (l: string) => void): Promise<CountFigures> {
  const spec: FleetSpec = { load: opts.load, devices: n, ...(opts.siteSize ? { siteSize: opts.siteSize } : {}), ...(opts.seed !== undefined ? { seed: opts.seed } : {}) };
  const fleet = new Fleet(spec);
  const kinds = fleet.counts();
  const present = (Object.keys(kinds) as Kind[]).filter((k) => kinds[k] > 0);
  const dir = tempDir('estate-bench-scale-');
  const config = join(dir, 'estate.yaml');
  const g0 = performance.now();
  const receiver = await alertReceiver('/market', 'trapped');
  // Market supervision (the elevators' department) gets its alerts at the receiver; nobody else has a channel.
  const yaml = fleet.estateYaml() + (n > 0 ? `departments:\n  - { id: market-supervision, name: 区市场监管局, channels: [ { type: webhook, url: "${receiver.url}/market", secret: bench } ] }\n` : '');
  writeFileSync(config, yaml);
  const c: CountFigures = {
    devices: n,
    kinds,
    metricsPerMessage: fleet.metricsPerMessage(),
    estateBytes: Buffer.byteLength(yaml),
    estateGenMs: performance.now() - g0,
    readyMs: null,
    rssAtReadyMb: null,
    rssBeforeFirstMb: null,
    rates: [],
    steadyRssMb: null,
    steadyHeapUsedMb: null,
    steadyHeapTotalMb: null,
    steadyExternalMb: null,
    peakRssMb: null,
    groupPeakRssMb: null,
    kbPerDevice: null,
    marginalKbPerDevice: null,
    alertsOpen: null,
    alertsByRule: {},
    alertTransitions: {},
    rejects: null,
    load1: loadavg()[0]!,
    rssSeries: [],
  };
  const [influx, broker] = await Promise.all([startInfluxd(), startMosquitto()]);
  const db = 'bench';
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let service: NpmStarted | undefined;
  let sampler: NodeJS.Timeout | undefined;
  let groupPeak = 0;
  try {
    const t0 = performance.now();
    service = await npmStart({
      root: opts.root,
      nodeArgs: opts.nodeArgs,
      env: { CONFIG: config, DATA_DIR: join(dir, 'data'), MQTT_URL: broker.url, INFLUX_URL: influx.url, INFLUX_DB: db, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', MQTT_CLIENT_ID: 'estate-bench' },
    });
    const pid = service.pid;
    const svc = service;
    sampler = setInterval(() => {
      c.rssSeries.push([Math.round(performance.now() - t0) / 1000, Math.round(mb(procKb(pid, 'VmRSS')))]);
      groupPeak = Math.max(groupPeak, svc.groupRssMb());
    }, 500);
    // Spawn → /readyz 200.
    const timeout = opts.startTimeoutMs ?? 300_000;
    let brokerConnected = false;
    for (;;) {
      const r = await fetch(`${url}/readyz`).catch(() => undefined);
      if (r?.status === 200) {
        c.readyMs = performance.now() - t0;
        c.rssAtReadyMb = mb(procKb(pid, 'VmRSS'));
        brokerConnected = ((await r.json().catch(() => ({}))) as { broker?: { connected?: boolean } }).broker?.connected === true;
        break;
      }
      if (service.npm.exitCode !== null) throw new Error(`npm start exited ${service.npm.exitCode} before ready`);
      if (performance.now() - t0 > timeout) throw new Error(`not ready within ${timeout / 1000} s of spawn (RSS then ${mb(procKb(pid, 'VmRSS')).toFixed(0)} MB)`);
      await sleep(50);
    }
    log(`  ready in ${(c.readyMs / 1000).toFixed(2)} s, RSS ${c.rssAtReadyMb.toFixed(0)} MB`);
    // Subscribed: readings sent before the subscription would not reach a fresh session.
    const sub0 = performance.now();
    while (!brokerConnected) {
      if (performance.now() - sub0 > 60_000) throw new Error('ready but not connected to the broker within 60 s');
      await sleep(100);
      const r = await fetch(`${url}/readyz`).catch(() => undefined);
      brokerConnected = r?.status === 200 && ((await r.json().catch(() => ({}))) as { broker?: { connected?: boolean } }).broker?.connected === true;
    }
    if (n === 0) {
      await sleep(2000);
      await readSteady(c, pid, url, log);
      c.rssBeforeFirstMb = c.steadyRssMb;
      return c;
    }
    await sleep(500);
    c.rssBeforeFirstMb = mb(procKb(pid, 'VmRSS'));
    // Readings' times: each phase its own window, moving forward, from 10 min ago.
    let cursor = Date.now() - 10 * 60_000;
    let seqBase = 1;
    const phase = async (qos: 0 | 1, rate: number, seconds: number, label: string) => {
      const total = Math.round(rate * seconds);
      const step = Math.max(1, Math.floor(1000 / (rate / n)));
      const tsBase = cursor;
      const tsEnd = tsBase + (Math.ceil(total / n) + 2) * step;
      cursor = tsEnd + 1000;
      const cpu0 = opts.cpuSeconds(pid);
      const text0 = await metricsText(url); // also resets prom-client's event-loop histogram
      const msg0 = metricSum(text0, 'estate_mqtt_messages_total');
      const res = await opts.publish({ url: broker.url, fleet: spec, rate, seconds, qos, connections: 4, tsBase, seqBase });
      const text1 = await metricsText(url);
      seqBase += Math.ceil(total / n) + 1;
      const atEnd = await countLanded(influx, db, present, tsBase, tsEnd);
      let landed = atEnd;
      let stableSince = Date.now();
      const deadline = Date.now() + 60_000;
      while (landed < res.sent && Date.now() < deadline && Date.now() - stableSince < 5000) {
        await sleep(250);
        const x = await countLanded(influx, db, present, tsBase, tsEnd);
        if (x !== landed) stableSince = Date.now();
        landed = x;
      }
      const cpu = opts.cpuSeconds(pid) - cpu0;
      const messages = metricSum(await metricsText(url), 'estate_mqtt_messages_total') - msg0;
      const p99 = /^nodejs_eventloop_lag_p99_seconds (\S+)$/m.exec(text1)?.[1];
      const max = /^nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text1)?.[1];
      const row: RateFigures = {
        qos,
        rate,
        sent: res.sent,
        sentPerSec: res.sent / res.seconds,
        landed,
        landedAtEnd: atEnd,
        messages,
        cpuUsPerMessage: messages > 0 ? (cpu * 1e6) / messages : null,
        eventLoopP99Ms: p99 === undefined ? null : Number(p99) * 1000,
        eventLoopMaxMs: max === undefined ? null : Number(max) * 1000,
        rssMb: mb(procKb(pid, 'VmRSS')),
        load1: loadavg()[0]!,
      };
      log(`  ${label} QoS ${qos} ${rate.toLocaleString('en')} msg/s: sent ${Math.round(row.sentPerSec).toLocaleString('en')} msg/s, landed ${landed.toLocaleString('en')} / ${res.sent.toLocaleString('en')} (the service received ${messages.toLocaleString('en')}), ${row.cpuUsPerMessage?.toFixed(1) ?? '-'} µs/msg, event loop p99 ${row.eventLoopP99Ms?.toFixed(1) ?? '-'} ms, max ${row.eventLoopMaxMs?.toFixed(0) ?? '-'} ms, RSS ${row.rssMb.toFixed(0)} MB, load ${row.load1.toFixed(2)}`);
      return row;
    };
    // The prime: one reading from every device, at the first rate, QoS 1.
    const primeRate = opts.rates[0]?.rate ?? 10_000;
    const p = await phase(1, primeRate, n / primeRate, 'prime (each device once)');
    c.prime = { sent: p.sent, landed: p.landed, seconds: p.sent / p.sentPerSec, cpuUsPerMessage: p.cpuUsPerMessage };
    for (const { qos, rate } of opts.rates) {
      await sleep(1000);
      c.rates.push(await phase(qos, rate, opts.seconds, 'rate'));
    }
    await sleep(2000);
    const text = await readSteady(c, pid, url, log);
    c.alertsOpen = metricSum(text, 'estate_alerts_open');
    c.alertsByRule = metricByLabels(text, 'estate_alerts_open');
    c.alertTransitions = metricByLabels(text, 'estate_alert_transitions_total');
    c.rejects = metricSum(text, 'estate_ingest_rejects_total');
    c.load1 = loadavg()[0]!;
    const events = opts.alertEvents ?? 200;
    const first = opts.rates[0];
    if (events > 0 && first) {
      const elevators = Array.from({ length: n }, (_, i) => fleet.device(i)).filter((d) => d.kind === 'elevator');
      const step = Math.max(1, Math.floor(elevators.length / events));
      const targets = elevators.filter((_, i) => i % step === 0).slice(0, events);
      c.alertLatency = await timeAlerts({ brokerUrl: broker.url, targets, receiver, publish: () => opts.publish({ url: broker.url, fleet: spec, rate: first.rate, seconds: Math.ceil((targets.length * ALERT_EVERY_MS) / 1000) + 5, qos: first.qos, connections: 4, tsBase: cursor, seqBase }), qos: first.qos, rate: first.rate });
      const l = c.alertLatency;
      log(`  alert latency while QoS ${l.qos} ${l.rate.toLocaleString('en')} msg/s flows: ${l.received} of ${l.sent} trapped alerts arrived, p50 ${l.p50Ms.toFixed(1)} ms, p99 ${l.p99Ms.toFixed(1)} ms, max ${l.maxMs.toFixed(1)} ms`);
    }
  } catch (err) {
    c.error = err instanceof Error ? err.message : String(err);
    log(`  ${n.toLocaleString('en')} devices: ${c.error}`);
    if (service) c.peakRssMb = mb(procKb(service.pid, 'VmHWM')) || null;
  } finally {
    if (sampler) clearInterval(sampler);
    c.groupPeakRssMb = groupPeak || null;
    await service?.stop().catch((e) => log(`  stopping the service: ${e instanceof Error ? e.message : e}`));
    await Promise.all([broker.destroy(), influx.destroy(), receiver.close()]);
    removeDir(dir);
  }
  return c;
}

/**
 * A `trapped` event every ALERT_EVERY_MS, each from another elevator of the fleet, while the load
 * flows; the time from its publish (QoS 1, acknowledged) to the firing's arrival at the
 * market department's webhook, one clock (this process publishes and receives).
 */
async function timeAlerts(o: { brokerUrl: string; targets: Device[]; receiver: AlertReceiver; publish: () => Promise<unknown>; qos: 0 | 1; rate: number }): Promise<AlertLatency> {
  const client = await mqtt.connectAsync(o.brokerUrl, { clientId: 'bench-events', protocolVersion: 4 });
  const sent = new Map<string, number>();
  const background = o.publish();
  try {
    await sleep(2000);
    for (const d of o.targets) {
      sent.set(d.id, performance.timeOrigin + performance.now());
      await client.publishAsync(`estate/${d.site}/elevator/${d.id}/event`, JSON.stringify({ code: 'trapped', active: true, detail: 'bench' }), { qos: 1 });
      await sleep(ALERT_EVERY_MS);
    }
    await background;
    const deadline = Date.now() + 30_000;
    while (o.receiver.arrivals.size < sent.size && Date.now() < deadline) await sleep(100);
  } finally {
    await client.endAsync();
  }
  const ms = [...sent].filter(([d]) => o.receiver.arrivals.has(d)).map(([d, t]) => o.receiver.arrivals.get(d)! - t).sort((a, b) => a - b);
  return { qos: o.qos, rate: o.rate, sent: sent.size, received: ms.length, p50Ms: percentile(ms, 50), p99Ms: percentile(ms, 99), maxMs: ms.at(-1) ?? NaN };
}

const f0 = (x: number | null | undefined, d = 0) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toLocaleString('en', { minimumFractionDigits: d, maximumFractionDigits: d }));

/** The table: one row per count and rate, the count's own figures on its first row. */
export function scaleTable(r: ScaleResult): string {
  const head = ['devices', 'start to ready s', 'RSS before 1st reading MB', 'peak RSS MB', 'steady RSS MB', 'KB/device (vs empty)', 'marginal KB/device', 'QoS:rate', 'sent msg/s', 'landed / sent', 'received by the service', 'CPU µs/msg', 'event loop p99 ms', 'event loop max ms', 'load avg 1 min'];
  const lines = ['| ' + head.join(' | ') + ' |', '|' + head.map(() => '---').join('|') + '|'];
  const all = r.baseline ? [r.baseline, ...r.counts] : r.counts;
  for (const c of all) {
    const own = [
      c.devices === 0 ? '0 (empty)' : f0(c.devices),
      c.readyMs === null ? '-' : (c.readyMs / 1000).toFixed(2),
      f0(c.rssBeforeFirstMb),
      f0(c.peakRssMb),
      f0(c.steadyRssMb),
      f0(c.kbPerDevice, 1),
      f0(c.marginalKbPerDevice, 1),
    ];
    const rows = c.rates.length > 0 ? c.rates : [undefined];
    rows.forEach((x, i) => {
      const cells = i === 0 ? own : own.map(() => '');
      const rate = x
        ? [`${x.qos}:${x.rate.toLocaleString('en')}`, f0(x.sentPerSec), `${x.landed.toLocaleString('en')} / ${x.sent.toLocaleString('en')}`, f0(x.messages), f0(x.cpuUsPerMessage, 1), f0(x.eventLoopP99Ms, 1), f0(x.eventLoopMaxMs), x.load1.toFixed(2)]
        : ['-', '-', '-', '-', '-', '-', '-', c.load1.toFixed(2)];
      lines.push('| ' + [...cells, ...rate].join(' | ') + ' |');
    });
    if (c.error) lines.push(`| ${f0(c.devices)}: ${c.error} |`);
  }
  const timed = r.counts.filter((c) => c.alertLatency);
  if (timed.length > 0) {
    lines.push('', '| devices | alert latency while | arrived / sent | p50 ms | p99 ms | max ms |', '|---|---|---|---|---|---|');
    for (const c of timed) {
      const l = c.alertLatency!;
      lines.push(`| ${f0(c.devices)} | QoS ${l.qos} ${l.rate.toLocaleString('en')} msg/s | ${l.received} / ${l.sent} | ${f0(l.p50Ms, 1)} | ${f0(l.p99Ms, 1)} | ${f0(l.maxMs, 1)} |`);
    }
  }
  return lines.join('\n');
}
