/**
 * Properties of Decoder.decode over generated input (fast-check), beside the table of
 * decode.test.ts:
 *
 * - whatever the topic and the bytes, decode returns, and every message is accounted for:
 *   it yields accepted records or at least one reject, each reject with one of the reasons
 *   of docs/interfaces.md#what-is-refused, the message's topic, and a payload
 *   of at most 16 KiB;
 * - any valid telemetry, event or status made from the catalog is accepted whole, with the
 *   values it carried;
 * - a bad field never costs the good fields of its element: one bad_metric per bad field,
 *   and one reading with exactly the good ones.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EVENT_CODES, KINDS, METRICS, type Kind, type MetricSpec } from '../config/index.ts';
import { decodeRegistry } from './testing/estate.ts';
import { Decoder, FUTURE_MS, MAX_PAYLOAD, PAST_MS } from './decode.ts';

const registry = decodeRegistry();
const decoder = new Decoder(registry);
const DEVICES = [...registry.devices.values()];
/** 2026-11-25T08:00:00Z, the service's clock in these tests */
const NOW = Date.UTC(2026, 10, 25, 8, 0, 0);
/** The decoder's reasons (docs/interfaces.md#what-is-refused); store_rejected and spool_full come later in the pipeline, never from decode. */
const REASONS = new Set(['bad_topic', 'unknown_device', 'bad_payload', 'bad_metric', 'bad_timestamp']);
/** Seeded so a failure reproduces; FC_SEED=<n> explores other inputs. */
const RUNS = { numRuns: 2000, seed: Number(process.env.FC_SEED ?? 20261125) };

// --- topics -----------------------------------------------------------------------------

const level = fc.oneof(
  fc.constantFrom('', 'estate', 'jinfo-garden', 'nancheng-mansion', 'hydrant', 'elevator', 'boiler', 'HY-03', 'EL-1-A', 'HY-99', 'telemetry', 'event', 'status', 'config', '+', '#', '*', '%2B', '＋', '..', ' '),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);
const topic = fc.oneof(
  // well-formed topics of registered devices, in every combination of site, kind and channel
  fc.tuple(fc.constantFrom(...DEVICES), fc.constantFrom('telemetry', 'event', 'status')).map(([d, c]) => `estate/${d.site}/${d.kind}/${d.id}/${c}`),
  fc.tuple(fc.constantFrom('jinfo-garden', 'nancheng-mansion'), fc.constantFrom(...KINDS), fc.constantFrom(...DEVICES.map((d) => d.id)), fc.constantFrom('telemetry', 'event', 'status')).map((p) => `estate/${p.join('/')}`),
  // any number of levels of anything
  fc.array(level, { maxLength: 8 }).map((parts) => parts.join('/')),
  fc.array(level, { minLength: 4, maxLength: 4 }).map((parts) => `estate/${parts.join('/')}`),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.nat({ max: 70_000 }).map((n) => `estate/jinfo-garden/hydrant/${'H'.repeat(n)}/telemetry`),
);

// --- payloads ---------------------------------------------------------------------------

const anyMetricName = fc.oneof(fc.constantFrom(...new Set(KINDS.flatMap((k) => [...METRICS[k].keys()]))), fc.constantFrom('__proto__', 'constructor', 'toString', ''), fc.string({ maxLength: 12 }));
const weirdValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.double(),
  fc.constantFrom(1e308, -1e308, 2 ** 53 + 1, 'NaN', 'Infinity', '-0', '0.3', true, false, null, 0, 1),
);
const element = fc.oneof(
  fc.record(
    {
      ts: fc.oneof(fc.integer({ min: NOW - 2 * PAST_MS, max: NOW + 2 * FUTURE_MS }), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), weirdValue),
      seq: fc.oneof(fc.nat(), weirdValue),
      metrics: fc.oneof(fc.dictionary(anyMetricName, weirdValue, { maxKeys: 6 }), weirdValue),
      code: fc.oneof(fc.constantFrom(...new Set(KINDS.flatMap((k) => EVENT_CODES[k]))), weirdValue),
      active: fc.oneof(fc.boolean(), weirdValue),
      detail: fc.oneof(fc.string({ unit: 'binary', maxLength: 50 }), weirdValue),
      online: fc.oneof(fc.boolean(), weirdValue),
      extra: weirdValue,
    },
    { requiredKeys: [] },
  ),
  weirdValue,
);
const json = fc.oneof(element, fc.array(element, { maxLength: 6 }));
const payload = fc.oneof(
  json.map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  fc.string({ unit: 'binary', maxLength: 200 }).map((s) => Buffer.from(s)),
  fc.nat({ max: 20_000 }).map((n) => Buffer.from('['.repeat(n) + ']'.repeat(n))),
  fc.nat({ max: 20_000 }).map((n) => Buffer.from('['.repeat(n))),
  fc.nat({ max: 9000 }).map((n) => Buffer.from(`[${Array(n).fill('1').join(',')}]`)),
  fc.integer({ min: MAX_PAYLOAD - 2, max: MAX_PAYLOAD + 2 }).map((n) => Buffer.alloc(n, 0x20)),
  json.map((v) => Buffer.from(JSON.stringify(v) ?? 'null').toString('base64')).map((s) => Buffer.from(s)),
);

describe('any topic, any bytes', () => {
  it('decode never throws; each message gives accepted records or rejects with a contract reason, the topic and a capped payload', () => {
    fc.assert(
      fc.property(topic, payload, (t, p) => {
        const d = decoder.decode(t, p, NOW);
        const accepted = d.readings.length + d.events.length + d.statuses.length;
        expect(accepted + d.rejects.length).toBeGreaterThan(0);
        for (const r of d.rejects) {
          expect(REASONS.has(r.reason), r.reason).toBe(true);
          expect(r.topic).toBe(t);
          expect(typeof r.detail).toBe('string');
          expect(Buffer.byteLength(r.payload)).toBeLessThanOrEqual(Math.ceil((MAX_PAYLOAD * 4) / 3) + 8);
        }
        // Whatever is accepted is of the device the topic names.
        for (const r of [...d.readings, ...d.events, ...d.statuses]) expect(t.split('/')[3]).toBe(r.device);
      }),
      RUNS,
    );
  });

  it('a message with no registered device yields no records', () => {
    fc.assert(
      fc.property(
        topic.filter((t) => !registry.device(t.split('/')[3] ?? '')),
        payload,
        (t, p) => {
          const d = decoder.decode(t, p, NOW);
          expect(d.readings.length + d.events.length + d.statuses.length).toBe(0);
          expect(d.rejects).toHaveLength(1);
        },
      ),
      RUNS,
    );
  });
});

// --- valid input from the catalog -------------------------------------------------------

/** A value inside the metric's physical range, of its type; booleans also as 0/1, as devices send them. */
function metricValue(spec: MetricSpec): fc.Arbitrary<number | boolean> {
  if (spec.type === 'boolean') return fc.oneof(fc.boolean(), fc.constantFrom(0, 1));
  if (spec.integer) return fc.integer({ min: Math.max(spec.min!, -(2 ** 53) + 1), max: Math.min(spec.max!, 2 ** 53 - 1) });
  return fc.double({ min: spec.min!, max: spec.max!, noNaN: true, noDefaultInfinity: true });
}

const goodMetrics = (kind: Kind) =>
  fc.uniqueArray(fc.constantFrom(...METRICS[kind].values()), { minLength: 1, maxLength: METRICS[kind].size, selector: (s) => s.name }).chain((specs) =>
    fc.tuple(...specs.map((s) => metricValue(s).map((v) => [s.name, v] as const))).map((pairs) => Object.fromEntries(pairs)),
  );

const goodTs = fc.option(
  fc.oneof(
    fc.integer({ min: NOW - PAST_MS + 1, max: NOW + FUTURE_MS }),
    fc.integer({ min: NOW - PAST_MS + 1000, max: NOW + FUTURE_MS - 1000 }).map((t) => new Date(t).toISOString()),
  ),
  { nil: undefined },
);

const asAccepted = (v: number | boolean) => (typeof v === 'number' && (v === 0 || v === 1) ? v : v);
const tsOf = (ts: number | string | undefined) => (ts === undefined ? NOW : typeof ts === 'number' ? ts : Date.parse(ts));

describe('valid input made from the catalog', () => {
  it('telemetry: every element accepted, with its values, time and seq', () => {
    const arb = fc.constantFrom(...DEVICES).chain((d) =>
      fc.tuple(fc.constant(d), fc.array(fc.record({ ts: goodTs, seq: fc.option(fc.nat(), { nil: undefined }), metrics: goodMetrics(d.kind) }), { minLength: 1, maxLength: 5 }), fc.boolean()),
    );
    fc.assert(
      fc.property(arb, ([d, elements, asArray]) => {
        const body = asArray ? elements : elements[0]!;
        const sent = asArray ? elements : [elements[0]!];
        const out = decoder.decode(`estate/${d.site}/${d.kind}/${d.id}/telemetry`, Buffer.from(JSON.stringify(body)), NOW);
        expect(out.rejects).toEqual([]);
        expect(out.readings).toHaveLength(sent.length);
        sent.forEach((el, i) => {
          const r = out.readings[i]!;
          const spec = METRICS[d.kind];
          const expected = Object.fromEntries(Object.entries(JSON.parse(JSON.stringify(el.metrics)) as Record<string, number | boolean>).map(([k, v]) => [k, spec.get(k)!.type === 'boolean' ? v === true || v === 1 : asAccepted(v)]));
          expect(r.metrics).toEqual(expected);
          expect(r.ts).toBe(tsOf(el.ts));
          expect(r.seq).toBe(el.seq);
          expect({ site: r.site, kind: r.kind, device: r.device, building: r.building }).toEqual({ site: d.site, kind: d.kind, device: d.id, building: d.building });
        });
      }),
      RUNS,
    );
  });

  it('events: accepted with their code, state and detail (made single-line, at most 1,024 characters)', () => {
    const arb = fc.constantFrom(...DEVICES).chain((d) =>
      fc.record({ d: fc.constant(d), ts: goodTs, code: fc.constantFrom(...EVENT_CODES[d.kind]), active: fc.boolean(), detail: fc.option(fc.string({ unit: 'grapheme', maxLength: 1100 }), { nil: undefined }) }),
    );
    fc.assert(
      fc.property(arb, ({ d, ...ev }) => {
        const out = decoder.decode(`estate/${d.site}/${d.kind}/${d.id}/event`, Buffer.from(JSON.stringify(ev)), NOW);
        expect(out.rejects).toEqual([]);
        expect(out.events).toHaveLength(1);
        const e = out.events[0]!;
        expect({ code: e.code, active: e.active, ts: e.ts }).toEqual({ code: ev.code, active: ev.active, ts: tsOf(ev.ts) });
        // eslint-disable-next-line no-control-regex
        const flat = (ev.detail ?? '').replace(/[\u0000-\u001f\u007f]+/g, ' ');
        expect(flat.startsWith(e.detail)).toBe(true);
        expect(e.detail.length).toBeGreaterThanOrEqual(Math.min(flat.length, 1023));
        expect(e.detail.length).toBeLessThanOrEqual(1024);
        // eslint-disable-next-line no-control-regex
        expect(/[\u0000-\u001f\u007f]/.test(e.detail)).toBe(false);
      }),
      RUNS,
    );
  });

  it('statuses: accepted with their state and time', () => {
    fc.assert(
      fc.property(fc.constantFrom(...DEVICES), fc.boolean(), goodTs, (d, online, ts) => {
        const out = decoder.decode(`estate/${d.site}/${d.kind}/${d.id}/status`, Buffer.from(JSON.stringify({ online, ts })), NOW);
        expect(out.rejects).toEqual([]);
        expect(out.statuses).toEqual([{ site: d.site, kind: d.kind, device: d.id, ts: tsOf(ts), online }]);
      }),
      RUNS,
    );
  });
});

// --- bad fields beside good ones ---------------------------------------------------------

/** A value the metric must refuse: outside its range, of the wrong type, not finite, not an integer where one is needed. */
function badValue(spec: MetricSpec): fc.Arbitrary<unknown> {
  const wrongType = fc.oneof(fc.string({ maxLength: 8 }), fc.constant(null), fc.array(fc.nat(), { maxLength: 2 }), fc.object({ maxDepth: 1, maxKeys: 2 }), fc.constantFrom('NaN', 'Infinity', '1'));
  if (spec.type === 'boolean') return fc.oneof(wrongType, fc.double().filter((v) => v !== 0 && v !== 1));
  const outside = fc.oneof(fc.double({ min: spec.max! + Math.max(1e-6, Math.abs(spec.max!) * 1e-9), noNaN: true, noDefaultInfinity: true }), fc.double({ max: spec.min! - Math.max(1e-6, Math.abs(spec.min!) * 1e-9), noNaN: true, noDefaultInfinity: true }));
  const fraction = spec.integer ? [fc.integer({ min: Math.max(spec.min!, -1e6), max: Math.min(spec.max!, 1e6) - 1 }).map((n) => n + 0.5)] : [];
  return fc.oneof(wrongType, fc.boolean(), outside, ...fraction);
}

describe('a bad field never costs the good fields', () => {
  it('one bad_metric per bad field; one reading with exactly the good fields', () => {
    const arb = fc.constantFrom(...DEVICES).chain((d) => {
      const names = [...METRICS[d.kind].keys()];
      return fc.record({
        d: fc.constant(d),
        good: goodMetrics(d.kind),
        bad: fc.uniqueArray(
          fc.oneof(
            fc.constantFrom(...METRICS[d.kind].values()).chain((s) => badValue(s).map((v) => [s.name, v] as const)),
            fc.string({ minLength: 1, maxLength: 12 }).filter((n) => !names.includes(n)).map((n) => [n, 1] as const),
          ),
          { minLength: 1, maxLength: 4, selector: ([n]) => n },
        ),
      });
    });
    fc.assert(
      fc.property(arb, ({ d, good, bad }) => {
        const badNames = new Set(bad.map(([n]) => n));
        const kept = Object.fromEntries(Object.entries(good).filter(([k]) => !badNames.has(k)));
        // Built as text so that a key such as __proto__ is a key of the JSON, as a device would send it.
        const entries = [...Object.entries(kept), ...bad].map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`);
        const text = `{"ts":${NOW - 1000},"metrics":{${entries.join(',')}}}`;
        const out = decoder.decode(`estate/${d.site}/${d.kind}/${d.id}/telemetry`, Buffer.from(text), NOW);
        // JSON has no NaN; a bad value JSON.stringify turns into null is still bad.
        expect(out.rejects.map((r) => r.reason)).toEqual(bad.map(() => 'bad_metric'));
        // Each detail is "<name>: <problem>"; a name may itself hold ": ", so the longest name that fits is the one.
        const byLength = [...badNames].sort((a, b) => b.length - a.length);
        expect(out.rejects.map((r) => byLength.find((n) => r.detail.startsWith(`${n}: `))).sort()).toEqual([...badNames].sort());
        if (Object.keys(kept).length === 0) {
          expect(out.readings).toEqual([]);
        } else {
          expect(out.readings).toHaveLength(1);
          const spec = METRICS[d.kind];
          // As sent: through JSON, which writes -0 as 0.
          const sent = JSON.parse(JSON.stringify(kept)) as Record<string, number | boolean>;
          expect(out.readings[0]!.metrics).toEqual(Object.fromEntries(Object.entries(sent).map(([k, v]) => [k, spec.get(k)!.type === 'boolean' ? v === true || v === 1 : v])));
        }
      }),
      RUNS,
    );
  });

  it('in an array, a bad element never costs the good elements', () => {
    const d = DEVICES[0]!;
    fc.assert(
      fc.property(fc.array(fc.oneof(goodMetrics(d.kind).map((m) => ({ ok: true as const, el: { metrics: m } })), weirdValue.map((v) => ({ ok: false as const, el: v }))), { minLength: 1, maxLength: 8 }), (items) => {
        const out = decoder.decode(`estate/${d.site}/${d.kind}/${d.id}/telemetry`, Buffer.from(JSON.stringify(items.map((i) => i.el))), NOW);
        const good = items.filter((i) => i.ok).length;
        expect(out.readings).toHaveLength(good);
        expect(out.rejects.length).toBeGreaterThanOrEqual(items.length - good);
        for (const r of out.rejects) expect(r.detail).toMatch(/^\[\d+\] /);
      }),
      RUNS,
    );
  });
});
