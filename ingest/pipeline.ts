/**
 * The ingest pipeline: message in, readings out. Per message: decode and validate, drop
 * duplicates, encode for the store. Per event-loop turn: append everything accepted to the
 * spool in one write, journal the seqs, then release the turn's QoS 1 acknowledgements and
 * tell the other parts (DESIGN.md, "at-least-once, end to end").
 */
import type { Registry, RegisteredDevice } from '../config/index.ts';
import type { Bus, DeviceEvent, DeviceStatus, Reading } from '../bus.ts';
import type { Point, SeriesStore, Spool, SeriesWriter } from '../storage/index.ts';
import { Decoder, type Reject } from './decode.ts';
import type { SeqDedup } from './dedup.ts';
import type { RejectLog } from './rejects.ts';
import { DeviceStates } from './device-state.ts';

export interface IngestCounters {
  messages: number;
  accepted: number;
  duplicates: number;
}

export interface PipelineDeps {
  registry: Registry;
  store: Pick<SeriesStore, 'encode'>;
  spool: Spool;
  writer: SeriesWriter;
  dedup: SeqDedup;
  rejects: RejectLog;
  bus: Bus;
  log: { error(o: object, msg: string): void; warn(o: object, msg: string): void };
  /** called once per turn with how many messages and accepted records it held */
  onTurn?: (messages: number, accepted: number, duplicates: number) => void;
  now?: () => number;
}

/** One frozen tags object per device and measurement, so the encoder can cache its escaping. */
interface DeviceTags {
  reading: Readonly<Record<string, string>>;
  status: Readonly<Record<string, string>>;
  events: Map<string, Readonly<Record<string, string>>>;
}

function makeTags(d: RegisteredDevice): DeviceTags {
  return {
    reading: Object.freeze({ site: d.site, building: d.building, device: d.id }),
    status: Object.freeze({ site: d.site, device: d.id, kind: d.kind }),
    events: new Map(),
  };
}

export class IngestPipeline {
  readonly decoder: Decoder;
  readonly devices: DeviceStates;
  readonly counters: IngestCounters = { messages: 0, accepted: 0, duplicates: 0 };
  private readonly tags = new WeakMap<RegisteredDevice, DeviceTags>();
  private readonly now: () => number;

  // The current turn.
  private turnOpen = false;
  private lines: string[] = [];
  private readings: Reading[] = [];
  private events: DeviceEvent[] = [];
  private statuses: DeviceStatus[] = [];
  private turnMessages = 0;
  private turnDuplicates = 0;
  /** run after the spool write (release acks); on a failed write, `abort` runs instead */
  private afterFlush: (() => void)[] = [];
  private onAbort: (() => void)[] = [];

  constructor(private readonly deps: PipelineDeps) {
    this.decoder = new Decoder(deps.registry);
    this.devices = new DeviceStates(deps.registry);
    this.now = deps.now ?? Date.now;
  }

  /**
   * Takes one message. `hold` runs once this turn's records are durable in the spool, or
   * `abort` if they could not be written (the caller then must not acknowledge the turn).
   */
  handle(topic: string, payload: Buffer, turn?: { hold: () => void; abort: () => void }): void {
    if (!this.turnOpen) {
      this.turnOpen = true;
      queueMicrotask(() => this.flush());
    }
    if (turn) {
      this.afterFlush.push(turn.hold);
      this.onAbort.push(turn.abort);
    }
    this.turnMessages++;
    const now = this.now();
    const d = this.decoder.decode(topic, payload, now);
    for (const r of d.rejects) this.deps.rejects.add(r, now);
    if (d.unregistered) this.deps.rejects.unknownDevice(d.unregistered, topic, now, d.rejects[0]?.detail ?? '');
    const device = d.device;
    if (!device) return;
    this.devices.seen(device.id, now);
    let tags = this.tags.get(device);
    if (!tags) this.tags.set(device, (tags = makeTags(device)));
    for (const r of d.readings) {
      if (r.seq !== undefined && !this.deps.dedup.check(r.device, r.seq, now, r.fp)) {
        this.turnDuplicates++;
        continue;
      }
      if (this.push(topic, payload, { measurement: r.kind, tags: tags.reading, fields: r.metrics, ts: r.ts }, now)) {
        this.readings.push(r);
      }
    }
    for (const e of d.events) {
      if (e.seq !== undefined && !this.deps.dedup.check(`${e.device}#event`, e.seq, now, e.fp)) {
        this.turnDuplicates++;
        continue;
      }
      let eventTags = tags.events.get(e.code);
      if (!eventTags) {
        eventTags = Object.freeze({ site: device.site, building: device.building, device: device.id, kind: device.kind, code: e.code });
        tags.events.set(e.code, eventTags);
      }
      if (this.push(topic, payload, { measurement: 'events', tags: eventTags, fields: { active: e.active, detail: e.detail }, ts: e.ts }, now)) {
        this.events.push(e);
      }
    }
    for (const s of d.statuses) {
      if (this.push(topic, payload, { measurement: 'status', tags: tags.status, fields: { online: s.online }, ts: s.ts }, now)) {
        this.statuses.push(s);
      }
    }
  }

  /** Encodes a point for this turn's spool write; a point the store cannot carry is a reject. */
  private push(topic: string, payload: Buffer, p: Point, now: number): boolean {
    let line: string;
    try {
      line = this.deps.store.encode(p);
    } catch (err) {
      const reject: Reject = { reason: 'store_rejected', topic, detail: (err as Error).message, payload: payload.toString('utf8').slice(0, 16384) };
      this.deps.rejects.add(reject, now);
      return false;
    }
    this.lines.push(line);
    return true;
  }

  /** End of the turn: make it durable, then release acks and tell the other parts. */
  flush(): void {
    this.turnOpen = false;
    const lines = this.lines;
    const readings = this.readings;
    const events = this.events;
    const statuses = this.statuses;
    const release = this.afterFlush;
    const abort = this.onAbort;
    const messages = this.turnMessages;
    const duplicates = this.turnDuplicates;
    this.lines = [];
    this.readings = [];
    this.events = [];
    this.statuses = [];
    this.afterFlush = [];
    this.onAbort = [];
    this.turnMessages = 0;
    this.turnDuplicates = 0;

    if (lines.length > 0) {
      try {
        const chunk = this.deps.spool.append(lines);
        this.deps.writer.push(chunk);
        this.deps.dedup.endTurn();
      } catch (err) {
        this.deps.log.error({ err }, 'spool write failed: the turn is not acknowledged and will be redelivered');
        this.deps.dedup.rollback();
        for (const a of abort) a();
        return;
      }
    } else {
      this.deps.dedup.endTurn();
    }
    for (const r of release) r();
    this.counters.messages += messages;
    this.counters.accepted += lines.length;
    this.counters.duplicates += duplicates;
    this.deps.onTurn?.(messages, lines.length, duplicates);

    const bus = this.deps.bus;
    for (const s of statuses) {
      this.devices.status(s);
      bus.emit('status', s);
    }
    for (const r of readings) bus.emit('reading', r);
    for (const e of events) bus.emit('event', e);
  }
}
