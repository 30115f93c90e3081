/**
 * The service's MQTT subscriptions (docs/ingest.md, docs/adapters.md): one on the service's own
 * broker, for `estate/#` (or a shard's sites: docs/scaling.md) and the adapters' topics there,
 * and one per adapter on a broker of its own (ChirpStack's, a vendor gateway's). Every one
 * routes adapter topics to the adapters' intake, and refuses a QoS 0 message while the spool is
 * at its cap as a `spool_full` reject.
 */
import type { MqttTls, ServiceEnv } from '../config/index.ts';
import type { Spool } from '../storage/index.ts';
import type { AdapterIntake, AdapterSubscription } from './adapters/index.ts';
import type { IngestPipeline } from './pipeline.ts';
import type { RejectLog } from './rejects.ts';
import type { ShardPlan } from './shard.ts';
import { MqttSubscriber, type SubscriberOptions } from './subscriber.ts';

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

export function createSubscribers(d: SubscriptionDeps): { subscriber: MqttSubscriber; adapterSubscribers: MqttSubscriber[]; mqttUrl: string } {
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
  const subscriber = new MqttSubscriber(
    {
      url: mqttUrl,
      clientId: env.MQTT_CLIENT_ID,
      ...(env.MQTT_USERNAME ? { username: env.MQTT_USERNAME } : {}),
      ...(env.MQTT_PASSWORD ? { password: env.MQTT_PASSWORD } : {}),
      ...(d.tls ? { tls: d.tls } : {}),
      filters: [...d.shard.filters, ...d.adapterTopics.filter((a) => !a.mqtt).map((a) => a.filter)],
      route,
      ...(d.shard.foreign ? { foreign: d.shard.foreign } : {}),
      ...(env.MQTT_SHARE_GROUP ? { shareGroup: env.MQTT_SHARE_GROUP } : {}),
      protocolVersion: env.MQTT_URL ? 5 : 4,
      readLingerMs: env.MQTT_READ_LINGER_MS,
      log: log.child({ part: 'mqtt' }),
      onState: d.onBrokerState,
      onSpoolFull,
    },
    d.pipeline,
    d.spool,
  );
  return { subscriber, adapterSubscribers, mqttUrl };
}
