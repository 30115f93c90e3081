/**
 * A simulated device behind an adapter: the same model, schedule, seed and reading hook as a
 * device on our MQTT (device.ts), its readings sent through its platform's link instead.
 */
import type { Clock } from '../clock.ts';
import type { DeviceStats, ReadingHook } from '../device.ts';
import type { SimDeviceSpec } from '../model.ts';
import { DeviceSimulation } from '../models/index.ts';
import { deviceSeed } from '../random.ts';
import { Schedule } from '../schedule.ts';
import type { PlatformLink } from './link.ts';

const MAX_CATCH_UP = 1000;

export interface PlatformDeviceOptions {
  seed: number;
  clock: Clock;
  rateHz?: number;
  hook?: ReadingHook;
}

export class PlatformDevice {
  readonly schedule: Schedule;
  private readonly own = { generated: 0, firstSeq: undefined as number | undefined, lastSeq: undefined as number | undefined, firstTs: undefined as number | undefined, lastTs: undefined as number | undefined };
  private sim: DeviceSimulation | undefined;
  private nextSlot = 0;
  private cancelTimer: (() => void) | undefined;
  private stopped = false;

  constructor(
    readonly spec: SimDeviceSpec,
    readonly link: PlatformLink,
    private readonly opts: PlatformDeviceOptions,
  ) {
    const rate = opts.rateHz ?? 1 / spec.intervalSec;
    this.schedule = Schedule.of(deviceSeed(opts.seed, spec.id), 1000 / rate);
  }

  get connected(): boolean {
    return this.link.connected;
  }

  get stats(): DeviceStats {
    const l = this.link.stats;
    const o = this.own;
    return {
      generated: o.generated,
      sent: l.sent,
      replayed: l.replayed,
      messages: l.messages,
      buffered: l.buffered,
      dropped: l.dropped,
      ...(o.firstSeq !== undefined ? { firstSeq: o.firstSeq, lastSeq: o.lastSeq!, firstTs: o.firstTs!, lastTs: o.lastTs! } : {}),
    };
  }

  start(): void {
    const now = this.opts.clock.now();
    this.nextSlot = this.schedule.slotAtOrAfter(now);
    this.sim = new DeviceSimulation(this.spec, this.opts.seed, this.schedule.timeOf(this.nextSlot - 1));
    this.link.start();
    this.cancelTimer = this.opts.clock.at(this.schedule.timeOf(this.nextSlot), this.wake);
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

  private report(t: number, seq: number): void {
    let metrics = this.sim!.next(t);
    if (this.opts.hook) {
      const changed = this.opts.hook({ device: this.spec, t, seq, metrics });
      if (changed === null) return;
      if (changed) metrics = changed;
    }
    const o = this.own;
    o.generated++;
    o.firstSeq ??= seq;
    o.lastSeq = seq;
    o.firstTs ??= t;
    o.lastTs = t;
    this.link.send({ t, seq, metrics });
  }

  /** Raises (active true) or clears an event, as the device's platform carries one (if it can). */
  publishEvent(code: string, active: boolean, detail?: string): void {
    this.link.event(code, active, Math.round(this.opts.clock.now()), detail);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.cancelTimer?.();
    await this.link.stop();
  }
}
