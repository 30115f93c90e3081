/**
 * One simulated device on MQTT, behaving like the real thing (docs/interfaces.md#mqtt, simulators/README.md):
 * its own client with a stable id, MQTT 3.1.1 (the embedded Aedes broker speaks nothing
 * newer), a retained `{"online": true}` on every connect and a retained `{"online": false}`
 * as its last will, telemetry at QoS 1 on a fixed grid of simulated time. While it cannot
 * reach the broker it keeps its readings in a bounded buffer and, once back, sends them as
 * JSON arrays, in order, with their own ts and seq, before going on live.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Clock } from './clock.ts';
import type { Metrics, SimDeviceSpec } from './model.ts';
import { DeviceSimulation } from './models/index.ts';
import { ReplayBuffer } from './buffer.ts';
import { Schedule } from './schedule.ts';
import { deviceSeed } from './random.ts';

export const DEFAULT_BUFFER_LIMIT = 5000;
/** after a stall (a suspended process), a device makes up at most this many readings */
const MAX_CATCH_UP = 1000;
const STOP_TIMEOUT_MS = 3000;
const ONLINE = JSON.stringify({ online: true });
const OFFLINE = JSON.stringify({ online: false });

/**
 * Where a device records, retained on the broker, the simulated time of its last reading when
 * it leaves: outside `estate/`, so the service never sees it. A later scenario run reads it
 * and goes on after it, since the service ignores readings older than those it has judged.
 */
export function clockTopic(device: string): string {
  return `simulators/clock/${device}`;
}

/** What a reading is about to be; a hook (scenarios) may change it. */
export interface PendingReading {
  readonly device: SimDeviceSpec;
  /** simulated time, epoch ms */
  readonly t: number;
  readonly seq: number;
  readonly metrics: Metrics;
}

/** Returns the metrics to send instead, `null` to send nothing this time, or nothing to keep them. */
export type ReadingHook = (reading: PendingReading) => Metrics | null | undefined | void;

export interface DeviceOptions {
  url: string;
  /** the run's seed */
  seed: number;
  clock: Clock;
  /** readings per second; default one per `intervalSec` of the estate file */
  rateHz?: number;
  qos?: 0 | 1;
  bufferLimit?: number;
  /** default `sim-{device id}` */
  clientId?: string;
  username?: string;
  password?: string;
  reconnectPeriodMs?: number;
  hook?: ReadingHook;
  /** a connection problem worth telling the user (the client keeps retrying) */
  onError?: (device: string, message: string) => void;
}

export interface DeviceStats {
  /** readings made */
  generated: number;
  /** readings handed to the broker, live or replayed */
  sent: number;
  /** of those, replayed from the buffer */
  replayed: number;
  /** telemetry messages published (a replayed array is one) */
  messages: number;
  /** readings waiting in the buffer now */
  buffered: number;
  /** readings the full buffer had to give up */
  dropped: number;
  firstSeq?: number;
  lastSeq?: number;
  /** simulated times of the first and last reading made, epoch ms */
  firstTs?: number;
  lastTs?: number;
}

export class SimulatedDevice {
  readonly topic: { telemetry: string; event: string; status: string };
  readonly schedule: Schedule;
  readonly stats: DeviceStats = { generated: 0, sent: 0, replayed: 0, messages: 0, buffered: 0, dropped: 0 };
  private readonly buffer: ReplayBuffer;
  private readonly qos: 0 | 1;
  private sim: DeviceSimulation | undefined;
  private client: MqttClient | undefined;
  private nextSlot = 0;
  private cancelTimer: (() => void) | undefined;
  private stopped = false;
  private offline = false;
  /** set once the connect handler has replayed the buffer; live readings wait until then */
  private linkUp = false;
  private eventSeq = 0;

  constructor(
    readonly spec: SimDeviceSpec,
    private readonly opts: DeviceOptions,
  ) {
    const base = `estate/${spec.site}/${spec.kind}/${spec.id}`;
    this.topic = { telemetry: `${base}/telemetry`, event: `${base}/event`, status: `${base}/status` };
    const rate = opts.rateHz ?? 1 / spec.intervalSec;
    this.schedule = Schedule.of(deviceSeed(opts.seed, spec.id), 1000 / rate);
    this.buffer = new ReplayBuffer(opts.bufferLimit ?? DEFAULT_BUFFER_LIMIT);
    this.qos = opts.qos ?? 1;
  }

  get connected(): boolean {
    return this.linkUp && !this.offline && this.client?.connected === true;
  }

  /** Connects and starts reporting from the clock's current time. */
  start(): void {
    const now = this.opts.clock.now();
    this.nextSlot = this.schedule.slotAtOrAfter(now);
    this.sim = new DeviceSimulation(this.spec, this.opts.seed, this.schedule.timeOf(this.nextSlot - 1));
    this.connect();
    this.cancelTimer = this.opts.clock.at(this.schedule.timeOf(this.nextSlot), this.wake);
  }

  private connect(): void {
    const client = mqtt.connect(this.opts.url, {
      clientId: this.opts.clientId ?? `sim-${this.spec.id}`,
      protocolVersion: 4,
      clean: true,
      keepalive: 30,
      connectTimeout: 5000,
      reconnectPeriod: this.opts.reconnectPeriodMs ?? 1000,
      queueQoSZero: false,
      will: { topic: this.topic.status, payload: Buffer.from(OFFLINE), qos: 1, retain: true },
      ...(this.opts.username ? { username: this.opts.username } : {}),
      ...(this.opts.password ? { password: this.opts.password } : {}),
    });
    this.client = client;
    client.on('connect', () => this.onConnect(client));
    client.on('close', () => {
      if (client === this.client) this.linkUp = false;
    });
    client.on('error', (err) => this.opts.onError?.(this.spec.id, err.message));
  }

  private onConnect(client: MqttClient): void {
    if (client !== this.client) return;
    client.publish(this.topic.status, ONLINE, { qos: 1, retain: true });
    // Published in this same turn, so everything live comes after the replay.
    for (const chunk of this.buffer.drain()) {
      this.send(client, chunk.payload);
      this.stats.sent += chunk.count;
      this.stats.replayed += chunk.count;
    }
    this.stats.buffered = 0;
    this.linkUp = true;
  }

  private send(client: MqttClient, payload: string): void {
    this.stats.messages++;
    client.publish(this.topic.telemetry, payload, { qos: this.qos }, (err) => {
      if (err && !this.stopped) this.opts.onError?.(this.spec.id, `publish failed: ${err.message}`);
    });
  }

  private readonly wake = (): void => {
    this.cancelTimer = undefined;
    if (this.stopped) return;
    const now = this.opts.clock.now();
    const s = this.schedule;
    if (s.timeOf(this.nextSlot) < now - MAX_CATCH_UP * s.periodMs) this.nextSlot = s.slotAtOrAfter(now - MAX_CATCH_UP * s.periodMs);
    while (s.timeOf(this.nextSlot) <= now) {
      this.report(s.timeOf(this.nextSlot), this.nextSlot);
      this.nextSlot++;
    }
    this.cancelTimer = this.opts.clock.at(s.timeOf(this.nextSlot), this.wake);
  };

  /** Makes the reading of slot `seq` at `t` and sends or buffers it. */
  private report(t: number, seq: number): void {
    let metrics = this.sim!.next(t);
    if (this.opts.hook) {
      const changed = this.opts.hook({ device: this.spec, t, seq, metrics });
      if (changed === null) return;
      if (changed) metrics = changed;
    }
    const json = JSON.stringify({ ts: t, seq, metrics });
    this.stats.generated++;
    this.stats.firstSeq ??= seq;
    this.stats.lastSeq = seq;
    this.stats.firstTs ??= t;
    this.stats.lastTs = t;
    if (this.connected) {
      this.send(this.client!, json);
      this.stats.sent++;
    } else {
      this.buffer.push(json);
      this.stats.buffered = this.buffer.size;
      this.stats.dropped = this.buffer.dropped;
    }
  }

  /**
   * Takes the device off the network (true) as if its link failed: the broker publishes its
   * last will and readings go to the buffer; false brings it back, and the buffer is replayed.
   */
  setOffline(offline: boolean): void {
    if (offline === this.offline || this.stopped) return;
    this.offline = offline;
    if (offline) {
      // Forced: no DISCONNECT packet, so the broker treats it as a lost link and sends the will.
      this.linkUp = false;
      this.client?.end(true);
      this.client = undefined;
    } else {
      this.connect();
    }
  }

  /** Raises (active true) or clears an event of the device's kind (docs/interfaces.md#payloads). */
  publishEvent(code: string, active: boolean, detail?: string): void {
    const t = Math.round(this.opts.clock.now());
    this.eventSeq = Math.max(this.eventSeq + 1, t);
    const body = { ts: t, seq: this.eventSeq, code, active, ...(detail ? { detail } : {}) };
    this.client?.publish(this.topic.event, JSON.stringify(body), { qos: this.qos });
  }

  /** Publishes any payload on one of the device's channels (malformed input for scenarios). */
  publishRaw(channel: 'telemetry' | 'event' | 'status', payload: string | Buffer): void {
    this.client?.publish(this.topic[channel], payload, { qos: this.qos });
  }

  /**
   * Stops reporting and leaves cleanly: its simulated time on the clock topic, a retained
   * `{"online": false}` (a clean disconnect does not trigger the will), then DISCONNECT once
   * in-flight messages are acked.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.cancelTimer?.();
    const client = this.client;
    if (!client) return;
    if (!client.connected) {
      client.end(true);
      return;
    }
    const leave = (async () => {
      if (this.stats.lastTs !== undefined) {
        await client.publishAsync(clockTopic(this.spec.id), JSON.stringify({ until: this.stats.lastTs }), { qos: 1, retain: true });
      }
      await client.publishAsync(this.topic.status, OFFLINE, { qos: 1, retain: true });
      await client.endAsync();
    })();
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, STOP_TIMEOUT_MS).unref());
    await Promise.race([leave.catch(() => undefined), timeout]);
    if (!client.disconnected) client.end(true);
  }
}
