/**
 * The service's MQTT subscriptions (docs/ingest.md, docs/adapters.md). On the service's own
 * broker, two persistent sessions (`BrokerSessions`):
 *
 * - the telemetry session (`MQTT_CLIENT_ID`): `estate/#` (or a shard's sites: docs/scaling.md)
 *   and the adapters' topics there; it leaves `estate/+/+/+/event` to the other session;
 * - the events session (`MQTT_CLIENT_ID-events`): `estate/+/+/+/event` of the same sites.
 *
 * An event (a passenger trapped, a hydrant opened) thus never waits behind the telemetry the
 * broker has queued for the service: Mosquitto delivers each session's messages in order, and
 * at 10,000 msg/s the telemetry session's backlog is tens of milliseconds (docs/performance.md,
 * "Where an alert's time goes"). Both sessions feed the same pipeline; an event's
 * de-duplication key is its device's events key, which only the events session sees. The
 * broker keeps each session's messages while it is away, so an event the telemetry session
 * leaves is never lost with it.
 *
 * On a broker of its own, one session per adapter (ChirpStack's, a vendor gateway's). Every
 * session routes adapter topics to the adapters' intake, and refuses a QoS 0 message while
 * the spool is at its cap as a `spool_full` reject.
 */
import type { MqttTls, ServiceEnv } from '../config/index.ts';
import type { Spool } from '../storage/index.ts';
import type { AdapterIntake, AdapterSubscription } from './adapters/index.ts';
import type { IngestPipeline } from './pipeline.ts';
import type { RejectLog } from './rejects.ts';
import type { ShardPlan } from './shard.ts';
import { MqttSubscriber, type SubscriberOptions } from './subscriber.ts';
import type { BrokerError } from './broker-error.ts';
import { isEventTopic } from './topic.ts';

export interface SubscriptionDeps {
  env: ServiceEnv;
  /** for mqtts:// and wss:// (config/env.ts readMqttTls) */
  tls?: MqttTls;
  shard: ShardPlan;
  intake: AdapterIntake;
  adapterTopics: readonly AdapterSubscription[];
  pipeline: IngestPipeline;
  spool: Spool;
  rejects: RejectLog;
  log: { child(bindings: object): SubscriberOptions['log'] };
  /** the service's own broker connected or lost */
  onBrokerState: (up: boolean, error?: string) => void;
}

export function createSubscribers(d: SubscriptionDeps): { subscriber: BrokerSessions; adapterSubscribers: MqttSubscriber[]; mqttUrl: string } {
  const { env, intake, rejects, log } = d;
  const route = (topic: string, payload: Buffer) => intake.mqtt(topic, payload);
  const onSpoolFull = (topic: string, payload: Buffer) =>
    rejects.add({ reason: 'spool_full', topic, detail: 'the spool is at its size cap (SPOOL_MAX_BYTES)', payload: payload.toString('utf8').slice(0, 16384) }, Date.now());
  const mqttUrl = env.MQTT_URL ?? `mqtt://${env.HOST.includes(':') ? `[${env.HOST}]` : env.HOST}:${env.MQTT_PORT}`;
  const adapterSubscribers = d.adapterTopics
    .filter((a) => a.mqtt)
    .map((a) => {
      const alog = log.child({ part: 'mqtt', adapter: a.adapter });
      return new MqttSubscriber(
        {
          url: a.mqtt!.url,
          clientId: `${env.MQTT_CLIENT_ID}-${a.adapter}`,
          ...(a.mqtt!.username ? { username: a.mqtt!.username } : {}),
          ...(a.mqtt!.password ? { password: a.mqtt!.password } : {}),
          filters: [a.filter],
          protocolVersion: 5,
          readLingerMs: env.MQTT_READ_LINGER_MS,
          log: alog,
          onState: (up, error) => (up ? alog.info({}, "connected to the adapter's broker") : alog.warn({ error }, "lost the adapter's broker; reconnecting")),
          onSpoolFull,
          route,
        },
        d.pipeline,
        d.spool,
      );
    });
  const common = {
    url: mqttUrl,
    ...(env.MQTT_USERNAME ? { username: env.MQTT_USERNAME } : {}),
    ...(env.MQTT_PASSWORD ? { password: env.MQTT_PASSWORD } : {}),
    ...(d.tls ? { tls: d.tls } : {}),
    route,
    ...(d.shard.foreign ? { foreign: d.shard.foreign } : {}),
    protocolVersion: env.MQTT_URL ? 5 : 4,
    onSpoolFull,
    errorLog: { code: undefined },
  } as const;
  const share = env.MQTT_SHARE_GROUP;
  const sessions = new BrokerSessions(d.onBrokerState);
  const telemetry = new MqttSubscriber(
    {
      ...common,
      clientId: env.MQTT_CLIENT_ID,
      filters: [...d.shard.filters, ...d.adapterTopics.filter((a) => !a.mqtt).map((a) => a.filter)],
      elsewhere: isEventTopic,
      ...(share ? { shareGroup: share } : {}),
      readLingerMs: env.MQTT_READ_LINGER_MS,
      log: log.child({ part: 'mqtt' }),
      onState: (up, error) => sessions.state(0, up, error),
    },
    d.pipeline,
    d.spool,
  );
  const events = new MqttSubscriber(
    {
      ...common,
      clientId: `${env.MQTT_CLIENT_ID}-events`,
      filters: d.shard.eventFilters,
      ...(share ? { shareGroup: `${share}-events` } : {}),
      // Events are few: each is taken the moment it arrives.
      readLingerMs: 0,
      log: log.child({ part: 'mqtt', session: 'events' }),
      onState: (up, error) => sessions.state(1, up, error && `the events session: ${error}`),
    },
    d.pipeline,
    d.spool,
  );
  sessions.lanes.push(telemetry, events);
  return { subscriber: sessions, adapterSubscribers, mqttUrl };
}

/**
 * The two sessions on the service's own broker, as one: connected when both are (an events
 * session that cannot connect is a broker outage for the operators: events would not arrive),
 * started and stopped together; publishing (`forward`) goes through the telemetry session.
 */
export class BrokerSessions {
  /** the telemetry session, then the events session */
  readonly lanes: MqttSubscriber[] = [];
  private readonly up = [false, false];
  private reported = false;

  constructor(private readonly onState: (up: boolean, error?: string) => void) {}

  /** one session connected or lost: the broker's state changes when both are up, or one is lost */
  state(lane: 0 | 1, up: boolean, error?: string): void {
    this.up[lane] = up;
    const all = this.up[0]! && this.up[1]!;
    if (all === this.reported && (all || error === undefined)) return;
    this.reported = all;
    this.onState(all, error);
  }

  get connected(): boolean {
    return this.lanes.every((l) => l.connected);
  }

  /** why the session that is not connected failed last */
  get lastError(): BrokerError | undefined {
    return this.lanes.find((l) => !l.connected && l.lastError)?.lastError;
  }

  /** messages of other shards' sites received and left alone, by both sessions */
  get foreignMessages(): number {
    return this.lanes.reduce((n, l) => n + l.foreignMessages, 0);
  }

  /**
   * Connects the events session, then the telemetry session once the first has its first
   * CONNACK or failed (each goes on trying): after a stop, the events that waited in the broker
   * are taken before the telemetry backlog, which Mosquitto starts sending the moment the
   * telemetry session is back. Rejects if either first attempt failed.
   */
  async start(): Promise<void> {
    const [telemetry, events] = this.lanes as [MqttSubscriber, MqttSubscriber];
    const failed = await events.start().then(
      () => undefined,
      (err: unknown) => err,
    );
    await telemetry.start();
    if (failed) throw failed;
  }

  forward(topic: string, payload: Buffer, timeoutMs?: number): Promise<boolean> {
    return this.lanes[0]!.forward(topic, payload, timeoutMs);
  }

  async stop(): Promise<void> {
    await Promise.all(this.lanes.map((l) => l.stop()));
  }
}
