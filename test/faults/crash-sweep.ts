/**
 * A crash-point sweep for the trapped-passenger alert. Each round, an elevator reports
 * `trapped` (an mqtt.js device on MQTT 3.1.1, QoS 1), the broker acknowledges it, and the
 * service is SIGKILLed and started again on the same DATA_DIR and MQTT client id (so its
 * persistent session and its outbox survive). At the end, per elevator: one `trapped` alert
 * in /api/alerts, firing, and `alert.firing` at both webhook receivers (the property company,
 * market supervision) under one `X-Estate-Delivery` id each — the same id more than once is
 * at-least-once delivery; a second id, or a second alert id, is a double announcement.
 *
 * The kill of a round is either
 * - a delay after the device's PUBACK, whole milliseconds drawn from a seeded PRNG (the seed is
 *   printed, so `seed` replays the same delays), or
 * - a named crash point: the service is started with ESTATE_CRASH_AT=<point> and must kill
 *   itself with SIGKILL there within 5 s of the publish; otherwise the sweep stops with an
 *   error naming the point.
 *
 * The whole service runs as a child process (`spawnService`, main.ts) against real Mosquitto
 * (`durable`), a real influxd the caller passes, and real HTTP receivers in this process.
 * Rounds are shared out over `lanes` that run at once, each with its own broker, receivers,
 * DATA_DIR, InfluxDB database and service; a random-delay round reuses the service the round
 * before started, so it costs one start, a crash-point round two.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Receiver, type Received } from '../../alerts/delivery/testing/receiver.ts';
import type { Influxd } from '../harness/influxd.ts';
import { startMosquitto } from '../harness/mosquitto.ts';
import { sleep, waitFor } from '../harness/ports.ts';
import { removeDir, spawnService, tempDir, type ChildService } from '../harness/service.ts';
import { metric } from './helpers.ts';

export const CRASH_POINTS = ['after-spool', 'after-commit', 'before-puback', 'after-puback', 'mid-delivery'] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

export type Kill = { mode: 'delay'; delayMs: number } | { mode: 'point'; point: CrashPoint };

export interface SweepOptions {
  influx: Influxd;
  /** batches of random-delay rounds, each delay drawn uniformly from the whole ms 0…maxMs */
  delays: { rounds: number; maxMs: number }[];
  /** the named crash points to visit, `pointRounds` rounds each (default none) */
  points?: readonly CrashPoint[];
  pointRounds?: number;
  /** the PRNG's seed (default: a random one) */
  seed?: number;
  /** lanes run at once (default 2) */
  lanes?: number;
  /** how long the end waits for every alert to reach both receivers (default 60 s) */
  finalWaitMs?: number;
  log?: (line: string) => void;
}

export interface RoundReport {
  round: number;
  device: string;
  lane: number;
  /** `delay 7 ms` or `point after-spool` */
  kill: string;
  /** the delay bucket (`delay 5–10 ms`, by the delay measured) or the point */
  bucket: string;
  /** ms from the device's PUBACK to the kill, as measured */
  actualMs?: number;
  outcome: 'ok' | 'lost' | 'doubled' | 'lost+doubled';
  why: string[];
}

export interface Tally {
  rounds: number;
  ok: number;
  lost: number;
  doubled: number;
}

export interface SweepSummary extends Tally {
  seed: number;
  perPoint: Record<string, Tally>;
  failures: RoundReport[];
  results: RoundReport[];
  seconds: number;
  /** service starts: how many, mean and longest ms until /readyz answered 200 */
  starts: { n: number; meanMs: number; maxMs: number };
}

/** What the judgement needs of an alert from /api/alerts. */
export interface AlertRow {
  id: string;
  device: string;
  rule: string;
  state: string;
}

export interface ReceiverLog {
  name: string;
  received: readonly Pick<Received, 'headers' | 'json' | 'status'>[];
}

const SITE = 'crash-sweep';
const TOKEN = 'crash-sweep-root';
const DELIVERY = 'x-estate-delivery';
const POINT_DEADLINE_MS = 5000;
/** a round waits this long for its own alert at both receivers before the next kill */
const SETTLE_MS = 2000;

export const deviceId = (round: number) => `EL-${String(round).padStart(3, '0')}`;

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The rounds' kills in a seeded random order: every batch's delays and every point's rounds. */
export function plan(o: Pick<SweepOptions, 'delays' | 'points' | 'pointRounds'>, rand: () => number): Kill[] {
  const kills: Kill[] = [];
  for (const b of o.delays) for (let i = 0; i < b.rounds; i++) kills.push({ mode: 'delay', delayMs: Math.floor(rand() * (b.maxMs + 1)) });
  for (const point of o.points ?? []) for (let i = 0; i < (o.pointRounds ?? 0); i++) kills.push({ mode: 'point', point });
  for (let i = kills.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [kills[i], kills[j]] = [kills[j]!, kills[i]!];
  }
  return kills;
}

/** 5 ms buckets of the measured delay; the last also takes timers that overshot 50 ms. */
export function bucketOf(actualMs: number): string {
  const lo = Math.min(45, Math.floor(actualMs / 5) * 5);
  return `delay ${String(lo).padStart(2)}–${lo + 5} ms`;
}

/**
 * One elevator's verdict: lost when its alert is missing (or not firing) or a receiver never
 * got `alert.firing` for it; doubled when a receiver got it under more than one delivery id,
 * or more than one alert id appears for it (in the API or in the bodies).
 */
export function judge(device: string, alerts: readonly AlertRow[], receivers: readonly ReceiverLog[]): { lost: string[]; doubled: string[] } {
  const lost: string[] = [];
  const doubled: string[] = [];
  const mine = alerts.filter((a) => a.rule === 'trapped' && a.device === device);
  const alertIds = new Set(mine.map((a) => a.id));
  if (mine.length === 0) lost.push('no trapped alert in /api/alerts');
  for (const a of mine) if (a.state !== 'firing') lost.push(`alert ${a.id} is ${a.state}, not firing`);
  for (const r of receivers) {
    const ids = new Set<string>();
    for (const req of r.received) {
      const body = req.json as { event?: string; alert?: { id?: string; rule?: string; device?: string } } | undefined;
      if (req.status < 200 || req.status >= 300 || body?.event !== 'alert.firing' || body.alert?.rule !== 'trapped' || body.alert.device !== device) continue;
      ids.add(String(req.headers[DELIVERY] ?? ''));
      alertIds.add(String(body.alert.id));
    }
    if (ids.size === 0) lost.push(`${r.name} got no alert.firing`);
    if (ids.size > 1) doubled.push(`${r.name} got alert.firing under ${ids.size} delivery ids (${[...ids].join(', ')})`);
  }
  if (alertIds.size > 1) doubled.push(`${alertIds.size} alert ids (${[...alertIds].join(', ')})`);
  return { lost, doubled };
}

/** Counts of rounds, in all and per bucket (delay bucket or crash point). */
export function tally(results: readonly RoundReport[]): { all: Tally; perPoint: Record<string, Tally> } {
  const empty = (): Tally => ({ rounds: 0, ok: 0, lost: 0, doubled: 0 });
  const all = empty();
  const perPoint: Record<string, Tally> = {};
  for (const r of results) {
    for (const t of [all, (perPoint[r.bucket] ??= empty())]) {
      t.rounds++;
      if (r.outcome === 'ok') t.ok++;
      if (r.outcome.includes('lost')) t.lost++;
      if (r.outcome.includes('doubled')) t.doubled++;
    }
  }
  return { all, perPoint };
}

/** The short table of a summary: per bucket and point, then every round that was not ok. */
export function formatSummary(s: SweepSummary): string {
  const rows = Object.entries(s.perPoint)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, t]) => `  ${k.padEnd(20)} ${String(t.rounds).padStart(6)} ${String(t.ok).padStart(4)} ${String(t.lost).padStart(5)} ${String(t.doubled).padStart(8)}`);
  return [
    `crash sweep: ${s.rounds} rounds, lost ${s.lost}, doubled ${s.doubled}, seed ${s.seed} (CRASH_SWEEP_SEED=${s.seed} replays it), ${s.seconds.toFixed(1)} s, ${s.starts.n} service starts (mean ${s.starts.meanMs} ms, max ${s.starts.maxMs} ms)`,
    `  ${'kill'.padEnd(20)} rounds   ok  lost  doubled`,
    ...rows,
    ...s.failures.map((f) => `  round ${f.round} ${f.device} lane ${f.lane} ${f.kill}${f.actualMs === undefined ? '' : ` (measured ${f.actualMs.toFixed(1)} ms)`}: ${f.outcome}: ${f.why.join('; ')}`),
  ].join('\n');
}

/** Clean-ups of what the sweep started and has not yet stopped; `stopEverything` runs them. */
const open = new Set<() => Promise<void>>();

/** Stops every process and server a sweep started (for afterAll, after a timeout). */
export async function stopEverything(): Promise<void> {
  await Promise.all([...open].map((f) => f().catch(() => undefined)));
  open.clear();
}

/** Runs the sweep; resolves with the summary, or rejects on a harness error (a crash point not reached). */
export async function crashSweep(o: SweepOptions): Promise<SweepSummary> {
  const seed = o.seed ?? Math.floor(Math.random() * 2 ** 32);
  const log = o.log ?? ((line: string) => console.log(line));
  const kills = plan(o, prng(seed));
  const lanes = Math.max(1, Math.min(o.lanes ?? 2, kills.length));
  log(`crash sweep: ${kills.length} rounds over ${lanes} lanes, seed ${seed}`);
  const t0 = performance.now();
  const starts: number[] = [];
  const stop = { reason: '' };
  const settled = await Promise.allSettled(
    Array.from({ length: lanes }, (_, lane) => {
      const rounds = kills.map((kill, round) => ({ round, kill })).filter((r) => r.round % lanes === lane);
      return runLane(lane, rounds, o, starts, stop).catch((err: Error) => {
        stop.reason ||= err.message;
        throw err;
      });
    }),
  );
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  const results = settled.flatMap((s) => (s.status === 'fulfilled' ? s.value : [])).sort((a, b) => a.round - b.round);
  const { all, perPoint } = tally(results);
  const summary: SweepSummary = {
    ...all,
    seed,
    perPoint,
    failures: results.filter((r) => r.outcome !== 'ok'),
    results,
    seconds: (performance.now() - t0) / 1000,
    starts: { n: starts.length, meanMs: Math.round(starts.reduce((a, b) => a + b, 0) / (starts.length || 1)), maxMs: Math.round(Math.max(0, ...starts)) },
  };
  log(formatSummary(summary));
  return summary;
}

function estateYaml(devices: string[], property: string, market: string): string {
  const sha = createHash('sha256').update(TOKEN).digest('hex');
  return `sites:
  - id: ${SITE}
    name: 崩溃测试小区
    property:
      name: 测试物业
      channels: [{ type: webhook, url: "${property}" }]
    devices:
${devices.map((d) => `      - { id: ${d}, kind: elevator, building: "1栋", intervalSec: 86400 }`).join('\n')}
departments:
  - id: market-supervision
    name: 区市场监管局
    channels: [{ type: webhook, url: "${market}" }]
alerting:
  # Nothing but the firing within the run: no escalation, no reminders.
  escalateAfterMin: { critical: 10080, warning: 10080, trapped: 10080 }
  reminderEveryMin: 0
auth:
  tokens: [{ name: root, role: admin, sha256: ${sha} }]
`;
}

/** Both receivers have `alert.firing` for the device. */
function delivered(device: string, receivers: readonly Receiver[]): boolean {
  return receivers.every((r) =>
    r.received.some((q) => {
      const b = q.json as { event?: string; alert?: { device?: string } } | undefined;
      return b?.event === 'alert.firing' && b.alert?.device === device;
    }),
  );
}

/**
 * Children of this process started with CRASH_SWEEP_TAG=<tag>, killed by pid: a service that
 * `spawnService` gave up waiting for is still running, and it hands back no handle then.
 */
function killStrays(tag: string): void {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== process.pid) continue;
      if (!readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`CRASH_SWEEP_TAG=${tag}`)) continue;
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
}

async function runLane(lane: number, rounds: { round: number; kill: Kill }[], o: SweepOptions, starts: number[], stop: { reason: string }): Promise<RoundReport[]> {
  const dir = tempDir(`estate-crash-sweep-${lane}-`);
  const tag = `${process.pid}-${lane}`;
  const property = new Receiver();
  const market = new Receiver();
  let broker: Awaited<ReturnType<typeof startMosquitto>> | undefined;
  let dev: MqttClient | undefined;
  let svc: ChildService | undefined;
  const cleanup = async () => {
    open.delete(cleanup);
    await svc?.kill('SIGKILL');
    killStrays(tag);
    await dev?.endAsync(true).catch(() => undefined);
    await Promise.all([property.close(), market.close(), broker?.destroy()]);
    removeDir(dir);
  };
  open.add(cleanup);
  try {
    broker = await startMosquitto({ durable: true });
    await Promise.all([property.listen(), market.listen()]);
    const devices = rounds.map((r) => deviceId(r.round));
    writeFileSync(join(dir, 'estate.yaml'), estateYaml(devices, property.url('/property'), market.url('/market-supervision')));
    const env: Record<string, string> = {
      CONFIG: join(dir, 'estate.yaml'),
      DATA_DIR: join(dir, 'data'),
      MQTT_URL: broker.url,
      INFLUX_URL: o.influx.url,
      INFLUX_DB: `crash_sweep_${process.pid}_${lane}`,
      MQTT_CLIENT_ID: `crash-sweep-${tag}`,
      CRASH_SWEEP_TAG: tag,
    };
    const start = async (extra: Record<string, string> = {}) => {
      const t = performance.now();
      const s = await spawnService({ ...env, ...extra }, { compiled: true });
      starts.push(performance.now() - t);
      return s;
    };
    dev = await mqtt.connectAsync(broker.url, { clientId: `crash-sweep-device-${tag}`, protocolVersion: 4, clean: true, reconnectPeriod: 200 });
    svc = await start();
    // The first start makes the persistent session; until its SUBACK a publish would reach nobody.
    await waitFor('the service to subscribe', async () => {
      await dev!.publishAsync(`estate/${SITE}/warmup`, '{}', { qos: 1 });
      await sleep(200);
      return (await metric(svc!.url, 'estate_mqtt_messages_total')) > 0;
    }, 20_000, 0);

    const receivers = [property, market];
    const reports: RoundReport[] = [];
    for (const { round, kill } of rounds) {
      if (stop.reason) break;
      const device = deviceId(round);
      if (kill.mode === 'point') {
        // The clean service, once its outbox is empty (the last round's deliveries marked done,
        // so the next start has none to redeliver and reaches the point on this round's alert);
        // this one carries the point.
        await waitFor('the outbox drained', async () => (await metric(svc!.url, 'estate_outbox_pending')) === 0, 20_000, 50);
        await svc.kill('SIGKILL');
        svc = undefined;
        svc = await start({ ESTATE_CRASH_AT: kill.point }).catch((err: Error) => {
          throw new Error(`crash point ${kill.point}: the service with ESTATE_CRASH_AT=${kill.point} did not start: ${err.message}`);
        });
      }
      const child = svc.child;
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
        else child.once('exit', (code, signal) => resolve({ code, signal }));
      });
      const published = performance.now();
      await dev.publishAsync(`estate/${SITE}/elevator/${device}/event`, JSON.stringify({ code: 'trapped', active: true, detail: `round ${round}` }), { qos: 1 });
      const acked = performance.now();
      let actualMs: number | undefined;
      if (kill.mode === 'delay') {
        if (kill.delayMs > 0) await sleep(kill.delayMs);
        actualMs = performance.now() - acked;
        await svc.kill('SIGKILL');
      } else {
        const left = POINT_DEADLINE_MS - (performance.now() - published);
        const died = await Promise.race([exited, sleep(Math.max(0, left)).then(() => undefined)]);
        if (!died) throw new Error(`crash point ${kill.point}: the service did not die within 5 s of the publish (is ESTATE_CRASH_AT=${kill.point} implemented?)`);
        if (died.signal !== 'SIGKILL') throw new Error(`crash point ${kill.point}: the service exited with ${died.signal ?? `code ${died.code}`}, not SIGKILL: ${svc.output().slice(-2000)}`);
      }
      svc = undefined;
      svc = await start();
      await waitFor(`${device} at both receivers`, () => delivered(device, receivers), SETTLE_MS, 20).catch(() => undefined);
      reports.push({
        round,
        device,
        lane,
        kill: kill.mode === 'delay' ? `delay ${kill.delayMs} ms` : `point ${kill.point}`,
        bucket: kill.mode === 'delay' ? bucketOf(actualMs!) : `point ${kill.point}`,
        ...(actualMs === undefined ? {} : { actualMs }),
        outcome: 'ok',
        why: [],
      });
    }
    if (stop.reason) return reports;

    // The end: everything that is coming arrives, then each elevator is judged.
    await waitFor('every alert at both receivers', () => stop.reason !== '' || reports.every((r) => delivered(r.device, receivers)), o.finalWaitMs ?? 60_000, 200).catch(() => undefined);
    if (stop.reason) return reports;
    await sleep(500);
    const res = await fetch(`${svc.url}/api/alerts?state=all&limit=1000`, { headers: { authorization: `Bearer ${TOKEN}` } });
    if (res.status !== 200) throw new Error(`GET /api/alerts: ${res.status} ${await res.text()}`);
    const alerts = ((await res.json()) as { items: AlertRow[] }).items;
    const logs: ReceiverLog[] = [
      { name: 'property', received: property.received },
      { name: 'market-supervision', received: market.received },
    ];
    for (const r of reports) {
      const { lost, doubled } = judge(r.device, alerts, logs);
      r.why = [...lost, ...doubled];
      r.outcome = lost.length && doubled.length ? 'lost+doubled' : lost.length ? 'lost' : doubled.length ? 'doubled' : 'ok';
      if (lost.length) {
        // Whether the service took the event at all (spooled, so acknowledged, then written to InfluxDB).
        const q = await o.influx.query(`SELECT count(active) FROM events WHERE device = '${r.device}'`, env.INFLUX_DB);
        r.why.push(`event points in InfluxDB: ${Number(q.results?.[0]?.series?.[0]?.values?.[0]?.[1] ?? 0)}`);
      }
    }
    return reports;
  } finally {
    await cleanup();
  }
}
