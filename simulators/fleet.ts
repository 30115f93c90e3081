/**
 * A fleet: every device of the selected sites of an estate file, each its own simulated
 * device on MQTT, started and stopped together, with one summary of what they sent. With
 * `via`, the devices behind adapters of those types report through their platforms instead
 * (simulators/platforms/: OneNET and CTWing pushes to `http`, ChirpStack uplinks and vendors'
 * JSON on MQTT), their readings mapped back through their profiles.
 */
import type { AdapterType, Estate } from '../config/index.ts';
import { realClock, type Clock } from './clock.ts';
import { SimulatedDevice, type ReadingHook } from './device.ts';
import type { SimDeviceSpec } from './model.ts';
import { PlatformDevice, Platforms, deviceSources } from './platforms/index.ts';

export interface FleetOptions {
  estate: Estate;
  /** the broker, e.g. mqtt://127.0.0.1:1883 */
  mqttUrl: string;
  /** site ids; default all */
  sites?: readonly string[];
  /** only these devices (scenarios), of any site; default every device of the sites */
  devices?: readonly string[];
  /** readings per second per device; default one per device `intervalSec` */
  rateHz?: number;
  /** default 1 */
  seed?: number;
  qos?: 0 | 1;
  clock?: Clock;
  bufferLimit?: number;
  reconnectPeriodMs?: number;
  username?: string;
  password?: string;
  /** prepended to the device id for the MQTT client id; default `sim-` */
  clientIdPrefix?: string;
  /** changes or withholds readings before they are sent (scenarios) */
  hook?: ReadingHook;
  /** one line per noteworthy thing (the first connection error of each kind) */
  log?: (line: string) => void;
  /** devices behind adapters of these types report through their platforms; others on our MQTT [none] */
  via?: readonly AdapterType[];
  /** the service's HTTP base, where OneNET and CTWing push [http://127.0.0.1:8080] */
  http?: string;
}

export interface FleetSummary {
  devices: number;
  connected: number;
  generated: number;
  sent: number;
  replayed: number;
  messages: number;
  buffered: number;
  dropped: number;
}

/** A mistake in the fleet's options that a user made (an unknown site). */
export class FleetError extends Error {
  readonly code = 'FLEET_INVALID';
}

/**
 * The devices of the given sites (all when none), in the estate file's order; with `devices`,
 * only those (of any site).
 */
export function selectDevices(estate: Estate, sites?: readonly string[], devices?: readonly string[]): SimDeviceSpec[] {
  const known = estate.sites.map((s) => s.id);
  const unknown = (sites ?? []).filter((s) => !known.includes(s));
  if (unknown.length > 0) {
    throw new FleetError(`unknown site${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; the estate file has ${known.join(', ')}`);
  }
  if (devices) {
    const all = new Set(estate.sites.flatMap((s) => s.devices.map((d) => d.id)));
    const missing = devices.filter((d) => !all.has(d));
    if (missing.length > 0) throw new FleetError(`unknown device${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  }
  const chosen = devices ? estate.sites : sites && sites.length > 0 ? estate.sites.filter((s) => sites.includes(s.id)) : estate.sites;
  return chosen.flatMap((site) =>
    site.devices.filter((d) => !devices || devices.includes(d.id)).map((d) => ({
      id: d.id,
      kind: d.kind,
      site: site.id,
      building: d.building,
      intervalSec: d.intervalSec,
      attributes: d.attributes as Readonly<Record<string, unknown>>,
    })),
  );
}

export class Fleet {
  /** the devices on our MQTT */
  readonly devices: readonly SimulatedDevice[];
  /** the devices reporting through their adapters' platforms (`via`) */
  readonly platformDevices: readonly PlatformDevice[];
  private readonly byId: ReadonlyMap<string, SimulatedDevice>;
  private readonly reported = new Set<string>();
  private started = false;

  constructor(private readonly opts: FleetOptions) {
    if (opts.rateHz !== undefined && !(opts.rateHz > 0 && Number.isFinite(opts.rateHz))) throw new FleetError('rate must be a positive number of readings per second');
    const clock = opts.clock ?? realClock;
    const specs = selectDevices(opts.estate, opts.sites, opts.devices);
    const sources = deviceSources(opts.estate);
    const via = new Set(opts.via ?? []);
    const behind = (spec: SimDeviceSpec) => {
      const s = sources.get(spec.id);
      return s && via.has(s.adapter.type) ? s : undefined;
    };
    const platforms = new Platforms({
      http: opts.http ?? 'http://127.0.0.1:8080',
      mqttUrl: opts.mqttUrl,
      onError: (device, message) => this.onError(device, message),
      ...(opts.qos !== undefined ? { qos: opts.qos } : {}),
      ...(opts.bufferLimit !== undefined ? { bufferLimit: opts.bufferLimit } : {}),
      ...(opts.reconnectPeriodMs !== undefined ? { reconnectPeriodMs: opts.reconnectPeriodMs } : {}),
      ...(opts.username ? { username: opts.username } : {}),
      ...(opts.password ? { password: opts.password } : {}),
      ...(opts.clientIdPrefix ? { clientIdPrefix: opts.clientIdPrefix } : {}),
    });
    this.platformDevices = specs.flatMap((spec) => {
      const source = behind(spec);
      if (!source) return [];
      return [new PlatformDevice(spec, platforms.link(spec, source), { seed: opts.seed ?? 1, clock, ...(opts.rateHz !== undefined ? { rateHz: opts.rateHz } : {}), ...(opts.hook ? { hook: opts.hook } : {}) })];
    });
    this.devices = specs.filter((spec) => !behind(spec)).map(
      (spec) =>
        new SimulatedDevice(spec, {
          url: opts.mqttUrl,
          seed: opts.seed ?? 1,
          clock,
          clientId: `${opts.clientIdPrefix ?? 'sim-'}${spec.id}`,
          onError: (device, message) => this.onError(device, message),
          ...(opts.rateHz !== undefined ? { rateHz: opts.rateHz } : {}),
          ...(opts.qos !== undefined ? { qos: opts.qos } : {}),
          ...(opts.bufferLimit !== undefined ? { bufferLimit: opts.bufferLimit } : {}),
          ...(opts.reconnectPeriodMs !== undefined ? { reconnectPeriodMs: opts.reconnectPeriodMs } : {}),
          ...(opts.username ? { username: opts.username } : {}),
          ...(opts.password ? { password: opts.password } : {}),
          ...(opts.hook ? { hook: opts.hook } : {}),
        }),
    );
    this.byId = new Map(this.devices.map((d) => [d.spec.id, d]));
  }

  private onError(device: string, message: string): void {
    // Fifty devices losing one broker is one problem: say each kind of error once.
    const kind = message.replace(/\d+/g, 'N');
    if (this.reported.has(kind)) return;
    this.reported.add(kind);
    this.opts.log?.(`device ${device}: ${message} (retrying; further devices with this error are not listed)`);
  }

  device(id: string): SimulatedDevice | undefined {
    return this.byId.get(id);
  }

  platformDevice(id: string): PlatformDevice | undefined {
    return this.platformDevices.find((d) => d.spec.id === id);
  }

  private get all(): readonly (SimulatedDevice | PlatformDevice)[] {
    return [...this.devices, ...this.platformDevices];
  }

  /** Starts every device: they connect and report; until connected they buffer. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const d of this.all) d.start();
  }

  /** Resolves once every device is connected, or false after `timeoutMs`. */
  async waitConnected(timeoutMs = 30_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.all.some((d) => !d.connected)) {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 50));
    }
    return true;
  }

  /**
   * Stops every device cleanly (retained offline status, in-flight messages acked) and sums up
   * after that: a reading still in flight when stop was called counts as sent once its
   * acknowledgement came, or as dropped. `connected` is as it was before the stop.
   */
  async stop(): Promise<FleetSummary> {
    const connected = this.summary().connected;
    await Promise.all(this.all.map((d) => d.stop()));
    return { ...this.summary(), connected };
  }

  summary(): FleetSummary {
    const all = this.all;
    const s: FleetSummary = { devices: all.length, connected: 0, generated: 0, sent: 0, replayed: 0, messages: 0, buffered: 0, dropped: 0 };
    for (const d of all) {
      if (d.connected) s.connected++;
      s.generated += d.stats.generated;
      s.sent += d.stats.sent;
      s.replayed += d.stats.replayed;
      s.messages += d.stats.messages;
      s.buffered += d.stats.buffered;
      s.dropped += d.stats.dropped;
    }
    return s;
  }
}
