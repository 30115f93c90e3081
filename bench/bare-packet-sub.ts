// The receive path without mqtt.js (issue 13, item 4): mqtt-packet's parser and generator on a
// plain socket, the same session as bench/bare-sub.ts (MQTT 5, persistent, receive maximum
// 65,535, estate/# at QoS 1), each QoS 1 message acknowledged at once; the PUBACKs of one
// socket read go out in one write. It does nothing with its messages either, and reports the
// same way: `ready` once subscribed, then {"n", "cpu"} every second.
import { connect } from 'node:net';
import mqttPacket from 'mqtt-packet';

const url = new URL(process.argv[2]!);
const clientId = process.argv[3] ?? 'bare-sub';
const opts = { protocolVersion: 5 as const };
let n = 0;
const socket = connect(Number(url.port || 1883), url.hostname);
const parser = mqttPacket.parser(opts);
let acks: Buffer[] = [];

parser.on('packet', (p: mqttPacket.Packet) => {
  if (p.cmd === 'publish') {
    n++;
    if (p.qos === 1) acks.push(mqttPacket.generate({ cmd: 'puback', messageId: p.messageId!, reasonCode: 0 }, opts));
  } else if (p.cmd === 'connack') {
    socket.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'estate/#', qos: 1 }] }, opts));
  } else if (p.cmd === 'suback') {
    process.stdout.write('ready\n');
  }
});
parser.on('error', (err: Error) => {
  process.stderr.write(`bare-packet-sub: ${err.message}\n`);
  process.exit(1);
});
socket.on('data', (chunk: Buffer) => {
  parser.parse(chunk);
  if (acks.length > 0) {
    socket.write(acks.length === 1 ? acks[0]! : Buffer.concat(acks));
    acks = [];
  }
});
socket.on('connect', () => {
  socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: false, clientId, keepalive: 60, properties: { sessionExpiryInterval: 3600, receiveMaximum: 65535 } }, opts));
});
socket.on('error', (err) => {
  process.stderr.write(`bare-packet-sub: ${err.message}\n`);
  process.exit(1);
});
const ping = mqttPacket.generate({ cmd: 'pingreq' }, opts);
setInterval(() => socket.write(ping), 30_000).unref();
setInterval(() => {
  const u = process.cpuUsage();
  process.stdout.write(JSON.stringify({ n, cpu: (u.user + u.system) / 1e6 }) + '\n');
}, 1000);
process.on('SIGTERM', () => {
  socket.end(mqttPacket.generate({ cmd: 'disconnect' }, opts), () => process.exit(0));
});
