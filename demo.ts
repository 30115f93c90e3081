/**
 * `npm run demo`: the service on its embedded defaults (`npm start`), the simulators of the
 * demo estate publishing to its broker once it is ready, and a small local webhook receiver
 * on DEMO_HOOK_PORT (the demo estate sends every department's and property company's alerts
 * there) that logs each delivery in one line, and a story of scripted incidents that start
 * within two minutes and come back every few minutes (simulators/story.ts). The devices the
 * estate puts behind adapters report through their platforms as the simulators speak them
 * (OneNET and CTWing pushing to this service's HTTP port, ChirpStack and a vendor's gateway on
 * its broker). Ctrl-C stops the service first, then the simulated devices (which would
 * otherwise be heard going offline).
 */
import { createServer, type Server } from 'node:http';
import { ADAPTER_TYPES, loadEstate, readEnv } from './config/index.ts';
import { BrokerPortError } from './ingest/index.ts';
import { createApp, type App } from './app.ts';
import { explainAndExit } from './main.ts';
import { DEMO_CYCLE_MS, DEMO_RULES, Fleet, Story } from './simulators/index.ts';

/** readings per second per simulated device: faster than the estate's intervals, so the dashboard looks alive */
const DEMO_RATE_HZ = 0.5;
const DEMO_TOKEN = 'demo-admin';
const MAX_BODY = 1024 * 1024;

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function quit(message: string, code: number): never {
  process.stderr.write(`estate-sentinel demo: ${message}\n`);
  process.exit(code);
}

function hookPort(): number {
  const raw = process.env.DEMO_HOOK_PORT ?? '';
  if (raw === '') return 9100;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) quit(`DEMO_HOOK_PORT=${raw}: expected a port number 1–65535`, 2);
  return port;
}

/** One line per delivery: where it went, what happened, and the alert's Chinese summary. */
function describeDelivery(path: string, body: string): string {
  try {
    const d = JSON.parse(body) as { event?: string; alert?: { summary?: Record<string, string>; severity?: string }; group?: { count: number; rule: string }; report?: { kind: string } };
    const what = d.alert?.summary?.['zh-CN'] ?? (d.group ? `${d.group.count} × ${d.group.rule}` : d.report ? d.report.kind : '');
    return `webhook ${path}: ${d.event ?? '(no event)'}${d.alert?.severity ? ` [${d.alert.severity}]` : ''} ${what}`.trimEnd();
  } catch {
    return `webhook ${path}: a delivery that is not JSON (${body.length} bytes)`;
  }
}

function startHookReceiver(port: number): Promise<Server> {
  const server = createServer((req, res) => {
    let body = '';
    let size = 0;
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      size += chunk.length;
      if (size <= MAX_BODY) body += chunk;
    });
    req.on('end', () => {
      if (req.method === 'POST') say(describeDelivery(req.url ?? '/', body));
      res.writeHead(req.method === 'POST' ? 204 : 405).end();
    });
  });
  return new Promise((resolve) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        quit(`port 127.0.0.1:${port} of the demo webhook receiver is already taken; pick another one, e.g. DEMO_HOOK_PORT=${port + 1} npm run demo (the demo estate's webhooks follow it)`, 2);
      }
      quit(`the demo webhook receiver cannot listen on 127.0.0.1:${port}: ${err.message}`, 1);
    });
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

async function waitReady(app: App, isStopping: () => boolean): Promise<boolean> {
  const started = Date.now();
  let told = false;
  // Ready (it can serve) and connected to the broker: the devices' first readings need the subscription.
  while (!app.readiness().ready || !app.readiness().broker.connected) {
    if (isStopping()) return false;
    if (!told && Date.now() - started > 5000) {
      told = true;
      say(`waiting for the MQTT broker at ${app.readiness().broker.url} …`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

async function demo(): Promise<void> {
  const port = hookPort();
  const hooks = await startHookReceiver(port);
  // The demo is for reading: the service logs only warnings unless LOG_LEVEL says otherwise.
  const env = readEnv({ LOG_LEVEL: 'warn', ...process.env });
  const loaded = loadEstate(env.CONFIG);
  // The story's tank is judged over a minute instead of ten, so that its incident fits (simulators/story.ts).
  const estate = { ...loaded, rules: [...loaded.rules, ...DEMO_RULES] };
  const app = createApp({ env, estate });
  const story = new Story(undefined, undefined, (line) => say(`demo: ${line}`));
  let fleet: Fleet | undefined;
  let stopping = false;
  let started = false;

  let firstSignalAt = 0;
  const shutdown = async () => {
    if (stopping) {
      // Under `npm run demo` one Ctrl-C arrives twice: from the terminal, and forwarded by npm.
      if (Date.now() - firstSignalAt < 1000) return;
      say('stopping at once');
      process.exit(130);
    }
    stopping = true;
    firstSignalAt = Date.now();
    story.stop();
    // The service first: the devices leaving after it are not heard going offline.
    say('stopping the service …');
    if (started) await app.stop();
    if (fleet) {
      say('stopping the simulators …');
      const s = await fleet.stop();
      say(`simulators: ${s.devices} devices sent ${s.sent} readings`);
    }
    hooks.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());

  try {
    await app.start();
    started = true;
  } catch (err) {
    await app.stop().catch(() => undefined);
    hooks.close();
    if (err instanceof BrokerPortError) {
      quit(
        `${err.message}\n` +
          `  To run the demo anyway, either use the broker that is running there:\n` +
          `    MQTT_URL=mqtt://127.0.0.1:${env.MQTT_PORT} npm run demo\n` +
          `  or start the embedded broker on a free port:\n` +
          `    MQTT_PORT=${env.MQTT_PORT === 1884 ? 1885 : 1884} npm run demo`,
        2,
      );
    }
    throw err;
  }

  if (!(await waitReady(app, () => stopping))) return;
  fleet = new Fleet({
    estate,
    mqttUrl: app.mqttUrl,
    rateHz: DEMO_RATE_HZ,
    seed: 1,
    log: (line) => process.stderr.write(`demo: simulators: ${line}\n`),
    hook: story.hook,
    // Devices behind adapters report through their platforms: OneNET and CTWing push to this
    // service itself (on the address it listens on; loopback when it listens on every one).
    via: ADAPTER_TYPES,
    http: `http://${['0.0.0.0', '::', ''].includes(env.HOST) ? '127.0.0.1' : env.HOST.includes(':') ? `[${env.HOST}]` : env.HOST}:${env.PORT}`,
    ...(env.MQTT_USERNAME ? { username: env.MQTT_USERNAME } : {}),
    ...(env.MQTT_PASSWORD ? { password: env.MQTT_PASSWORD } : {}),
  });
  fleet.start();
  story.start(fleet);

  const base = env.PUBLIC_URL;
  say(
    [
      '',
      'Estate Sentinel demo is running.',
      `  dashboard   ${base}   (log in with the token ${DEMO_TOKEN})`,
      `  readiness   ${base}/readyz`,
      `  metrics     ${base}/metrics`,
      `  API token   ${DEMO_TOKEN}   e.g. curl -H 'authorization: Bearer ${DEMO_TOKEN}' ${base}/api/ingest/rejects`,
      `  MQTT        ${app.mqttUrl.replace(/\/\/[^@/]*@/, '//<secret>@')}: ${fleet.devices.length} simulated devices, one reading every ${1 / DEMO_RATE_HZ} s each`,
      ...(fleet.platformDevices.length ? [`  adapters    ${fleet.platformDevices.map((d) => `${d.spec.id} via ${d.link.name}`).join(', ')}`] : []),
      `  webhooks    http://127.0.0.1:${port}: alert deliveries are logged here`,
      `  story       within two minutes: a passenger trapped, a hydrant losing pressure, a fire lane blocked, a tank's chlorine too low; they clear and come again every ${DEMO_CYCLE_MS / 60_000} min`,
      `  deliveries  ${base}/deliveries   who was told of each alert, over which channel, when`,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
}

demo().catch(explainAndExit);
