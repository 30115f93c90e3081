/**
 * The service's environment (docs/interfaces.md#environment), validated once at start.
 * Everything is optional; the defaults run the embedded mode.
 */
import { z } from 'zod';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isIP } from 'node:net';

const port = z.coerce.number().int().min(0).max(65_535);

/**
 * Which proxies in front of the service to believe about the client's address
 * (X-Forwarded-For), as fastify's `trustProxy` takes it: `false` trusts nothing (the address is
 * the socket's), a number trusts that many hops next to the service, a list trusts the
 * proxies at those addresses or in those ranges, `true` trusts every hop (then any client
 * can name its own address: only when the service cannot be reached but through the proxy
 * and the proxy replaces X-Forwarded-For). docs/security.md, "Behind a TLS proxy".
 */
export type TrustProxy = boolean | number | string[];

/** proxy-addr's names for ranges, beside addresses and CIDRs */
const PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function trustedProxy(item: string): boolean {
  if (PROXY_RANGES.has(item)) return true;
  const [address, bits, ...rest] = item.split('/');
  if (rest.length > 0 || !address) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (bits === undefined) return true;
  // A prefix length, or (IPv4) a netmask such as 255.0.0.0, as proxy-addr takes them (not /0: it would trust everyone).
  if (/^\d{1,3}$/.test(bits)) return Number(bits) >= 1 && Number(bits) <= (family === 4 ? 32 : 128);
  if (family !== 4 || isIP(bits) !== 4) return false;
  const mask = bits.split('.').reduce((m, o) => m * 256 + Number(o), 0);
  const host = 0xffffffff - mask;
  return mask !== 0 && (host & (host + 1)) === 0;
}

const trustProxy = z.string().transform((v, ctx): TrustProxy => {
  const s = v.trim().toLowerCase();
  if (s === 'true') return true;
  if (s === 'false') return false;
  if (/^\d+$/.test(s)) {
    const hops = Number(s);
    if (hops <= 64) return hops === 0 ? false : hops;
  }
  const items = v.split(',').map((i) => i.trim());
  const bad = items.filter((i) => !trustedProxy(i));
  if (bad.length === 0) return items;
  ctx.addIssue({
    code: 'custom',
    message: `must be true, false, a hop count (0-64) or a comma-separated list of proxy addresses or CIDRs (e.g. 10.0.0.0/8,127.0.0.1); not ${bad.map((b) => JSON.stringify(b)).join(', ')}`,
  });
  return z.NEVER;
});
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
  /** PEM files for mqtts:// and wss:// (docs/mqtt-security.md): the CA that signed the broker's certificate */
  MQTT_CA_FILE: z.string().optional(),
  /** the service's own client certificate and key, where the broker asks for one */
  MQTT_CERT_FILE: z.string().optional(),
  MQTT_KEY_FILE: z.string().optional(),
  /** false accepts a broker certificate that no trusted CA signed: for a first try only */
  MQTT_REJECT_UNAUTHORIZED: z
    .enum(['true', 'false', '1', '0'], { message: 'must be true or false' })
    .default('true')
    .transform((v) => v === 'true' || v === '1'),
  /** shard i of N (1-based, e.g. 2/4): this instance owns the sites that hash to shard i (ingest/shard.ts, docs/scaling.md) */
  SHARD: z
    .string()
    .regex(/^\d{1,4}\/\d{1,4}$/, 'must be i/N, e.g. 2/4')
    .transform((v) => {
      const [index, count] = v.split('/').map(Number) as [number, number];
      return { index, count };
    })
    .refine((s) => s.count >= 1 && s.index >= 1 && s.index <= s.count, 'i must be between 1 and N')
    .optional(),
  /** which shard also takes topics of no shard's site (unknown sites, bad topics): first, or none */
  SHARD_STRAYS: z.enum(['first', 'none']).default('first'),
  INFLUX_URL: z.url().optional(),
  INFLUX_DB: z.string().min(1).default('estate'),
  INFLUX_TOKEN: z.string().optional(),
  INFLUX_USER: z.string().optional(),
  INFLUX_PASSWORD: z.string().optional(),
  PORT: port.default(8080),
  HOST: z.string().default('127.0.0.1'),
  /** which proxies to believe about the client's address (X-Forwarded-For); unset: none */
  TRUST_PROXY: trustProxy.default(false),
  DATA_DIR: z.string().default('./data'),
  OPERATIONAL_DB: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(), // unset: SQLite at DATA_DIR/operational.db (docs/operational-store.md)
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
}).superRefine((e, ctx) => {
  const tls = /^(mqtts|wss|ssl):/.test(e.MQTT_URL ?? '');
  for (const key of ['MQTT_CA_FILE', 'MQTT_CERT_FILE', 'MQTT_KEY_FILE'] as const) {
    if (e[key] && !tls) ctx.addIssue({ code: 'custom', path: [key], message: 'is set but MQTT_URL is not an mqtts:// or wss:// URL' });
  }
  if (e.SHARD && e.SHARD.count > 1 && !e.MQTT_URL) {
    ctx.addIssue({ code: 'custom', path: ['SHARD'], message: 'shards share one broker: set MQTT_URL (each instance would otherwise start an embedded broker of its own)' });
  }
  if (Boolean(e.MQTT_CERT_FILE) !== Boolean(e.MQTT_KEY_FILE)) {
    ctx.addIssue({ code: 'custom', path: [e.MQTT_CERT_FILE ? 'MQTT_KEY_FILE' : 'MQTT_CERT_FILE'], message: 'MQTT_CERT_FILE and MQTT_KEY_FILE go together' });
  }
});

/** `publicUrlGiven`: whether PUBLIC_URL was set (links in notifications otherwise point at HOST:PORT). */
export type ServiceEnv = z.infer<typeof envSchema> & { PUBLIC_URL: string; DATA_DIR: string; publicUrlGiven: boolean };

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
    publicUrlGiven: e.PUBLIC_URL !== undefined,
  };
}

/** TLS material for the broker connection, read from the files the environment names. */
export interface MqttTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
}

export function readMqttTls(env: Pick<ServiceEnv, 'MQTT_CA_FILE' | 'MQTT_CERT_FILE' | 'MQTT_KEY_FILE' | 'MQTT_REJECT_UNAUTHORIZED'>): MqttTls {
  const read = (key: 'MQTT_CA_FILE' | 'MQTT_CERT_FILE' | 'MQTT_KEY_FILE'): Buffer | undefined => {
    const file = env[key];
    if (!file) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      throw new EnvError(`environment: ${key}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  };
  const ca = read('MQTT_CA_FILE');
  const cert = read('MQTT_CERT_FILE');
  const key = read('MQTT_KEY_FILE');
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}), rejectUnauthorized: env.MQTT_REJECT_UNAUTHORIZED };
}
