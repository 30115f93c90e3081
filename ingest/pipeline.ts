/**
 * The ingest pipeline: message in, readings out. Per message: decode and validate, drop
 * duplicates, encode for the store. Per event-loop turn: append everything accepted to the
 * spool in one write, tell the other parts, have the turn judged (its alert changes
 * committed with their deliveries), then journal its seqs and release its QoS 1
 * acknowledgements (docs/ingest.md, "Acknowledged once judged"). A turn that causes no alert
 * change, nearly every one, is released in the same event-loop turn; one that does waits for
 * its commit, and later turns do not wait for it.
 */
import type { Registry, RegisteredDevice } from '../config/index.ts';
import type { Bus, DeviceEvent, DeviceStatus, Reading } from '../bus.ts';
import type { Point, SeriesStore, Spool, SeriesWriter } from '../storage/index.ts';
import { Decoder, type Reject } from './decode.ts';
import type { SeqDedup } from './dedup.ts';
import type { RejectLog } from './rejects.ts';
import { DeviceStates } from './device-state.ts';
import { crashPoint } from '../crash-points.ts';
import type { AdapterOrigin } from './adapters/types.ts';

/** What one turn accepted, for the judge. */
export interface JudgedTurn {
  readings: readonly Reading[];
  events: readonly DeviceEvent[];
  statuses: readonly DeviceStatus[];
}

/**
 * The acknowledgements of one turn: `settled` once it is durable and judged (release the
 * PUBACKs, answer the push 200), `aborted` if it could not be made durable (acknowledge nothing:
 * the sender sends it again).
 */
export class AckTurn {
  private settledFns: ((judged: boolean) => void)[] = [];
  private abortedFns: (() => void)[] = [];

  onSettled(fn: (judged: boolean) => void): void {
    this.settledFns.push(fn);
  }

  onAborted(fn: () => void): void {
    this.abortedFns.push(fn);
  }

  settle(judged: boolean): void {
    for (const fn of this.settledFns) fn(judged);
  }

  abort(): void {
    for (const fn of this.abortedFns) fn();
  }
}

export interface IngestCounters {
  messages: number;
  accepted: number;
  duplicates: number;
  /** online statuses recorded for offline devices that sent telemetry or an event */
  backOnline: number;
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
  onTurn?: (messages: number, accepted: number, duplicates: number, backOnline: number) => void;
  /**
   * Judges a turn (the alert engine): a promise that resolves once every alert change it
   * causes is committed, or undefined when it causes none.
   */
  judge?: (turn: JudgedTurn) => Promise<void> | undefined;
  now?: () => number;
}

/*
 * A point's tags (docs/interfaces.md#stored-series), made per message with their keys in sorted
 * order, the order the line encoder writes them in (storage/influx/line-protocol.ts). Nothing is
 * kept per device: a tags object and tag-set string each were about 240 bytes a device at
 * 100,000 devices (docs/performance.md, "City scale").
 */
function readingTags(d: RegisteredDevice): Readonly<Record<string, string>> {
  return { building: d.building, device: d.id, site: d.site };
}

function statusTags(d: RegisteredDevice): Readonly<Record<string, string>> {
  return { device: d.id, kind: d.kind, site: d.site };
}

function eventTags(d: RegisteredDevice, code: string): Readonly<Record<string, string>> {
  return { building: d.building, code, device: d.id, kind: d.kind, site: d.site };
}

export class IngestPipeline {
  readonly decoder: Decoder;
  readonly devices: DeviceStates;
  readonly counters: IngestCounters = { messages: 0, accepted: 0, duplicates: 0, backOnline: 0 };
  private readonly now: () => number;

  // The current turn.
  private turnOpen = false;
  private lines: string[] = [];
  private readings: Reading[] = [];
  private events: DeviceEvent[] = [];
  private statuses: DeviceStatus[] = [];
  private turnMessages = 0;
  private turnDuplicates = 0;
  /** devices found offline that this turn's messages bring online again */
  private backOnline = new Set<string>();
  private turnBackOnline = 0;
  private turn = new AckTurn();

  constructor(private readonly deps: PipelineDeps) {
    this.decoder = new Decoder(deps.registry);
    this.devices = new DeviceStates(deps.registry);
    this.now = deps.now ?? Date.now;
  }

  /**
   * Takes one message into the current turn, and returns that turn: its `settled` callbacks run
   * once its records are durable in the spool and judged, `aborted` ones if they could not be
   * written (the caller then must not acknowledge it).
   */
  handle(topic: string, payload: Buffer, origin?: AdapterOrigin): AckTurn {
    if (!this.turnOpen) {
      this.turnOpen = true;
      queueMicrotask(() => this.flush());
    }
    this.take(topic, payload, origin);
    return this.turn;
  }

  /** The spool at its size cap (SPOOL_MAX_BYTES): nothing more is taken until it drains (an adapter's push is refused 503). */
  get spoolFull(): boolean {
    return this.deps.spool.full;
  }

  /** The current turn, opened if none is: what an adapter's push waits for when all it carried was refused. */
  current(): AckTurn {
    if (!this.turnOpen) {
      this.turnOpen = true;
      queueMicrotask(() => this.flush());
    }
    return this.turn;
  }

  private take(topic: string, payload: Buffer, origin?: AdapterOrigin): void {
    this.turnMessages++;
    const now = this.now();
    const d = this.decoder.decode(topic, payload, now);
    // What an adapter translated is refused naming the adapter, with the platform's raw body (docs/adapters.md).
    for (const r of d.rejects) this.deps.rejects.add(origin ? { ...r, topic: origin.topic, detail: `adapter ${origin.adapter}: ${r.detail}`, payload: origin.raw.slice(0, 16384) } : r, now);
    if (d.unregistered) this.deps.rejects.unknownDevice(d.unregistered, topic, now, d.rejects[0]?.detail ?? '');
    const device = d.device;
    if (!device) return;
    for (const r of d.readings) {
      if (r.seq !== undefined && !this.deps.dedup.check(r.device, r.seq, now, r.fp, r.sent)) {
        this.turnDuplicates++;
        continue;
      }
      if (this.push(topic, payload, { measurement: r.kind, tags: readingTags(device), fields: r.metrics, ts: r.ts }, now)) {
        this.readings.push(r);
      }
    }
    for (const e of d.events) {
      if (e.seq !== undefined && !this.deps.dedup.check(`${e.device}#event`, e.seq, now, e.fp, e.sent)) {
        this.turnDuplicates++;
        continue;
      }
      if (this.push(topic, payload, { measurement: 'events', tags: eventTags(device, e.code), fields: { active: e.active, detail: e.detail }, ts: e.ts }, now)) {
        this.events.push(e);
      }
    }
    for (const s of d.statuses) {
      if (this.push(topic, payload, { measurement: 'status', tags: statusTags(device), fields: { online: s.online }, ts: s.ts }, now)) {
        this.statuses.push(s);
        this.backOnline.delete(device.id);
      }
    }
    // Any telemetry or event from a device marked offline brings it online (docs/interfaces.md#payloads):
    // recorded as its status, as if it had said {"online": true}.
    if ((d.readings.length > 0 || d.events.length > 0) && d.statuses.length === 0 && this.devices.offline(device.index) && !this.backOnline.has(device.id)) {
      const s: DeviceStatus = { site: device.site, kind: device.kind, device: device.id, ts: now, online: true };
      if (this.push(topic, payload, { measurement: 'status', tags: statusTags(device), fields: { online: true }, ts: now }, now)) {
        this.statuses.push(s);
        this.backOnline.add(device.id);
        this.turnBackOnline++;
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

  /** End of the turn: make it durable, tell the other parts, have it judged, then release its acks. */
  flush(): void {
    this.turnOpen = false;
    const lines = this.lines;
    const readings = this.readings;
    const events = this.events;
    const statuses = this.statuses;
    const turn = this.turn;
    const messages = this.turnMessages;
    const duplicates = this.turnDuplicates;
    const backOnline = this.turnBackOnline;
    this.turnBackOnline = 0;
    this.lines = [];
    this.readings = [];
    this.events = [];
    this.statuses = [];
    this.turn = new AckTurn();
    this.turnMessages = 0;
    this.turnDuplicates = 0;
    this.backOnline.clear();

    if (lines.length > 0) {
      try {
        const chunk = this.deps.spool.append(lines);
        this.deps.writer.push(chunk);
      } catch (err) {
        this.deps.log.error({ err }, 'spool write failed: the turn is not acknowledged and will be redelivered');
        this.deps.dedup.rollback();
        turn.abort();
        return;
      }
      if (events.length > 0) crashPoint('after-spool');
    }
    const journal = this.deps.dedup.takeTurn();
    this.counters.messages += messages;
    this.counters.accepted += lines.length;
    this.counters.duplicates += duplicates;
    this.counters.backOnline += backOnline;
    this.deps.onTurn?.(messages, lines.length, duplicates, backOnline);

    const bus = this.deps.bus;
    for (const s of statuses) {
      this.devices.status(s);
      bus.emit('status', s);
    }
    for (const r of readings) bus.emit('reading', r);
    for (const e of events) bus.emit('event', e);

    const judged = lines.length > 0 ? this.deps.judge?.({ readings, events, statuses }) : undefined;
    if (!judged) {
      this.deps.dedup.journal(journal);
      turn.settle(false);
      return;
    }
    judged.then(
      () => {
        this.deps.dedup.journal(journal);
        turn.settle(true);
      },
      (err: unknown) => {
        // The engine stopped before it could commit: nothing is acknowledged; the sender sends it again.
        this.deps.log.warn({ err: (err as Error)?.message }, 'a turn was not judged before the stop; it stays unacknowledged');
      },
    );
  }
}
