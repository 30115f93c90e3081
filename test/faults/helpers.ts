/**
 * Shared pieces of the fault tests (docs/faults.md): an estate of hydrants, devices that
 * publish through mqtt.js in the test's process (which queue while the broker is away and
 * resend what was not acknowledged) or in a child process (`startPublisher`, for high rates),
 * and readers of /readyz, /metrics, alerts and InfluxDB (per device: points and distinct values).
 */
import mqtt, { type MqttClient } from 'mqtt';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseEstate, type Estate } from '../../config/index.ts';
import type { Influxd } from '../harness/influxd.ts';
import { hydrantEstateYaml, hydrantId } from '../harness/estates.ts';
import { waitFor } from '../harness/ports.ts';
import { ROOT } from '../harness/service.ts';

export const ADMIN = { authorization: 'Bearer demo-admin' };
export const SITE = 'fault-test';

/** The estate file of `n` hydrants H0000…, each reporting every `intervalSec` (device_silent after 3 ×). */
export function estateYaml(n: number, intervalSec = 60): string {
  return hydrantEstateYaml(n, { site: SITE, name: '故障测试小区', intervalSec });
}

export function faultEstate(n: number, intervalSec = 60): Estate {
  return parseEstate(estateYaml(n, intervalSec), 'fault-estate.yaml', {});
}

export const topicOf = (i: number) => `estate/${SITE}/hydrant/${hydrantId(i)}/telemetry`;

/** Devices as mqtt.js clients: QoS 1 publishes wait in the client while the broker is away. */
export async function devices(url: string, n: number, tag: string): Promise<MqttClient[]> {
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      mqtt.connectAsync(url, { clientId: `${tag}-${process.pid}-${i}`, protocolVersion: 4, clean: true, reconnectPeriod: 500, connectTimeout: 5000 }),
    ),
  );
}

export interface Readyz {
  status: number;
  body: {
    ready: boolean;
    broker: { connected: boolean };
    spool: { writable: boolean; segments: number; bytes: number; full: boolean };
    store: { up: boolean; backlogBytes: number; error?: string };
  };
}

export async function readyz(base: string): Promise<Readyz> {
  const r = await fetch(`${base}/readyz`);
  return { status: r.status, body: (await r.json()) as Readyz['body'] };
}

/** One sample of a Prometheus metric without labels (or with the given label text, e.g. `{reason="spool_full"}`). */
export async function metric(base: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const escaped = (name + labels).replace(/[{}"]/g, (c) => `\\${c}`);
  const m = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text);
  return Number(m?.[1] ?? NaN);
}

export interface ApiAlert {
  id: string;
  key: string;
  kind: string;
  device: string;
  rule: string;
  state: string;
  severity: string;
  startsAt: string;
  endsAt: string | null;
}

export async function alerts(base: string): Promise<ApiAlert[]> {
  const r = await fetch(`${base}/api/alerts?state=all&limit=1000`, { headers: ADMIN });
  if (r.status !== 200) throw new Error(`GET /api/alerts: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { items: ApiAlert[] }).items;
}

export async function count(influx: Influxd, db: string, where = ''): Promise<number> {
  const r = await influx.query(`SELECT count(pressure_mpa) FROM hydrant ${where}`, db);
  return Number(r.results?.[0]?.series?.[0]?.values?.[0]?.[1] ?? 0);
}

/** Every stored pressure value (the tests make each reading's value unique). */
export async function values(influx: Influxd, db: string): Promise<number[]> {
  const r = await influx.query(`SELECT pressure_mpa FROM hydrant`, db);
  const out: number[] = [];
  for (const s of r.results?.[0]?.series ?? []) for (const v of s.values as [number, number][]) out.push(v[1]);
  return out;
}

/** Samples `fn` every `everyMs` until stopped; returns what it saw. */
export function sampler<T>(fn: () => Promise<T>, everyMs: number): { samples: T[]; stop(): Promise<T[]> } {
  const samples: T[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        samples.push(await fn());
      } catch {
        // a sample that failed (the service busy) is just missing
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    samples,
    async stop() {
      running = false;
      await loop;
      return samples;
    },
  };
}

/**
 * Devices publishing telemetry (QoS 1 unless told) at a steady total rate, round-robin. Every
 * reading has its own seq per device, its own ts (the device's clock, only ever forward) and a
 * value unique across the stream ((firstValue + k + 1) / 1e6 MPa), so a test can count what
 * landed and see any double.
 */
export class Stream {
  sent = 0;
  acked = 0;
  readonly errors: Error[] = [];
  private readonly pending = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private readonly seq: number[];
  private readonly lastTs: number[];
  /** per device (index from 0), readings published */
  readonly perDevice: number[];

  constructor(
    private readonly clients: MqttClient[],
    private readonly n: number,
    private readonly firstValue = 0,
    private readonly opts: { qos?: 0 | 1; firstDevice?: number } = {},
  ) {
    this.seq = new Array<number>(n).fill(0);
    this.lastTs = new Array<number>(n).fill(0);
    this.perDevice = this.seq;
  }

  /** Publishes `rate` readings a second until stop(). */
  start(rate: number): void {
    const tickMs = 50;
    const t0 = Date.now();
    let due = 0;
    this.timer = setInterval(() => {
      const target = Math.floor(((Date.now() - t0) / 1000) * rate);
      while (due < target) {
        due++;
        this.publishOne();
      }
    }, tickMs);
  }

  publishOne(): void {
    const k = this.sent++;
    const dev = k % this.n;
    const seq = this.seq[dev]!++;
    // The device's clock only goes forward, so no two of its readings share a point in InfluxDB.
    const ts = Math.max(Date.now(), this.lastTs[dev]! + 1);
    this.lastTs[dev] = ts;
    const payload = JSON.stringify({ ts, seq, metrics: { pressure_mpa: (this.firstValue + k + 1) / 1e6 } });
    const topic = topicOf(dev + (this.opts.firstDevice ?? 0));
    const p = this.clients[dev % this.clients.length]!.publishAsync(topic, payload, { qos: this.opts.qos ?? 1 }).then(
      () => {
        this.acked++;
      },
      (err: Error) => {
        this.errors.push(err);
      },
    );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Resolves once the broker has acknowledged every reading published. */
  async settled(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.acked + this.errors.length < this.sent) {
      if (Date.now() > deadline) throw new Error(`the broker acknowledged ${this.acked} of ${this.sent} readings within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
    if (this.errors.length) throw this.errors[0];
  }
}

export interface PublisherOptions {
  url: string;
  devices: number;
  clients: number;
  rate: number;
  qos: 0 | 1;
}

export interface PublisherResult {
  sent: number;
  acked: number;
  errors: number;
  lastError: string;
  seconds: number;
  rate: number;
  perDevice: number[];
}

export interface Publisher {
  /** the last progress line: readings published and acknowledged so far */
  progress(): { sent: number; acked: number };
  /** stops publishing; resolves once the broker acknowledged every reading */
  stop(timeoutMs?: number): Promise<PublisherResult>;
  kill(): void;
}

/** Devices in a child process (test/faults/publisher.ts), so publishing does not slow the service under test. */
export async function startPublisher(opts: PublisherOptions): Promise<Publisher> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'publisher.ts'), JSON.stringify({ site: SITE, ...opts })], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let last = { sent: 0, acked: 0 };
  let final: PublisherResult | undefined;
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const m = JSON.parse(line) as { done?: boolean; sent: number; acked: number };
    if (m.done) final = m as unknown as PublisherResult;
    else last = m;
  });
  await waitFor('the publisher to start', () => {
    if (child.exitCode !== null) throw new Error(`publisher exited: ${stderr}`);
    return last.sent > 0;
  }, 30_000, 50);
  return {
    progress: () => last,
    async stop(timeoutMs = 120_000) {
      child.stdin!.write('stop\n');
      return waitFor('the publisher to finish', () => {
        if (!final && child.exitCode !== null) throw new Error(`publisher exited: ${stderr}`);
        return final;
      }, timeoutMs, 100);
    },
    kill: () => void child.kill('SIGKILL'),
  };
}

/** Per device: points stored and distinct pressure values among them (each reading's value is unique). */
export async function perDevice(influx: Influxd, db: string): Promise<Map<string, { count: number; distinct: number }>> {
  const r = await influx.query(`SELECT count(pressure_mpa), count(distinct(pressure_mpa)) FROM hydrant GROUP BY device`, db);
  const out = new Map<string, { count: number; distinct: number }>();
  for (const s of r.results?.[0]?.series ?? []) {
    const [, c, d] = s.values[0] as [number, number, number];
    out.set(s.tags.device as string, { count: c, distinct: d });
  }
  return out;
}
