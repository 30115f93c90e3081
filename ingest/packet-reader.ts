/**
 * Reads one MQTT connection's bytes in place of the pipe mqtt.js would make from the socket to
 * its parser (docs/ingest.md#subscription): the PUBLISH packets of the plain form go to the
 * sink as they are read (ingest/publish-frames.ts), every other packet on to mqtt.js's parser,
 * which keeps the session (CONNACK, SUBACK, PINGRESP, reconnects) as before.
 *
 * It also paces the reads. After a short read it waits `lingerMs` so that what arrives
 * meanwhile comes in one read, one spool write and one batch of PUBACKs: the broker writes
 * every message on its own, so without it the service pays a read and a turn per message
 * (docs/performance.md, "Where the time goes"). After a full read (64 KiB: a backlog) it waits
 * for the event loop's next turn only: libuv reads a readable socket up to 32 times in one go,
 * and without the wait 2 MiB of backlog (about 20,000 messages) went through before
 * PostgreSQL, a webhook or the API had their turn.
 *
 * When the sink refuses a PUBLISH (the spool is full), the socket is paused with that packet
 * and the rest of the read kept, and offered again every 250 ms: the broker keeps the backlog
 * meanwhile, since nothing further is read and no PUBACK goes for what was not taken.
 */
import { readPackets, type PacketSink } from './publish-frames.ts';

export interface ReaderSocket {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  pause(): unknown;
  resume(): unknown;
  readonly destroyed?: boolean;
}

export interface ReaderSink {
  publish: PacketSink['publish'];
  /** after each read's packets: what the sink collected over them goes out */
  flush(): void;
}

/** what Node reads from a socket at most at once: a read this long means more is waiting */
const FULL_READ = 65_536;
const RETRY_MS = 250;

export class PacketReader implements PacketSink {
  /** bytes of a packet not yet whole, or what the sink did not take */
  private pending: Buffer | undefined;
  private refused = false;
  private waiting = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly socket: ReaderSocket,
    /** mqtt.js's parser, as the writable its pipe would write to */
    private readonly parser: { write(chunk: Buffer): unknown },
    private readonly v5: boolean,
    private readonly sink: ReaderSink,
    private readonly lingerMs: number,
  ) {
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('close', () => {
      this.closed = true;
      this.pending = undefined;
      clearTimeout(this.retryTimer);
    });
  }

  publish(topic: string, payload: Buffer, qos: 0 | 1, id: number): boolean {
    const took = this.sink.publish(topic, payload, qos, id);
    if (!took) this.refused = true;
    return took;
  }

  other(packet: Buffer): void {
    this.parser.write(packet);
  }

  private onData(chunk: Buffer): void {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    if (!this.consume(buf)) return;
    const full = chunk.length >= FULL_READ;
    if (!full && this.lingerMs <= 0) return;
    this.waiting = true;
    this.socket.pause();
    if (full) setImmediate(this.release);
    else setTimeout(this.release, this.lingerMs);
  }

  private readonly release = (): void => {
    this.waiting = false;
    if (!this.closed && !this.retryTimer && !this.socket.destroyed) this.socket.resume();
  };

  /** The packets of `buf`; false when the sink refused one (the socket is then paused until it takes it). */
  private consume(buf: Buffer): boolean {
    this.refused = false;
    const at = readPackets(buf, this.v5, this);
    this.sink.flush();
    if (at === buf.length) return true;
    if (!this.refused) {
      // A packet not yet whole: its bytes, copied so that the read they came in can go.
      this.pending = Buffer.from(buf.subarray(at));
      return true;
    }
    this.pending = buf.subarray(at);
    this.socket.pause();
    this.retryTimer = setTimeout(this.retry, RETRY_MS);
    return false;
  }

  private readonly retry = (): void => {
    this.retryTimer = undefined;
    const buf = this.pending;
    this.pending = undefined;
    if (this.closed || !buf) return;
    if (this.consume(buf) && !this.waiting && !this.socket.destroyed) this.socket.resume();
  };
}
