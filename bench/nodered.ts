/**
 * Node-RED as the peer of `npm run bench -- --peer nodered` (bench/peer-nodered.ts): installed
 * from the npm registry at the versions pinned here into os.tmpdir()/estate-peer-nodered-<versions>
 * (a later run finds it there), its hydrants flow, and Node-RED started as a user starts it,
 * `node red.js --userDir DIR --port PORT`, with its own default settings.js, bound to 127.0.0.1.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { METRICS, readEnv } from '../config/index.ts';
import { freePort, sleep } from '../test/harness/ports.ts';
import { tempDir } from '../test/harness/service.ts';

/** Node-RED 4, as issue 13 names it: the newest 4.x on the registry (its latest is 5.0.7) */
export const NODE_RED_VERSION = '4.1.15';
export const INFLUXDB_NODES_VERSION = '0.7.0';
export const HYDRANT_TOPIC = 'estate/+/hydrant/+/telemetry';
/** Node-RED's own database in the shared InfluxDB */
export const PEER_DB = 'nodered';
/** the service's write batch by default (STORE_BATCH_SIZE, STORE_FLUSH_MS), given to the join */
const { STORE_BATCH_SIZE, STORE_FLUSH_MS } = readEnv({});

export interface NodeRedInstall {
  dir: string;
  redJs: string;
  nodeRed: string;
  influxNodes: string;
}

/** npm with the Node that runs the bench, without the update check. */
function npmEnv(): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`, npm_config_update_notifier: 'false' };
}

/** Node-RED and the InfluxDB nodes in os.tmpdir(), installed from the registry unless already there. */
export function installNodeRed(log: (l: string) => void = console.log): NodeRedInstall {
  const nodeRed = NODE_RED_VERSION;
  const influxNodes = INFLUXDB_NODES_VERSION;
  const dir = join(tmpdir(), `estate-peer-nodered-${nodeRed}-${influxNodes}`);
  const install: NodeRedInstall = { dir, redJs: join(dir, 'node_modules/node-red/red.js'), nodeRed, influxNodes };
  const version = (pkg: string) => {
    try {
      return (JSON.parse(readFileSync(join(dir, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      return undefined;
    }
  };
  if (version('node-red') === nodeRed && version('node-red-contrib-influxdb') === influxNodes) return install;
  // Into a folder of its own first, renamed when complete: an interrupted install is not taken for one.
  const partial = `${dir}.partial-${process.pid}`;
  log(`installing node-red@${nodeRed} and node-red-contrib-influxdb@${influxNodes} from the npm registry into ${dir}…`);
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefix', partial, `node-red@${nodeRed}`, `node-red-contrib-influxdb@${influxNodes}`], {
    cwd: tmpdir(),
    env: npmEnv(),
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) {
    rmSync(partial, { recursive: true, force: true });
    throw new Error(`npm install of Node-RED failed (exit ${r.status})`);
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(partial, dir);
  return install;
}

/**
 * The function node's code: the reading judged as ingest/decode.ts judges a hydrant's telemetry,
 * in kind (no estate file, so no registry and no de-duplication), from the catalog's own ranges.
 * `countReceived` also counts every message that reaches it in the node's context.
 */
export function hydrantFunction(countReceived = true): string {
  const cases = [...METRICS.hydrant.values()].map((m) =>
    m.type === 'boolean'
      ? `    case ${JSON.stringify(m.name)}: ok = typeof v === "boolean"; break;`
      : `    case ${JSON.stringify(m.name)}: ok = typeof v === "number" && v >= ${m.min} && v <= ${m.max}${m.integer ? ' && Number.isInteger(v)' : ''}; break;`,
  );
  return [
    ...(countReceived ? ['context.set("received", (context.get("received") || 0) + 1);'] : []),
    '// estate/<site>/hydrant/<device>/telemetry',
    'const t = msg.topic.split("/");',
    'if (t.length !== 5 || t[0] !== "estate" || t[1] === "" || t[2] !== "hydrant" || t[3] === "" || t[4] !== "telemetry") return null;',
    'const p = msg.payload;',
    'if (p === null || typeof p !== "object" || Array.isArray(p)) return null;',
    'const m = p.metrics;',
    'if (m === null || typeof m !== "object" || Array.isArray(m)) return null;',
    'const now = Date.now();',
    '// epoch ms, at most 5 min ahead and 30 days back (NaN and Infinity fail both)',
    'if (typeof p.ts !== "number" || !(p.ts <= now + 300000 && p.ts >= now - 2592000000)) return null;',
    'const fields = {};',
    'let kept = 0;',
    'for (const k in m) {',
    '  const v = m[k];',
    '  let ok;',
    '  switch (k) {',
    ...cases,
    '    default: ok = false;',
    '  }',
    '  if (ok) {',
    '    fields[k] = v;',
    '    kept++;',
    '  }',
    '}',
    'if (kept === 0) return null;',
    'msg.payload = { measurement: "hydrant", tags: { site: t[1], device: t[3] }, fields, timestamp: Math.round(p.ts) };',
    'return msg;',
  ].join('\n');
}

export interface FlowOptions {
  brokerUrl: string;
  influxUrl: string;
  qos: 0 | 1;
  database?: string;
  /** the subscription (HYDRANT_TOPIC); another, to check that a broken flow lands nothing */
  topic?: string;
  countReceived?: boolean;
}

/** flows.json: mqtt in → function → join → influxdb batch, with its broker and InfluxDB config nodes. */
export function hydrantFlow(o: FlowOptions): object[] {
  const broker = new URL(o.brokerUrl);
  const influx = new URL(o.influxUrl);
  return [
    { id: 'hydrants', type: 'tab', label: 'hydrants to InfluxDB', disabled: false, info: '' },
    // As the editor makes a new one: only the broker's address is ours.
    { id: 'broker-1', type: 'mqtt-broker', name: 'mosquitto', broker: broker.hostname, port: Number(broker.port), clientid: '', autoConnect: true, usetls: false, protocolVersion: 4, keepalive: 60, cleansession: true, autoUnsubscribe: true, birthTopic: '', closeTopic: '', willTopic: '' },
    { id: 'influxdb-1', type: 'influxdb', hostname: influx.hostname, port: Number(influx.port), protocol: 'http', database: o.database ?? PEER_DB, name: '', usetls: false, tls: '', influxdbVersion: '1.x', url: '', timeout: '10', rejectUnauthorized: true },
    { id: 'in', type: 'mqtt in', z: 'hydrants', name: 'telemetry', topic: o.topic ?? HYDRANT_TOPIC, qos: String(o.qos), datatype: 'json', broker: 'broker-1', nl: false, rap: true, rh: 0, inputs: 0, x: 120, y: 80, wires: [['judge']] },
    { id: 'judge', type: 'function', z: 'hydrants', name: 'reading to point', func: hydrantFunction(o.countReceived ?? true), outputs: 1, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [], x: 320, y: 80, wires: [['batch']] },
    // The editor's join in its manual mode: an array of msg.payload, sent after `count` parts or `timeout` s after the first.
    { id: 'batch', type: 'join', z: 'hydrants', name: 'batch', mode: 'custom', build: 'array', property: 'payload', propertyType: 'msg', key: 'topic', joiner: '\\n', joinerType: 'str', useparts: false, accumulate: false, timeout: String(STORE_FLUSH_MS / 1000), count: String(STORE_BATCH_SIZE), reduceRight: false, x: 500, y: 80, wires: [['store']] },
    { id: 'store', type: 'influxdb batch', z: 'hydrants', influxdb: 'influxdb-1', precision: 'ms', retentionPolicy: '', name: 'store', database: '', precisionV18FluxV20: 'ms', retentionPolicyV18Flux: '', org: '', bucket: '', x: 660, y: 80, wires: [] },
  ];
}


/** Waits for a child's exit, SIGKILL after `ms`. */
export async function ended(child: ChildProcess, signal: NodeJS.Signals, ms = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exit = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  if (await Promise.race([exit.then(() => true), sleep(ms).then(() => false)])) return;
  child.kill('SIGKILL');
  await exit;
}

export interface NodeRedStarted {
  child: ChildProcess;
  url: string;
  /** Node-RED's log, the last 200 lines */
  log: string[];
  /** its errors and warnings once its flows started (the first 100) */
  problems: string[];
  stop(): Promise<void>;
}

/** Node-RED on a free port of 127.0.0.1 with this flow, in a temp user dir; resolves once its broker node has connected. */
export async function startNodeRed(install: NodeRedInstall, flow: object[], timeoutMs = 60_000): Promise<NodeRedStarted> {
  const userDir = tempDir('estate-peer-nodered-user-');
  const port = await freePort();
  writeFileSync(join(userDir, 'flows.json'), JSON.stringify(flow, null, 1));
  writeFileSync(
    join(userDir, 'settings.js'),
    `// Node-RED's default settings (the file a fresh install copies here), bound to 127.0.0.1\n` +
      `module.exports = { ...require(${JSON.stringify(join(install.dir, 'node_modules/node-red/settings.js'))}), uiHost: '127.0.0.1', uiPort: ${port} };\n`,
  );
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.PORT;
  const child = spawn(process.execPath, [install.redJs, '--userDir', userDir, '--port', String(port)], { cwd: userDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  const problems: string[] = [];
  let connected = false;
  let flowsStarted = false;
  let partial = '';
  const onData = (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    for (const l of lines) {
      if (/\[mqtt-broker:[^\]]*\] Connected to broker/.test(l)) connected = true;
      if (flowsStarted && /\[(error|warn)\]/.test(l) && problems.length < 100) problems.push(l);
      if (/\[info\] Started flows/.test(l)) flowsStarted = true;
      log.push(l);
      if (log.length > 200) log.shift();
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const started: NodeRedStarted = {
    child,
    url: `http://127.0.0.1:${port}`,
    log,
    problems,
    async stop() {
      await ended(child, 'SIGTERM');
      rmSync(userDir, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + timeoutMs;
  while (!connected) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const why = child.exitCode !== null ? `exited ${child.exitCode}` : `not connected to the broker within ${timeoutMs / 1000} s`;
      await started.stop();
      throw new Error(`Node-RED ${why}: ${log.filter((l) => /\[(error|warn)\]/.test(l)).slice(-3).join(' | ')}`);
    }
    await sleep(50);
  }
  return started;
}
