/**
 * MQTT security against a real Mosquitto (docs/mqtt-security.md): a TLS listener with a
 * throwaway CA made by openssl, logins from a password file made by mosquitto_passwd, and the
 * ACL that `npm run mosquitto-acl` generates from the estate file.
 *
 * - the service connects over mqtts:// with its own username and password and stores a reading
 *   that a device published with its own credentials;
 * - a device publishing on another device's topic is refused by the broker: it never reaches
 *   the service;
 * - a wrong password or a CA that did not sign the broker's certificate leaves the service
 *   not connected (still ready: docs/interfaces.md#probes-and-metrics), and /readyz says why with a code;
 * - neither the service's password nor any device's secret lands in a log line or in DATA_DIR;
 * - the devices' password file that `npm run mosquitto-acl -- --secrets … --passwd …` writes is
 *   one Mosquitto takes (the devices here log in with it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { EnvError, parseEstate, readEnv } from '../config/index.ts';
import { createApp, type App } from '../app.ts';
import { parseSecrets, passwdEntry, renderAcl, renderPasswd } from '../scripts/mosquitto-acl.ts';
import { hydrantEstate, hydrantId } from './harness/estates.ts';
import { startMosquitto, type Mosquitto } from './harness/mosquitto.ts';
import { freePort, waitFor } from './harness/ports.ts';
import { removeDir, tempDir } from './harness/service.ts';

const SITE = 'tls-garden';
const estate = hydrantEstate(3, SITE);
const SERVICE_PASSWORD = 'svc-Pa55-' + Math.random().toString(36).slice(2);
const deviceSecret = (i: number) => `dev-${i}-secret-` + Math.random().toString(36).slice(2);
const DEVICE_SECRETS = [deviceSecret(0), deviceSecret(1), deviceSecret(2)];

let pki: string;
let broker: Mosquitto;
const running: { app: App; dataDir: string }[] = [];

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: pki, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA and a key pair for it, in `name`.crt and `name`.key. */
function makeCa(name: string): void {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=Estate test ${name}`, '-keyout', `${name}.key`, '-out', `${name}.crt`]);
}

beforeAll(async () => {
  pki = tempDir('estate-tls-');
  makeCa('ca');
  makeCa('other-ca');
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr']);
  writeFileSync(join(pki, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext', '-out', 'server.crt']);

  // The password file holds hashes only: the devices' from the installer's secrets file, the
  // service's added with mosquitto_passwd. The service never sees it.
  const passwd = join(pki, 'passwd');
  writeFileSync(passwd, renderPasswd(estate, new Map(DEVICE_SECRETS.map((secret, i) => [hydrantId(i), secret]))));
  execFileSync('mosquitto_passwd', ['-b', passwd, 'estate-sentinel', SERVICE_PASSWORD]);
  writeFileSync(join(pki, 'acl'), renderAcl(estate, 'test estate'));

  // Not `durable`: with max_queued_messages 0, Mosquitto 2.0.11 stops acknowledging a client's
  // QoS 1 publishes after the ACL refused one of them (docs/mqtt-security.md); the default limit does not.
  broker = await startMosquitto({
    tls: { cafile: join(pki, 'ca.crt'), certfile: join(pki, 'server.crt'), keyfile: join(pki, 'server.key') },
    auth: { passwordFile: passwd, aclFile: join(pki, 'acl') },
  });
}, 60_000);

afterAll(async () => {
  for (const r of running) {
    await r.app.stop().catch(() => undefined);
    removeDir(r.dataDir);
  }
  await broker?.destroy();
  if (pki) removeDir(pki);
});

/** The service in-process with its log lines kept; not waiting for it to be ready. */
async function service(env: Record<string, string>): Promise<{ app: App; url: string; dataDir: string; logs: string[] }> {
  const dataDir = tempDir();
  const port = await freePort();
  const logs: string[] = [];
  const e = readEnv({
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    MQTT_URL: broker.url,
    MQTT_CLIENT_ID: `estate-tls-${port}`,
    MQTT_USERNAME: 'estate-sentinel',
    MQTT_CA_FILE: join(pki, 'ca.crt'),
    STORE_FLUSH_MS: '50',
    LOG_LEVEL: 'info',
    ...env,
  });
  const app = createApp({ env: e, estate, log: pino({ level: 'info' }, { write: (line: string) => void logs.push(line) }) });
  running.push({ app, dataDir });
  await app.start();
  return { app, url: `http://127.0.0.1:${port}`, dataDir, logs };
}

function deviceClient(i: number, secret = DEVICE_SECRETS[i]!): Promise<MqttClient> {
  return mqtt.connectAsync(broker.url, {
    clientId: `dev-${hydrantId(i)}`,
    username: hydrantId(i),
    password: secret,
    ca: readFileSync(join(pki, 'ca.crt')),
    protocolVersion: 5,
    reconnectPeriod: 0,
  });
}

const topic = (i: number) => `estate/${SITE}/hydrant/${hydrantId(i)}/telemetry`;

/** Every file under a directory, whole. */
function filesUnder(dir: string): Buffer[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile())
    .map((f) => readFileSync(f));
}

describe('MQTT over TLS with logins and the generated ACL', () => {
  it('stores what a device publishes with its own credentials; a device cannot publish as another', async () => {
    const svc = await service({ MQTT_PASSWORD: SERVICE_PASSWORD });
    await waitFor('the service to be connected over mqtts://', () => svc.app.readiness().ready && svc.app.readiness().broker.connected, 20_000);
    const ready = await fetch(`${svc.url}/readyz`);
    expect(ready.status).toBe(200);
    expect((await ready.json()).broker).toMatchObject({ connected: true, url: broker.url });

    const dev = await deviceClient(0);
    const ts = Date.now();
    // Device 0 poses as device 1: Mosquitto's ACL refuses it (MQTT 5: PUBACK "not authorized").
    const forged = await dev.publishAsync(topic(1), JSON.stringify({ ts, seq: 1, metrics: { pressure_mpa: 0.01 } }), { qos: 1 }).then(
      (packet) => (packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0,
      (err: { code?: number }) => err.code ?? -1,
    );
    expect(forged).toBe(135);
    // Then its own reading, on the same connection: once it is stored, the forged one had its chance.
    await dev.publishAsync(topic(0), JSON.stringify({ ts: ts + 1, seq: 1, metrics: { pressure_mpa: 0.31 } }), { qos: 1 });
    await waitFor('the reading to be stored', async () => (await svc.app.store.count('hydrant', 'pressure_mpa', { device: hydrantId(0) })) === 1, 20_000);
    await dev.endAsync();

    expect(await svc.app.store.count('hydrant', 'pressure_mpa', { device: hydrantId(1) })).toBe(0);
    expect(svc.app.pipeline.counters.messages).toBe(1);
    const rejects = await (await fetch(`${svc.url}/api/ingest/rejects`, { headers: { authorization: 'Bearer demo-admin' } })).json();
    expect(rejects.items).toEqual([]);

    // A device with a wrong secret is not let in at all.
    await expect(deviceClient(2, 'not-the-secret')).rejects.toMatchObject({ code: 135 });

    // Secrets: the service's own password and the devices' never reach its logs or DATA_DIR.
    await svc.app.stop();
    running.splice(running.findIndex((r) => r.app === svc.app), 1);
    const logText = svc.logs.join('');
    expect(logText).toContain('connected to the MQTT broker');
    const files = filesUnder(svc.dataDir);
    expect(files.length).toBeGreaterThan(0);
    for (const secret of [SERVICE_PASSWORD, ...DEVICE_SECRETS]) {
      expect(logText.includes(secret), 'a secret in the log').toBe(false);
      expect(files.some((f) => f.includes(secret)), 'a secret in DATA_DIR').toBe(false);
    }
    removeDir(svc.dataDir);
  }, 60_000);

  it('a wrong password: not connected (ready all the same), and /readyz says the broker refused the login', async () => {
    const wrong = 'wrong-' + SERVICE_PASSWORD;
    const started = Date.now();
    const svc = await service({ MQTT_PASSWORD: wrong });
    const error = await waitFor('the refusal', () => (svc.app.readiness().broker as { error?: { code: string; message: string } }).error, 20_000);
    expect(error.code).toBe('MQTT_NOT_AUTHORIZED');
    const r = await fetch(`${svc.url}/readyz`);
    expect(r.status).toBe(200);
    const body = await r.json();
    expect(body.ready).toBe(true);
    expect(body.broker.connected).toBe(false);
    expect(body.broker.error.code).toBe('MQTT_NOT_AUTHORIZED');
    expect(body.broker.error.message).toMatch(/MQTT_USERNAME and MQTT_PASSWORD/);
    expect(JSON.stringify(body)).not.toContain(wrong);
    expect(svc.logs.join('')).toContain('MQTT_NOT_AUTHORIZED');
    // One line per reason, not one per retry (it retries every second).
    await waitFor('a few retries', () => svc.logs.filter((l) => l.includes('"msg":"MQTT broker not reachable yet')).length === 1 && Date.now() > started + 3000, 10_000);
    expect(svc.logs.filter((l) => l.includes('MQTT_NOT_AUTHORIZED')).length).toBe(1);
    expect(svc.logs.join('')).not.toContain(wrong);
    // The operators hear of it too: the broker_down system alert, after its grace.
    await waitFor('the broker_down system alert', () => [...svc.app.alerts.book.all()].some((a) => a.rule === 'broker_down' && a.state === 'firing'), 40_000, 250);
  }, 90_000);

  it('a CA that did not sign the broker certificate: refused, and /readyz says so', async () => {
    const svc = await service({ MQTT_PASSWORD: SERVICE_PASSWORD, MQTT_CA_FILE: join(pki, 'other-ca.crt') });
    const error = await waitFor('the TLS failure', () => (svc.app.readiness().broker as { error?: { code: string; message: string } }).error, 20_000);
    expect(error.code).toBe('MQTT_TLS_UNTRUSTED');
    const r = await fetch(`${svc.url}/readyz`);
    expect(r.status).toBe(200);
    const body = await r.json();
    expect(body.broker.error).toMatchObject({ code: 'MQTT_TLS_UNTRUSTED' });
    expect(body.broker.error.message).toMatch(/MQTT_CA_FILE/);
  }, 60_000);

  it('refuses to start on a TLS file it cannot read, naming the variable and the file', () => {
    const env = readEnv({ MQTT_URL: broker.url, MQTT_CA_FILE: join(pki, 'missing.crt'), DATA_DIR: tempDir() });
    running.push({ app: { stop: async () => {} } as App, dataDir: env.DATA_DIR });
    expect(() => createApp({ env, estate })).toThrow(EnvError);
    expect(() => createApp({ env, estate })).toThrow(/MQTT_CA_FILE: cannot read .*missing\.crt \(ENOENT\)/);
    expect(() => readEnv({ MQTT_URL: 'mqtt://127.0.0.1:1883', MQTT_CA_FILE: 'ca.crt' })).toThrow(/MQTT_CA_FILE: is set but MQTT_URL is not an mqtts:/);
    expect(() => readEnv({ MQTT_URL: broker.url, MQTT_CERT_FILE: 'c.pem' })).toThrow(/MQTT_CERT_FILE and MQTT_KEY_FILE go together/);
  });
});

describe('the devices\' password file', () => {
  it('hashes as Mosquitto 2 does: PBKDF2-SHA512 with the salt and iterations in the entry', () => {
    // An entry that mosquitto_passwd 2.0.11 wrote for "alice" / "secret".
    const salt = Buffer.from('r0P5kPno603JD9xh', 'base64');
    expect(passwdEntry('alice', 'secret', salt, 101)).toBe('alice:$7$101$r0P5kPno603JD9xh$hWJtCgVm5Uu7upa458rMDEVkcAhWBl1V6VW+Fp99cegU3qdvLYP+6ZclG7AgP/ku9BkpMQGeFtS6RL7PymRlDg==');
    expect(passwdEntry('alice', 'secret')).toMatch(/^alice:\$7\$1000\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/);
  });

  it('needs a secret for every device, takes none for an unknown id, and never writes a secret', () => {
    const secrets = parseSecrets(`# installer's file\n${hydrantId(0)} aaaaaaaaaaaaaaaa-0\n\n${hydrantId(1)}   bbbbbbbbbbbbbbbb-1\n`, 'secrets.txt');
    expect(() => renderPasswd(estate, secrets)).toThrow(`no secret for ${hydrantId(2)}`);
    secrets.set(hydrantId(2), 'short');
    secrets.set('NOT-A-DEVICE', 'cccccccccccccccccccc');
    expect(() => renderPasswd(estate, secrets)).toThrow(/neither a device of the estate on its MQTT interface nor an adapter on its broker: NOT-A-DEVICE; secrets shorter than 16 characters: H0002/);
    secrets.delete('NOT-A-DEVICE');
    secrets.set(hydrantId(2), 'cccccccccccccccccccc');
    const text = renderPasswd(estate, secrets);
    expect(text.trim().split('\n').map((l) => l.split(':')[0])).toEqual([0, 1, 2].map(hydrantId));
    for (const secret of secrets.values()) expect(text).not.toContain(secret);
    expect(() => parseSecrets('H0000\n', 'secrets.txt')).toThrow('secrets.txt line 1: expected "<device id> <secret>"');
    expect(() => parseSecrets('H0000 aaaaaaaaaaaaaaaa\nH0000 bbbbbbbbbbbbbbbb\n', 's')).toThrow('s line 2: a second secret for H0000');
  });

  it('needs none for a device behind an adapter (its platform logs in, or pushes), and one for the platform of an adapter on this broker', () => {
    const behind = parseEstate(
      `
sites:
  - id: s1
    name: 金佛花园
    property: { name: 渝南物业, channels: [ { type: webhook, url: "http://127.0.0.1:1/property" } ] }
    devices:
      - { id: HY-1, kind: hydrant, building: "1栋" }
      - { id: HY-NB, kind: hydrant, building: "2栋", source: { adapter: cmcc, id: "592310945" } }
      - { id: FL-LR, kind: firelane, building: "3栋", source: { adapter: lora, id: "a840414b71846c1f" }, profile: lane }
departments:
  - { id: fire-rescue, name: 区消防救援支队, channels: [ { type: webhook, url: "http://127.0.0.1:1/fire" } ] }
adapters:
  - { id: cmcc, type: onenet, token: "demo-onenet-token" }
  - { id: lora, type: chirpstack, application: "5d3c0b7e-9a41-4c1f-8e0b-2f4b6c1d7a90" }
profiles:
  lane: { kind: firelane, metrics: { occupied: occupied } }
`,
      'behind.yaml',
      {},
    );
    expect(() => renderPasswd(behind, new Map([['HY-1', 'aaaaaaaaaaaaaaaaaaaa']]))).toThrow('no secret for lora');
    expect(() => renderPasswd(behind, new Map([['HY-1', 'aaaaaaaaaaaaaaaaaaaa'], ['lora', 'bbbbbbbbbbbbbbbbbbbb'], ['HY-NB', 'cccccccccccccccccccc']]))).toThrow(': HY-NB');
    const text = renderPasswd(behind, new Map([['HY-1', 'aaaaaaaaaaaaaaaaaaaa'], ['lora', 'bbbbbbbbbbbbbbbbbbbb']]));
    expect(text.trim().split('\n').map((l) => l.split(':')[0])).toEqual(['HY-1', 'lora']);
    const acl = renderAcl(behind, 'behind.yaml');
    expect(acl).toContain('user HY-1\n');
    expect(acl).not.toMatch(/^user (HY-NB|FL-LR)$/m);
    expect(acl).toContain('user lora\ntopic write application/5d3c0b7e-9a41-4c1f-8e0b-2f4b6c1d7a90/device/+/event/+');
  });
});
