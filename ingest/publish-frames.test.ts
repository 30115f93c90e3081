/**
 * ingest/publish-frames.ts and ingest/packet-reader.ts against mqtt-packet's own parser: any
 * mix of packets, cut into reads anywhere, comes out as the same packets in the same order,
 * the plain PUBLISH ones to the sink and every other one, whole, to the parser behind.
 */
import { EventEmitter } from 'node:events';
import fc from 'fast-check';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { PacketReader, type ReaderSink } from './packet-reader.ts';
import { readPackets } from './publish-frames.ts';

type Version = 4 | 5;

/** A packet the broker may send the service. */
function packets(v: Version): fc.Arbitrary<Packet> {
  const topic = fc.stringMatching(/^estate\/[a-z0-9栋号-]{1,12}\/[a-z]{1,8}\/[A-Z0-9-]{1,10}\/(telemetry|event|status)$/);
  const payload = fc.uint8Array({ minLength: 0, maxLength: 300 }).map((a) => Buffer.from(a));
  const id = fc.integer({ min: 1, max: 65_535 });
  const plain = fc.record({ topic, payload, qos: fc.constantFrom(0, 1) as fc.Arbitrary<0 | 1>, id, retain: fc.boolean(), dup: fc.boolean() }).map(
    ({ topic, payload, qos, id, retain, dup }): Packet => ({ cmd: 'publish', topic, payload, qos, retain, dup: qos === 1 && dup, ...(qos === 1 ? { messageId: id } : {}) }),
  );
  const others: fc.Arbitrary<Packet>[] = [
    fc.record({ topic, payload, id }).map(({ topic, payload, id }): Packet => ({ cmd: 'publish', topic, payload, qos: 2, retain: false, dup: false, messageId: id })),
    id.map((messageId): Packet => ({ cmd: 'puback', messageId })),
    fc.constant<Packet>({ cmd: 'pingresp' }),
    id.map((messageId): Packet => ({ cmd: 'suback', messageId, granted: [1] })),
  ];
  if (v === 5) {
    others.push(
      fc.record({ topic, payload, id }).map(({ topic, payload, id }): Packet => ({
        cmd: 'publish', topic, payload, qos: 1, retain: false, dup: false, messageId: id, properties: { payloadFormatIndicator: true, userProperties: { from: 'gateway' } },
      })),
    );
  }
  return fc.oneof({ arbitrary: plain, weight: 4 }, ...others.map((arbitrary) => ({ arbitrary, weight: 1 })));
}

function bytes(list: Packet[], v: Version): Buffer {
  return Buffer.concat(list.map((p) => mqttPacket.generate(p, { protocolVersion: v })));
}

/** What a packet is, as both paths can say it. */
function describePacket(p: Packet): string {
  if (p.cmd !== 'publish') return `${p.cmd} ${'messageId' in p ? p.messageId : ''}`;
  return `publish ${p.topic} q${p.qos} ${p.messageId ?? 0} ${Buffer.from(p.payload as Buffer).toString('hex')}`;
}

/** A socket's reading side as the reader uses it: no 'data' while paused. */
class FakeSocket extends EventEmitter {
  paused = false;
  pauses = 0;
  destroyed = false;
  pause(): this {
    this.paused = true;
    this.pauses++;
    return this;
  }
  resume(): this {
    this.paused = false;
    return this;
  }
}

/** Reads `chunks` through a PacketReader; the plain PUBLISH packets and the others, in order of arrival. */
function readThrough(chunks: Buffer[], v: Version, refuseEvery = 0): Promise<{ plain: string[]; others: string[]; all: string[]; pauses: number }> {
  const socket = new FakeSocket();
  const plain: string[] = [];
  const others: string[] = [];
  const all: string[] = [];
  const parser = mqttPacket.parser({ protocolVersion: v });
  parser.on('packet', (p: Packet) => {
    others.push(describePacket(p));
    all.push(describePacket(p));
  });
  let offered = 0;
  const sink: ReaderSink = {
    publish(topic, payload, qos, id) {
      offered++;
      if (refuseEvery > 0 && offered % refuseEvery === 0) return false;
      const d = `publish ${topic} q${qos} ${id} ${payload.toString('hex')}`;
      plain.push(d);
      all.push(d);
      return true;
    },
    flush() {},
  };
  new PacketReader(socket, { write: (b: Buffer) => parser.parse(Buffer.from(b)) }, v === 5, sink, 0);
  return new Promise((resolve) => {
    let i = 0;
    const next = () => {
      // Like a socket: nothing is read while the reader has it paused; it resumes it itself.
      if (socket.paused) return void setTimeout(next, 10);
      if (i < chunks.length) {
        socket.emit('data', chunks[i++]);
        return void setImmediate(next);
      }
      resolve({ plain, others, all, pauses: socket.pauses });
    };
    next();
  });
}

function cut(buf: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at.map((a) => a % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let last = 0;
  for (const p of points) {
    out.push(buf.subarray(last, p));
    last = p;
  }
  out.push(buf.subarray(last));
  return out.filter((c) => c.length > 0);
}

describe('the PUBLISH packets read in place', () => {
  for (const v of [4, 5] as const) {
    it(`MQTT ${v === 5 ? '5' : '3.1.1'}: any packets, cut into reads anywhere, come out as mqtt-packet parses them, in order`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(packets(v), { minLength: 1, maxLength: 40 }), fc.array(fc.nat(), { maxLength: 12 }), async (list, at) => {
          const buf = bytes(list, v);
          const got = await readThrough(cut(buf, at), v);
          expect(got.all).toEqual(list.map(describePacket));
          const plain = list.filter((p) => p.cmd === 'publish' && (p.qos ?? 0) < 2 && !(v === 5 && p.properties));
          expect(got.plain).toEqual(plain.map(describePacket));
          expect(got.others.length).toBe(list.length - plain.length);
        }),
        { numRuns: 150 },
      );
    });
  }

  it('a packet the sink refuses is kept with what follows, the socket paused, and offered again until taken', async () => {
    const list: Packet[] = Array.from({ length: 30 }, (_, i): Packet => ({ cmd: 'publish', topic: `estate/s1/hydrant/HY-${i}/telemetry`, payload: Buffer.from(`{"seq":${i}}`), qos: 1, messageId: i + 1, retain: false, dup: false }));
    const buf = bytes(list, 5);
    const got = await readThrough(cut(buf, [100, 400, 777]), 5, 7);
    expect(got.plain).toEqual(list.map(describePacket));
    expect(got.pauses).toBeGreaterThanOrEqual(4); // 30 offered once each and every 7th refused once
  });

  it('a remaining length of more than four bytes is handed on, for mqtt-packet to refuse', () => {
    const seen: Buffer[] = [];
    const bad = Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 0]);
    const at = readPackets(bad, false, { publish: () => true, other: (b) => seen.push(b) });
    expect(at).toBe(bad.length);
    expect(seen).toEqual([bad]);
    const errors: Error[] = [];
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('error', (e: Error) => errors.push(e));
    parser.parse(seen[0]!);
    expect(errors.length).toBe(1);
  });

  it('a read that ends inside a packet consumes up to its start', () => {
    const buf = bytes([{ cmd: 'publish', topic: 'estate/s/k/D/telemetry', payload: Buffer.from('{}'), qos: 1, messageId: 9, retain: false, dup: false }], 4);
    for (let n = 0; n < buf.length; n++) {
      const taken: string[] = [];
      expect(readPackets(buf.subarray(0, n), false, { publish: (t) => (taken.push(t), true), other: () => expect.unreachable() })).toBe(0);
      expect(taken).toEqual([]);
    }
    expect(readPackets(buf, false, { publish: () => true, other: () => expect.unreachable() })).toBe(buf.length);
  });
});
