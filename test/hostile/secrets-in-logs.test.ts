/**
 * No secret in any log line. The whole service runs in-process with its pino logger writing
 * to a buffer at level trace, with every secret set: ACK_SECRET, INFLUX_PASSWORD (to an
 * InfluxDB that is away, so that store errors are logged), MQTT_USERNAME/MQTT_PASSWORD,
 * bearer tokens, webhook and DingTalk secrets, a WeCom key and a DingTalk access token in
 * their URLs, and an SMTP password (to a mail server that is not there). Then: failed
 * authentication up to the limiter's block, a good token, a socket.io handshake with a bad
 * token, deliveries that fail and are retried, an ack link opened, used and forged. None of
 * the secrets (nor the tokens, nor the ack link's token) appears in the captured log, which
 * must also show that those paths were taken (so the test cannot pass by logging nothing).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { rmSync } from 'node:fs';
import pino from 'pino';
import type { MqttClient } from 'mqtt';
import { io } from 'socket.io-client';
import { parseEstate, readEnv } from '../../config/index.ts';
import { createApp, type App } from '../../app.ts';
import { startMosquitto, type Mosquitto } from '../harness/mosquitto.ts';
import { tempDir } from '../harness/service.ts';
import { device } from '../harness/publish.ts';
import { freePort, waitFor } from '../harness/ports.ts';

const S = {
  ack: 'ACKSECRET-6d1f0c7e9a4b2c85',
  influx: 'INFLUXPASS-93b1a7c4e2',
  mqtt: 'MQTTPASS-5c8e1d2a7f',
  property: 'PROPHOOK-0a9b8c7d6e',
  department: 'DEPTHOOK-1f2e3d4c5b',
  dingtalkSecret: 'SECDINGTALK-77aa88bb99',
  dingtalkToken: 'DINGTOKEN-4d5e6f7a8b',
  wecomKey: 'WECOMKEY-2b3c4d5e6f',
  smtp: 'SMTPPASS-8e7d6c5b4a',
  admin: 'TOKEN-ADMIN-3f4e5d6c7b8a',
  bad: 'TOKEN-WRONG-9a8b7c6d5e',
};
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

let mosquitto: Mosquitto;
let app: App;
let url: string;
let dataDir: string;
let dev: MqttClient;
let receiver: Server;
let hookPort: number;
const lines: string[] = [];
const deliveries: { path: string; body: { event: string; ackUrl?: string } }[] = [];

beforeAll(async () => {
  hookPort = await freePort();
  let failures = 0;
  receiver = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      deliveries.push({ path: req.url!, body: JSON.parse(raw) });
      // The first two deliveries fail, so that retries (and their logging) happen.
      res.writeHead(failures++ < 2 ? 500 : 204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(hookPort, '127.0.0.1', r));
  mosquitto = await startMosquitto();
  const smtpPort = await freePort();
  const deadInflux = await freePort();
  const estate = parseEstate(
    `sites:
  - id: jinfo-garden
    name: 金佛花园
    property:
      name: 渝南物业
      channels:
        - { type: webhook, url: "http://127.0.0.1:${hookPort}/property", secret: "\${PROPERTY_HOOK_SECRET}" }
    devices:
      - { id: HY-03, kind: hydrant, building: "3栋" }
departments:
  - id: fire-rescue
    name: 区消防救援支队
    channels:
      - { type: webhook, url: "http://127.0.0.1:${hookPort}/fire", secret: "\${DEPARTMENT_HOOK_SECRET}" }
      - { type: wecom, url: "http://127.0.0.1:${hookPort}/wecom?key=${S.wecomKey}" }
      - { type: dingtalk, url: "http://127.0.0.1:${hookPort}/dingtalk?access_token=${S.dingtalkToken}", secret: "${S.dingtalkSecret}" }
      - { type: email, to: [duty@example.cn] }
smtp: { host: 127.0.0.1, port: ${smtpPort}, user: alerts, password: "\${SMTP_PASSWORD}", from: "告警 <alerts@example.cn>" }
auth:
  tokens:
    - { name: root, role: admin, sha256: ${sha(S.admin)} }
`,
    'secrets.yaml',
    { PROPERTY_HOOK_SECRET: S.property, DEPARTMENT_HOOK_SECRET: S.department, SMTP_PASSWORD: S.smtp },
  );
  dataDir = tempDir('estate-secrets-');
  const port = await freePort();
  const env = readEnv({
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'trace',
    MQTT_URL: mosquitto.url,
    MQTT_USERNAME: 'estate-service',
    MQTT_PASSWORD: S.mqtt,
    MQTT_CLIENT_ID: `estate-secrets-${process.pid}`,
    INFLUX_URL: `http://127.0.0.1:${deadInflux}`,
    INFLUX_USER: 'estate',
    INFLUX_PASSWORD: S.influx,
    ACK_SECRET: S.ack,
    STORE_FLUSH_MS: '50',
  });
  const log = pino({ level: 'trace' }, { write: (s: string) => void lines.push(s) });
  app = createApp({ env, estate, log });
  await app.start();
  url = `http://127.0.0.1:${port}`;
  await waitFor('the service to be ready and connected to the broker', () => app.readiness().ready && app.readiness().broker.connected, 20_000);
  dev = await device(mosquitto.url);
}, 120_000);

afterAll(async () => {
  await dev?.endAsync();
  await app?.stop();
  await mosquitto?.destroy();
  await new Promise((r) => receiver?.close(r));
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('no secret in any log line', () => {
  it('auth failures, deliveries and their retries, ack links, store and mail errors log no secret', async () => {
    // Readings and a tamper event: the store (away) and every channel get work.
    await dev.publishAsync('estate/jinfo-garden/hydrant/HY-03/telemetry', JSON.stringify({ metrics: { pressure_mpa: 0.3 } }), { qos: 1 });
    await dev.publishAsync('estate/jinfo-garden/hydrant/HY-03/event', JSON.stringify({ code: 'tamper', active: true }), { qos: 1 });

    // A good token, then bad ones until the limiter blocks this address.
    expect((await fetch(`${url}/api/sites`, { headers: { authorization: `Bearer ${S.admin}` } })).status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await fetch(`${url}/api/sites`, { headers: { authorization: `Bearer ${S.bad}${i}` } })).status);
    expect(statuses.at(0)).toBe(401);
    expect(statuses.at(-1)).toBe(429);
    // A socket.io handshake with a bad token.
    const socket = io(url, { path: '/socket.io', auth: { token: S.bad }, reconnection: false, transports: ['websocket'] });
    await new Promise<void>((resolve) => {
      socket.on('connect_error', () => resolve());
      socket.on('connect', () => resolve());
    });
    socket.close();

    // The webhook delivery to fire rescue (after its retries) carries the ack link.
    const fire = await waitFor('a delivery to fire rescue with an ack link', () => deliveries.find((d) => d.path === '/fire' && d.body.ackUrl), 60_000, 100);
    const ackUrl = fire.body.ackUrl!;
    const ackToken = ackUrl.split('/ack/')[1]!;
    expect((await fetch(ackUrl)).status).toBe(200);
    // Refused before the route runs (a media type it does not take): the refusal is logged, with its URL.
    expect((await fetch(ackUrl, { method: 'POST', headers: { accept: 'application/json', 'content-type': 'application/xml' }, body: '<a/>' })).status).toBe(415);
    expect((await fetch(`${ackUrl}%ZZ`, { headers: { accept: 'application/json' } })).status).toBe(400);
    expect((await fetch(ackUrl, { method: 'POST', headers: { accept: 'application/json', 'content-type': 'application/json' }, body: JSON.stringify({ note: 'on our way' }) })).status).toBe(200);
    expect((await fetch(ackUrl, { method: 'POST', headers: { accept: 'application/json' } })).status).toBe(409);
    expect((await fetch(`${ackUrl.slice(0, -6)}AAAAAA`, { headers: { accept: 'application/json' } })).status).toBe(404);

    // The paths that could leak were taken: the store away, deliveries on every channel (one
    // fire webhook retried), the mail server refused, auth failures up to the block.
    const text = () => lines.join('');
    for (const [what, re] of [
      ['the store away', /series store is away/],
      ['a WeCom delivery', /"type":"wecom"/],
      ['a DingTalk delivery', /"type":"dingtalk"/],
      ['an e-mail delivery tried', /"type":"email"/],
      ['the limiter blocking', /TOO_MANY_REQUESTS/],
      ['the refused ack request', /"code":"FST_ERR_CTP_INVALID_MEDIA_TYPE"/],
    ] as const) {
      await waitFor(`${what} in the log`, () => re.test(text()), 60_000, 200);
    }
    await waitFor('the failed fire webhook retried', () => deliveries.filter((d) => d.path === '/fire').length >= 2, 60_000, 200);

    const log = text();
    expect(lines.length).toBeGreaterThan(20);
    const secrets = { ...S, ackToken, ackSignature: ackToken.split('.').at(-1)! };
    const found = Object.entries(secrets).filter(([, v]) => v.length >= 8 && log.includes(v));
    const where = found.map(([k, v]) => `${k}: ${lines.find((l) => l.includes(v))!.slice(0, 300)}`);
    expect(where).toEqual([]);
    // Nor any of the bad tokens tried.
    expect(log.includes(S.bad)).toBe(false);
  }, 180_000);
});
