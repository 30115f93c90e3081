/**
 * What a scenario does to readings (set, ramp, clear, withhold, the end of the run), the
 * spans its files are written in, and the wire bytes of malformed steps.
 */
import { describe, expect, it } from 'vitest';
import type { SimDeviceSpec } from '../model.ts';
import { formatSpan, parseSpan } from './schema.ts';
import { buildPayload, DeviceTimeline, scenarioHook } from './timeline.ts';
import type { Action, Step } from './types.ts';

const steps = (...list: [number, Action][]): Step[] => list.map(([at, action], index) => ({ index, at, label: `#${index + 1}`, device: 'HY-01', action }));
const normal = { pressure_mpa: 0.3, leak: false, battery_pct: 80 };

describe('a device timeline', () => {
  it('holds a set value from its time until cleared, then the model again', () => {
    const t = new DeviceTimeline(steps([10, { type: 'set', metrics: { pressure_mpa: 0.12, leak: true } }], [30, { type: 'clear', metrics: ['leak'] }], [50, { type: 'clear', metrics: 'all' }]));
    expect(t.apply(0, normal)).toBe(normal);
    expect(t.apply(10, normal)).toEqual({ ...normal, pressure_mpa: 0.12, leak: true });
    expect(t.apply(40, normal)).toEqual({ ...normal, pressure_mpa: 0.12 });
    expect(t.apply(50, normal)).toEqual(normal);
  });

  it('ramps from the first reading of the ramp to its target, then holds the target', () => {
    const t = new DeviceTimeline(steps([100, { type: 'ramp', metric: 'pressure_mpa', to: 0.1, over: 200 }]));
    expect(t.apply(100, normal)?.pressure_mpa).toBe(0.3);
    expect(t.apply(200, { ...normal, pressure_mpa: 0.31 })?.pressure_mpa).toBe(0.2);
    expect(t.apply(300, normal)?.pressure_mpa).toBe(0.1);
    expect(t.apply(10_000, normal)?.pressure_mpa).toBe(0.1);
  });

  it('ramps on from a value it set, or from an explicit start', () => {
    const t = new DeviceTimeline(steps([0, { type: 'set', metrics: { pressure_mpa: 0.2 } }], [100, { type: 'ramp', metric: 'pressure_mpa', to: 0.1, over: 100 }], [300, { type: 'ramp', metric: 'pressure_mpa', from: 1, to: 0.5, over: 100 }]));
    expect(t.apply(150, normal)?.pressure_mpa).toBe(0.15);
    expect(t.apply(350, normal)?.pressure_mpa).toBe(0.75);
  });

  it('withholds readings while told to', () => {
    const t = new DeviceTimeline(steps([10, { type: 'withhold', on: true }], [20, { type: 'withhold', on: false }]));
    expect(t.apply(15, normal)).toBeNull();
    expect(t.apply(20, normal)).toBe(normal);
  });

  it('as a fleet hook: leaves other devices alone and sends nothing after the end', () => {
    const spec = (id: string) => ({ id }) as SimDeviceSpec;
    const hook = scenarioHook(steps([0, { type: 'set', metrics: { leak: true } }]), 1000, 500);
    expect(hook({ device: spec('HY-01'), t: 1000, seq: 1, metrics: normal })).toEqual({ ...normal, leak: true });
    expect(hook({ device: spec('HY-02'), t: 1000, seq: 1, metrics: normal })).toBeUndefined();
    expect(hook({ device: spec('HY-02'), t: 1501, seq: 2, metrics: normal })).toBeNull();
  });
});

describe('spans', () => {
  it('read the forms a scenario file uses', () => {
    expect(['0s', '90s', '10m', '1h30m', '2d', '500ms', '1.5s', 45, '45'].map((s) => parseSpan(s))).toEqual([0, 90_000, 600_000, 5_400_000, 172_800_000, 500, 1500, 45_000, 45_000]);
    expect(parseSpan('-6h', true)).toBe(-21_600_000);
    expect(['-6h', '30m1h', '1m1m', 'soon', '', '10 parsecs'].map((s) => parseSpan(s))).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
  });

  it('print the shortest exact form', () => {
    expect([0, 250, 1500, 45_000, 90_000, 3_600_000, 3_900_000, 90_061_000, -7_200_000].map(formatSpan)).toEqual(['0s', '250ms', '1.5s', '45s', '1m30s', '1h', '1h05m', '1d1h01m01s', '-2h']);
  });
});

describe('malformed payloads', () => {
  const clocks = { now: 1_800_000_000_000, sim: 1_700_000_000_000 };

  it('turn a placeholder that is a whole JSON string into epoch ms', () => {
    const body = JSON.stringify({ ts: '{{now+1h}}', seq: '{{ sim - 1s }}', detail: 'at {{sim}}' });
    expect(JSON.parse(buildPayload({ payload: body, json: true }, clocks).toString())).toEqual({ ts: 1_800_003_600_000, seq: 1_699_999_999_000, detail: 'at 1700000000000' });
  });

  it('send text as it is, placeholders replaced, padded with spaces when asked', () => {
    expect(buildPayload({ payload: 'ts={{now}}', json: false }, clocks).toString()).toBe('ts=1800000000000');
    const padded = buildPayload({ payload: '{"metrics":{}}', json: true, padTo: 17_000 }, clocks);
    expect(padded.length).toBe(17_000);
    expect(JSON.parse(padded.toString())).toEqual({ metrics: {} });
  });
});
