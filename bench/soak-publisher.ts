/**
 * The soak's publisher (bench/soak.ts), run as `soak-publisher.ts <args.json>` in its own
 * process: raw MQTT 3.1.1 (mqtt-packet, as bench/publisher.ts) over `connections` connections,
 * paced every 5 ms, readings from the simulators' device models; it reconnects and resends what
 * was not acknowledged, and reports what it made and what was acknowledged on stdout, a JSON
 * line at a time.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { resolve } from 'node:path';
import mqttPacket from 'mqtt-packet';
import type { SimDeviceSpec } from '../simulators/model.ts';
import { DeviceSimulation } from '../simulators/models/index.ts';
import { sleep } from '../test/harness/ports.ts';
import type { DeviceDef } from './soak.ts';

export interface PublishArgs {
  url: string;
  site: string;
  devices: DeviceDef[];
  rate: number;
  seconds: number;
  connections: number;
}

interface Pending {
  topic: string;
  payload: string;
}

/** A FIFO of readings waiting to be sent, with a moving head instead of Array.shift. */
class Queue {
  private items: Pending[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(p: Pending): void {
    this.items.push(p);
  }
  /** back to the front, in this order (readings that were in flight on a lost connection) */
  unshiftAll(ps: Pending[]): void {
    this.items = [...ps, ...this.items.slice(this.head)];
    this.head = 0;
  }
  shift(): Pending | undefined {
    if (this.head >= this.items.length) return undefined;
    const p = this.items[this.head]!;
    this.items[this.head++] = undefined as unknown as Pending;
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return p;
  }
}

const WINDOW = 1000;

async function publisher(args: PublishArgs): Promise<void> {
  const { hostname, port } = new URL(args.url);
  let generated = 0;
  let acked = 0;
  let reconnects = 0;
  let stopping = false;
  interface Conn {
    i: number;
    socket?: Socket;
    up: boolean;
    inflight: Map<number, Pending>;
    queue: Queue;
    nextId: number;
  }
  const conns: Conn[] = Array.from({ length: args.connections }, (_, i) => ({ i, up: false, inflight: new Map(), queue: new Queue(), nextId: 1 }));
  const flush = (c: Conn) => {
    if (!c.up || !c.socket) return;
    const bufs: Buffer[] = [];
    while (c.inflight.size < WINDOW && c.queue.length > 0) {
      const p = c.queue.shift()!;
      let id = c.nextId;
      while (c.inflight.has(id)) id = id === 65_535 ? 1 : id + 1;
      c.nextId = id === 65_535 ? 1 : id + 1;
      c.inflight.set(id, p);
      bufs.push(mqttPacket.generate({ cmd: 'publish', topic: p.topic, payload: p.payload, qos: 1, retain: false, dup: false, messageId: id }));
    }
    if (bufs.length) c.socket.write(Buffer.concat(bufs));
  };
  const open = (c: Conn): Promise<void> =>
    new Promise((resolveOpen) => {
      const socket = connect(Number(port), hostname);
      socket.setNoDelay(true);
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      let settled = false;
      let dead = false;
      const lost = () => {
        if (dead) return;
        dead = true;
        if (c.socket === socket) {
          c.up = false;
          c.socket = undefined;
          // What was in flight goes back to the front; the broker may have it (a duplicate the service drops by seq).
          c.queue.unshiftAll([...c.inflight.values()]);
          c.inflight.clear();
        }
        socket.destroy();
        if (!settled) {
          settled = true;
          resolveOpen();
        }
        if (stopping) return;
        setTimeout(() => {
          reconnects++;
          void open(c);
        }, 200);
      };
      parser.on('packet', (p) => {
        if (p.cmd === 'connack') {
          c.socket = socket;
          c.up = true;
          settled = true;
          resolveOpen();
          flush(c);
        } else if (p.cmd === 'puback') {
          if (c.inflight.delete(p.messageId!)) acked++;
          flush(c);
        }
      });
      socket.on('data', (d) => parser.parse(d));
      socket.on('error', lost);
      socket.on('close', lost);
      socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: `soak-pub-${process.pid}-${c.i}`, keepalive: 30 }));
    });
  await Promise.all(conns.map(open));

  const t0 = Date.now();
  const sims = args.devices.map((d) => new DeviceSimulation({ id: d.id, kind: d.kind, site: args.site, building: d.building, intervalSec: 60, attributes: d.attributes } satisfies SimDeviceSpec, 1, t0));
  const topics = args.devices.map((d) => `estate/${args.site}/${d.kind}/${d.id}/telemetry`);
  const lastTs = new Array<number>(args.devices.length).fill(0);
  const seq = new Array<number>(args.devices.length).fill(1);
  const per = Math.ceil(args.devices.length / args.connections);
  let next = 0;
  const start = performance.now();
  const total = Math.round(args.rate * args.seconds);
  const report = () => {
    const queued = conns.reduce((a, c) => a + c.queue.length + c.inflight.size, 0);
    process.stdout.write(JSON.stringify({ generated, acked, queued, reconnects, at: Date.now() }) + '\n');
  };
  const reporter = setInterval(report, 250);
  await new Promise<void>((resolveRun) => {
    const tick = setInterval(() => {
      const elapsed = (performance.now() - start) / 1000;
      const target = Math.min(total, Math.round(args.rate * elapsed));
      const now = Date.now();
      while (generated < target) {
        const d = next;
        next = (next + 1) % args.devices.length;
        const ts = Math.max(now, lastTs[d]! + 1);
        lastTs[d] = ts;
        const metrics = sims[d]!.next(ts);
        conns[Math.floor(d / per)]!.queue.push({ topic: topics[d]!, payload: `{"ts":${ts},"seq":${seq[d]!++},"metrics":${JSON.stringify(metrics)}}` });
        generated++;
      }
      for (const c of conns) flush(c);
      if (generated >= total) {
        clearInterval(tick);
        resolveRun();
      }
    }, 5);
  });
  const publishSeconds = (performance.now() - start) / 1000;
  const deadline = Date.now() + 120_000;
  while (acked < generated && Date.now() < deadline) await sleep(50);
  clearInterval(reporter);
  report();
  process.stdout.write(JSON.stringify({ done: true, generated, acked, seconds: publishSeconds, reconnects }) + '\n');
  stopping = true;
  for (const c of conns) c.socket?.end(mqttPacket.generate({ cmd: 'disconnect' }));
  setTimeout(() => process.exit(0), 200);
}

// ─── the soak ───────────────────────────────────────────────────────────────────────────


if (process.argv[1] && resolve(process.argv[1]) === import.meta.filename) {
  publisher(JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as PublishArgs).catch((err) => {
    process.stderr.write(String(err?.stack ?? err) + '\n');
    process.exit(1);
  });
}
