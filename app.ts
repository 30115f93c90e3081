/**
 * The service: builds every part from the environment and the estate file, starts them in
 * order and stops them in reverse. `main.ts` calls `run()`; tests call `createApp()` and
 * drive the whole service in-process.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { Registry, loadEstate, readMqttTls, type Estate, type ServiceEnv } from './config/index.ts';
import { Bus } from './bus.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { EmbeddedStore, InfluxStore, OperationalStore, SeriesWriter, Spool, type SeriesStore } from './storage/index.ts';
import { IngestPipeline, MqttSubscriber, RejectLog, SeqDedup, planShard, shardEstate, startEmbeddedBroker, type EmbeddedBroker, type ShardPlan } from './ingest/index.ts';
import { LatestCache, LiveHub, buildServer, type Readiness } from './dashboard/index.ts';
import {
  AlertActions,
  AlertEngine,
  AlertStore,
  DeliveryWorker,
  Outbox,
  ackSecret,
  createSenders,
  redactChannel,
  signAckToken,
  verifyAckToken,
  type AckTokens,
} from './alerts/index.ts';
import type { Point } from './storage/index.ts';
import { Reports } from './reports/index.ts';

export interface App {
  env: ServiceEnv;
  estate: Estate;
  registry: Registry;
  bus: Bus;
  log: Logger;
  metrics: Metrics;
  store: SeriesStore;
  ops: OperationalStore;
  spool: Spool;
  writer: SeriesWriter;
  pipeline: IngestPipeline;
  subscriber: MqttSubscriber;
  http: FastifyInstance;
  /** socket.io live updates, on the HTTP server */
  live: LiveHub;
  alerts: AlertEngine;
  alertActions: AlertActions;
  outbox: Outbox;
  delivery: DeliveryWorker;
  /** scheduled and on-demand reports, maintenance records */
  reports: Reports;
  /** the broker the service subscribes to */
  mqttUrl: string;
  /** the sites this instance owns (SHARD; docs/scaling.md) */
  shard: ShardPlan;
  readiness(): Readiness;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface AppOptions {
  env: ServiceEnv;
  estate?: Estate;
  log?: Logger;
}

export function createApp(opts: AppOptions): App {
  const env = opts.env;
  const fullEstate = opts.estate ?? loadEstate(env.CONFIG);
  // Shard i of N: everything below sees only this instance's sites.
  const shard = planShard(fullEstate.sites.map((s) => s.id), env.SHARD, env.SHARD_STRAYS);
  const estate = shardEstate(fullEstate, shard);
  // Read before anything opens, so a missing file stops the start cleanly.
  const tls = /^(mqtts|wss|ssl):/.test(env.MQTT_URL ?? '') ? readMqttTls(env) : undefined;
  const log = opts.log ?? pino({ level: env.LOG_LEVEL, base: { service: 'estate-sentinel' } });
  const registry = new Registry(estate);
  const bus = new Bus((event, err) => log.error({ err, event }, 'a listener failed'));
  const metrics = createMetrics({ spool: () => spool.stats() });

  mkdirSync(env.DATA_DIR, { recursive: true });
  const store: SeriesStore = env.INFLUX_URL
    ? new InfluxStore({
        url: env.INFLUX_URL,
        db: env.INFLUX_DB,
        ...(env.INFLUX_TOKEN ? { token: env.INFLUX_TOKEN } : {}),
        ...(env.INFLUX_USER ? { user: env.INFLUX_USER } : {}),
        ...(env.INFLUX_PASSWORD ? { password: env.INFLUX_PASSWORD } : {}),
      })
    : new EmbeddedStore(join(env.DATA_DIR, 'series.db'));
  const ops = new OperationalStore(env.OPERATIONAL_DB ?? join(env.DATA_DIR, 'operational.db'));
  const spool = new Spool({ dir: join(env.DATA_DIR, 'spool', store.kind), maxBytes: env.SPOOL_MAX_BYTES });
  let rejectErrorLogged = 0;
  const rejects = new RejectLog(ops, (reason, n) => metrics.rejects.inc({ reason }, n), undefined, (err, waiting) => {
    if (Date.now() - rejectErrorLogged < 60_000) return;
    rejectErrorLogged = Date.now();
    log.error({ err, waiting }, 'the operational store refused the reject log; rows wait in memory and are tried again every second');
  });
  const writer = new SeriesWriter({
    store,
    spool,
    batchSize: env.STORE_BATCH_SIZE,
    flushMs: env.STORE_FLUSH_MS,
    maxInFlight: env.STORE_MAX_IN_FLIGHT,
    events: {
      rejected: (lines) => {
        const now = Date.now();
        for (const l of lines) rejects.add({ reason: 'store_rejected', topic: '', detail: l.reason, payload: l.line }, now);
      },
      written: (n, seconds) => {
        metrics.stored.inc(n);
        metrics.writeSeconds.observe(seconds);
        metrics.batchSize.observe(n);
      },
      storeState: (up, error) => {
        metrics.storeUp.set(up ? 1 : 0);
        if (up) log.info({ store: store.kind }, 'the series store is back; replaying the spool');
        else log.warn({ store: store.kind, error }, 'the series store is away; readings wait in the spool');
        bus.emit('store', { up, ...(error ? { error } : {}) });
      },
    },
  });
  const dedup = new SeqDedup(join(env.DATA_DIR, 'dedup'));
  const pipeline = new IngestPipeline({
    registry,
    store,
    spool,
    writer,
    dedup,
    rejects,
    bus,
    log: log.child({ part: 'ingest' }),
    onTurn: (messages, accepted, duplicates) => {
      metrics.messages.inc(messages);
      metrics.turnMessages.observe(messages);
      if (accepted) metrics.accepted.inc(accepted);
      if (duplicates) metrics.duplicates.inc(duplicates);
    },
  });

  let broker: EmbeddedBroker | undefined;
  const mqttUrl = env.MQTT_URL ?? `mqtt://${env.HOST.includes(':') ? `[${env.HOST}]` : env.HOST}:${env.MQTT_PORT}`;
  const subscriber = new MqttSubscriber(
    {
      url: mqttUrl,
      clientId: env.MQTT_CLIENT_ID,
      ...(env.MQTT_USERNAME ? { username: env.MQTT_USERNAME } : {}),
      ...(env.MQTT_PASSWORD ? { password: env.MQTT_PASSWORD } : {}),
      ...(tls ? { tls } : {}),
      filters: shard.filters,
      ...(shard.foreign ? { foreign: shard.foreign } : {}),
      ...(env.MQTT_SHARE_GROUP ? { shareGroup: env.MQTT_SHARE_GROUP } : {}),
      protocolVersion: env.MQTT_URL ? 5 : 4,
      readLingerMs: env.MQTT_READ_LINGER_MS,
      log: log.child({ part: 'mqtt' }),
      onState: (up, error) => {
        metrics.brokerUp.set(up ? 1 : 0);
        bus.emit('broker', { up, ...(error ? { error } : {}) });
      },
      onSpoolFull: (topic, payload) =>
        rejects.add({ reason: 'spool_full', topic, detail: 'the spool is at its size cap (SPOOL_MAX_BYTES)', payload: payload.toString('utf8').slice(0, 16384) }, Date.now()),
    },
    pipeline,
    spool,
  );

  // Points that do not come from devices (the alerts measurement) take the same way: spool, then store.
  const record = (points: Point[]) => {
    const lines: string[] = [];
    for (const p of points) {
      try {
        lines.push(store.encode(p));
      } catch (err) {
        log.warn({ err: (err as Error).message, measurement: p.measurement }, 'a point could not be encoded');
      }
    }
    if (lines.length > 0) writer.push(spool.append(lines));
  };

  const alertStore = new AlertStore(ops.db);
  const outbox = new Outbox(ops.db);
  const secret = ackSecret(env.DATA_DIR, env.ACK_SECRET);
  const tokens: AckTokens = {
    sign: (alertId, recipient) => signAckToken(secret, { alertId, recipient }),
    verify: (token) => verifyAckToken(secret, token),
  };
  // eslint-disable-next-line prefer-const
  let alerts: AlertEngine;
  const delivery = new DeliveryWorker({
    outbox,
    senders: createSenders(estate.smtp ? { smtp: estate.smtp } : {}),
    log: log.child({ part: 'delivery' }),
    // A channel that fails for good raises one system alert per channel to the operators.
    onGaveUp: (d, error) => alerts.raiseSystem('delivery_failed', `${d.recipient} ${JSON.stringify(redactChannel(d.channel))}: ${error}`, `/${d.recipient}/${d.channel.type}`),
  });
  alerts = new AlertEngine({
    registry,
    estate,
    bus,
    store: alertStore,
    sink: { enqueue: (items) => outbox.enqueue(items), wake: () => delivery.wake() },
    ackUrl: (alertId, recipient) => `${env.PUBLIC_URL}/ack/${tokens.sign(alertId, recipient)}`,
    record,
    log: log.child({ part: 'alerts' }),
    spool: () => ({ bytes: spool.stats().bytes, maxBytes: env.SPOOL_MAX_BYTES }),
  });
  const alertActions = new AlertActions(alerts, alertStore, tokens);

  const readiness = (): Readiness => {
    const s = spool.stats();
    const w = writer.status();
    const writable = spool.writable();
    const broker = { connected: subscriber.connected, url: mqttUrl.replace(/\/\/[^@/]*@/, '//<secret>@'), ...(subscriber.lastError && !subscriber.connected ? { error: subscriber.lastError } : {}) };
    return {
      ready: subscriber.connected && writable && !spool.full,
      broker,
      spool: { writable, segments: s.segments, bytes: s.bytes, full: spool.full },
      store: { kind: store.kind, up: w.storeUp, backlogBytes: w.backlogBytes, ...(w.lastError ? { error: w.lastError } : {}) },
    };
  };

  const latest = new LatestCache(registry);
  latest.attach(bus);
  const reports = new Reports({
    estate,
    registry,
    store,
    db: ops.db,
    sink: { enqueue: (items) => outbox.enqueue(items), wake: () => delivery.wake() },
    audit: (actor, action, target, detail) => alertStore.audit(actor, action, target, detail),
    dataDir: env.DATA_DIR,
    publicUrl: env.PUBLIC_URL,
    log: log.child({ part: 'reports' }),
  });
  const http = buildServer({ estate, ops, metrics: metrics.registry, readiness, log, alerts: { actions: alertActions, store: alertStore }, registry, latest, store, reports });
  const live = new LiveHub({ estate, registry, latest, alerts: alertActions, bus, log: log.child({ part: 'live' }), metrics: metrics.registry });
  let started = false;

  return {
    env,
    estate,
    registry,
    bus,
    log,
    metrics,
    store,
    ops,
    spool,
    writer,
    pipeline,
    subscriber,
    http,
    live,
    alerts,
    alertActions,
    outbox,
    delivery,
    reports,
    mqttUrl,
    shard,
    readiness,
    async start() {
      if (!env.MQTT_URL) {
        broker = await startEmbeddedBroker(env.HOST, env.MQTT_PORT);
        log.info({ port: broker.port }, 'embedded MQTT broker listening');
      }
      await store.init().catch((err: Error) => log.warn({ err: err.message }, 'could not prepare the series store yet; will retry on write'));
      await latest.load(store);
      spool.open();
      dedup.open();
      writer.start();
      metrics.storeUp.set(1);
      alerts.start();
      for (const a of alerts.book.all()) latest.alert(a);
      delivery.start();
      reports.start();
      // Not awaited: an unreachable broker is retried, and /readyz says so meanwhile.
      subscriber.start().catch((err: Error) => log.warn({ err: err.message, url: mqttUrl }, 'MQTT broker not reachable yet; retrying'));
      live.start(http.server);
      await http.listen({ host: env.HOST, port: env.PORT });
      started = true;
      log.info({ url: env.PUBLIC_URL, store: store.kind, mqtt: mqttUrl.replace(/\/\/[^@/]*@/, '//<secret>@'), ...(env.SHARD ? { shard: `${shard.shard.index}/${shard.shard.count}`, sites: shard.own.length } : {}) }, 'Estate Sentinel is running');
    },
    async stop() {
      await live.stop();
      if (started) await http.close();
      await subscriber.stop();
      pipeline.flush();
      alerts.stop();
      await reports.stop();
      await delivery.stop(5000);
      const drained = await writer.drain(10_000);
      if (!drained) log.warn({}, 'stopped with points still in the spool; they are written at the next start');
      writer.stop();
      spool.close();
      dedup.close();
      rejects.flush();
      ops.close();
      await store.close();
      if (broker) await broker.close();
    },
  };
}
