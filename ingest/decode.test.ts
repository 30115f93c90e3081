/**
 * Decoder.decode against docs/interfaces.md#mqtt, without a broker: every reject reason, the
 * check order (size, topic, device, JSON shape, timestamp, fields; the first that applies
 * wins), arrays judged per element, metric types and physical ranges, timestamps.
 */
import { describe, expect, it } from 'vitest';
import { decodeRegistry } from './testing/estate.ts';
import { Decoder, MAX_PAYLOAD, type Decoded, type RejectReason } from './decode.ts';

const decoder = new Decoder(decodeRegistry());
/** 2026-11-25T08:00:00Z, the service's clock in these tests */
const NOW = Date.UTC(2026, 10, 25, 8, 0, 0);
const MIN = 60_000;
const DAY = 24 * 60 * MIN;

const HY = 'estate/jinfo-garden/hydrant/HY-03/telemetry';
const EL = 'estate/jinfo-garden/elevator/EL-1-A/telemetry';
const FL = 'estate/jinfo-garden/firelane/FL-01/telemetry';
const WS = 'estate/jinfo-garden/water/WS-01/telemetry';
const EVENT = 'estate/jinfo-garden/hydrant/HY-03/event';
const STATUS = 'estate/jinfo-garden/hydrant/HY-03/status';

type Payload = string | Buffer | object;
const bytes = (p: Payload): Buffer => (Buffer.isBuffer(p) ? p : Buffer.from(typeof p === 'string' ? p : JSON.stringify(p)));

function decode(topic: string, payload: Payload, now = NOW): Decoded {
  return decoder.decode(topic, bytes(payload), now);
}

/** The one reject of a message that yields nothing else. */
function onlyReject(topic: string, payload: Payload, now = NOW) {
  const d = decode(topic, payload, now);
  expect(d.readings).toEqual([]);
  expect(d.events).toEqual([]);
  expect(d.statuses).toEqual([]);
  expect(d.rejects).toHaveLength(1);
  return d.rejects[0]!;
}

interface RejectCase {
  name: string;
  topic: string;
  payload: Payload;
  reason: RejectReason;
  detail: RegExp;
}

const tooBig = '{"metrics":{"pressure_mpa":0.3},"pad":"' + 'x'.repeat(MAX_PAYLOAD) + '"}';

const rejects: RejectCase[] = [
  // size
  { name: 'over 16 KiB', topic: HY, payload: tooBig, reason: 'bad_payload', detail: /^payload is \d+ bytes; the limit is 16 KiB$/ },
  // topic
  { name: 'too few levels', topic: 'estate/jinfo-garden/hydrant/HY-03', payload: {}, reason: 'bad_topic', detail: /^expected estate\/\{site\}\/\{kind\}\/\{device\}\/\{channel\}$/ },
  { name: 'too many levels', topic: `${HY}/extra`, payload: {}, reason: 'bad_topic', detail: /^expected estate\// },
  { name: 'another root', topic: 'estates/jinfo-garden/hydrant/HY-03/telemetry', payload: {}, reason: 'bad_topic', detail: /^expected estate\// },
  { name: 'site with capitals', topic: 'estate/Jinfo-Garden/hydrant/HY-03/telemetry', payload: {}, reason: 'bad_topic', detail: /^site "Jinfo-Garden" must match/ },
  { name: 'empty site', topic: 'estate//hydrant/HY-03/telemetry', payload: {}, reason: 'bad_topic', detail: /^site "" must match/ },
  { name: 'unknown kind', topic: 'estate/jinfo-garden/boiler/HY-03/telemetry', payload: {}, reason: 'bad_topic', detail: /^unknown kind "boiler"$/ },
  { name: 'device id with a space', topic: 'estate/jinfo-garden/hydrant/HY 03/telemetry', payload: {}, reason: 'bad_topic', detail: /^device "HY 03" must match/ },
  { name: 'unknown channel', topic: 'estate/jinfo-garden/hydrant/HY-03/config', payload: {}, reason: 'bad_topic', detail: /^unknown channel "config"$/ },
  // device
  { name: 'device not in the estate file', topic: 'estate/jinfo-garden/hydrant/HY-99/telemetry', payload: { metrics: { pressure_mpa: 0.3 } }, reason: 'unknown_device', detail: /^device "HY-99" is not in the estate file$/ },
  { name: 'device under another site', topic: 'estate/nancheng-mansion/hydrant/HY-03/telemetry', payload: { metrics: { pressure_mpa: 0.3 } }, reason: 'unknown_device', detail: /^device "HY-03" is registered as hydrant at site jinfo-garden, not hydrant at nancheng-mansion$/ },
  { name: 'a site the registered one is the start of', topic: 'estate/jinfo-gardens/hydrant/HY-03/telemetry', payload: { metrics: { pressure_mpa: 0.3 } }, reason: 'unknown_device', detail: /registered as hydrant at site jinfo-garden, not hydrant at jinfo-gardens/ },
  { name: 'a channel with more after it', topic: 'estate/jinfo-garden/hydrant/HY-03/telemetryx', payload: {}, reason: 'bad_topic', detail: /^unknown channel "telemetryx"$/ },
  { name: 'an empty channel', topic: 'estate/jinfo-garden/hydrant/HY-03/', payload: {}, reason: 'bad_topic', detail: /^unknown channel ""$/ },
  { name: 'device under another kind', topic: 'estate/jinfo-garden/water/HY-03/telemetry', payload: { metrics: { ph: 7 } }, reason: 'unknown_device', detail: /registered as hydrant at site jinfo-garden, not water at jinfo-garden/ },
  // JSON shape
  { name: 'not UTF-8', topic: HY, payload: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), reason: 'bad_payload', detail: /^payload is not UTF-8$/ },
  { name: 'not JSON', topic: HY, payload: '{"metrics": {', reason: 'bad_payload', detail: /^not JSON: / },
  { name: 'empty payload', topic: HY, payload: '', reason: 'bad_payload', detail: /^not JSON: / },
  { name: 'a JSON number', topic: HY, payload: '42', reason: 'bad_payload', detail: /^expected a JSON object or an array of them$/ },
  { name: 'null', topic: HY, payload: 'null', reason: 'bad_payload', detail: /^expected a JSON object/ },
  { name: 'an empty array', topic: HY, payload: [], reason: 'bad_payload', detail: /^empty array$/ },
  { name: 'telemetry without metrics', topic: HY, payload: { ts: NOW }, reason: 'bad_payload', detail: /^metrics must be an object$/ },
  { name: 'metrics as an array', topic: HY, payload: { metrics: [0.3] }, reason: 'bad_payload', detail: /^metrics must be an object$/ },
  { name: 'empty metrics', topic: HY, payload: { metrics: {} }, reason: 'bad_payload', detail: /^metrics is empty$/ },
  { name: 'unknown key in telemetry', topic: HY, payload: { metrics: { pressure_mpa: 0.3 }, values: {} }, reason: 'bad_payload', detail: /^unknown key "values" \(expected ts, seq, metrics\)$/ },
  { name: 'negative seq', topic: HY, payload: { seq: -1, metrics: { pressure_mpa: 0.3 } }, reason: 'bad_payload', detail: /^seq must be a non-negative integer$/ },
  { name: 'fractional seq', topic: HY, payload: { seq: 1.5, metrics: { pressure_mpa: 0.3 } }, reason: 'bad_payload', detail: /^seq must be/ },
  { name: 'seq as a string', topic: HY, payload: { seq: '7', metrics: { pressure_mpa: 0.3 } }, reason: 'bad_payload', detail: /^seq must be/ },
  { name: 'seq beyond 2^53', topic: HY, payload: '{"seq": 9007199254740993, "metrics": {"pressure_mpa": 0.3}}', reason: 'bad_payload', detail: /^seq must be/ },
  { name: 'event code of another kind', topic: EVENT, payload: { code: 'trapped', active: true }, reason: 'bad_payload', detail: /^unknown event code "trapped" for hydrant$/ },
  { name: 'event without code', topic: EVENT, payload: { active: true }, reason: 'bad_payload', detail: /^code must be a string$/ },
  { name: 'event without active', topic: EVENT, payload: { code: 'leak' }, reason: 'bad_payload', detail: /^active must be true or false$/ },
  { name: 'event active as 1', topic: EVENT, payload: { code: 'leak', active: 1 }, reason: 'bad_payload', detail: /^active must be true or false$/ },
  { name: 'event detail not a string', topic: EVENT, payload: { code: 'leak', active: true, detail: { floor: 5 } }, reason: 'bad_payload', detail: /^detail must be a string$/ },
  { name: 'unknown key in an event', topic: EVENT, payload: { code: 'leak', active: true, severity: 'high' }, reason: 'bad_payload', detail: /^unknown key "severity"/ },
  { name: 'status as an array', topic: STATUS, payload: [{ online: true }, { online: false }], reason: 'bad_payload', detail: /^a status is one object, not an array$/ },
  { name: 'status online as a string', topic: STATUS, payload: { online: 'no' }, reason: 'bad_payload', detail: /^online must be true or false$/ },
  { name: 'unknown key in a status', topic: STATUS, payload: { online: true, battery: 3 }, reason: 'bad_payload', detail: /^unknown key "battery" \(expected online, ts\)$/ },
  // timestamp
  { name: 'ts 5 min + 1 ms in the future', topic: HY, payload: { ts: NOW + 5 * MIN + 1, metrics: { pressure_mpa: 0.3 } }, reason: 'bad_timestamp', detail: /^ts 2026-11-25T08:05:00\.001Z is more than 5 min in the future$/ },
  { name: 'ts 30 days + 1 ms old', topic: HY, payload: { ts: NOW - 30 * DAY - 1, metrics: { pressure_mpa: 0.3 } }, reason: 'bad_timestamp', detail: /^ts 2026-10-26T07:59:59\.999Z is more than 30 days old$/ },
  { name: 'ts in seconds', topic: HY, payload: { ts: NOW / 1000, metrics: { pressure_mpa: 0.3 } }, reason: 'bad_timestamp', detail: /more than 30 days old \(it looks like seconds; ts is in milliseconds\)$/ },
  { name: 'ts far beyond what a Date can hold', topic: HY, payload: { ts: 1e20, metrics: { pressure_mpa: 0.3 } }, reason: 'bad_timestamp', detail: /^ts 100000000000000000000 is more than 5 min in the future$/ },
  { name: 'ts negative', topic: HY, payload: { ts: -1, metrics: { pressure_mpa: 0.3 } }, reason: 'bad_timestamp', detail: /^ts 1969-12-31T23:59:59\.999Z is more than 30 days old$/ },
  { name: 'ts as a date only', topic: HY, payload: { ts: '2026-11-25', metrics: { pressure_mpa: 0.3 } }, reason: 'bad_timestamp', detail: /^ts "2026-11-25" is neither epoch milliseconds nor RFC 3339$/ },
  { name: 'ts without an offset', topic: HY, payload: { ts: '2026-11-25T08:00:00', metrics: { pressure_mpa: 0.3 } }, reason: 'bad_timestamp', detail: /is neither epoch milliseconds nor RFC 3339$/ },
  { name: 'ts as a string of digits', topic: HY, payload: { ts: String(NOW), metrics: { pressure_mpa: 0.3 } }, reason: 'bad_timestamp', detail: /is neither epoch milliseconds nor RFC 3339$/ },
  { name: 'ts on 30 February', topic: HY, payload: { ts: '2026-02-30T08:00:00Z', metrics: { pressure_mpa: 0.3 } }, reason: 'bad_timestamp', detail: /^ts "2026-02-30T08:00:00Z" is not a valid date$/ },
  { name: 'ts at 24:00', topic: HY, payload: { ts: '2026-11-24T24:00:00Z', metrics: { pressure_mpa: 0.3 } }, reason: 'bad_timestamp', detail: /is not a valid date$/ },
  { name: 'ts in month 13', topic: HY, payload: { ts: '2026-13-01T00:00:00Z', metrics: { pressure_mpa: 0.3 } }, reason: 'bad_timestamp', detail: /is not a valid date$/ },
  { name: 'ts with an offset of +24:00', topic: HY, payload: { ts: '2026-11-25T08:00:00+24:00', metrics: { pressure_mpa: 0.3 } }, reason: 'bad_timestamp', detail: /is not a valid date$/ },
  { name: 'ts true', topic: HY, payload: { ts: true, metrics: { pressure_mpa: 0.3 } }, reason: 'bad_timestamp', detail: /^ts must be epoch milliseconds or an RFC 3339 string$/ },
  { name: 'ts null', topic: HY, payload: { ts: null, metrics: { pressure_mpa: 0.3 } }, reason: 'bad_timestamp', detail: /^ts must be epoch milliseconds or an RFC 3339 string$/ },
  { name: 'ts of an event', topic: EVENT, payload: { ts: NOW + DAY, code: 'leak', active: true }, reason: 'bad_timestamp', detail: /more than 5 min in the future/ },
  { name: 'ts of a status', topic: STATUS, payload: { ts: '2020-01-01T00:00:00Z', online: false }, reason: 'bad_timestamp', detail: /more than 30 days old/ },
  // fields (a message whose only metric is bad)
  { name: 'unknown metric', topic: HY, payload: { metrics: { floor: 3 } }, reason: 'bad_metric', detail: /^floor: unknown metric for hydrant$/ },
  { name: 'a number as a string', topic: HY, payload: { metrics: { pressure_mpa: '0.3' } }, reason: 'bad_metric', detail: /^pressure_mpa: must be a number$/ },
  { name: 'a number as a boolean', topic: HY, payload: { metrics: { pressure_mpa: true } }, reason: 'bad_metric', detail: /^pressure_mpa: must be a number$/ },
  { name: 'a number as null', topic: HY, payload: { metrics: { pressure_mpa: null } }, reason: 'bad_metric', detail: /^pressure_mpa: must be a number$/ },
  { name: 'an infinite number (1e999)', topic: HY, payload: '{"metrics": {"pressure_mpa": 1e999}}', reason: 'bad_metric', detail: /^pressure_mpa: must be a finite number$/ },
  { name: 'pressure above 2.5 MPa', topic: HY, payload: { metrics: { pressure_mpa: 2.51 } }, reason: 'bad_metric', detail: /^pressure_mpa: 2\.51 is outside its physical range 0…2\.5 MPa$/ },
  { name: 'pressure below 0', topic: HY, payload: { metrics: { pressure_mpa: -0.01 } }, reason: 'bad_metric', detail: /outside its physical range 0…2\.5 MPa$/ },
  { name: 'pH above 14', topic: WS, payload: { metrics: { ph: 14.1 } }, reason: 'bad_metric', detail: /^ph: 14\.1 is outside its physical range 0…14 pH$/ },
  { name: 'a percentage above 100', topic: WS, payload: { metrics: { battery_pct: 101 } }, reason: 'bad_metric', detail: /^battery_pct: 101 is outside its physical range 0…100 %$/ },
  { name: 'floor below −5', topic: EL, payload: { metrics: { floor: -6 } }, reason: 'bad_metric', detail: /^floor: -6 is outside its physical range -5…200$/ },
  { name: 'floor above 200', topic: EL, payload: { metrics: { floor: 201 } }, reason: 'bad_metric', detail: /outside its physical range -5…200$/ },
  { name: 'a fractional floor', topic: EL, payload: { metrics: { floor: 2.5 } }, reason: 'bad_metric', detail: /^floor: 2\.5 must be an integer$/ },
  { name: 'service_mode 8', topic: EL, payload: { metrics: { service_mode: 8 } }, reason: 'bad_metric', detail: /^service_mode: 8 is outside its physical range 0…7$/ },
  { name: 'a fractional service_mode', topic: EL, payload: { metrics: { service_mode: 1.5 } }, reason: 'bad_metric', detail: /^service_mode: 1\.5 must be an integer$/ },
  { name: 'a boolean metric as 2', topic: EL, payload: { metrics: { door_open: 2 } }, reason: 'bad_metric', detail: /^door_open: must be true or false$/ },
  { name: 'a boolean metric as "true"', topic: FL, payload: { metrics: { occupied: 'true' } }, reason: 'bad_metric', detail: /^occupied: must be true or false$/ },
  { name: 'a boolean metric as null', topic: FL, payload: { metrics: { occupied: null } }, reason: 'bad_metric', detail: /^occupied: must be true or false$/ },
];

describe('every reject reason', () => {
  it.each(rejects)('$name → $reason', ({ topic, payload, reason, detail }) => {
    const r = onlyReject(topic, payload);
    expect(r.reason).toBe(reason);
    expect(r.detail).toMatch(detail);
    expect(r.topic).toBe(topic);
  });

  it('keeps the raw payload with the reject, capped at 16 KiB, and non-UTF-8 as base64', () => {
    expect(onlyReject('estate/x', 'not json at all').payload).toBe('not json at all');
    const big = onlyReject(HY, tooBig);
    expect(big.payload).toBe(tooBig.slice(0, MAX_PAYLOAD));
    expect(onlyReject(HY, Buffer.from([0x7b, 0xff, 0xfe, 0x7d])).payload).toBe('base64:e//+fQ==');
  });

  it('lists an unknown device (for GET /api/devices/unregistered), and a registered one not', () => {
    expect(decode('estate/jinfo-garden/hydrant/HY-99/telemetry', '{}').unregistered).toEqual({ site: 'jinfo-garden', kind: 'hydrant', device: 'HY-99', channel: 'telemetry' });
    expect(decode('estate/nancheng-mansion/hydrant/HY-03/status', '{}').unregistered).toEqual({ site: 'nancheng-mansion', kind: 'hydrant', device: 'HY-03', channel: 'status' });
    expect(decode(HY, { metrics: { pressure_mpa: 0.3 } }).unregistered).toBeUndefined();
  });
});

describe('check order: size, topic, device, JSON shape, timestamp, fields', () => {
  const order: [string, string, Payload, RejectReason][] = [
    ['over 16 KiB on a bad topic', 'estate/nope', tooBig, 'bad_payload'],
    ['over 16 KiB from an unknown device', 'estate/jinfo-garden/hydrant/HY-99/telemetry', tooBig, 'bad_payload'],
    ['a bad topic and bad JSON', 'estate/jinfo-garden/boiler/HY-03/telemetry', '{not json', 'bad_topic'],
    ['a bad topic and a non-UTF-8 payload', 'estate/jinfo-garden/hydrant/HY-03/config', Buffer.from([0xff]), 'bad_topic'],
    ['an unknown device and bad JSON', 'estate/jinfo-garden/hydrant/HY-99/telemetry', '{not json', 'unknown_device'],
    ['a device under another site and a bad timestamp', 'estate/nancheng-mansion/hydrant/HY-03/telemetry', { ts: 0, metrics: { pressure_mpa: 0.3 } }, 'unknown_device'],
    ['a bad shape and a bad timestamp', HY, { ts: 0, seq: -1, metrics: { pressure_mpa: 0.3 } }, 'bad_payload'],
    ['an unknown key and a bad metric', HY, { extra: 1, metrics: { pressure_mpa: 9 } }, 'bad_payload'],
    ['an unknown event code and a bad timestamp', EVENT, { ts: 0, code: 'fire', active: true }, 'bad_payload'],
    ['a bad timestamp and a bad metric', HY, { ts: 0, metrics: { pressure_mpa: 9 } }, 'bad_timestamp'],
  ];

  it.each(order)('%s → %s', (_, topic, payload, reason) => {
    expect(onlyReject(topic, payload).reason).toBe(reason);
  });
});

describe('telemetry', () => {
  it('becomes a reading with the registry\'s site, kind and building', () => {
    const d = decode(HY, { ts: NOW - 1000, seq: 42, metrics: { pressure_mpa: 0.28, battery_pct: 87 } });
    expect(d.rejects).toEqual([]);
    expect(d.device?.id).toBe('HY-03');
    expect(d.readings).toEqual([
      { site: 'jinfo-garden', kind: 'hydrant', device: 'HY-03', building: '3栋', ts: NOW - 1000, seq: 42, fp: expect.any(Number), sent: NOW - 1000, metrics: { pressure_mpa: 0.28, battery_pct: 87 } },
    ]);
  });

  it('fingerprints a reading by its ts as sent or, without one, by its values, for de-duplication', () => {
    const fp = (body: object) => decode(HY, body).readings[0]!.fp;
    const a = fp({ ts: NOW - 1000, seq: 1, metrics: { pressure_mpa: 0.28 } });
    expect(fp({ ts: NOW - 1000, seq: 1, metrics: { pressure_mpa: 0.28 } })).toBe(a);
    expect(fp({ ts: NOW - 999, seq: 1, metrics: { pressure_mpa: 0.28 } })).not.toBe(a);
    expect(fp({ ts: new Date(NOW - 1000).toISOString(), seq: 1, metrics: { pressure_mpa: 0.28 } })).not.toBe(a);
    const b = fp({ seq: 1, metrics: { pressure_mpa: 0.28 } });
    expect(b).not.toBe(a);
    expect(fp({ seq: 1, metrics: { pressure_mpa: 0.28 } })).toBe(b);
    expect(fp({ seq: 1, metrics: { pressure_mpa: 0.29 } })).not.toBe(b);
    expect(decode(HY, { metrics: { pressure_mpa: 0.28 } }).readings[0]!.fp).toBeUndefined();
    // 16 bits, never 0 (ingest/dedup.ts); the ts it was sent with beside it, for the dedup's guard.
    for (const f of [a, b]) expect(f! > 0 && f! < 65_536).toBe(true);
    expect(decode(HY, { ts: NOW - 1000, seq: 1, metrics: { pressure_mpa: 0.28 } }).readings[0]!.sent).toBe(NOW - 1000);
    expect(decode(HY, { seq: 1, metrics: { pressure_mpa: 0.28 } }).readings[0]!.sent).toBeUndefined();
  });

  it('keeps the good metrics of a message and rejects each bad one on its own', () => {
    const d = decode(HY, { seq: 0, metrics: { pressure_mpa: 0.3, floor: 3, flow_lps: -1, leak: false, temp_c: 'cold' } });
    expect(d.readings).toEqual([{ site: 'jinfo-garden', kind: 'hydrant', device: 'HY-03', building: '3栋', ts: NOW, seq: 0, fp: expect.any(Number), metrics: { pressure_mpa: 0.3, leak: false } }]);
    expect(d.rejects.map((r) => [r.reason, r.detail.split(':')[0]])).toEqual([
      ['bad_metric', 'floor'],
      ['bad_metric', 'flow_lps'],
      ['bad_metric', 'temp_c'],
    ]);
    expect(d.rejects[0]!.payload).toBe(JSON.stringify({ seq: 0, metrics: { pressure_mpa: 0.3, floor: 3, flow_lps: -1, leak: false, temp_c: 'cold' } }));
  });

  it('gives no reading when every metric is bad', () => {
    const d = decode(HY, { metrics: { floor: 3, pressure_mpa: 7 } });
    expect(d.readings).toEqual([]);
    expect(d.rejects.map((r) => r.reason)).toEqual(['bad_metric', 'bad_metric']);
  });

  it.each([
    [true, true],
    [false, false],
    [1, true],
    [0, false],
  ])('a boolean metric takes %j as %j', (value, stored) => {
    const d = decode(EL, { metrics: { door_open: value, running: value, passengers_present: value } });
    expect(d.rejects).toEqual([]);
    expect(d.readings[0]!.metrics).toEqual({ door_open: stored, running: stored, passengers_present: stored });
  });

  it('takes integer metrics at their bounds, and the physical range bounds inclusive', () => {
    const el = decode(EL, { metrics: { floor: -5, service_mode: 7, load_pct: 150, run_count: 1e12, speed_mps: 0 } });
    expect(el.rejects).toEqual([]);
    expect(el.readings[0]!.metrics).toEqual({ floor: -5, service_mode: 7, load_pct: 150, run_count: 1e12, speed_mps: 0 });
    const top = decode(EL, { metrics: { floor: 200, service_mode: 0 } });
    expect(top.readings[0]!.metrics).toEqual({ floor: 200, service_mode: 0 });
    const hy = decode(HY, { metrics: { pressure_mpa: 2.5, rssi_dbm: -150 } });
    expect(hy.rejects).toEqual([]);
    const ws = decode(WS, { metrics: { ph: 0, tank_level_pct: 100, pump_running: 1 } });
    expect(ws.readings[0]!.metrics).toEqual({ ph: 0, tank_level_pct: 100, pump_running: true });
  });

  it('takes the metrics every kind may send (battery_pct, rssi_dbm) from each kind', () => {
    for (const topic of [HY, EL, FL, WS]) {
      const d = decode(topic, { metrics: { battery_pct: 50, rssi_dbm: -70 } });
      expect(d.rejects, topic).toEqual([]);
      expect(d.readings[0]!.metrics).toEqual({ battery_pct: 50, rssi_dbm: -70 });
    }
  });
});

describe('timestamps', () => {
  const at = (ts: unknown, now = NOW) => {
    const d = decode(HY, { ...(ts === undefined ? {} : { ts }), metrics: { pressure_mpa: 0.3 } }, now);
    expect(d.rejects).toEqual([]);
    return d.readings[0]!.ts;
  };

  it.each([
    ['2026-11-25T08:00:00Z', NOW],
    ['2026-11-25T16:00:00+08:00', NOW],
    ['2026-11-25T02:30:00-05:30', NOW],
    ['2026-11-25T08:00:00-00:00', NOW],
    ['2026-11-25T07:59:59.5Z', NOW - 500],
    ['2026-11-25T07:59:59.123456789Z', NOW - 877],
    ['2026-11-25T15:59:59.999+08:00', NOW - 1],
    ['2026-11-25t08:00:00z', NOW],
    ['2026-11-25 08:00:00Z', NOW],
  ])('RFC 3339 %s', (ts, expected) => {
    expect(at(ts)).toBe(expected);
  });

  it('epoch milliseconds, a fraction rounded', () => {
    expect(at(NOW - 1234)).toBe(NOW - 1234);
    expect(at(NOW - 1234.6)).toBe(NOW - 1235);
  });

  it('a missing ts is the time the service received the message', () => {
    expect(at(undefined)).toBe(NOW);
    expect(at(undefined, NOW + 777)).toBe(NOW + 777);
  });

  it('takes exactly 5 min ahead and exactly 30 days back', () => {
    expect(at(NOW + 5 * MIN)).toBe(NOW + 5 * MIN);
    expect(at(NOW - 30 * DAY)).toBe(NOW - 30 * DAY);
  });

  it('knows leap years: 29 February exists in 2028, not in 2027', () => {
    expect(at('2028-02-29T12:00:00Z', Date.UTC(2028, 2, 1))).toBe(Date.UTC(2028, 1, 29, 12));
    const r = onlyReject(HY, { ts: '2027-02-29T12:00:00Z', metrics: { pressure_mpa: 0.3 } }, Date.UTC(2027, 2, 1));
    expect([r.reason, r.detail]).toEqual(['bad_timestamp', 'ts "2027-02-29T12:00:00Z" is not a valid date']);
  });
});

describe('arrays (a replayed buffer)', () => {
  it('judges each element alone, naming its index, with the element as the reject\'s payload', () => {
    const elements = [
      { ts: NOW - 3000, seq: 1, metrics: { pressure_mpa: 0.3 } },
      { ts: NOW - 2000, seq: 2, metrics: { pressure_mpa: 0.31, floor: 2 } },
      { ts: 0, seq: 3, metrics: { pressure_mpa: 0.32 } },
      'not an object',
      { ts: NOW - 1000, seq: 4, metrics: {} },
      { seq: 5, metrics: { pressure_mpa: 0.33 } },
    ];
    const d = decode(HY, elements);
    expect(d.readings.map((r) => [r.seq, r.ts, r.metrics])).toEqual([
      [1, NOW - 3000, { pressure_mpa: 0.3 }],
      [2, NOW - 2000, { pressure_mpa: 0.31 }],
      [5, NOW, { pressure_mpa: 0.33 }],
    ]);
    expect(d.rejects.map((r) => [r.reason, r.detail, r.payload])).toEqual([
      ['bad_metric', '[1] floor: unknown metric for hydrant', JSON.stringify(elements[1])],
      ['bad_timestamp', '[2] ts 1970-01-01T00:00:00.000Z is more than 30 days old', JSON.stringify(elements[2])],
      ['bad_payload', '[3] expected a JSON object', '"not an object"'],
      ['bad_payload', '[4] metrics is empty', JSON.stringify(elements[4])],
    ]);
  });

  it('takes an array of events', () => {
    const d = decode(EVENT, [
      { code: 'leak', active: true },
      { code: 'leak', active: false },
    ]);
    expect(d.rejects).toEqual([]);
    expect(d.events.map((e) => e.active)).toEqual([true, false]);
  });

  it('does not throw on 16 KiB of nesting', () => {
    const deep = '['.repeat(MAX_PAYLOAD / 2) + ']'.repeat(MAX_PAYLOAD / 2);
    const r = onlyReject(HY, deep);
    expect(r.reason).toBe('bad_payload');
    const deepObject = '[' + '{"a":'.repeat(2500) + '1' + '}'.repeat(2500) + ']';
    expect(onlyReject(HY, deepObject).reason).toBe('bad_payload');
  });
});

describe('events', () => {
  it('become events with the registry\'s fields', () => {
    const d = decode(EVENT, { ts: '2026-11-25T08:00:00Z', seq: 9, code: 'valve_open', active: true, detail: 'opened by staff' });
    expect(d.events).toEqual([
      { site: 'jinfo-garden', kind: 'hydrant', device: 'HY-03', building: '3栋', ts: NOW, seq: 9, fp: expect.any(Number), sent: NOW, code: 'valve_open', active: true, detail: 'opened by staff' },
    ]);
  });

  it('make the detail single-line: each run of control characters becomes one space', () => {
    const d = decode(EVENT, { code: 'leak', active: true, detail: 'water on\r\nfloor B1\tnear\u0000pump\u007f!' });
    expect(d.events[0]!.detail).toBe('water on floor B1 near pump !');
  });

  it('cap the detail at 1024 characters, without splitting an emoji', () => {
    expect(decode(EVENT, { code: 'leak', active: true, detail: 'x'.repeat(5000) }).events[0]!.detail).toBe('x'.repeat(1024));
    const emoji = decode(EVENT, { code: 'leak', active: true, detail: 'x'.repeat(1023) + '🚒🚒' }).events[0]!.detail;
    expect(emoji).toBe('x'.repeat(1023));
    // No lone high surrogate at the end (half an emoji).
    expect(/[\ud800-\udbff]$/.test(emoji)).toBe(false);
  });

  it('have an empty detail when none is given', () => {
    expect(decode(EVENT, { code: 'tamper', active: false }).events[0]!.detail).toBe('');
  });
});

describe('status', () => {
  it('becomes a status, with the receive time when no ts is given', () => {
    expect(decode(STATUS, { online: false }).statuses).toEqual([{ site: 'jinfo-garden', kind: 'hydrant', device: 'HY-03', ts: NOW, online: false }]);
    expect(decode(STATUS, { online: true, ts: NOW - 5 }).statuses[0]!.ts).toBe(NOW - 5);
  });
});

describe('size', () => {
  it('takes a payload of exactly 16 KiB', () => {
    const head = JSON.stringify({ code: 'leak', active: true, detail: '' }).slice(0, -2);
    const payload = head + 'y'.repeat(MAX_PAYLOAD - head.length - 2) + '"}';
    expect(Buffer.byteLength(payload)).toBe(MAX_PAYLOAD);
    const d = decode(EVENT, payload);
    expect(d.rejects).toEqual([]);
    expect(d.events).toHaveLength(1);
  });
});
