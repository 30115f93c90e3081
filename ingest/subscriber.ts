/**
 * One MQTT session: persistent (clean: false, a stable client id, session expiry), QoS 1 on
 * its topic filters, optionally as an MQTT 5 shared subscription. The service holds two on its
 * broker, one for telemetry and one for events (ingest/subscribers.ts).
 *
 * Acknowledgements (docs/ingest.md, "Acknowledged once judged"): on MQTT 5, mqtt.js lets us
 * handle QoS 1 before its PUBACK (`customHandleAcks`). The PUBACK mqtt.js then writes is held
 * with the pipeline's turn the message joined, and written only once that turn is in the
 * spool and judged, its alert changes committed; the turns after it do not wait for it. If
 * the spool append fails, the socket is destroyed with the PUBACKs unsent, and the broker
 * redelivers. PUBACKs held for a connection that closed are dropped (the broker redelivers
 * those messages on the next). On MQTT 3.1.1 (the embedded Aedes broker, which speaks no
 * MQTT 5) mqtt.js acknowledges on arrival.
 *
 * Holding the PUBACK packet needs mqtt.js's own `_sendPacket` (the write it makes after our
 * `done`): it is wrapped for `puback` only, the held ones are written as one buffer
 * (ingest/puback.ts), and mqtt.js is pinned (package.json); the tests
 * of docs/faults.md fail if a new version changes it.
 *
 * Security (docs/mqtt-security.md): mqtts:// with the CA, client certificate and key that the
 * environment names, and the service's own username and password; a refused or failed
 * connection is kept as `lastError` with a code (brokerError), which /readyz shows.
 */
import mqtt, { type MqttClient, type IClientOptions } from 'mqtt';
import type { MqttTls } from '../config/index.ts';
import type { AckTurn, IngestPipeline } from './pipeline.ts';
import { crashPoint } from '../crash-points.ts';
import type { Spool } from '../storage/index.ts';
import { brokerError, type BrokerError } from './broker-error.ts';
import { encodePubacks, type HeldPuback } from './puback.ts';

export interface SubscriberOptions {
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  /** CA, client certificate and key for mqtts:// and wss:// */
  tls?: MqttTls;
  shareGroup?: string;
  protocolVersion: 4 | 5;
  /** topic filters [estate/#]; a shard's sites (ingest/shard.ts) */
  filters?: readonly string[];
  /** a message on another shard's site, received through estate/#: acknowledged and left alone */
  foreign?: (topic: string) => boolean;
  /** a message another of the service's sessions takes (an event, on the events session: ingest/subscribers.ts): acknowledged and left alone */
  elsewhere?: (topic: string) => boolean;
  /**
   * After a socket read, wait this long before the next (0: do not wait). Messages that arrive
   * meanwhile come in one read, one spool write and one batch of PUBACKs instead of one each:
   * the broker writes every message on its own, so without it the service pays a read and a
   * turn per message (measured: 1.2 messages per read and 26 µs of CPU per QoS 1 message,
   * against 19 per read and 10 µs with 1 ms; see docs/performance.md). After a full read the
   * next waits for the event loop's next turn, whatever this is (`linger`).
   */
  readLingerMs?: number;
  log: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void };
  /** the code of the broker error logged last, shared by sessions on one broker so that a refusal both meet is logged once */
  errorLog?: { code: string | undefined };
  onState: (up: boolean, error?: string) => void;
  /** a QoS 0 message arrived while the spool is at its cap */
  onSpoolFull: (topic: string, payload: Buffer) => void;
  /**
   * A message on a topic outside `estate/` (an adapter's: ChirpStack, a vendor's JSON): taken
   * by the adapters, which return the pipeline's turn it joined, or undefined when it is none
   * of theirs (then it is refused as `bad_topic`).
   */
  route?: (topic: string, payload: Buffer) => AckTurn | undefined;
}

interface Waiting {
  topic: string;
  payload: Buffer;
  done: (err: Error | number, code?: number) => void;
}

type Packet = { cmd: string };
type SendPacket = (packet: Packet, cb?: (err?: Error) => void, ...rest: unknown[]) => void;

/** PUBACKs held for one turn on one connection. */
interface Held {
  turn: AckTurn;
  stream: MqttClient['stream'];
  packets: HeldPuback[];
}

export class MqttSubscriber {
  private client: MqttClient | undefined;
  /** the turn whose PUBACKs mqtt.js's packet writer is holding right now */
  private holding: Held | undefined;
  private waiting: Waiting | undefined;
  private waitTimer: NodeJS.Timeout | undefined;
  connected = false;
  /** why the last connection attempt failed; cleared on connect */
  lastError: BrokerError | undefined;
  /** messages of other shards' sites received and left alone */
  foreignMessages = 0;
  private readonly errorLog: { code: string | undefined };

  constructor(
    private readonly opts: SubscriberOptions,
    private readonly pipeline: IngestPipeline,
    private readonly spool: Spool,
  ) {
    this.errorLog = opts.errorLog ?? { code: undefined };
  }

  get filters(): string[] {
    // estate/# rather than estate/+/+/+/+: a topic with too few or too many levels must
    // reach the service too, to be refused as bad_topic rather than lost unseen.
    const fs = this.opts.filters ?? ['estate/#'];
    return fs.map((f) => (this.opts.shareGroup ? `$share/${this.opts.shareGroup}/${f}` : f));
  }

  /** Connects; resolves on the first CONNACK, rejects if the first attempt fails. */
  start(): Promise<void> {
    const v5 = this.opts.protocolVersion === 5;
    const options: IClientOptions = {
      clientId: this.opts.clientId,
      clean: false,
      protocolVersion: this.opts.protocolVersion,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      keepalive: 30,
      resubscribe: false,
      // mqtt.js logs every packet through `debug`; even disabled, that is measurable per message.
      log: () => undefined,
      // Without it mqtt-packet makes a buffer for each of the 65,536 two-byte numbers it may write
      // (7.4 MB of heap, docs/performance.md "City scale"); the packets the service writes most,
      // the PUBACKs, are encoded by ingest/puback.ts, not by it.
      writeCache: false,
      ...(this.opts.username ? { username: this.opts.username } : {}),
      ...(this.opts.password ? { password: this.opts.password } : {}),
      ...(this.opts.tls
        ? {
            ...(this.opts.tls.ca ? { ca: this.opts.tls.ca } : {}),
            ...(this.opts.tls.cert ? { cert: this.opts.tls.cert } : {}),
            ...(this.opts.tls.key ? { key: this.opts.tls.key } : {}),
            rejectUnauthorized: this.opts.tls.rejectUnauthorized,
          }
        : {}),
      ...(v5
        ? {
            properties: { sessionExpiryInterval: 7 * 24 * 3600, receiveMaximum: 65_535 },
            customHandleAcks: (topic: string, payload: Buffer, _packet: unknown, done: Waiting['done']) => this.onQos1(topic, payload, done),
          }
        : {}),
    };
    const client = mqtt.connect(this.opts.url, options);
    this.client = client;
    if (v5) this.holdPubacks(client);
    const foreign = this.opts.foreign;
    const elsewhere = this.opts.elsewhere;
    client.on('message', (topic, payload, packet) => {
      if (v5 && packet.qos > 0) return; // handled before its ack, in onQos1
      if (elsewhere?.(topic)) return;
      if (foreign?.(topic)) {
        this.foreignMessages++;
        return;
      }
      if (packet.qos === 0 && this.spool.full) return this.opts.onSpoolFull(topic, payload);
      this.handle(topic, payload);
    });
    client.on('connect', (connack) => {
      this.linger(client.stream);
      this.connected = true;
      this.lastError = undefined;
      this.errorLog.code = undefined;
      this.opts.onState(true);
      const filters = this.filters;
      this.opts.log.info({ sessionPresent: connack.sessionPresent, filters: filters.length > 8 ? [...filters.slice(0, 8), `… ${filters.length} in all`] : filters }, 'connected to the MQTT broker');
      if (filters.length === 0) return this.opts.log.warn({}, 'this shard owns no site: it subscribes to nothing');
      // rh 1: retained messages only for a new subscription, not again on every reconnect.
      client.subscribe(filters, { qos: 1, ...(v5 ? { rh: 1 } : {}) }, (err, granted) => {
        if (err) this.opts.log.error({ err }, 'subscribe failed');
        else if (granted?.some((g) => g.qos > 2)) this.opts.log.error({ granted }, 'the broker refused the subscription');
      });
    });
    client.on('close', () => {
      this.holding = undefined;
      if (this.connected) {
        this.connected = false;
        this.opts.onState(false, 'connection closed');
        this.opts.log.warn({}, 'lost the MQTT broker; reconnecting');
      }
    });
    client.on('error', (err) => {
      const e = brokerError(err);
      // A broker that keeps refusing is logged once per reason, not at every retry.
      const fresh = e.code !== this.errorLog.code;
      this.errorLog.code = e.code;
      this.lastError = e;
      if (!fresh) return;
      this.opts.log.warn({ code: e.code, err: err.message }, e.message);
      if (!this.connected) this.opts.onState(false, `${e.code}: ${e.message}`);
    });
    return new Promise((resolve, reject) => {
      const onConnect = () => {
        client.off('error', onError);
        resolve();
      };
      const onError = (err: Error) => {
        client.off('connect', onConnect);
        reject(err);
      };
      client.once('connect', onConnect);
      client.once('error', onError);
    });
  }

  /**
   * Publishes at QoS 1 on this subscriber's broker: true once the broker acknowledged it, false
   * when not connected or not acknowledged within `timeoutMs` (mqtt.js may still deliver it
   * later; its receiver de-duplicates). For a push's messages of another shard's site (SHARD).
   */
  forward(topic: string, payload: Buffer, timeoutMs = 10_000): Promise<boolean> {
    const client = this.client;
    if (!client || !this.connected) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      client.publish(topic, payload, { qos: 1 }, (err) => {
        clearTimeout(timer);
        resolve(!err);
      });
    });
  }

  private readonly lingering = new WeakSet<object>();
  /** what Node reads from a socket at most at once: a read this long means more is waiting */
  private static readonly FULL_READ = 65_536;

  /**
   * Paces the socket's reads (docs/ingest.md#subscription). After a short read, waits
   * `readLingerMs` so that what arrives meanwhile comes in one read. After a full one (64 KiB: a
   * backlog), waits for the next turn of the event loop only: libuv reads a readable socket up
   * to 32 times in one go, and the pipe mqtt.js reads through resumes the socket as soon as a
   * chunk is parsed, so without it 2 MiB of backlog (about 20,000 messages) went through before
   * PostgreSQL, a webhook or the API had their turn, and an alert's few round trips took
   * seconds while the backlog drained.
   */
  private linger(stream: MqttClient['stream']): void {
    const ms = this.opts.readLingerMs ?? 1;
    const socket = stream as unknown as NodeJS.ReadableStream & { pause(): void; resume(): unknown; destroyed?: boolean };
    if (this.lingering.has(socket) || typeof socket.pause !== 'function') return;
    this.lingering.add(socket);
    let waiting = false;
    const resume = socket.resume.bind(socket);
    // The pipe's resume, while the socket waits, waits with it.
    socket.resume = () => (waiting ? socket : resume());
    const release = () => {
      waiting = false;
      if (!socket.destroyed) resume();
    };
    socket.on('data', (chunk: Buffer) => {
      if (waiting) return;
      const full = chunk.length >= MqttSubscriber.FULL_READ;
      if (!full && ms <= 0) return;
      waiting = true;
      socket.pause();
      if (full) setImmediate(release);
      else setTimeout(release, ms);
    });
  }

  /** Wraps mqtt.js's packet writer so that a PUBACK written during `take` waits with its turn. */
  private holdPubacks(client: MqttClient): void {
    const c = client as unknown as { _sendPacket: SendPacket };
    const send = c._sendPacket.bind(client);
    c._sendPacket = (packet, cb, ...rest) => {
      const held = this.holding;
      if (packet.cmd === 'puback' && held) {
        held.packets.push(packet as Packet & HeldPuback);
        cb?.(); // mqtt.js goes on with the next packet at once
        return;
      }
      send(packet, cb, ...rest);
    };
  }

  private onQos1(topic: string, payload: Buffer, done: Waiting['done']): void {
    if (this.opts.elsewhere?.(topic)) return done(0);
    if (this.opts.foreign?.(topic)) {
      this.foreignMessages++;
      return done(0);
    }
    if (this.spool.full) {
      // Backpressure: the ack is held, so mqtt.js reads no further and the broker keeps the backlog.
      this.waiting = { topic, payload, done };
      this.waitTimer ??= setInterval(() => this.retryWaiting(), 250);
      return;
    }
    this.take(topic, payload, done);
  }

  private held: Held | undefined;

  /** The message into the pipeline (through an adapter when its topic is one's); the turn it joined. */
  private handle(topic: string, payload: Buffer): AckTurn {
    const routed = this.opts.route && !topic.startsWith('estate/') ? this.opts.route(topic, payload) : undefined;
    return routed ?? this.pipeline.handle(topic, payload);
  }

  /** The message joins the pipeline's turn; its PUBACK is held with that turn. */
  private take(topic: string, payload: Buffer, done: Waiting['done']): void {
    const turn = this.handle(topic, payload);
    const stream = this.client!.stream;
    let h = this.held;
    if (!h || h.turn !== turn || h.stream !== stream) {
      const held: Held = { turn, stream, packets: [] };
      h = this.held = held;
      turn.onSettled((judged) => this.release(held, judged));
      turn.onAborted(() => {
        held.packets.length = 0;
        held.stream.destroy();
      });
    }
    this.holding = h;
    try {
      done(0);
    } finally {
      this.holding = undefined;
    }
  }

  /**
   * The turn is durable and judged: its PUBACKs go, as one buffer in one write (ingest/puback.ts),
   * if their connection is still the one open. mqtt.js keeps no state for a PUBACK it sends.
   */
  private release(h: Held, judged: boolean): void {
    if (this.held === h) this.held = undefined;
    const packets = h.packets.splice(0);
    if (packets.length === 0 || h.stream !== this.client?.stream || h.stream.destroyed) return;
    if (judged) crashPoint('before-puback');
    h.stream.write(encodePubacks(packets));
    if (judged) crashPoint('after-puback');
  }

  private retryWaiting(): void {
    if (!this.waiting || this.spool.full) return;
    const w = this.waiting;
    this.waiting = undefined;
    clearInterval(this.waitTimer);
    this.waitTimer = undefined;
    this.take(w.topic, w.payload, w.done);
  }

  async stop(): Promise<void> {
    if (this.waitTimer) clearInterval(this.waitTimer);
    const client = this.client;
    if (!client) return;
    this.connected = false;
    await client.endAsync(false).catch(() => undefined);
  }
}
