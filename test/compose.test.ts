/**
 * docker-compose.yml and what it mounts, checked by reading them (there is no Docker engine
 * here): every mounted file exists, the service gets every setting it needs to reach the
 * other containers, every long-running container has ports and a healthcheck, the image
 * runs as a non-root user with a healthcheck, the simulators sit under their profile,
 * Prometheus scrapes the service with the rules of deploy/prometheus/ and Grafana reads that
 * Prometheus, and Mosquitto's configuration keeps the backlog and uses the mounted password
 * file and ACL — which a real Mosquitto then enforces.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, resolve } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadEstate, readEnv } from '../config/index.ts';
import { MAX_VALUES_PER_TAG } from '../storage/index.ts';
import { PROVISIONING_DIR } from '../dashboard/grafana/generate.ts';
import { DASHBOARDS_PATH, PROMETHEUS_URL } from '../dashboard/grafana/datasource.ts';
import { ACL_FILE, SERVICE_USER, SIMULATOR_USER, renderAcl } from '../scripts/mosquitto-acl.ts';
import { startMosquitto, type Mosquitto } from './harness/mosquitto.ts';
import { sleep } from './harness/ports.ts';
import { ROOT } from './harness/service.ts';

/** What `docker compose` does to `${VAR}`, `${VAR:-default}`, `${VAR:?error}` and `$$` (the other forms are not used). */
function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}|\$(\w+)/g, (m, name?: string, op?: string, arg?: string, bare?: string) => {
    if (m === '$$') return '$';
    const key = name ?? bare!;
    const value = env[key];
    const unset = value === undefined || (op?.startsWith(':') === true && value === '');
    if (op?.endsWith('?') && unset) throw new Error(`required variable ${key} is missing a value: ${arg}`);
    if (op?.endsWith('-') && unset) return arg ?? '';
    return value ?? '';
  });
}

/** Interpolates every string of the parsed file, as compose does (comments are not interpolated). */
function interpolateAll<T>(value: T, env: Record<string, string>): T {
  if (typeof value === 'string') return interpolate(value, env) as T;
  if (Array.isArray(value)) return value.map((v) => interpolateAll(v, env)) as T;
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateAll(v, env)])) as T;
  return value;
}

/** The secrets docs/deploy.md asks for in .env. */
const SECRETS = {
  MQTT_PASSWORD: 'mqtt-secret',
  INFLUX_ADMIN_PASSWORD: 'influx-admin-secret',
  INFLUX_PASSWORD: 'influx-secret',
  GRAFANA_INFLUX_PASSWORD: 'grafana-influx-secret',
  GRAFANA_ADMIN_PASSWORD: 'grafana-admin-secret',
};

interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string } | string;
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  healthcheck?: { test: string[] | string };
  profiles?: string[];
  depends_on?: Record<string, { condition: string }>;
}

const RAW = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
const compose = interpolateAll(parse(RAW), SECRETS) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const services = compose.services;

interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
  named: boolean;
}

function mounts(s: Service): Mount[] {
  return (s.volumes ?? []).map((v) => {
    const [source, target, mode] = v.split(':') as [string, string, string?];
    return { source, target, readOnly: mode === 'ro', named: !source.startsWith('.') && !source.startsWith('/') };
  });
}

/** The repository path a container path comes from through a bind mount (file or directory). */
function hostPath(s: Service, containerPath: string): string | undefined {
  for (const m of mounts(s)) {
    if (m.named) continue;
    if (containerPath === m.target) return resolve(ROOT, m.source);
    if (containerPath.startsWith(`${m.target}/`)) return resolve(ROOT, m.source, posix.relative(m.target, containerPath));
  }
  return undefined;
}

function namedVolumeAt(s: Service, containerPath: string): string | undefined {
  const dir = containerPath.replace(/\/+$/, '');
  return mounts(s).find((m) => m.named && (dir === m.target || dir.startsWith(`${m.target}/`)))?.source;
}

function words(x: string[] | string | undefined): string {
  return Array.isArray(x) ? x.join(' ') : (x ?? '');
}

/** `key value` lines of a Mosquitto configuration file. */
function confValues(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^\s*([a-z_]+)\s+(.*?)\s*$/.exec(line);
    if (!m || line.trim().startsWith('#')) continue;
    out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}

const MOSQUITTO_CONF = join(ROOT, 'deploy/mosquitto/mosquitto.conf');
const conf = confValues(readFileSync(MOSQUITTO_CONF, 'utf8'));
const one = (key: string) => conf.get(key)?.at(-1);

describe('docker-compose.yml', () => {
  it('needs every secret from the environment and commits none', () => {
    for (const name of Object.keys(SECRETS)) {
      const { [name]: _missing, ...rest } = SECRETS as Record<string, string>;
      expect(() => interpolateAll(parse(RAW), rest), `${name} unset`).toThrow(new RegExp(`required variable ${name}`));
    }
    for (const value of Object.values(SECRETS)) expect(RAW).not.toContain(value);
    // deploy/env.example, the template of .env, names every variable the file reads.
    const example = readFileSync(join(ROOT, 'deploy/env.example'), 'utf8');
    const names = new Set([...RAW.replace(/^\s*#.*$/gm, '').matchAll(/(?<!\$)\$\{(\w+)/g)].map((m) => m[1]!));
    for (const name of names) expect(example, `deploy/env.example lacks ${name}`).toMatch(new RegExp(`^${name}=`, 'm'));
    expect(example).not.toMatch(/PASSWORD=\S/);
    expect(RAW).not.toMatch(/^\s*\w*PASSWORD:\s*[^$\s]/m);
  });

  it('has the broker, the database, Grafana, Prometheus, the service and the simulators, on pinned images', () => {
    expect(Object.keys(services).sort()).toEqual(['estate-sentinel', 'grafana', 'influxdb', 'mosquitto', 'prometheus', 'simulators']);
    expect(services.prometheus!.image).toMatch(/^prom\/prometheus:v\d+\.\d+\.\d+$/);
    expect(services.mosquitto!.image).toMatch(/^eclipse-mosquitto:2(\.\d+)*$/);
    expect(services.influxdb!.image).toMatch(/^influxdb:1\.\d+/);
    expect(services.grafana!.image).toMatch(/^grafana\/grafana(-oss)?:\d+\.\d+/);
  });

  it('mounts only files and directories that exist in the repository, and only declared named volumes', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const m of mounts(s)) {
        if (m.named) expect(compose.volumes, `${name}: volume ${m.source}`).toHaveProperty(m.source);
        else expect(existsSync(resolve(ROOT, m.source)), `${name}: ${m.source}`).toBe(true);
      }
    }
  });

  it('gives the service every setting it needs to reach the other containers, and the service accepts them', () => {
    const s = services['estate-sentinel']!;
    const env = s.environment!;
    for (const key of ['CONFIG', 'MQTT_URL', 'INFLUX_URL', 'INFLUX_DB', 'DATA_DIR', 'HOST', 'PORT', 'PUBLIC_URL']) expect(env[key], key).toBeTruthy();
    const parsed = readEnv(env);
    expect(parsed.HOST).toBe('0.0.0.0');

    // The estate file is mounted, and it loads.
    const config = hostPath(s, env.CONFIG!);
    expect(config, `CONFIG ${env.CONFIG} is not mounted`).toBeDefined();
    expect(() => loadEstate(config!, {})).not.toThrow();

    // The broker: the mosquitto service on its listener, with the user the ACL names and the broker's password.
    const mqttUrl = new URL(env.MQTT_URL!);
    expect(mqttUrl.hostname).toBe('mosquitto');
    expect(mqttUrl.port || '1883').toBe(one('listener')!.split(/\s+/)[0]);
    expect(one('allow_anonymous')).toBe('false');
    expect(env.MQTT_USERNAME).toBe(SERVICE_USER);
    expect(env.MQTT_USERNAME).toBe(services.mosquitto!.environment!.MQTT_USERNAME);
    expect(env.MQTT_PASSWORD).toBe(services.mosquitto!.environment!.MQTT_PASSWORD);

    // The database: the influxdb service, its database, the user it creates for the service.
    const influx = services.influxdb!.environment!;
    const influxUrl = new URL(env.INFLUX_URL!);
    expect(influxUrl.hostname).toBe('influxdb');
    expect(influxUrl.port).toBe('8086');
    expect(env.INFLUX_DB).toBe(influx.INFLUXDB_DB);
    expect(influx.INFLUXDB_HTTP_AUTH_ENABLED).toBe('true');
    expect(env.INFLUX_USER).toBe(influx.INFLUXDB_USER);
    expect(env.INFLUX_PASSWORD).toBe(influx.INFLUXDB_USER_PASSWORD);

    // Its data survives the container.
    expect(namedVolumeAt(s, env.DATA_DIR!), `DATA_DIR ${env.DATA_DIR}`).toBeDefined();
    expect(Object.keys(s.depends_on ?? {}).sort()).toEqual(['influxdb', 'mosquitto']);
  });

  it("lifts InfluxDB's cap of 100,000 values per tag: a city's estate has more devices of one kind", () => {
    expect(MAX_VALUES_PER_TAG.env).toBe('INFLUXDB_DATA_MAX_VALUES_PER_TAG');
    expect(services.influxdb!.environment![MAX_VALUES_PER_TAG.env]).toBe(String(MAX_VALUES_PER_TAG.unlimited));
  });

  it('publishes ports and has a healthcheck for every long-running container', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.profiles) continue;
      expect(s.ports?.length, `${name}: ports`).toBeGreaterThan(0);
      expect(words(s.healthcheck?.test), `${name}: healthcheck`).not.toBe('');
    }
    const port = services['estate-sentinel']!.environment!.PORT!;
    expect(services['estate-sentinel']!.ports).toContain(`${port}:${port}`);
    expect(words(services['estate-sentinel']!.healthcheck!.test)).toContain('/readyz');
  });

  it('runs the simulators under the profile "simulators", against the mosquitto service', () => {
    const sim = services.simulators!;
    expect(sim.profiles).toEqual(['simulators']);
    const cmd = `${words(sim.entrypoint)} ${words(sim.command)}`;
    expect(cmd).toContain('npm run simulate --');
    expect(cmd).toMatch(/--mqtt "?mqtt:\/\/[^@\s]*@?mosquitto:1883/);
    expect(cmd).toContain(`mqtt://${SIMULATOR_USER}:`);
    expect(hostPath(sim, /--config (\S+)/.exec(cmd)![1]!)).toBeDefined();
  });

  it('mounts the generated Grafana provisioning, whose data source and dashboards Grafana can find', () => {
    const g = services.grafana!;
    const provisioning = mounts(g).find((m) => m.target === '/etc/grafana/provisioning');
    expect(provisioning).toMatchObject({ readOnly: true });
    expect(resolve(ROOT, provisioning!.source)).toBe(PROVISIONING_DIR);
    const dashboards = hostPath(g, DASHBOARDS_PATH)!;
    expect(statSync(dashboards).isDirectory()).toBe(true);
    expect(existsSync(join(dashboards, 'estate-overview.json'))).toBe(true);
    expect(hostPath(g, g.environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH!)).toBe(join(dashboards, 'estate-overview.json'));

    const datasource = readFileSync(join(PROVISIONING_DIR, 'datasources/estate-influxdb.yaml'), 'utf8');
    expect(new URL(/url: (\S+)/.exec(datasource)![1]!).hostname).toBe('influxdb');
    for (const [, name] of datasource.replace(/^\s*#.*$/gm, '').matchAll(/\$\{?(\w+)\}?/g)) expect(g.environment, `Grafana's environment lacks ${name}`).toHaveProperty(name!);
    expect(g.environment!.GRAFANA_INFLUX_USER).toBe(services.influxdb!.environment!.INFLUXDB_READ_USER);
    expect(g.environment!.GRAFANA_INFLUX_PASSWORD).toBe(services.influxdb!.environment!.INFLUXDB_READ_USER_PASSWORD);
  });
});

describe('Prometheus in the stack', () => {
  const p = services.prometheus!;
  const flag = (name: string) => (p.command as string[]).find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const configFile = hostPath(p, flag('config.file')!);
  const config = parse(readFileSync(configFile!, 'utf8')) as { rule_files: string[]; scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[] };

  it('runs the mounted deploy/prometheus/prometheus.yml, read-only, its data on a named volume', () => {
    expect(configFile).toBe(join(ROOT, 'deploy/prometheus/prometheus.yml'));
    expect(mounts(p).find((m) => m.target === '/etc/prometheus')).toMatchObject({ source: './deploy/prometheus', readOnly: true });
    expect(namedVolumeAt(p, flag('storage.tsdb.path')!)).toBeDefined();
    // Rule files are relative to the configuration's directory: each is a mounted file.
    for (const f of config.rule_files) expect(existsSync(hostPath(p, posix.join(posix.dirname(flag('config.file')!), f))!), f).toBe(true);
    expect(words(p.healthcheck?.test)).toContain('/-/ready');
    expect(p.depends_on).toBeUndefined();
  });

  it('scrapes the estate-sentinel service on its port and /metrics, which the demo estate leaves public', () => {
    const job = config.scrape_configs.find((j) => j.job_name === 'estate-sentinel')!;
    const env = services['estate-sentinel']!.environment!;
    expect(job.static_configs.flatMap((c) => c.targets)).toEqual([`estate-sentinel:${env.PORT}`]);
    expect(job.metrics_path ?? '/metrics').toBe('/metrics');
    const estate = loadEstate(hostPath(services['estate-sentinel']!, env.CONFIG!)!, {});
    expect(estate.auth.protectMetrics).toBe(false);
  });

  it('is the Prometheus data source Grafana is given', () => {
    const url = new URL(PROMETHEUS_URL);
    expect(services[url.hostname]).toBe(p);
    expect(p.ports!.some((port) => port.endsWith(`:${url.port}`))).toBe(true);
    const datasource = readFileSync(join(PROVISIONING_DIR, 'datasources/estate-prometheus.yaml'), 'utf8');
    expect(datasource).toContain(`url: ${PROMETHEUS_URL}`);
  });
});

interface Stage {
  from: string;
  instructions: { op: string; args: string }[];
}

/** The stages of a Dockerfile, each with its instructions (continuation lines joined). */
function dockerStages(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [op, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (op!.toUpperCase() === 'FROM') stages.push({ from: args, instructions: [] });
    else stages.at(-1)?.instructions.push({ op: op!.toUpperCase(), args });
  }
  return stages;
}

describe('the service image', () => {
  const build = services['estate-sentinel']!.build as { context: string; dockerfile?: string };
  const dockerfile = join(ROOT, build.context, build.dockerfile ?? 'Dockerfile');
  const stages = dockerStages(readFileSync(dockerfile, 'utf8'));
  const final = stages.at(-1)!;
  const last = (op: string) => final.instructions.filter((i) => i.op === op).at(-1)?.args;

  it('is built in stages on node:24-bookworm-slim (Node 24 LTS): npm ci and npm run build, then production dependencies only', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.from).toMatch(/^node:24-bookworm-slim\b/);
    const buildRuns = stages[0]!.instructions.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');
    expect(buildRuns).toContain('npm ci');
    expect(buildRuns).toContain('npm run build');
    expect(buildRuns).toMatch(/npm prune --omit=dev|npm ci --omit=dev/);
    expect(final.instructions.some((i) => i.op === 'RUN' && /npm (ci|install)(?!.*--omit=dev)/.test(i.args))).toBe(false);
  });

  it('runs as a non-root user, with a healthcheck on /readyz, listening on every interface', () => {
    const user = last('USER');
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(last('HEALTHCHECK')).toContain('/readyz');
    expect(last('HEALTHCHECK')).not.toContain('curl');
    const env = final.instructions.filter((i) => i.op === 'ENV').map((i) => i.args).join(' ');
    expect(env).toMatch(/HOST=0\.0\.0\.0/);
    expect(env).toMatch(/DATA_DIR=\/data/);
    expect(final.instructions.find((i) => i.op === 'VOLUME')?.args).toContain('/data');
    expect(last('EXPOSE')).toBe('8080');
    expect(last('CMD')).toContain('dist/main.js');
  });

  it('has a .dockerignore that keeps node_modules, build output and local data out of the context', () => {
    const ignore = readFileSync(join(ROOT, build.context, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const entry of ['node_modules', 'dist', 'data', '.git', '.env']) expect(ignore).toContain(entry);
  });
});

describe('Mosquitto configuration', () => {
  const m = services.mosquitto!;
  const startScript = hostPath(m, words(m.command).split(' ').at(-1)!);
  const start = startScript ? readFileSync(startScript, 'utf8') : '';

  it('is the mounted deploy/mosquitto/mosquitto.conf, started through the mounted start.sh', () => {
    expect(hostPath(m, '/mosquitto/config/mosquitto.conf')).toBe(MOSQUITTO_CONF);
    expect(startScript).toBe(join(ROOT, 'deploy/mosquitto/start.sh'));
    expect(start).toMatch(/exec \S*mosquitto -c \/mosquitto\/config\/mosquitto\.conf/);
    expect(m.ports).toContain(`${one('listener')}:${one('listener')}`);
  });

  it('keeps the backlog: persistence on a named volume and a queue limit of 0 (none) or sized', () => {
    expect(one('persistence')).toBe('true');
    expect(namedVolumeAt(m, one('persistence_location')!)).toBeDefined();
    expect(one('max_queued_messages')).toMatch(/^\d+$/);
    const limit = Number(one('max_queued_messages'));
    expect(limit === 0 || limit >= 100_000, `max_queued_messages ${limit}`).toBe(true);
  });

  it('uses a password file on a named volume and the mounted, generated ACL', () => {
    const passwd = one('password_file')!;
    expect(namedVolumeAt(m, posix.dirname(passwd)), `password_file ${passwd}`).toBeDefined();
    expect(start).toContain(passwd);
    const acl = one('acl_file')!;
    // Mounted directly, or copied by start.sh from a mounted file (so that only Mosquitto's user can read it).
    const direct = hostPath(m, acl);
    const run = /^RUN=(\S+)$/m.exec(start)?.[1];
    const copy = /^cp (\S+) (\S+)$/m.exec(start);
    const copied = copy?.[2]!.replace(/"/g, '').replace('$RUN', run ?? '$RUN');
    const source = direct ?? (copy && copied === acl ? hostPath(m, copy[1]!) : undefined);
    expect(source, `acl_file ${acl}`).toBe(ACL_FILE);
  });

  it('the committed ACL is the one `npm run mosquitto-acl` makes from the demo estate', () => {
    expect(readFileSync(ACL_FILE, 'utf8')).toBe(renderAcl(loadEstate(join(ROOT, 'config/estate.yaml'), {}), 'config/estate.yaml'));
  });
});

/** The ChirpStack application of the demo estate's adapter lora. */
const LORA_APP = '5d3c0b7e-9a41-4c1f-8e0b-2f4b6c1d7a90';

describe('a real Mosquitto with deploy/mosquitto/mosquitto.conf and the generated ACL', () => {
  let broker: Mosquitto;
  let dir: string;
  const clients: MqttClient[] = [];
  const PASSWORDS: Record<string, string> = { [SERVICE_USER]: 'service-pw', 'HY-03': 'hy03-pw', [SIMULATOR_USER]: 'sim-pw', lora: 'lora-pw' };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'estate-compose-'));
    const passwd = join(dir, 'passwd');
    writeFileSync(passwd, '', { mode: 0o600 });
    for (const [user, pw] of Object.entries(PASSWORDS)) execFileSync(process.env.MOSQUITTO_PASSWD_BIN ?? 'mosquitto_passwd', ['-b', passwd, user, pw]);
    const acl = join(dir, 'acl');
    writeFileSync(acl, readFileSync(ACL_FILE), { mode: 0o600 });
    // The committed settings, with this test's port and paths (the harness adds its listener and user).
    const settings = readFileSync(MOSQUITTO_CONF, 'utf8')
      .split('\n')
      .filter((l) => !/^\s*(listener|per_listener_settings|protocol|log_dest)\b/.test(l))
      .join('\n')
      .replace('/mosquitto/passwd/passwd', passwd)
      .replace('/mosquitto/run/acl', acl)
      .replace('/mosquitto/data/', `${dir}/`);
    broker = await startMosquitto({ extra: settings });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await broker?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function login(username: string | undefined, password: string | undefined): Promise<MqttClient> {
    const c = await mqtt.connectAsync(broker.url, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 3000,
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
    });
    clients.push(c);
    return c;
  }

  it('lets a device publish on its own topics only, the service read them, and nobody in without a password', async () => {
    await expect(login(undefined, undefined)).rejects.toThrow(/Not authorized|not authori[sz]ed/i);
    await expect(login('HY-03', 'wrong')).rejects.toThrow(/Not authorized|Bad User Name or Password|not authori[sz]ed/i);

    const service = await login(SERVICE_USER, PASSWORDS[SERVICE_USER]);
    const got: string[] = [];
    service.on('message', (topic) => got.push(topic));
    await service.subscribeAsync('estate/#', { qos: 1 });

    const hy03 = await login('HY-03', PASSWORDS['HY-03']);
    await hy03.publishAsync('estate/jinfo-garden/hydrant/HY-03/telemetry', '{"metrics":{"pressure_mpa":0.3}}', { qos: 1 });
    await hy03.publishAsync('estate/jinfo-garden/hydrant/HY-04/telemetry', '{"metrics":{"pressure_mpa":0.3}}', { qos: 1 });
    await hy03.publishAsync('estate/jinfo-garden/elevator/HY-03/telemetry', '{"metrics":{"floor":1}}', { qos: 1 });

    const sim = await login(SIMULATOR_USER, PASSWORDS[SIMULATOR_USER]);
    await sim.publishAsync('estate/nancheng-mansion/water/NC-WS-01/telemetry', '{"metrics":{"ph":7.2}}', { qos: 1 });

    const deadline = Date.now() + 3000;
    while (got.length < 2 && Date.now() < deadline) await sleep(20);
    await sleep(200);
    expect(got.sort()).toEqual(['estate/jinfo-garden/hydrant/HY-03/telemetry', 'estate/nancheng-mansion/water/NC-WS-01/telemetry']);
  });

  it("lets the service pass on a push on the topics of the devices behind OneNET and CTWing (SHARD), not on an MQTT device's", async () => {
    const service = await login(SERVICE_USER, PASSWORDS[SERVICE_USER]);
    const got: string[] = [];
    service.on('message', (topic) => got.push(topic));
    await service.subscribeAsync(['estate/#', `application/${LORA_APP}/device/+/event/+`], { qos: 1 });
    // What a shard does with another shard's part of a push (MqttSubscriber.forward(): QoS 1, the device's own topic).
    await service.publishAsync('estate/jinfo-garden/hydrant/HY-NB-1/telemetry', '{"metrics":{"pressure_mpa":0.3}}', { qos: 1 });
    await service.publishAsync('estate/jinfo-garden/water/WS-NB-1/status', '{"online":true}', { qos: 1 });
    // Not a device that speaks MQTT itself, nor one behind ChirpStack.
    await service.publishAsync('estate/jinfo-garden/hydrant/HY-03/telemetry', '{"metrics":{"pressure_mpa":0.3}}', { qos: 1 });
    await service.publishAsync('estate/jinfo-garden/firelane/FL-LR-1/telemetry', '{"metrics":{"occupied":false}}', { qos: 1 });
    // ChirpStack's integration, logged in as its adapter: its own topics only.
    const lora = await login('lora', PASSWORDS.lora);
    await lora.publishAsync(`application/${LORA_APP}/device/a840414b71846c1f/event/up`, '{"fCnt":1}', { qos: 1 });
    await lora.publishAsync('estate/jinfo-garden/firelane/FL-LR-1/telemetry', '{"metrics":{"occupied":false}}', { qos: 1 });

    const deadline = Date.now() + 3000;
    while (got.length < 3 && Date.now() < deadline) await sleep(20);
    await sleep(200);
    expect(got.sort()).toEqual([`application/${LORA_APP}/device/a840414b71846c1f/event/up`, 'estate/jinfo-garden/hydrant/HY-NB-1/telemetry', 'estate/jinfo-garden/water/WS-NB-1/status']);
  });
});
