/**
 * The Node-RED peer's pure parts (bench/peer-nodered.ts): the function node's code, run as
 * Node-RED runs it (a function of msg with a node context), against the readings the service
 * would keep or refuse; and the flow's wiring and settings. The run itself needs Node-RED from
 * the registry and is `npm run bench -- --peer nodered`.
 */
import { describe, expect, it } from 'vitest';
import { HYDRANT_TOPIC, hydrantFlow, hydrantFunction } from '../bench/nodered.ts';
import { METRICS } from '../config/index.ts';

type Msg = { topic: string; payload: unknown };
type Point = { measurement: string; tags: Record<string, string>; fields: Record<string, unknown>; timestamp: number };

/** The function node's body as Node-RED wraps it: msg in, msg or null out, `context` a store of its own. */
function judge(countReceived = false) {
  const store = new Map<string, unknown>();
  const context = { get: (k: string) => store.get(k), set: (k: string, v: unknown) => void store.set(k, v) };
  const fn = new Function('msg', 'context', hydrantFunction(countReceived)) as (msg: Msg, ctx: typeof context) => Msg | null;
  return { run: (msg: Msg) => fn(structuredClone(msg), context)?.payload as Point | undefined, store };
}

const TOPIC = 'estate/bench/hydrant/H0001/telemetry';
const now = Date.now();
const good = { ts: now - 1000, seq: 7, metrics: { pressure_mpa: 0.31, flow_lps: 0, temp_c: 15.2, battery_pct: 90 } };

describe('the function node', () => {
  it('makes a reading the point the service stores: measurement hydrant, site and device from the topic, ts in ms', () => {
    expect(judge().run({ topic: TOPIC, payload: good })).toEqual({
      measurement: 'hydrant',
      tags: { site: 'bench', device: 'H0001' },
      fields: { pressure_mpa: 0.31, flow_lps: 0, temp_c: 15.2, battery_pct: 90 },
      timestamp: now - 1000,
    });
  });

  it.each([
    ['a metric outside its range costs only that field', { ...good, metrics: { pressure_mpa: 0.31, battery_pct: 120 } }, { pressure_mpa: 0.31 }],
    ['an unknown metric costs only that field', { ...good, metrics: { pressure_mpa: 0.31, floor: 3 } }, { pressure_mpa: 0.31 }],
    ['a boolean metric is kept as one', { ...good, metrics: { leak: false, tamper: true } }, { leak: false, tamper: true }],
    ['a string for a number is refused', { ...good, metrics: { pressure_mpa: '0.31', temp_c: 15 } }, { temp_c: 15 }],
  ])('%s', (_, payload, fields) => {
    expect(judge().run({ topic: TOPIC, payload })?.fields).toEqual(fields);
  });

  it.each([
    ['another kind', 'estate/bench/elevator/E1/telemetry', good],
    ['another channel', 'estate/bench/hydrant/H0001/event', good],
    ['a topic of the wrong depth', 'estate/bench/hydrant/telemetry', good],
    ['an empty device', 'estate/bench/hydrant//telemetry', good],
    ['no metric kept', TOPIC, { ...good, metrics: { battery_pct: -1 } }],
    ['metrics not an object', TOPIC, { ...good, metrics: [1] }],
    ['an array', TOPIC, [good]],
    ['text, not JSON', TOPIC, 'not json'],
    ['null', TOPIC, null],
    ['no ts', TOPIC, { metrics: good.metrics }],
    ['ts as text', TOPIC, { ...good, ts: String(now) }],
    ['ts more than 5 min ahead', TOPIC, { ...good, ts: now + 6 * 60_000 }],
    ['ts more than 30 days back', TOPIC, { ...good, ts: now - 31 * 24 * 3600_000 }],
  ])('refuses %s', (_, topic, payload) => {
    expect(judge().run({ topic, payload })).toBeUndefined();
  });

  it("takes each hydrant metric's range from the catalog: its bounds kept, beyond them refused", () => {
    const { run } = judge();
    for (const m of METRICS.hydrant.values()) {
      if (m.type === 'boolean') continue;
      for (const [v, kept] of [[m.min!, true], [m.max!, true], [m.min! - 0.001, false], [m.max! + 0.001, false]] as const) {
        expect([m.name, v, run({ topic: TOPIC, payload: { ts: now, metrics: { [m.name]: v } } }) !== undefined]).toEqual([m.name, v, kept]);
      }
    }
  });

  it('counts every message that reaches it, refused ones too, when asked to', () => {
    const counting = judge(true);
    counting.run({ topic: TOPIC, payload: good });
    counting.run({ topic: TOPIC, payload: null });
    expect(counting.store.get('received')).toBe(2);
    const silent = judge(false);
    silent.run({ topic: TOPIC, payload: good });
    expect(silent.store.size).toBe(0);
  });
});

describe('the flow', () => {
  const flow = hydrantFlow({ brokerUrl: 'mqtt://127.0.0.1:1884', influxUrl: 'http://127.0.0.1:8087', qos: 1 }) as Record<string, any>[];
  const byType = (type: string) => flow.find((n) => n.type === type)!;

  it('is mqtt in → function → join → influxdb batch', () => {
    const next = (n: Record<string, any>) => flow.find((m) => m.id === n.wires[0][0]);
    const path = [byType('mqtt in')];
    while (path.at(-1)!.wires.length > 0 && path.at(-1)!.wires[0]?.length) path.push(next(path.at(-1)!)!);
    expect(path.map((n) => n.type)).toEqual(['mqtt in', 'function', 'join', 'influxdb batch']);
  });

  it("subscribes to the hydrants' telemetry at the phase's QoS, parsed as JSON, through the editor's default broker settings", () => {
    expect(byType('mqtt in')).toMatchObject({ topic: HYDRANT_TOPIC, qos: '1', datatype: 'json' });
    expect(byType('mqtt-broker')).toMatchObject({ broker: '127.0.0.1', port: 1884, protocolVersion: 4, cleansession: true, clientid: '' });
    expect(hydrantFlow({ brokerUrl: 'mqtt://127.0.0.1:1884', influxUrl: 'http://127.0.0.1:8087', qos: 0, topic: 'x/#' }).find((n: any) => n.type === 'mqtt in')).toMatchObject({ topic: 'x/#', qos: '0' });
  });

  it("batches as the service's writer does by default and writes to its own database through the 1.x API, precision ms", () => {
    expect(byType('join')).toMatchObject({ mode: 'custom', build: 'array', count: '5000', timeout: '0.2' });
    expect(byType('influxdb')).toMatchObject({ hostname: '127.0.0.1', port: 8087, database: 'nodered', influxdbVersion: '1.x' });
    expect(byType('influxdb batch')).toMatchObject({ precision: 'ms', influxdb: byType('influxdb').id });
  });

  it("gives no config node a property equal to a node's id (Node-RED reads that as a dependency: a circular one stops the flow)", () => {
    const ids = new Set(flow.map((n) => n.id));
    for (const n of flow.filter((x) => !x.z && x.type !== 'tab')) {
      for (const [k, v] of Object.entries(n)) if (k !== 'id') expect([n.type, k, ids.has(v as string)]).toEqual([n.type, k, false]);
    }
  });
});
