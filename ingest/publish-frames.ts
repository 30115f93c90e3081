/**
 * The PUBLISH packets in a socket's bytes, read in place (docs/ingest.md#subscription): the
 * telemetry the service receives is nearly all PUBLISH packets of one plain form, and reading
 * those here, a topic string and a view of the payload each, leaves mqtt.js's parser only the
 * rest (CONNACK, SUBACK, PINGRESP, the PUBACKs of what the service publishes). Through
 * mqtt.js's parser and packet queue the service spent 15–21 % more CPU on a QoS 1 message and
 * 23–34 % more at QoS 0 (docs/performance.md, "The receive path").
 *
 * Read here: QoS 0 and 1, a topic name of at least one byte, and on MQTT 5 no properties.
 * Anything else (QoS 2, a topic alias, properties, a malformed packet) is handed on whole, as
 * its bytes, for mqtt.js to handle as it always has.
 *
 * MQTT 3.1.1 section 2.2 and 3.3, MQTT 5 section 2.1.4, 2.2.1, 3.3.
 */
export interface PacketSink {
  /**
   * A PUBLISH read here (`id` 0 at QoS 0). False: not taken now (the spool is full); nothing
   * from this packet on is consumed, and the caller offers it again later.
   */
  publish(topic: string, payload: Buffer, qos: 0 | 1, id: number): boolean;
  /** A whole packet that is not read here, as its bytes. */
  other(packet: Buffer): void;
}

const PUBLISH = 3;

/**
 * Reads the whole packets of `buf` from its start; returns the offset of the first byte not
 * consumed: the start of a packet not yet whole (the rest comes in a later read), or of the one
 * the sink did not take, or `buf.length`.
 */
export function readPackets(buf: Buffer, v5: boolean, sink: PacketSink): number {
  const n = buf.length;
  let o = 0;
  while (o < n) {
    const start = o;
    if (n - start < 2) return start;
    const header = buf[start]!;
    // The remaining length: one to four bytes of seven bits each, least significant first.
    let len = 0;
    let mul = 1;
    let p = start + 1;
    let b: number;
    let bytes = 0;
    do {
      if (p >= n) return start;
      b = buf[p++]!;
      len += (b & 0x7f) * mul;
      mul *= 128;
      bytes++;
    } while (b & 0x80 && bytes < 4);
    if (b & 0x80) {
      // Malformed: mqtt.js's parser says so and the connection closes.
      sink.other(buf.subarray(start));
      return n;
    }
    const end = p + len;
    if (end > n) return start;
    const read = header >> 4 === PUBLISH ? publish(buf, header, p, end, v5, sink) : NOT_PLAIN;
    if (read === REFUSED) return start;
    if (read === NOT_PLAIN) sink.other(buf.subarray(start, end));
    o = end;
  }
  return o;
}

const TAKEN = 0;
const REFUSED = 1;
const NOT_PLAIN = 2;

/** Reads a PUBLISH of the plain form and offers it to the sink: what the sink said, or NOT_PLAIN. */
function publish(buf: Buffer, header: number, p: number, end: number, v5: boolean, sink: PacketSink): number {
  const qos = (header >> 1) & 3;
  if (qos > 1 || p + 2 > end) return NOT_PLAIN;
  const topicLength = (buf[p]! << 8) | buf[p + 1]!;
  if (topicLength === 0) return NOT_PLAIN;
  const topicEnd = p + 2 + topicLength;
  let q = topicEnd;
  let id = 0;
  if (qos === 1) {
    if (q + 2 > end) return NOT_PLAIN;
    id = (buf[q]! << 8) | buf[q + 1]!;
    if (id === 0) return NOT_PLAIN;
    q += 2;
  }
  if (v5) {
    // A property length of 0 is one byte 0; anything else goes to mqtt.js.
    if (q >= end || buf[q] !== 0) return NOT_PLAIN;
    q += 1;
  }
  if (q > end) return NOT_PLAIN;
  return sink.publish(buf.toString('utf8', p + 2, topicEnd), buf.subarray(q, end), qos as 0 | 1, id) ? TAKEN : REFUSED;
}
