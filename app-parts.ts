/**
 * The service's parts as started and stopped (app.ts builds them): in this order, each `start`
 * after the one before it finished, and stopped in reverse (docs/operations.md):
 *   broker (the embedded one, when MQTT_URL is unset) → operational store (its tables brought
 *   up to date, then probed) → series (store, latest values, spool, de-duplication, writer) →
 *   alerts (open alerts and rule state loaded) → delivery (the outbox's worker and its
 *   pruning) → reports → ingest (the MQTT subscriptions) → http (API, dashboard, live updates).
 */
import type { Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { checkWarnings, type Estate, type ServiceEnv } from './config/index.ts';
import type { Metrics } from './metrics.ts';
import { prepareOperationalStore, type OpDb, type OpsProbe, type Schema, type SeriesStore, type SeriesWriter, type Spool } from './storage/index.ts';
import { startEmbeddedBroker, type EmbeddedBroker, type BrokerSessions, type IngestPipeline, type MqttSubscriber, type RejectLog, type SeqDedup } from './ingest/index.ts';
import type { LatestCache, LiveHub } from './dashboard/index.ts';
import type { AlertEngine, DeliveryWorker, Outbox } from './alerts/index.ts';
import type { Reports } from './reports/index.ts';

/** One part of the service: started in order, stopped in reverse. */
export interface Part {
  name: string;
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

/** How often delivered outbox rows older than `alerting.outboxRetentionDays` are deleted. */
const PRUNE_EVERY_MS = 3600_000;

/** What the parts start and stop, as app.ts built it. */
export interface Built {
  env: ServiceEnv;
  estate: Estate;
  log: Logger;
  metrics: Metrics;
  db: OpDb;
  /** where the operational store is (a file or a PostgreSQL URL) */
  opsTarget: string;
  schemas: readonly Schema[];
  opsProbe: OpsProbe;
  rejects: RejectLog;
  store: SeriesStore;
  latest: LatestCache;
  spool: Spool;
  dedup: SeqDedup;
  writer: SeriesWriter;
  alerts: AlertEngine;
  delivery: DeliveryWorker;
  outbox: Outbox;
  reports: Reports;
  subscriber: BrokerSessions;
  adapterSubscribers: readonly MqttSubscriber[];
  mqttUrl: string;
  pipeline: IngestPipeline;
  live: LiveHub;
  http: FastifyInstance;
}

/** The parts in the order they start, and whether the HTTP server is listening (a stop drains only then). */
export function appParts(b: Built): { parts: Part[]; listening: () => boolean } {
  const { env, estate, log, metrics, db, opsTarget, opsProbe, rejects, store, latest, spool, dedup, writer, alerts, delivery, outbox, reports, subscriber, adapterSubscribers, mqttUrl, pipeline, live, http } = b;
  let broker: EmbeddedBroker | undefined;
  let pruneTimer: NodeJS.Timeout | undefined;
  let listening = false;
  const parts: Part[] = [
    {
      name: 'broker',
      async start() {
        if (env.MQTT_URL) return;
        broker = await startEmbeddedBroker(env.HOST, env.MQTT_PORT);
        log.info({ port: broker.port }, 'embedded MQTT broker listening');
      },
      async stop() {
        await broker?.close();
      },
    },
    {
      name: 'operational store',
      async start() {
        await prepareOperationalStore(db, b.schemas, opsTarget);
        opsProbe.start();
      },
      async stop() {
        opsProbe.stop();
        await rejects.flush();
        await db.close();
      },
    },
    {
      name: 'series',
      async start() {
        await store.init().catch((err: Error) => log.warn({ err: err.message }, 'could not prepare the series store yet; will retry on write'));
        await latest.load(store);
        spool.open();
        dedup.open();
        writer.start();
        metrics.storeUp.set(1);
      },
      async stop() {
        const drained = await writer.drain(10_000);
        if (!drained) log.warn({}, 'stopped with points still in the spool; they are written at the next start');
        writer.stop();
        spool.close();
        dedup.close();
        await store.close();
      },
    },
    {
      name: 'alerts',
      async start() {
        for (const w of checkWarnings(estate)) log.warn({}, w);
        await alerts.start();
        for (const a of alerts.book.all()) latest.alert(a);
      },
      stop: () => alerts.stop(),
    },
    {
      name: 'delivery',
      start() {
        const channels = estate.departments.some((d) => d.channels.length > 0) || estate.sites.some((s) => (s.property?.channels.length ?? 0) + (s.subdistrict?.channels.length ?? 0) > 0);
        if (channels && !env.publicUrlGiven) log.warn({ publicUrl: env.PUBLIC_URL }, 'PUBLIC_URL is not set: acknowledgement and report links in notifications point at this address, which receivers elsewhere cannot open');
        delivery.start();
        const prune = () =>
          outbox.prune(Date.now() - estate.alerting.outboxRetentionDays * 86_400_000).then(
            (n) => n > 0 && log.info({ deleted: n }, 'outbox pruned'),
            (err: unknown) => log.warn({ err }, 'could not prune the outbox; trying again later'),
          );
        void prune();
        pruneTimer = setInterval(() => void prune(), PRUNE_EVERY_MS);
        pruneTimer.unref();
      },
      async stop() {
        if (pruneTimer) clearInterval(pruneTimer);
        await delivery.stop(5000);
      },
    },
    { name: 'reports', start: () => reports.start(), stop: () => reports.stop() },
    {
      name: 'ingest',
      start() {
        // Not awaited: an unreachable broker is retried, and /readyz says so meanwhile.
        subscriber.start().catch((err: Error) => log.warn({ err: err.message, url: mqttUrl }, 'MQTT broker not reachable yet; retrying'));
        for (const s of adapterSubscribers) s.start().catch((err: Error) => log.warn({ err: err.message }, "an adapter's MQTT broker is not reachable yet; retrying"));
      },
      async stop() {
        await Promise.all([subscriber.stop(), ...adapterSubscribers.map((s) => s.stop())]);
        pipeline.flush();
      },
    },
    {
      name: 'http',
      async start() {
        live.start(http.server);
        await http.listen({ host: env.HOST, port: env.PORT });
        listening = true;
      },
      async stop() {
        await live.stop();
        if (listening) await http.close();
      },
    },
  ];
  return { parts, listening: () => listening };
}
