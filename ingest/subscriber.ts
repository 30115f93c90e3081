/**
 * One MQTT session: persistent (clean: false, a stable client id, session expiry), QoS 1 on
 * its topic filters, optionally as an MQTT 5 shared subscription. The service holds two on its
 * broker, one for telemetry and one for events (ingest/subscribers.ts).
 *
 * mqtt.js keeps the session (connect, subscribe, keepalive, reconnects, TLS, WebSocket); the
 * connection's bytes are read by ingest/packet-reader.ts in place of the pipe mqtt.js makes to
 * its parser, which reads the PUBLISH packets of the plain form itself and hands mqtt.js the
 * rest (docs/ingest.md#subscription). To put it there, mqtt.js's stream builder is wrapped
 * (`streamBuilder`, with `manualConnect`) and the stream's `pipe` replaced.
 *
 * Acknowledgements (docs/ingest.md, "Acknowledged once judged"): a QoS 1 message's PUBACK is
 * held with the pipeline's turn the message joined, and written only once that turn is in the
 * spool and judged, its alert changes committed; the turns after it do not wait for it. If
 * the spool append fails, the socket is destroyed with the PUBACKs unsent, and the broker
 * redelivers. PUBACKs held for a connection that closed are dropped (the broker redelivers
 * those messages on the next). A PUBLISH that mqtt.js parses (one with MQTT 5 properties, say)
 * is held the same way on MQTT 5 through `customHandleAcks` and mqtt.js's own `_sendPacket`,
 * wrapped for `puback` only; on MQTT 3.1.1 mqtt.js acknowledges such a one on arrival. The held
 * PUBACKs are written as one buffer (ingest/puback.ts). mqtt.js is pinned (package.json); the
 * tests of docs/faults.md fail if a new version changes what is relied on here.
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
import { PacketReader, type ReaderSink, type ReaderSocket } from './packet-reader.ts';

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
   * After a socket read, wait this long before the next (0: do not wait; 1 by default). Messages
   * that arrive meanwhile come in one read, one spool write and one batch of PUBACKs instead of
   * one each (ingest/packet-reader.ts; measured: 1.2 messages per read and 26 µs of CPU per QoS
   * 1 message, against 19 per read and 10 µs with 1 ms, docs/performance.md).
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
type Stream = MqttClient['stream'];
type SendPacket = (packet: Packet, cb?: (err?: Error) => void, ...rest: unknown[]) => void;

/** PUBACKs held for one turn on one connection. */
interface Held {
  turn: AckTurn;
  stream: Stream;
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
    const client = mqtt.connect(this.opts.url, { ...options, manualConnect: true });
    this.client = client;
    this.readItself(client, v5);
    if (v5) this.holdPubacks(client);
    client.on('message', (topic, payload, packet) => {
      if (v5 && packet.qos > 0) return; // handled before its ack, in onQos1
      if (this.leftAlone(topic)) return;
      // On MQTT 3.1.1 mqtt.js has acknowledged a QoS 1 one already: it is taken even at the cap.
      if (packet.qos === 0) this.takeQos0(topic, payload);
      else this.handle(topic, payload);
    });
    client.on('connect', (connack) => {
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
    client.connect();
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

  /**
   * Every connection's bytes through a PacketReader (ingest/packet-reader.ts) instead of the
   * pipe mqtt.js makes to its parser: mqtt.js's `connect` builds the stream with its
   * `streamBuilder` and then calls the stream's `pipe` with its parser's writable, once per
   * connection.
   */
  private readItself(client: MqttClient, v5: boolean): void {
    const c = client as unknown as { streamBuilder: (client: MqttClient) => Stream };
    const build = c.streamBuilder;
    c.streamBuilder = (cl) => {
      const stream = build(cl);
      (stream as unknown as { pipe(dest: { write(chunk: Buffer): unknown }): unknown }).pipe = (dest) => {
        new PacketReader(stream as unknown as ReaderSocket, dest, v5, this.sink(stream), this.opts.readLingerMs ?? 1);
        return dest;
      };
      return stream;
    };
  }

  /**
   * What the reader of `stream` does with a PUBLISH it read: as mqtt.js's `message` and
   * `customHandleAcks` below do with one mqtt.js parsed, its PUBACK held with its turn. The
   * PUBACKs of messages left alone (another shard's, another session's) go after each read.
   */
  private sink(stream: Stream): ReaderSink {
    const free: HeldPuback[] = [];
    return {
      publish: (topic, payload, qos, id) => {
        if (this.leftAlone(topic)) {
          if (qos === 1) free.push({ messageId: id });
          return true;
        }
        if (qos === 0) {
          this.takeQos0(topic, payload);
          return true;
        }
        if (this.spool.full) return false;
        this.hold(this.handle(topic, payload), stream).packets.push({ messageId: id });
        return true;
      },
      flush: () => {
        if (free.length > 0 && !stream.destroyed) stream.write(encodePubacks(free.splice(0)));
      },
    };
  }

  /** A QoS 0 message into the pipeline, or refused as spool_full: it cannot be left with the broker. */
  private takeQos0(topic: string, payload: Buffer): void {
    if (this.spool.full) this.opts.onSpoolFull(topic, payload);
    else this.handle(topic, payload);
  }

  /** A message another of the service's sessions takes, or of another shard's site (counted). */
  private leftAlone(topic: string): boolean {
    if (this.opts.elsewhere?.(topic)) return true;
    if (!this.opts.foreign?.(topic)) return false;
    this.foreignMessages++;
    return true;
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
    if (this.leftAlone(topic)) return done(0);
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

  /** The PUBACKs held with `turn` on `stream`. */
  private hold(turn: AckTurn, stream: Stream): Held {
    const h = this.held;
    if (h && h.turn === turn && h.stream === stream) return h;
    const held: Held = { turn, stream, packets: [] };
    this.held = held;
    turn.onSettled((judged) => this.release(held, judged));
    turn.onAborted(() => {
      held.packets.length = 0;
      held.stream.destroy();
    });
    return held;
  }

  /** A message mqtt.js parsed joins the pipeline's turn; the PUBACK mqtt.js writes is held with that turn. */
  private take(topic: string, payload: Buffer, done: Waiting['done']): void {
    this.holding = this.hold(this.handle(topic, payload), this.client!.stream);
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
