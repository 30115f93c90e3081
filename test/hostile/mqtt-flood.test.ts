/**
 * 10,000 random and malformed MQTT messages (fast-check, fixed seed) through a real Mosquitto
 * into the whole service in-process: random topics (wildcard-like characters, very long
 * levels, unknown devices), bad UTF-8, payloads over the 16 KiB limit, JSON nested 10,000
 * deep, huge arrays, 1e309, NaN strings, __proto__ and constructor keys, beside valid
 * telemetry, events and statuses.
 *
 * - the service stays up (/healthz answers throughout) and nothing pollutes Object.prototype;
 * - every message the broker delivered is accounted for: a second client on estate/# counts
 *   what was delivered; /metrics counts the same number of messages in; the reject counters
 *   by reason, the accepted and duplicate counters, and the reject log (GET /api/ingest/rejects)
 *   match what the decoder says of each delivered message — nothing lost between the
 *   broker, the decoder, the reject log and the spool.
 *
 * What MQTT itself refuses (a wildcard or NUL in a publish topic, an empty topic, a topic over
 * 65,535 bytes) never reaches the service; those are counted apart and not sent. Invalid UTF-8
 * in a topic cannot be sent with mqtt.js (topics are strings) and Mosquitto refuses it anyway.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import mqtt, { type MqttClient } from 'mqtt';
import { EVENT_CODES, KINDS, METRICS } from '../../config/index.ts';
import { Decoder } from '../../ingest/decode.ts';
import { startMosquitto, type Mosquitto } from '../harness/mosquitto.ts';
import { startService, type TestService } from '../harness/service.ts';
import { waitFor } from '../harness/ports.ts';
import { TOKENS } from './fixture.ts';

const SEED = Number(process.env.FC_SEED ?? 20261125);
const MESSAGES = 10_000;
const WAIT = 120_000;

let mosquitto: Mosquitto;
let service: TestService;
let publisher: MqttClient;
let counter: MqttClient;
let publisherClosed = false;
const delivered: { topic: string; payload: Buffer }[] = [];

beforeAll(async () => {
  // Durable: no queue limit, so the broker drops nothing while the service is busy.
  mosquitto = await startMosquitto({ durable: true });
  service = await startService({ env: { MQTT_URL: mosquitto.url } });
  counter = await mqtt.connectAsync(mosquitto.url, { clientId: `flood-counter-${process.pid}`, protocolVersion: 4, clean: true });
  await counter.subscribeAsync('estate/#', { qos: 1 });
  counter.on('message', (topic, payload) => delivered.push({ topic, payload }));
  // No reconnection: a publish the broker would drop the client for must fail the test at once, not hang it.
  publisher = await mqtt.connectAsync(mosquitto.url, { clientId: `flood-publisher-${process.pid}`, protocolVersion: 4, clean: true, reconnectPeriod: 0 });
  publisher.on('close', () => (publisherClosed = true));
}, WAIT);

afterAll(async () => {
  await publisher?.endAsync();
  await counter?.endAsync();
  await service?.stop();
  await mosquitto?.destroy();
});

// --- what to send -----------------------------------------------------------------------

function messages(now: number) {
  const DEVICES = ['HY-03', 'EL-1-A', 'FL-01', 'WS-01'];
  const deviceTopic = fc.tuple(fc.constantFrom(...DEVICES), fc.constantFrom('telemetry', 'event', 'status')).map(([d, c]) => {
    const kind = d.startsWith('HY') ? 'hydrant' : d.startsWith('EL') ? 'elevator' : d.startsWith('FL') ? 'firelane' : 'water';
    return `estate/jinfo-garden/${kind}/${d}/${c}`;
  });
  const level = fc.oneof(
    fc.constantFrom('', 'jinfo-garden', 'hydrant', 'elevator', 'boiler', 'HY-03', 'HY-99', 'telemetry', 'event', 'status', '+', '#', 'a+b', 'x#', '*', '$SYS', '..', ' ', '金佛花园', '🚒', '\u0000'),
    fc.string({ unit: 'grapheme', maxLength: 12 }),
    fc.string({ unit: 'binary', maxLength: 12 }),
  );
  const topic = fc.oneof(
    { weight: 6, arbitrary: deviceTopic },
    { weight: 2, arbitrary: fc.array(level, { minLength: 0, maxLength: 7 }).map((l) => ['estate', ...l].join('/')) },
    { weight: 1, arbitrary: fc.array(level, { minLength: 4, maxLength: 4 }).map((l) => `estate/${l.join('/')}`) },
    { weight: 1, arbitrary: fc.integer({ min: 1000, max: 70_000 }).map((n) => `estate/jinfo-garden/hydrant/${'H'.repeat(n)}/telemetry`) },
    // Devices not in the estate file, and registered ones under another site or kind.
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('jinfo-garden', 'nancheng-mansion', 'no-such-site'), fc.constantFrom(...KINDS), fc.oneof(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,20}$/), fc.constantFrom(...DEVICES))).map(([s, k, d]) => `estate/${s}/${k}/${d}/telemetry`) },
  );

  const anyName = fc.oneof(fc.constantFrom(...new Set(KINDS.flatMap((k) => [...METRICS[k].keys()]))), fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', ''), fc.string({ maxLength: 10 }));
  const weird = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.double(),
    fc.constantFrom(0.3, 1, 0, true, false, null, 'NaN', 'Infinity', '-0', '1e309', 87, 200, -1),
  );
  // ts well inside or well outside the accepted window, never near its edges (the service's clock is a little later).
  const ts = fc.oneof(fc.constant(undefined), fc.integer({ min: now - 3_600_000, max: now - 60_000 }), fc.constantFrom(now - 40 * 86_400_000, now + 3_600_000, 'yesterday', '2026-02-30T00:00:00Z', 1e309));
  const element = fc.record({ ts, seq: fc.option(fc.nat({ max: 50 }), { nil: undefined }), metrics: fc.oneof(fc.dictionary(anyName, weird, { maxKeys: 4 }), weird) }, { requiredKeys: ['metrics'] });
  const json = fc.oneof(
    { weight: 4, arbitrary: element.map((e) => JSON.stringify(e)) },
    { weight: 2, arbitrary: fc.record({ ts, code: fc.oneof(fc.constantFrom(...new Set(KINDS.flatMap((k) => EVENT_CODES[k]))), weird), active: fc.oneof(fc.boolean(), weird), detail: fc.string({ unit: 'grapheme', maxLength: 40 }) }, { requiredKeys: ['code', 'active'] }).map((e) => JSON.stringify(e)) },
    { weight: 1, arbitrary: fc.record({ online: fc.oneof(fc.boolean(), weird), ts }, { requiredKeys: ['online'] }).map((e) => JSON.stringify(e)) },
    { weight: 2, arbitrary: fc.array(element, { maxLength: 5 }).map((e) => JSON.stringify(e)) },
    // Numbers JSON.parse turns into Infinity; prototype pollution attempts.
    { weight: 1, arbitrary: fc.constantFrom('{"metrics":{"pressure_mpa":1e309}}', '{"metrics":{"pressure_mpa":-1e309,"temp_c":"NaN"}}', '{"__proto__":{"polluted":1},"metrics":{"pressure_mpa":0.3}}', '{"metrics":{"__proto__":{"polluted":1},"pressure_mpa":0.3}}', '{"constructor":{"prototype":{"polluted":1}},"metrics":{"temp_c":5}}', '[{"__proto__":{"polluted":1}}]', '{"code":"__proto__","active":true}', '{"online":true,"__proto__":{"polluted":1}}') },
  );
  const payload = fc.oneof(
    { weight: 60, arbitrary: json.map((s) => Buffer.from(s)) },
    { weight: 5, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)) },
    { weight: 5, arbitrary: fc.constantFrom(Buffer.from([0xff, 0xfe, 0x7b]), Buffer.from([0xc3, 0x28]), Buffer.from('{"metrics":{"temp_c":1}}\u0000'), Buffer.from([0xed, 0xa0, 0x80])) },
    // Over the limit: just over, and far over (1 MiB).
    { weight: 5, arbitrary: fc.oneof(fc.integer({ min: 16 * 1024 + 1, max: 64 * 1024 }), fc.constant(1024 * 1024)).map((n) => Buffer.alloc(n, 0x20)) },
    // Nested 10,000 deep (over the limit once closed), 8,000 deep (inside it), never closed.
    { weight: 5, arbitrary: fc.constantFrom(10_000, 8_000, 2_000).chain((n) => fc.constantFrom(Buffer.from('['.repeat(n) + ']'.repeat(n)), Buffer.from('['.repeat(n)), Buffer.from('{"metrics":'.repeat(Math.min(n, 1400)) + '1' + '}'.repeat(Math.min(n, 1400))))) },
    // Huge arrays: of numbers (each element refused alone) and of valid readings. Rare, so that the
    // rejects stay under the reject log's retention (its newest 100,000).
    { weight: 1, arbitrary: fc.integer({ min: 100, max: 1000 }).chain((n) => fc.constantFrom(Buffer.from(`[${Array(n).fill('1').join(',')}]`), Buffer.from(JSON.stringify(Array.from({ length: Math.min(n, 400) }, () => ({ metrics: { pressure_mpa: 0.3 } })))))) },
  );
  return fc.tuple(topic, payload);
}

/**
 * What MQTT refuses in a publish topic, so the service never sees it: wildcards, an empty
 * topic, one over 65,535 bytes, and what Mosquitto takes for malformed UTF-8 (it drops the
 * client): control characters (C0, DEL, C1) and Unicode non-characters.
 */
function refusedByMqtt(topic: string): boolean {
  if (topic === '' || /[+#]/.test(topic) || Buffer.byteLength(topic) > 65_535) return true;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f\ufdd0-\ufdef]/.test(topic)) return true;
  for (const ch of topic) if ((ch.codePointAt(0)! & 0xfffe) === 0xfffe) return true;
  return false;
}

async function metric(name: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm'))) out.set(m[1] ?? '', Number(m[2]));
  return out;
}

describe(`${MESSAGES} random and malformed messages`, () => {
  it('the service stays up and accounts for every delivered message', async () => {
    const now = Date.now();
    const all = fc.sample(messages(now), { numRuns: MESSAGES, seed: SEED });
    const refused = all.filter(([t]) => refusedByMqtt(t));
    const sent = all.filter(([t]) => !refusedByMqtt(t));
    // The mix is as meant: most are sent, some are MQTT's to refuse, some are over the limit.
    expect(sent.length).toBeGreaterThan(MESSAGES * 0.8);
    expect(refused.length).toBeGreaterThan(0);
    expect(sent.filter(([, p]) => p.length > 16 * 1024).length).toBeGreaterThan(50);

    let down = 0;
    const health = setInterval(() => {
      fetch(`${service.url}/healthz`).then((r) => r.status !== 200 && down++, () => down++);
    }, 250);
    try {
      // QoS 1, 100 in flight at a time.
      for (let i = 0; i < sent.length; i += 100) {
        const batch = sent.slice(i, i + 100);
        await Promise.race([
          Promise.all(batch.map(([t, p]) => publisher.publishAsync(t, p, { qos: 1 }))),
          waitFor('', () => publisherClosed, WAIT, 50).then(() => {
            throw new Error(`the broker closed the publisher in messages ${i}…${i + 99}: ${batch.map(([t]) => JSON.stringify(t.slice(0, 80))).join(' ')}`);
          }),
        ]);
      }
      await waitFor('the counting client to see every message', () => delivered.length >= sent.length, WAIT, 100);
      expect(delivered.length).toBe(sent.length);
      await waitFor('the service to take every delivered message', async () => (await metric('estate_mqtt_messages_total')).get('') === delivered.length, WAIT, 200);
    } finally {
      clearInterval(health);
    }

    // What the decoder says of each delivered message, judged as the service would.
    const decoder = new Decoder(service.app.registry);
    const expectedRejects = new Map<string, number>();
    let expectedRecords = 0;
    for (const m of delivered) {
      const d = decoder.decode(m.topic, m.payload, Date.now());
      const records = d.readings.length + d.events.length + d.statuses.length;
      // Every message gives something: a record or a reject.
      expect(records + d.rejects.length, m.topic).toBeGreaterThan(0);
      expectedRecords += records;
      for (const r of d.rejects) expectedRejects.set(r.reason, (expectedRejects.get(r.reason) ?? 0) + 1);
    }
    const rejectTotal = [...expectedRejects.values()].reduce((a, b) => a + b, 0);
    expect(expectedRecords).toBeGreaterThan(200);
    expect(rejectTotal).toBeGreaterThan(1000);
    expect(rejectTotal, 'within the reject log\'s retention').toBeLessThan(100_000);

    const rejects = await metric('estate_ingest_rejects_total');
    const byReason = new Map([...rejects].map(([labels, n]) => [/reason="([^"]+)"/.exec(labels)![1]!, n]));
    const storeRejected = byReason.get('store_rejected') ?? 0;
    byReason.delete('store_rejected');
    expect(Object.fromEntries([...byReason].filter(([, n]) => n > 0).sort())).toEqual(Object.fromEntries([...expectedRejects].sort()));
    const accepted = (await metric('estate_records_accepted_total')).get('') ?? 0;
    const duplicates = (await metric('estate_ingest_duplicates_total')).get('') ?? 0;
    // A device marked offline by one message and heard from by a later one gets an online
    // status recorded for it (docs/ingest.md, "Device state"): at most once per offline status.
    const backOnline = (await metric('estate_devices_back_online_total')).get('') ?? 0;
    const offlines = delivered.filter((m) => decoder.decode(m.topic, m.payload, Date.now()).statuses.some((x) => !x.online)).length;
    expect(backOnline).toBeLessThanOrEqual(offlines);
    expect(accepted + duplicates + storeRejected).toBe(expectedRecords + backOnline);
    // Nothing valid is refused by the store's encoder.
    expect(storeRejected).toBe(0);

    // The reject log holds every one of them, newest first, page by page.
    let logged = 0;
    await waitFor(
      'the reject log to hold every reject',
      async () => {
        logged = 0;
        let before: number | undefined;
        for (;;) {
          const r = await fetch(`${service.url}/api/ingest/rejects?limit=1000${before ? `&before=${before}` : ''}`, { headers: { authorization: `Bearer ${TOKENS.admin}` } });
          expect(r.status).toBe(200);
          const body = (await r.json()) as { items: { reason: string; payload: string }[]; next?: number };
          logged += body.items.length;
          for (const item of body.items) expect(Buffer.byteLength(item.payload)).toBeLessThanOrEqual(22 * 1024);
          if (!body.next) break;
          before = body.next;
        }
        return logged === rejectTotal;
      },
      30_000,
      500,
    ).catch(() => undefined);
    expect(logged).toBe(rejectTotal);

    // Devices not in the estate file (or under another site or kind) are listed, each message counted.
    const unregistered = (await (await fetch(`${service.url}/api/devices/unregistered`, { headers: { authorization: `Bearer ${TOKENS.admin}` } })).json()) as { items: { messages: number }[] };
    expect(unregistered.items.length).toBeGreaterThan(0);
    expect(unregistered.items.length, 'under the list\'s limit of 1,000').toBeLessThan(1000);
    expect(unregistered.items.reduce((n, i) => n + i.messages, 0)).toBe(expectedRejects.get('unknown_device'));

    console.info(
      `flood: ${all.length} generated, ${refused.length} refused by MQTT (not sent), ${sent.length} sent, ${delivered.length} delivered; ` +
        `${accepted} records accepted, ${duplicates} duplicates, ${rejectTotal} rejects ${JSON.stringify(Object.fromEntries([...expectedRejects].sort()))}, ${logged} in the reject log`,
    );
    expect(down).toBe(0);
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
    // No __proto__ key reached a prototype.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
  }, 600_000);
});
