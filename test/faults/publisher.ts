/**
 * Devices at a steady total rate, in a process of their own so that publishing does not take
 * the CPU of the service under test (run: `node --import tsx test/faults/publisher.ts '<json>'`).
 *
 * Options (JSON argument): url, site, devices (n hydrants H0000…), clients (MQTT connections
 * the devices share), rate (readings a second, all devices together), qos (0 or 1).
 * Every reading has its own seq per device, a ts that only grows per device (the device's
 * clock, at least 1 ms after its previous reading, so no two readings of a device share a
 * point in InfluxDB) and a pressure value unique across the run (k / 1e6 MPa).
 *
 * Prints one JSON line a second, `{"sent", "acked"}`. On a line "stop" on stdin it stops
 * publishing, waits until the broker has acknowledged every QoS 1 reading, prints
 * `{"done": true, "sent", "acked", "errors", "seconds", "rate", "perDevice": [...]}` and exits.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { createInterface } from 'node:readline';

interface Options {
  url: string;
  site: string;
  devices: number;
  clients: number;
  rate: number;
  qos: 0 | 1;
}

const opts = JSON.parse(process.argv[2] ?? '{}') as Options;
const id = (i: number) => `H${String(i).padStart(4, '0')}`;
const topics = Array.from({ length: opts.devices }, (_, i) => `estate/${opts.site}/hydrant/${id(i)}/telemetry`);
const perDevice = new Array<number>(opts.devices).fill(0);
const lastTs = new Array<number>(opts.devices).fill(0);
let sent = 0;
let acked = 0;
let errors = 0;
let lastError = '';

const clients: MqttClient[] = await Promise.all(
  Array.from({ length: opts.clients }, (_, i) =>
    mqtt.connectAsync(opts.url, { clientId: `fault-pub-${process.pid}-${i}`, protocolVersion: 4, clean: true, reconnectPeriod: 500, connectTimeout: 5000 }),
  ),
);

const onAck = (err?: Error) => {
  if (err) {
    errors++;
    lastError = err.message;
  } else acked++;
};

function publishOne(): void {
  const k = sent++;
  const dev = k % opts.devices;
  const seq = perDevice[dev]!++;
  const ts = Math.max(Date.now(), lastTs[dev]! + 1);
  lastTs[dev] = ts;
  const payload = `{"ts":${ts},"seq":${seq},"metrics":{"pressure_mpa":${(k + 1) / 1e6}}}`;
  clients[dev % clients.length]!.publish(topics[dev]!, payload, { qos: opts.qos }, opts.qos === 1 ? onAck : undefined);
  if (opts.qos === 0) acked++;
}

const t0 = Date.now();
let stopped = false;
// Paced: every 10 ms, publish what the rate says is due (at most 1 s of it at once).
const timer = setInterval(() => {
  const due = Math.floor(((Date.now() - t0) / 1000) * opts.rate);
  let n = Math.min(due - sent, opts.rate);
  while (n-- > 0) publishOne();
}, 10);
const progress = setInterval(() => process.stdout.write(JSON.stringify({ sent, acked, errors }) + '\n'), 1000);

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'stop' || stopped) return;
  stopped = true;
  clearInterval(timer);
  const seconds = (Date.now() - t0) / 1000;
  const settle = setInterval(() => {
    if (acked + errors < sent) return;
    clearInterval(settle);
    clearInterval(progress);
    process.stdout.write(JSON.stringify({ done: true, sent, acked, errors, lastError, seconds, rate: Math.round(sent / seconds), perDevice }) + '\n');
    void Promise.all(clients.map((c) => c.endAsync())).finally(() => process.exit(0));
  }, 50);
});
