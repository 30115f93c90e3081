/**
 * A lean MQTT 3.1.1 publisher for the benchmark, in its own process so its CPU is not the
 * service's: raw packets from mqtt-packet over a few TCP connections, paced every 5 ms to a
 * fixed total rate, hydrant telemetry from many devices. QoS 1 keeps a window of unacknowledged
 * messages per connection and counts a message as sent when the broker acknowledges it.
 *
 * The devices are not passed in: they are generated from a compact spec (bench/fleet.ts), the
 * same the benchmark writes the estate file from, so any number of devices fits in argv.
 * Round-robin over the devices, each with its own seq; device i is on connection
 * floor(i / ceil(devices / connections)).
 *
 * argv: JSON {url, fleet: FleetSpec, rate, seconds, qos, connections, tsBase, seqBase}; the old
 * form {url, site, devices: string[], …} (hydrants by id, as test/scale/measure-foreign.ts
 * passes) still works, for lists that fit in one argument.
 * prints one JSON line at the end: {sent, written, seconds}
 */
import { connect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { Fleet, type FleetSpec, type Kind } from './fleet.ts';

export interface PublishArgs {
  url: string;
  fleet?: FleetSpec;
  /** the old form: hydrants of one site, by id */
  site?: string;
  devices?: string[];
  rate: number;
  seconds: number;
  qos: 0 | 1;
  connections: number;
  /** ts of a device's seq n is tsBase + (n - seqBase) * step */
  tsBase: number;
  seqBase: number;
}

const args = JSON.parse(process.argv[2]!) as PublishArgs;
const { hostname, port } = new URL(args.url);

interface Conn {
  socket: Socket;
  inflight: number;
  nextId: number;
}

async function open(i: number): Promise<Conn> {
  const socket = connect(Number(port), hostname);
  socket.setNoDelay(true);
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const conn: Conn = { socket, inflight: 0, nextId: 1 };
  await new Promise<void>((resolve, reject) => {
    parser.on('packet', (p) => {
      if (p.cmd === 'connack') resolve();
      else if (p.cmd === 'puback') {
        conn.inflight--;
        acked++;
      }
    });
    socket.on('data', (d) => parser.parse(d));
    socket.once('error', reject);
    socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: `bench-pub-${process.pid}-${i}`, keepalive: 120 }));
  });
  return conn;
}

let acked = 0;
let written = 0;
const WINDOW = 1000;

async function main(): Promise<void> {
  const list = args.devices;
  const fleet = new Fleet(args.fleet ?? { load: 'hydrants', site: args.site ?? 'bench', devices: list?.length ?? 0 });
  const n = fleet.size;
  if (n === 0) throw new Error('no devices to publish for');
  const per = Math.ceil(n / args.connections);
  const conns = await Promise.all(Array.from({ length: args.connections }, (_, i) => open(i)));
  const perDevice = args.rate / n;
  const step = Math.max(1, Math.floor(1000 / perDevice));
  const topics = new Array<string>(n);
  const kinds = new Array<Kind>(n);
  for (let i = 0; i < n; i++) {
    const d = fleet.device(i);
    if (list) d.id = list[i]!;
    topics[i] = fleet.topic(i, d);
    kinds[i] = d.kind;
  }
  const seq = new Float64Array(n).fill(args.seqBase);
  let next = 0; // round-robin over devices
  const start = performance.now();
  const total = Math.round(args.rate * args.seconds);

  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const elapsed = (performance.now() - start) / 1000;
      const target = Math.min(total, Math.round(args.rate * elapsed));
      const bufs: Buffer[][] = conns.map(() => []);
      while (written < target) {
        const d = next;
        const c = Math.floor(d / per);
        const conn = conns[c]!;
        if (args.qos === 1 && conn.inflight >= WINDOW) break;
        next = (next + 1) % n;
        const s = seq[d]!++;
        const payload = fleet.payload(d, kinds[d]!, s, args.tsBase + (s - args.seqBase) * step);
        const packet: mqttPacket.IPublishPacket = { cmd: 'publish', topic: topics[d]!, payload, qos: args.qos, retain: false, dup: false };
        if (args.qos === 1) {
          packet.messageId = conn.nextId;
          conn.nextId = conn.nextId === 65_535 ? 1 : conn.nextId + 1;
          conn.inflight++;
        }
        bufs[c]!.push(mqttPacket.generate(packet));
        written++;
      }
      bufs.forEach((b, i) => b.length && conns[i]!.socket.write(Buffer.concat(b)));
      if (written >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 5);
  });
  const publishSeconds = (performance.now() - start) / 1000;
  if (args.qos === 1) {
    const deadline = Date.now() + 30_000;
    while (acked < written && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }
  // QoS 0: make sure the kernel has taken every byte before reporting.
  await Promise.all(conns.map((c) => new Promise<void>((r) => (c.socket.writableLength === 0 ? r() : c.socket.once('drain', () => r())))));
  process.stdout.write(JSON.stringify({ sent: args.qos === 1 ? acked : written, written, seconds: publishSeconds }) + '\n');
  for (const c of conns) c.socket.end(mqttPacket.generate({ cmd: 'disconnect' }));
  setTimeout(() => process.exit(0), 200);
}

main().catch((err) => {
  process.stderr.write(String(err?.stack ?? err) + '\n');
  process.exit(1);
});
