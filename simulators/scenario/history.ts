/**
 * How far each device's simulated time already went on this broker. The service judges a
 * device's readings in time order: one a little older than the last it judged (up to 5
 * minutes) is ignored, and a jump back further counts as no time passing (alerts/watches.ts,
 * CLOCK_JUMP_MS). Either way a run's durations would not be its own, so a run must begin after
 * whatever any earlier run (a scenario, `npm run simulate`, the demo) sent for its devices. Each simulated device leaves its last reading's time, retained, on its
 * clock topic (`clockTopic`, outside `estate/`); a run reads them before it begins and
 * writes them for devices that could not leave cleanly (offline at the end).
 */
import type { MqttClient } from 'mqtt';
import { clockTopic } from '../device.ts';

const PROBE_TIMEOUT_MS = 10_000;

/**
 * The recorded simulated times of `devices`, epoch ms. Retained messages come with the
 * subscription, before anything published after it: a probe message sent after subscribing
 * marks the end of them.
 */
export async function readClocks(client: MqttClient, devices: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const topics = new Map(devices.map((d) => [clockTopic(d), d]));
  const probe = `simulators/probe/${client.options.clientId ?? 'x'}/${Date.now()}`;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
    setTimeout(resolve, PROBE_TIMEOUT_MS).unref();
  });
  const onMessage = (topic: string, payload: Buffer) => {
    if (topic === probe) return done();
    const device = topics.get(topic);
    if (!device) return;
    try {
      const until = (JSON.parse(payload.toString()) as { until?: unknown }).until;
      if (typeof until === 'number' && Number.isFinite(until)) out.set(device, until);
    } catch {
      // Not ours to judge: someone else's message on the topic.
    }
  };
  client.on('message', onMessage);
  try {
    await client.subscribeAsync([...topics.keys(), probe], { qos: 1 });
    await client.publishAsync(probe, '', { qos: 1 });
    await finished;
    await client.unsubscribeAsync([...topics.keys(), probe]);
  } finally {
    client.off('message', onMessage);
  }
  return out;
}

/** Records devices' simulated times (retained). */
export async function writeClocks(client: MqttClient, until: ReadonlyMap<string, number>): Promise<void> {
  await Promise.all([...until].map(([device, t]) => client.publishAsync(clockTopic(device), JSON.stringify({ until: t }), { qos: 1, retain: true })));
}
