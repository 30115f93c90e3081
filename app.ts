/**
 * The service: builds every part from the environment and the estate file, then starts them
 * in order and stops them in reverse (after zigbee2mqtt's controller; STYLE.md). `main.ts`
 * calls `run()`; tests call `createApp()` and drive the whole service in-process.
 *
 * The parts and the order they start in are app-parts.ts.
 * Parts talk through the bus (bus.ts) and the interfaces they are given, never each other's files.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { Registry, loadEstate, readMqttTls, type Estate, type ServiceEnv } from './config/index.ts';
import { Bus, type BusEvents } from './bus.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { EmbeddedStore, InfluxStore, OpsProbe, SeriesWriter, Spool, createOperationalStore, type OpDb, type Point, type SeriesStore } from './storage/index.ts';
import {
  AdapterIntake,
  INGEST_SCHEMA,
  IngestPipeline,
  type BrokerSessions,
  createSubscribers,
  RejectLog,
  RejectStore,
  SeqDedup,
  planShard,
  shardEstate,
  type ShardPlan,
} from './ingest/index.ts';
import { LatestCache, LiveHub, buildServer, type Readiness } from './dashboard/index.ts';
import {
  ALERTS_SCHEMA,
  AUDIT_SCHEMA,
  AlertActions,
  AlertEngine,
  AlertStore,
  AuditLog,
  DELIVERY_SCHEMA,
  DeliveryWorker,
  Outbox,
  ackSecret,
  createSenders,
  redactChannel,
  signAckToken,
  verifyAckToken,
  type AckTokens,
} from './alerts/index.ts';
import { REPORTS_SCHEMA, Reports } from './reports/index.ts';
import { appParts, type Part } from './app-parts.ts';

export interface App {
  env: ServiceEnv;
  estate: Estate;
  registry: Registry;
  bus: Bus;
  log: Logger;
  metrics: Metrics;
  store: SeriesStore;
  /** the operational store (docs/operational-store.md) */
  db: OpDb;
  rejectStore: RejectStore;
  spool: Spool;
  writer: SeriesWriter;
  pipeline: IngestPipeline;
  /** the service's two sessions on its broker (ingest/subscribers.ts) */
  subscriber: BrokerSessions;
  http: FastifyInstance;
  /** socket.io live updates, on the HTTP server */
  live: LiveHub;
  alerts: AlertEngine;
  alertStore: AlertStore;
  alertActions: AlertActions;
  audit: AuditLog;
  outbox: Outbox;
  delivery: DeliveryWorker;
  /** scheduled and on-demand reports, maintenance records */
  reports: Reports;
  /** the broker the service subscribes to */
  mqttUrl: string;
  /** the sites this instance owns (SHARD; docs/scaling.md) */
  shard: ShardPlan;
  /** the parts in the order they start */
  parts: readonly Part[];
  readiness(): Readiness;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export type { Part } from './app-parts.ts';

export interface AppOptions {
  env: ServiceEnv;
  estate?: Estate;
  log?: Logger;
  /**
   * How long a stop keeps the HTTP server answering, unready, before the parts stop [0]: a
   * load balancer polling /readyz sees the 503 and stops sending before the listener closes.
   */
  drainMs?: number;
}

/** Every part's tables in the operational store. */
export const OPERATIONAL_SCHEMAS = [INGEST_SCHEMA, ALERTS_SCHEMA, DELIVERY_SCHEMA, AUDIT_SCHEMA, REPORTS_SCHEMA];

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
  const metrics = createMetrics({
    spool: () => spool.stats(),
    spoolMaxBytes: env.SPOOL_MAX_BYTES,
    outbox: () => outbox.stats(),
    alerts: () => alerts.book.all(),
    operational: () => opsUsable(),
    ready: () => readiness().ready,
  });

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
  const opsTarget = env.OPERATIONAL_DB ?? join(env.DATA_DIR, 'operational.db');
  const db = createOperationalStore(opsTarget);
  const opsProbe = new OpsProbe(db);
  const rejectStore = new RejectStore(db);
  const alertStore = new AlertStore(db);
  const audit = new AuditLog(db);
  const outbox = new Outbox(db);
  const spool = new Spool({ dir: join(env.DATA_DIR, 'spool', store.kind), maxBytes: env.SPOOL_MAX_BYTES });
  let rejectErrorLogged = 0;
  const rejects = new RejectLog(rejectStore, (reason, n) => metrics.rejects.inc({ reason }, n), undefined, (err, waiting) => {
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
        // Lines refused for a tag's cap on values (InfluxDB's max-values-per-tag) are in the reject
        // log like any other, and raise one system alert per measurement (docs/alerts.md, "Outages").
        const capped = new Map<string, BusEvents['store.tag_limit']>();
        for (const l of lines) {
          rejects.add({ reason: 'store_rejected', topic: '', detail: l.reason, payload: l.line }, now);
          if (!l.tagLimit) continue;
          const { measurement, tag, limit, setting } = l.tagLimit;
          const c = capped.get(measurement);
          if (c) c.lines++;
          else capped.set(measurement, { measurement, tag, limit, setting, lines: 1 });
        }
        for (const e of capped.values()) bus.emit('store.tag_limit', e);
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

  const secret = ackSecret(env.DATA_DIR, env.ACK_SECRET);
  const tokens: AckTokens = {
    sign: (alertId, recipient) => signAckToken(secret, { alertId, recipient }),
    verify: (token) => verifyAckToken(secret, token),
  };
  const alerts = new AlertEngine({
    registry,
    estate,
    bus,
    db,
    store: alertStore,
    outbox,
    ackUrl: (alertId, recipient) => `${env.PUBLIC_URL}/ack/${tokens.sign(alertId, recipient)}`,
    record,
    log: log.child({ part: 'alerts' }),
    spool: () => ({ bytes: spool.stats().bytes, maxBytes: env.SPOOL_MAX_BYTES }),
  });
  bus.on('alert', ({ alert, transition }) => metrics.alertTransitions.inc({ transition, rule: alert.rule }));
  const delivery = new DeliveryWorker({
    outbox,
    senders: createSenders(estate.smtp ? { smtp: estate.smtp } : {}),
    log: log.child({ part: 'delivery' }),
    // A channel that fails for good raises one system alert per recipient and channel type (alerts/system-alerts.ts).
    onGaveUp: (d, error, reason) => {
      metrics.deliveriesFailed.inc({ channel: d.channel.type, reason });
      bus.emit('delivery.failed', { key: `/${d.recipient}/${d.channel.type}`, detail: `${d.recipient} ${JSON.stringify(redactChannel(d.channel))}: ${error}`, recipient: d.recipient, channelType: d.channel.type });
    },
    observe: {
      // Latency from the delivery's creation: for an alert announced when it fired, that is its
      // firedAt (the same commit and clock reading); one held back on purpose (a silence, a
      // group, monitoring lost) counts from when it was released (docs/operations.md).
      sent: (d, at) => {
        metrics.deliveriesSent.inc({ channel: d.channel.type });
        metrics.deliveryLatency.observe({ channel: d.channel.type, event: d.event }, Math.max(0, at - d.createdAt) / 1000);
      },
      retried: (d) => metrics.deliveryRetries.inc({ channel: d.channel.type }),
    },
  });
  const alertActions = new AlertActions(alerts, alertStore, audit, tokens);

  const dedup = new SeqDedup(join(env.DATA_DIR, 'dedup'), undefined, registry.count, (err) =>
    log.error({ err }, 'the de-duplication snapshot could not be written; the journals keep everything, and the next fold tries again'),
  );
  const pipeline = new IngestPipeline({
    registry,
    store,
    spool,
    writer,
    dedup,
    rejects,
    bus,
    log: log.child({ part: 'ingest' }),
    judge: (turn) => alerts.judge(turn),
    onTurn: (messages, accepted, duplicates, backOnline) => {
      metrics.messages.inc(messages);
      metrics.turnMessages.observe(messages);
      if (accepted) metrics.accepted.inc(accepted);
      if (duplicates) metrics.duplicates.inc(duplicates);
      if (backOnline) metrics.backOnline.inc(backOnline);
    },
  });

  // Hardware behind IoT platforms and vendors' gateways (docs/adapters.md): their pushes come
  // over HTTP (routes in dashboard/), their MQTT topics on the service's broker or their own.
  const authLogged = new Map<string, number>();
  // The adapters' devices are found in the whole estate: under SHARD, a push for another
  // shard's site is forwarded to it through the broker, and an MQTT adapter's message for one
  // is left to its owner (ingest/adapters/intake.ts).
  const sharded = estate !== fullEstate;
  const ownSites = new Set(shard.own);
  const intake: AdapterIntake = new AdapterIntake({
    estate: fullEstate,
    registry: sharded ? new Registry(fullEstate) : registry,
    ...(sharded ? { owns: (site: string) => ownSites.has(site), takesStrays: shard.foreign !== undefined, forward: (topic: string, payload: Buffer): Promise<boolean> => subscriber.forward(topic, payload) } : {}),
    onForward: (adapter, messages) => metrics.adapterForwarded.inc({ adapter }, messages),
    pipeline,
    rejects,
    onPush: (adapter, type, outcome) => metrics.pushes.inc({ adapter, type, outcome }),
    onAuthFailure: (adapter, type, why) => {
      metrics.adapterAuthFailures.inc({ adapter, type });
      // Logged once a minute per adapter: a flood of forged pushes must not flood the log.
      const last = authLogged.get(adapter) ?? 0;
      if (Date.now() - last < 60_000) return;
      authLogged.set(adapter, Date.now());
      log.warn({ adapter, type, why }, 'a push refused for its authentication (further ones within a minute are only counted: estate_adapter_auth_failures_total)');
    },
  });
  const adapterTopics = intake.subscriptions();

  const { subscriber, adapterSubscribers, mqttUrl } = createSubscribers({
    env,
    ...(tls ? { tls } : {}),
    shard,
    intake,
    adapterTopics,
    pipeline,
    spool,
    rejects,
    log,
    onBrokerState: (up, error) => {
      metrics.brokerUp.set(up ? 1 : 0);
      bus.emit('broker', { up, ...(error ? { error } : {}) });
    },
  });

  /** Set the moment a stop begins: /readyz answers 503 from then on, before the HTTP server closes. */
  let stopping = false;
  const opsUsable = () => opsProbe.usable && !alerts.committer.storeDown;
  // Ready (docs/interfaces.md#probes-and-metrics) = it can serve: the operational store usable, the spool not
  // full, no stop begun. The broker and the series store being away do not make it unready
  // (the dashboard is needed most then); the body and /metrics say so.
  const readiness = (): Readiness => {
    const s = spool.stats();
    const w = writer.status();
    const writable = spool.writable();
    const broker = { connected: subscriber.connected, url: mqttUrl.replace(/\/\/[^@/]*@/, '//<secret>@'), ...(subscriber.lastError && !subscriber.connected ? { error: subscriber.lastError } : {}) };
    const opsUp = opsUsable();
    const opsError = !opsProbe.usable ? (opsProbe.error ?? (db.open ? undefined : 'closed')) : alerts.committer.storeDown ? 'the operational store refused the last alert changes; they wait and are tried again' : undefined;
    return {
      ready: !stopping && opsUp && writable && !spool.full,
      stopping,
      operational: {
        dialect: db.dialect,
        up: opsUp,
        refusing: alerts.committer.storeDown,
        checkedAt: opsProbe.checkedAt === null ? null : new Date(opsProbe.checkedAt).toISOString(),
        ...(opsError && !opsUp ? { error: opsError } : {}),
      },
      broker,
      spool: { writable, segments: s.segments, bytes: s.bytes, maxBytes: env.SPOOL_MAX_BYTES, full: spool.full },
      store: { kind: store.kind, up: w.storeUp, backlogBytes: w.backlogBytes, ...(w.lastError ? { error: w.lastError } : {}) },
    };
  };

  const latest = new LatestCache(registry);
  latest.attach(bus);
  const reports = new Reports({
    estate,
    registry,
    store,
    db,
    outbox,
    audit,
    recipients: alerts.recipients,
    dataDir: env.DATA_DIR,
    publicUrl: env.PUBLIC_URL,
    log: log.child({ part: 'reports' }),
    observe: (kind, outcome, schedule) => (outcome === 'made' ? metrics.reportsMade : metrics.reportsFailed).inc({ kind, trigger: schedule === null ? 'request' : 'schedule' }),
  });
  const http = buildServer({
    push: intake,
    estate,
    rejects: rejectStore,
    audit,
    metrics: metrics.registry,
    readiness,
    log,
    alerts: { actions: alertActions, store: alertStore, outbox },
    registry,
    latest,
    store,
    reports,
    // Which proxies to believe about a client's address (docs/security.md, "Behind a TLS proxy").
    trustProxy: env.TRUST_PROXY,
  });
  const live = new LiveHub({ estate, registry, latest, alerts: alertActions, bus, log: log.child({ part: 'live' }), metrics: metrics.registry });
  const { parts, listening } = appParts({
    env,
    estate,
    log,
    metrics,
    db,
    opsTarget,
    schemas: OPERATIONAL_SCHEMAS,
    opsProbe,
    rejects,
    store,
    latest,
    spool,
    dedup,
    writer,
    alerts,
    delivery,
    outbox,
    reports,
    subscriber,
    adapterSubscribers,
    mqttUrl,
    pipeline,
    live,
    http,
  });
  let started: Part[] = [];

  return {
    env,
    estate,
    registry,
    bus,
    log,
    metrics,
    store,
    db,
    rejectStore,
    spool,
    writer,
    pipeline,
    subscriber,
    http,
    live,
    alerts,
    alertStore,
    alertActions,
    audit,
    outbox,
    delivery,
    reports,
    mqttUrl,
    shard,
    parts,
    readiness,
    async start() {
      for (const p of parts) {
        await p.start();
        started.push(p);
      }
      log.info({ url: env.PUBLIC_URL, store: store.kind, operational: db.dialect, mqtt: mqttUrl.replace(/\/\/[^@/]*@/, '//<secret>@'), ...(env.SHARD ? { shard: `${shard.shard.index}/${shard.shard.count}`, sites: shard.own.length } : {}) }, 'Estate Sentinel is running');
    },
    async stop() {
      // Unready first, while everything still runs and the server still answers (a load
      // balancer stops sending); then, after the drain, only what started is stopped, in
      // reverse; a part that fails to stop does not keep the others running.
      stopping = true;
      if ((opts.drainMs ?? 0) > 0 && listening()) await new Promise((r) => setTimeout(r, opts.drainMs));
      const running = started.reverse();
      started = [];
      for (const p of running) {
        try {
          await p.stop();
        } catch (err) {
          log.error({ err, part: p.name }, 'a part failed to stop');
        }
      }
    },
  };
}
