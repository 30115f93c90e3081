// Baseline: an mqtt.js v5 subscriber that does nothing with its messages (QoS 1 acked at once).
import mqtt from 'mqtt';
const url = process.argv[2]!;
let n = 0;
const client = mqtt.connect(url, {
  clientId: 'bare-sub',
  clean: false,
  protocolVersion: 5,
  properties: { sessionExpiryInterval: 3600, receiveMaximum: 65535 },
  customHandleAcks: (_t, _m, _p, done) => {
    n++;
    done(0);
  },
});
client.on('message', (_t, _m, p) => {
  if (p.qos === 0) n++;
});
client.on('connect', () => {
  const sock = client.stream as any;
  let waiting = false;
  if (process.env.LINGER) sock.on('data', (d: Buffer) => { if (waiting || d.length >= 65536) return; waiting = true; sock.pause(); setTimeout(() => { waiting = false; sock.resume(); }, 1); });
});
client.on('connect', () => client.subscribe('estate/#', { qos: 1 }, () => process.stdout.write('ready\n')));
setInterval(() => {
  const u = process.cpuUsage();
  process.stdout.write(JSON.stringify({ n, cpu: (u.user + u.system) / 1e6 }) + '\n');
}, 1000);
