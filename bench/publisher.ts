/**
 * A lean MQTT 3.1.1 publisher for the benchmark, in its own process so its CPU is not the
 * service's: raw packets from mqtt-packet over a few TCP connections, paced every 5 ms to a
 * fixed total rate, hydrant telemetry from many devices. QoS 1 keeps a window of unacknowledged
 * messages per connection and counts a message as sent when the broker acknowledges it.
 *
 * argv: JSON {url, site, devices: string[], rate, seconds, qos, connections, tsBase}
 * prints one JSON line at the end: {sent, seconds}
 */
import { connect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';

interface Args {
  url: string;
  site: string;
  devices: string[];
  rate: number;
  seconds: number;
  qos: 0 | 1;
  connections: number;
  /** ts of a device's seq n is tsBase + (n - seqBase) * step */
  tsBase: number;
  seqBase: number;
}

const args = JSON.parse(process.argv[2]!) as Args;
const { hostname, port } = new URL(args.url);

interface Conn {
  socket: Socket;
  inflight: number;
  nextId: number;
  devices: string[];
}

async function open(i: number, devices: string[]): Promise<Conn> {
  const socket = connect(Number(port), hostname);
  socket.setNoDelay(true);
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const conn: Conn = { socket, inflight: 0, nextId: 1, devices };
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
  const per = Math.ceil(args.devices.length / args.connections);
  const conns = await Promise.all(Array.from({ length: args.connections }, (_, i) => open(i, args.devices.slice(i * per, (i + 1) * per))));
  const perDevice = args.rate / args.devices.length;
  const step = Math.max(1, Math.floor(1000 / perDevice));
  const topics = args.devices.map((d) => `estate/${args.site}/hydrant/${d}/telemetry`);
  const seq = new Array<number>(args.devices.length).fill(args.seqBase);
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
        next = (next + 1) % args.devices.length;
        const c = Math.floor(d / per);
        const conn = conns[c]!;
        if (args.qos === 1 && conn.inflight >= WINDOW) break;
        const s = seq[d]!++;
        const payload = `{"ts":${args.tsBase + (s - args.seqBase) * step},"seq":${s},"metrics":{"pressure_mpa":${(0.3 + (s % 100) / 1000).toFixed(3)},"flow_lps":0,"temp_c":${(15 + (d % 10) / 10).toFixed(1)},"battery_pct":${90 - (d % 20)}}}`;
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
