/**
 * The service's Prometheus metrics (prom-client), one registry per service instance so
 * tests can run several in one process. Hot paths count in plain numbers and add them
 * here once per turn or per batch.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics(sources: { spool: () => { segments: number; bytes: number } }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'estate_' });
  const m = {
    registry,
    messages: new Counter({ name: 'estate_mqtt_messages_total', help: 'MQTT messages received', registers: [registry] }),
    accepted: new Counter({ name: 'estate_records_accepted_total', help: 'Points accepted into the spool (readings, events, statuses)', registers: [registry] }),
    duplicates: new Counter({ name: 'estate_ingest_duplicates_total', help: 'Readings and events dropped as duplicates by (device, seq)', registers: [registry] }),
    backOnline: new Counter({ name: 'estate_devices_back_online_total', help: 'Devices marked offline that a telemetry or event message brought online (an online status recorded for them)', registers: [registry] }),
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
    storeUp: new Gauge({ name: 'estate_store_up', help: '1 when the series store accepts writes', registers: [registry] }),
    brokerUp: new Gauge({ name: 'estate_broker_connected', help: '1 when connected to the MQTT broker', registers: [registry] }),
  };
  for (const reason of ['bad_topic', 'unknown_device', 'bad_payload', 'bad_metric', 'bad_timestamp', 'store_rejected', 'spool_full']) {
    m.rejects.inc({ reason }, 0);
  }
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
