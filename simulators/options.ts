/**
 * The simulator CLI's options (simulators/README.md), parsed and checked: a mistake is one
 * `UsageError` whose message says what is wrong and what would be right.
 */
import { parseArgs } from 'node:util';
import { ADAPTER_TYPES, type AdapterType } from '../config/index.ts';

export const USAGE = `Usage: npm run simulate -- [options]
       npm run simulate -- --scenario FILE|DIR [--scenario …] [--assert] [options]

Publishes realistic readings for every device of an estate file over MQTT; with --via, the
devices behind adapters of those types report through their platforms instead; with
--scenario, plays scripted faults (simulators/scenarios/*.yaml) and, with --assert, checks
the alerts.

Options:
  --config FILE     the estate file [config/estate.yaml]
  --mqtt URL        the broker [mqtt://127.0.0.1:1883]
  --sites a,b       only these sites [all]
  --rate HZ         readings per second per device [one per device intervalSec]
  --duration 10m    stop after this long (30s, 10m, 2h) [until Ctrl-C]
  --seed N          the same seed gives the same readings [1]
  --qos 0|1         MQTT QoS of telemetry [1]
  --via TYPE[,TYPE] only the devices behind adapters of these types (onenet, ctwing,
                    chirpstack, mqtt-json, or all), each reporting as its platform does:
                    OneNET and CTWing push to --http, ChirpStack and vendors' gateways
                    publish on MQTT (the adapter's own broker, else --mqtt)
  --http URL        the service's HTTP base, for --via onenet|ctwing [http://127.0.0.1:8080]
  --scenario FILE   a scenario file, or a directory of them; may be given several times
  --assert          check each scenario's expected alerts against the service's API;
                    exit 1 naming each one missing or unexpected
  --api URL         the service [http://127.0.0.1:8080]
  --token TOKEN     bearer token for the API [$ESTATE_TOKEN, else demo-admin]
  --parallel N      scenarios on different devices at the same time [1]
  -h, --help        this text
`;

export const MAX_RATE_HZ = 100;

export interface CliOptions {
  config: string;
  mqtt: string;
  sites?: string[];
  rateHz?: number;
  durationMs?: number;
  seed: number;
  qos: 0 | 1;
  help: boolean;
  /** scenario files or directories */
  scenarios?: string[];
  assert?: boolean;
  api?: string;
  token?: string;
  parallel?: number;
  /** adapter types whose devices report through their platforms (only those devices run) */
  via?: AdapterType[];
  /** the service's HTTP base for OneNET and CTWing pushes */
  http?: string;
}

export class UsageError extends Error {
  readonly code = 'USAGE';
}

/** 30s, 10m, 2h, 1d, 500ms; a bare number is seconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd'];
  const ms = Number(m[1]) * unit;
  return ms > 0 && Number.isFinite(ms) ? ms : undefined;
}

const SPEC = {
  config: { type: 'string' },
  mqtt: { type: 'string' },
  sites: { type: 'string' },
  rate: { type: 'string' },
  duration: { type: 'string' },
  seed: { type: 'string' },
  qos: { type: 'string' },
  scenario: { type: 'string', multiple: true },
  assert: { type: 'boolean' },
  api: { type: 'string' },
  token: { type: 'string' },
  parallel: { type: 'string' },
  via: { type: 'string' },
  http: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** What a scenario file decides for itself. */
const SCENARIO_DECIDES = ['sites', 'rate', 'duration'] as const;

function parse(argv: readonly string[]) {
  return parseArgs({ args: [...argv], options: SPEC, strict: true, allowPositionals: false }).values;
}

export function parseCli(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): CliOptions {
  let values: ReturnType<typeof parse>;
  try {
    values = parse(argv);
  } catch (err) {
    const e = err as Error & { code?: string };
    const name = /'([^']*)'/.exec(e.message)?.[1]?.replace(/ <value>$/, '');
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`unknown option ${name ?? ''}`.trim());
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const hint = /ambiguous/.test(e.message) ? ` (write a value that starts with "-" as ${name ?? '--option'}=-1)` : '';
      throw new UsageError(`option ${name ?? ''} needs a value${hint}`);
    }
    if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') throw new UsageError(`unexpected argument ${name ?? ''}; every option starts with --`);
    throw new UsageError(e.message);
  }

  const opts: CliOptions = {
    config: values.config ?? 'config/estate.yaml',
    mqtt: values.mqtt ?? 'mqtt://127.0.0.1:1883',
    seed: 1,
    qos: 1,
    help: values.help === true,
  };

  if (!/^(mqtts?|wss?|tcp|ssl):\/\/[^/\s]+/.test(opts.mqtt)) {
    throw new UsageError(`--mqtt ${opts.mqtt}: expected a broker URL such as mqtt://127.0.0.1:1883 (mqtt, mqtts, ws or wss)`);
  }
  if (values.sites !== undefined) {
    const sites = values.sites.split(',').map((s) => s.trim()).filter(Boolean);
    if (sites.length === 0) throw new UsageError('--sites: expected site ids separated by commas, e.g. --sites jinfo-garden,nancheng-mansion');
    opts.sites = sites;
  }
  if (values.rate !== undefined) {
    const rate = Number(values.rate);
    if (values.rate.trim() === '' || !Number.isFinite(rate) || rate <= 0 || rate > MAX_RATE_HZ) {
      throw new UsageError(`--rate ${values.rate}: expected readings per second per device, a number above 0 and at most ${MAX_RATE_HZ} (e.g. 1 or 0.2)`);
    }
    opts.rateHz = rate;
  }
  if (values.duration !== undefined) {
    const ms = parseDuration(values.duration);
    if (ms === undefined) throw new UsageError(`--duration ${values.duration}: expected a length of time such as 30s, 10m or 2h`);
    opts.durationMs = ms;
  }
  if (values.seed !== undefined) {
    const seed = Number(values.seed);
    if (!/^-?\d+$/.test(values.seed.trim()) || !Number.isSafeInteger(seed)) throw new UsageError(`--seed ${values.seed}: expected an integer`);
    opts.seed = seed;
  }
  if (values.qos !== undefined) {
    if (values.qos !== '0' && values.qos !== '1') throw new UsageError(`--qos ${values.qos}: expected 0 or 1`);
    opts.qos = values.qos === '1' ? 1 : 0;
  }
  viaOptions(values, opts);
  return scenarioOptions(values, opts, env);
}

function viaOptions(values: ReturnType<typeof parse>, opts: CliOptions): void {
  if (values.via === undefined) {
    if (values.http !== undefined) throw new UsageError('--http goes with --via (e.g. --via onenet --http http://127.0.0.1:8080)');
    return;
  }
  if (values.scenario !== undefined) throw new UsageError('--via does not go with --scenario: a scenario\'s devices publish on MQTT');
  const names = values.via.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = names.filter((n) => n !== 'all' && !(ADAPTER_TYPES as readonly string[]).includes(n));
  if (names.length === 0 || bad.length > 0) throw new UsageError(`--via ${values.via}: expected adapter types separated by commas (${ADAPTER_TYPES.join(', ')}) or all`);
  opts.via = names.includes('all') ? [...ADAPTER_TYPES] : [...new Set(names as AdapterType[])];
  opts.http = (values.http ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/\s]+/.test(opts.http)) throw new UsageError(`--http ${values.http}: expected the service's URL such as http://127.0.0.1:8080`);
}

function scenarioOptions(values: ReturnType<typeof parse>, opts: CliOptions, env: NodeJS.ProcessEnv): CliOptions {
  const scenarios = values.scenario?.map((s) => s.trim()).filter(Boolean);
  if (!scenarios || scenarios.length === 0) {
    for (const name of ['assert', 'api', 'token', 'parallel'] as const) {
      if (values[name] !== undefined) throw new UsageError(`--${name} goes with --scenario (e.g. --scenario simulators/scenarios --assert)`);
    }
    return opts;
  }
  for (const name of SCENARIO_DECIDES) {
    if (values[name] !== undefined) throw new UsageError(`--${name} does not go with --scenario: the scenario file sets its own ${name}`);
  }
  opts.scenarios = scenarios;
  opts.assert = values.assert === true;
  opts.api = (values.api ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/\s]+/.test(opts.api)) throw new UsageError(`--api ${values.api}: expected the service's URL such as http://127.0.0.1:8080`);
  opts.token = values.token ?? (env.ESTATE_TOKEN || 'demo-admin');
  if (values.parallel !== undefined) {
    const n = Number(values.parallel);
    if (!/^\d+$/.test(values.parallel.trim()) || n < 1 || n > 64) throw new UsageError(`--parallel ${values.parallel}: expected a whole number from 1 to 64`);
    opts.parallel = n;
  } else {
    opts.parallel = 1;
  }
  return opts;
}
