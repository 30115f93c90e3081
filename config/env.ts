/**
 * The service's environment (CONTRACT section 1), validated once at start.
 * Everything is optional; the defaults run the embedded mode.
 */
import { z } from 'zod';
import { resolve } from 'node:path';

const port = z.coerce.number().int().min(0).max(65_535);
const bytes = z.coerce.number().int().positive();

const envSchema = z.object({
  CONFIG: z.string().default('config/estate.yaml'),
  MQTT_URL: z.string().regex(/^(mqtts?|wss?|tcp|ssl):\/\//, 'must be an mqtt://, mqtts://, ws:// or wss:// URL').optional(),
  MQTT_PORT: port.default(1883),
  MQTT_CLIENT_ID: z.string().min(1).max(64).default('estate-sentinel'),
  /** MQTT 5 shared-subscription group: instances in one group share the load */
  MQTT_SHARE_GROUP: z.string().regex(/^[^/#+]+$/, 'must not contain / # or +').optional(),
  /** ms to wait after a socket read so the next messages arrive together (0: off); docs/performance.md */
  MQTT_READ_LINGER_MS: z.coerce.number().min(0).max(50).default(1),
  MQTT_USERNAME: z.string().optional(),
  MQTT_PASSWORD: z.string().optional(),
  INFLUX_URL: z.url().optional(),
  INFLUX_DB: z.string().min(1).default('estate'),
  INFLUX_TOKEN: z.string().optional(),
  INFLUX_USER: z.string().optional(),
  INFLUX_PASSWORD: z.string().optional(),
  PORT: port.default(8080),
  HOST: z.string().default('127.0.0.1'),
  DATA_DIR: z.string().default('./data'),
  PUBLIC_URL: z.url().optional(),
  /** signs acknowledgement links; default: a random key kept in DATA_DIR/ack-secret */
  ACK_SECRET: z.string().min(16).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** the spool's size cap; at the cap ingest stops acknowledging (see docs/ingest.md) */
  SPOOL_MAX_BYTES: bytes.default(2 * 1024 ** 3),
  STORE_BATCH_SIZE: bytes.default(5000),
  STORE_FLUSH_MS: bytes.default(200),
  /** write requests to the store at once: 1 keeps spool order exactly; 2 is InfluxDB's limit */
  STORE_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(2).default(1),
});

export type ServiceEnv = z.infer<typeof envSchema> & { PUBLIC_URL: string; DATA_DIR: string };

export class EnvError extends Error {
  readonly code = 'ENV_INVALID';
}

export function readEnv(env: NodeJS.ProcessEnv = process.env): ServiceEnv {
  // An empty variable means unset, as in most shells' `VAR= cmd`.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new EnvError(
      'environment: ' + parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    );
  }
  const e = parsed.data;
  return {
    ...e,
    DATA_DIR: resolve(e.DATA_DIR),
    PUBLIC_URL: (e.PUBLIC_URL ?? `http://${e.HOST.includes(':') ? `[${e.HOST}]` : e.HOST}:${e.PORT}`).replace(/\/$/, ''),
  };
}
