/**
 * `npm run simulate -- …` (simulators/README.md): every device of the chosen sites publishes
 * realistic readings until Ctrl-C or `--duration`, then leaves cleanly and prints what it
 * sent; with `--scenario`, scripted faults and, with `--assert`, their alerts checked
 * (scenario/command.ts). A mistake in the options or the estate file is one line and exit
 * code 2; a run in which the broker was never reachable ends with exit code 1.
 */
import { ConfigError, loadEstate, type Estate } from '../config/index.ts';
import { Fleet, FleetError, selectDevices, type FleetSummary } from './fleet.ts';
import { deviceSources } from './platforms/index.ts';
import { USAGE, UsageError, parseCli, type CliOptions } from './options.ts';
import { scenarioCommand } from './scenario/command.ts';

/** A broker URL fit to print: its password, if any, shown as <secret>. */
function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:<secret>@');
}

const CONNECT_NOTICE_MS = 5000;

function fail(message: string, code = 2): number {
  process.stderr.write(`simulate: ${message}\n`);
  return code;
}

function describeRate(opts: CliOptions): string {
  return opts.rateHz !== undefined ? `${opts.rateHz} reading(s)/s per device` : "each device at its estate-file interval";
}

/** With --via: the devices (of the chosen sites) behind adapters of those types; none is a mistake. */
function viaDevices(estate: Estate, opts: CliOptions): string[] | undefined {
  if (!opts.via) return undefined;
  const sources = deviceSources(estate);
  const via = new Set(opts.via);
  const ids = selectDevices(estate, opts.sites)
    .filter((d) => {
      const type = sources.get(d.id)?.adapter.type;
      return type !== undefined && via.has(type);
    })
    .map((d) => d.id);
  if (ids.length === 0) {
    const have = [...new Set([...sources.values()].map((s) => s.adapter.type))];
    throw new FleetError(`no device${opts.sites ? ' of those sites' : ''} is behind a ${opts.via.join(' or ')} adapter in the estate file (${have.length ? `it has devices behind ${have.join(', ')}` : 'it names no adapters'})`);
  }
  return ids;
}

function describeVia(fleet: Fleet, opts: CliOptions): string {
  const by = new Map<string, number>();
  for (const d of fleet.platformDevices) by.set(d.link.name, (by.get(d.link.name) ?? 0) + 1);
  const where = [...by].map(([name, n]) => `${n} via ${name}`).join(', ');
  const http = opts.via!.some((t) => t === 'onenet' || t === 'ctwing') ? `, pushes to ${opts.http}` : '';
  return `${where}${http}`;
}

function describeSummary(s: FleetSummary, seconds: number): string {
  const lines = [
    `simulate: ${s.devices} devices, ${s.sent} readings published in ${s.messages} messages over ${seconds.toFixed(0)} s` +
      (s.replayed ? ` (${s.replayed} of them from device buffers, sent once the broker could be reached)` : ''),
  ];
  if (s.buffered) lines.push(`simulate: ${s.buffered} readings were still buffered (the broker was unreachable) and are not sent`);
  if (s.dropped) lines.push(`simulate: ${s.dropped} readings were dropped because a device's buffer was full`);
  return lines.join('\n') + '\n';
}

/** Runs until a signal or the duration ends; resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let opts: CliOptions;
  try {
    opts = parseCli(argv);
  } catch (err) {
    if (err instanceof UsageError) return fail(`${err.message} (see --help)`);
    throw err;
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (opts.scenarios) {
    // Ctrl-C during a scenario ends at once: its devices' wills tell the service they are gone.
    process.once('SIGINT', () => process.exit(130));
    return scenarioCommand(opts);
  }
  let fleet: Fleet;
  try {
    const estate = loadEstate(opts.config);
    const devices = viaDevices(estate, opts);
    fleet = new Fleet({
      estate,
      mqttUrl: opts.mqtt,
      seed: opts.seed,
      qos: opts.qos,
      log: (line) => process.stderr.write(`simulate: ${line}\n`),
      ...(opts.sites ? { sites: opts.sites } : {}),
      ...(opts.rateHz !== undefined ? { rateHz: opts.rateHz } : {}),
      ...(devices ? { devices, via: opts.via!, http: opts.http! } : {}),
    });
  } catch (err) {
    if (err instanceof ConfigError) return fail(err.message);
    if (err instanceof FleetError) return fail(err.message);
    throw err;
  }

  const started = Date.now();
  fleet.start();
  process.stdout.write(
    `simulate: ${opts.via ? `${fleet.platformDevices.length} devices behind adapters (${describeVia(fleet, opts)}; MQTT ${redactUrl(opts.mqtt)})` : `${fleet.devices.length} devices → ${redactUrl(opts.mqtt)}`}, ${describeRate(opts)}, seed ${opts.seed}, QoS ${opts.qos}` +
      (opts.durationMs ? `, for ${opts.durationMs / 1000} s` : ', until Ctrl-C') +
      '\n',
  );
  const notice = setTimeout(() => {
    const s = fleet.summary();
    if (s.connected < s.devices) {
      process.stderr.write(`simulate: ${s.connected} of ${s.devices} devices connected to ${redactUrl(opts.mqtt)} so far; the others keep retrying and buffer their readings\n`);
    }
  }, CONNECT_NOTICE_MS);

  await new Promise<void>((resolve) => {
    const timer = opts.durationMs ? setTimeout(resolve, opts.durationMs) : undefined;
    const onSignal = () => {
      if (timer) clearTimeout(timer);
      resolve();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  clearTimeout(notice);
  // A second Ctrl-C while leaving ends at once.
  process.once('SIGINT', () => process.exit(130));
  const summary = await fleet.stop();
  process.stdout.write(describeSummary(summary, (Date.now() - started) / 1000));
  // Nothing reached the broker: a CI job must not take that for a successful run.
  if (summary.generated > 0 && summary.sent === 0) return fail(opts.via ? `no reading could be delivered through the platforms (the service at ${opts.http}, the broker at ${redactUrl(opts.mqtt)})` : `no reading could be published: the broker at ${redactUrl(opts.mqtt)} was never reachable`, 1);
  return 0;
}

if (process.argv[1]?.endsWith('simulators/cli.ts') || import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      process.stderr.write(`simulate: ${err.stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
