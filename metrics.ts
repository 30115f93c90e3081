/**
 * The service's Prometheus metrics (prom-client), one registry per service instance so
 * tests can run several in one process. Hot paths count in plain numbers and add them
 * here once per turn or per batch. docs/operations.md lists every metric and what it means.
 *
 * The service's own metrics are prefixed `estate_`; prom-client's default process and Node
 * metrics keep their standard names (`process_cpu_seconds_total`, `nodejs_eventloop_lag_seconds`,
 * …) so that stock dashboards and rules find them. Gauges that describe a state elsewhere
 * (the spool, the open alerts, the outbox, the stores) are computed when scraped.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The channel types a delivery can take (config's `Channel['type']`), counted from the first scrape on. */
export const CHANNEL_TYPES = ['webhook', 'wecom', 'dingtalk', 'email'] as const;
/** Why a delivery was given up (the delivery worker's `GiveUpReason`). */
export const GIVE_UP_REASONS = ['rejected', 'deadline'] as const;
export const REJECT_REASONS = ['bad_topic', 'unknown_device', 'bad_payload', 'bad_metric', 'bad_timestamp', 'store_rejected', 'spool_full'] as const;
export const REPORT_KINDS = ['health', 'maintenance', 'accountability'] as const;

/**
 * Delivery latency buckets, seconds: from a webhook on the same LAN (tens of ms) through
 * retries with backoff (capped at 30 s) to a receiver away for minutes (10 min).
 */
export const DELIVERY_LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/** How long a scrape waits for the outbox's figures before it reports them as unknown (NaN). */
export const OUTBOX_STATS_TIMEOUT_MS = 2000;

export interface BuildInfo {
  version: string;
  /** the git commit the service runs from, when it runs from a checkout */
  commit?: string;
}

export interface MetricSources {
  spool: () => { segments: number; bytes: number };
  /** SPOOL_MAX_BYTES */
  spoolMaxBytes?: number;
  /** the outbox's pending count and the creation time of its oldest pending delivery (`Outbox.stats()`) */
  outbox?: () => Promise<{ pending: number; oldestPendingAt: number | null }>;
  /** the open alerts as committed (the alert engine's book) */
  alerts?: () => Iterable<{ state: string; rule: string; severity: string }>;
  /** whether the operational store is usable now (the committer not refusing, the last probe answered) */
  operational?: () => boolean;
  /** whether /readyz says ready */
  ready?: () => boolean;
  build?: BuildInfo;
  now?: () => number;
}

export function createMetrics(sources: MetricSources) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const now = sources.now ?? Date.now;
  const outboxStats = sharedOutboxStats(sources.outbox, now);
  const openSeen = new Set<string>();
  const m = {
    registry,
    messages: new Counter({ name: 'estate_mqtt_messages_total', help: 'Messages the ingest pipeline handled: received on the MQTT topics, and those the adapters translate pushes and platform messages into', registers: [registry] }),
    accepted: new Counter({ name: 'estate_records_accepted_total', help: 'Points accepted into the spool (readings, events, statuses)', registers: [registry] }),
    duplicates: new Counter({ name: 'estate_ingest_duplicates_total', help: 'Readings and events dropped as duplicates by (device, seq)', registers: [registry] }),
    backOnline: new Counter({ name: 'estate_devices_back_online_total', help: 'Devices marked offline that a telemetry or event message brought online (an online status recorded for them)', registers: [registry] }),
    pushes: new Counter({ name: 'estate_adapter_pushes_total', help: "Platforms' HTTP pushes, by adapter and outcome (accepted, duplicate, unauthorized, bad_request, failed, unknown_adapter)", labelNames: ['adapter', 'type', 'outcome'] as const, registers: [registry] }),
    adapterForwarded: new Counter({ name: 'estate_adapter_forwarded_messages_total', help: "Messages of a push for another shard's site, published on the shared broker for their owner (SHARD), by adapter", labelNames: ['adapter'] as const, registers: [registry] }),
    adapterAuthFailures: new Counter({ name: 'estate_adapter_auth_failures_total', help: 'Pushes and URL verifications refused for their authentication, by adapter', labelNames: ['adapter', 'type'] as const, registers: [registry] }),
    rejects: new Counter({ name: 'estate_ingest_rejects_total', help: 'Messages or fields refused, by reason', labelNames: ['reason'] as const, registers: [registry] }),
    stored: new Counter({ name: 'estate_readings_stored_total', help: 'Points written to the series store', registers: [registry] }),
    writeSeconds: new Histogram({
      name: 'estate_store_write_seconds',
      help: 'Duration of one batch write to the series store',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'estate_store_batch_size',
      help: 'Points per batch written to the series store',
      buckets: [1, 10, 100, 500, 1000, 2500, 5000, 10000],
      registers: [registry],
    }),
    turnMessages: new Histogram({
      name: 'estate_ingest_turn_messages',
      help: 'Messages handled per event-loop turn, that is per spool write and per release of acknowledgements',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000],
      registers: [registry],
    }),
    spoolSegments: new Gauge({
      name: 'estate_spool_segments',
      help: 'Spool segment files on disk',
      registers: [registry],
      collect() {
        this.set(sources.spool().segments);
      },
    }),
    spoolBytes: new Gauge({
      name: 'estate_spool_bytes',
      help: 'Bytes in the spool, written or not',
      registers: [registry],
      collect() {
        this.set(sources.spool().bytes);
      },
    }),
    spoolMaxBytes: new Gauge({ name: 'estate_spool_max_bytes', help: 'The spool size cap (SPOOL_MAX_BYTES); at it, ingest stops taking messages', registers: [registry] }),
    storeUp: new Gauge({ name: 'estate_store_up', help: '1 when the series store accepts writes', registers: [registry] }),
    brokerUp: new Gauge({ name: 'estate_broker_connected', help: '1 when connected to the MQTT broker', registers: [registry] }),
    operationalUp: new Gauge({
      name: 'estate_operational_store_up',
      help: '1 when the operational store is usable: the alert committer is not refusing and the last probe answered in time',
      registers: [registry],
      collect() {
        if (sources.operational) this.set(sources.operational() ? 1 : 0);
      },
    }),
    ready: new Gauge({
      name: 'estate_ready',
      help: '1 when /readyz answers 200 (the operational store usable, the spool not full, no stop begun)',
      registers: [registry],
      collect() {
        if (sources.ready) this.set(sources.ready() ? 1 : 0);
      },
    }),
    buildInfo: new Gauge({ name: 'estate_build_info', help: "The service's version, the Node.js version and (from a git checkout) the commit; always 1", labelNames: ['version', 'node', 'commit'] as const, registers: [registry] }),

    alertsOpen: new Gauge({
      name: 'estate_alerts_open',
      help: 'Open alerts (pending, firing, acknowledged) as committed, by state, rule and severity',
      labelNames: ['state', 'rule', 'severity'] as const,
      registers: [registry],
      collect() {
        if (!sources.alerts) return;
        const counts = new Map<string, number>();
        for (const a of sources.alerts()) {
          const key = JSON.stringify([a.state, a.rule, a.severity]);
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        // A combination seen once stays, at 0, so that a panel or a rule sees it go back to none.
        for (const key of counts.keys()) openSeen.add(key);
        for (const key of openSeen) {
          const [state, rule, severity] = JSON.parse(key) as [string, string, string];
          this.set({ state, rule, severity }, counts.get(key) ?? 0);
        }
      },
    }),
    alertTransitions: new Counter({
      name: 'estate_alert_transitions_total',
      help: 'Committed alert changes (the bus\'s `alert` events: pending, firing, severity, acknowledged, escalated, reminder, resolved, muted, …), by transition and rule',
      labelNames: ['transition', 'rule'] as const,
      registers: [registry],
    }),

    deliveriesSent: new Counter({ name: 'estate_deliveries_sent_total', help: 'Deliveries accepted by their receiver (2xx, errcode 0, SMTP 250), by channel type', labelNames: ['channel'] as const, registers: [registry] }),
    deliveryRetries: new Counter({ name: 'estate_delivery_retries_total', help: 'Delivery attempts that failed in a way worth retrying and were scheduled again, by channel type', labelNames: ['channel'] as const, registers: [registry] }),
    deliveriesFailed: new Counter({
      name: 'estate_deliveries_failed_total',
      help: 'Deliveries given up, by channel type and reason (rejected: the receiver refused it; deadline: its deadline came)',
      labelNames: ['channel', 'reason'] as const,
      registers: [registry],
    }),
    deliveryLatency: new Histogram({
      name: 'estate_delivery_latency_seconds',
      help: "From the delivery's creation (for an alert announced when it fired: its firedAt, same commit) to its receiver's acceptance, by channel type and event",
      labelNames: ['channel', 'event'] as const,
      buckets: DELIVERY_LATENCY_BUCKETS,
      registers: [registry],
    }),
    outboxPending: new Gauge({
      name: 'estate_outbox_pending',
      help: 'Deliveries pending in the outbox (NaN when the operational store did not answer the scrape in time)',
      registers: [registry],
      async collect() {
        const s = await outboxStats();
        if (s) this.set(s.pending);
      },
    }),
    outboxOldestPending: new Gauge({
      name: 'estate_outbox_oldest_pending_seconds',
      help: 'Age of the oldest pending delivery (0 when none is pending; NaN when the operational store did not answer the scrape in time)',
      registers: [registry],
      async collect() {
        const s = await outboxStats();
        if (s) this.set(s.oldestPendingAt === null ? 0 : Math.max(0, (now() - s.oldestPendingAt) / 1000));
      },
    }),

    reportsMade: new Counter({ name: 'estate_reports_made_total', help: 'Reports made, by kind and trigger (schedule or request)', labelNames: ['kind', 'trigger'] as const, registers: [registry] }),
    reportsFailed: new Counter({ name: 'estate_reports_failed_total', help: 'Reports that could not be made, by kind and trigger (schedule or request)', labelNames: ['kind', 'trigger'] as const, registers: [registry] }),
  };
  if (!sources.outbox) {
    registry.removeSingleMetric('estate_outbox_pending');
    registry.removeSingleMetric('estate_outbox_oldest_pending_seconds');
  }
  for (const reason of REJECT_REASONS) m.rejects.inc({ reason }, 0);
  // Counters that alert rules take `increase()` of start at 0, so the first failure shows as one.
  for (const channel of CHANNEL_TYPES) {
    m.deliveriesSent.inc({ channel }, 0);
    m.deliveryRetries.inc({ channel }, 0);
    for (const reason of GIVE_UP_REASONS) m.deliveriesFailed.inc({ channel, reason }, 0);
  }
  for (const kind of REPORT_KINDS) {
    for (const trigger of ['schedule', 'request']) {
      m.reportsMade.inc({ kind, trigger }, 0);
      m.reportsFailed.inc({ kind, trigger }, 0);
    }
  }
  if (sources.spoolMaxBytes !== undefined) m.spoolMaxBytes.set(sources.spoolMaxBytes);
  else registry.removeSingleMetric('estate_spool_max_bytes');
  const build = sources.build ?? readBuildInfo();
  m.buildInfo.set({ version: build.version, node: process.versions.node, ...(build.commit ? { commit: build.commit } : {}) }, 1);
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * One `Outbox.stats()` for the two outbox gauges of a scrape (prom-client collects them at
 * once): a call started less than a second ago is shared. Bounded in time: a store that does
 * not answer within OUTBOX_STATS_TIMEOUT_MS gives NaN, not a scrape that hangs or fails.
 */
function sharedOutboxStats(get: MetricSources['outbox'], now: () => number) {
  let last: { at: number; value: Promise<{ pending: number; oldestPendingAt: number | null } | undefined> } | undefined;
  const unknown = { pending: Number.NaN, oldestPendingAt: Number.NaN };
  return () => {
    if (!get) return Promise.resolve(undefined);
    const t = now();
    if (last && t - last.at < 1000) return last.value;
    let timer: NodeJS.Timeout | undefined;
    const value = Promise.race([
      get().catch(() => unknown),
      new Promise<typeof unknown>((r) => {
        timer = setTimeout(() => r(unknown), OUTBOX_STATS_TIMEOUT_MS);
        timer.unref();
      }),
    ]).finally(() => clearTimeout(timer));
    last = { at: t, value };
    return value;
  };
}

/**
 * The version in package.json and, when the service runs from a git checkout, its commit
 * (read from `.git`, no git binary needed). Looked for from this file's folder up to two
 * levels (`dist/` in the image).
 */
export function readBuildInfo(from = import.meta.dirname): BuildInfo {
  let version = 'unknown';
  let root: string | undefined;
  for (let dir = resolve(from), i = 0; i < 3; dir = dirname(dir), i++) {
    const pkg = join(dir, 'package.json');
    if (!existsSync(pkg)) continue;
    try {
      const p = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string; version?: string };
      if (p.name !== 'estate-sentinel') continue;
      version = p.version ?? version;
      root = dir;
      break;
    } catch {
      continue;
    }
  }
  const commit = root ? gitCommit(root) : undefined;
  return { version, ...(commit ? { commit } : {}) };
}

/** The commit HEAD names in `root/.git` (a directory, or a worktree's `gitdir:` file), or undefined. */
export function gitCommit(root: string): string | undefined {
  try {
    let git = join(root, '.git');
    if (!existsSync(git)) return undefined;
    if (statSync(git).isFile()) {
      const m = /^gitdir:\s*(.+)$/m.exec(readFileSync(git, 'utf8'));
      if (!m) return undefined;
      git = resolve(root, m[1]!.trim());
    }
    const head = readFileSync(join(git, 'HEAD'), 'utf8').trim();
    if (/^[0-9a-f]{40}$/.test(head)) return head.slice(0, 12);
    const ref = /^ref:\s*(\S+)$/.exec(head)?.[1];
    if (!ref) return undefined;
    // A worktree's refs live in the common git directory.
    const common = existsSync(join(git, 'commondir')) ? resolve(git, readFileSync(join(git, 'commondir'), 'utf8').trim()) : git;
    for (const dir of [git, common]) {
      const file = join(dir, ref);
      if (existsSync(file)) return readFileSync(file, 'utf8').trim().slice(0, 12);
    }
    for (const dir of [git, common]) {
      const packed = join(dir, 'packed-refs');
      if (!existsSync(packed)) continue;
      for (const line of readFileSync(packed, 'utf8').split('\n')) {
        const [sha, name] = line.split(' ');
        if (name === ref && sha && /^[0-9a-f]{40}$/.test(sha)) return sha.slice(0, 12);
      }
    }
  } catch {
    return undefined;
  }
  return undefined;
}
