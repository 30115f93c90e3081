/**
 * The scale plot (bench/scale-plot.ts) on made-up figures of bench/scale.ts: the panels against
 * devices on a log scale, issue 13's targets as dashed lines, a second run beside the first, the
 * note of readings that did not land, and the check of what a file holds. Only the SVG: the PNG
 * is Chromium's, through the soak plot's renderPng (test/soak-plot.test.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fmt, logTicks, readScale, scaleSvg, TARGETS } from '../bench/scale-plot.ts';
import type { CountFigures, ScaleResult } from '../bench/scale.ts';

function count(devices: number, steady: number, landed = 100_000): CountFigures {
  return {
    devices,
    kinds: { hydrant: devices * 0.4, elevator: devices * 0.3, firelane: devices * 0.15, water: devices * 0.15 },
    metricsPerMessage: 9,
    estateBytes: devices * 60,
    estateGenMs: 1,
    readyMs: 1000 + devices / 50,
    rssAtReadyMb: 150,
    rssBeforeFirstMb: 150,
    rates: [{ qos: 1, rate: 10_000, sent: 100_000, sentPerSec: 10_000, landed, landedAtEnd: landed, messages: landed, cpuUsPerMessage: 50, eventLoopP99Ms: 30, eventLoopMaxMs: devices / 50, rssMb: steady, load1: 1 }],
    steadyRssMb: steady,
    steadyHeapUsedMb: steady / 2,
    steadyHeapTotalMb: steady / 2 + 20,
    steadyExternalMb: steady / 4,
    peakRssMb: steady * 1.2,
    groupPeakRssMb: steady * 1.3,
    kbPerDevice: null,
    marginalKbPerDevice: null,
    alertsOpen: 0,
    alertsByRule: {},
    alertTransitions: {},
    rejects: 0,
    load1: 1,
    rssSeries: [
      [0.5, 100],
      [1, steady],
      [12, steady],
    ],
  };
}

function result(landedAtLargest = 100_000): ScaleResult {
  const counts = [count(1000, 180), count(10_000, 260), count(100_000, 850, landedAtLargest)];
  for (let i = 1; i < counts.length; i++) counts[i]!.marginalKbPerDevice = ((counts[i]!.steadyRssMb! - counts[i - 1]!.steadyRssMb!) * 1024) / (counts[i]!.devices - counts[i - 1]!.devices);
  return { load: 'mix', seconds: 10, node: 'v24.0.0', cores: 2, startedAt: '2026-12-02T02:27:28.607Z', loadavgAtStart: [1], loadavgAtEnd: [1], tree: '/x', counts };
}

describe('scale plot', () => {
  it('draws six panels against devices and RSS over time, with the targets dashed', () => {
    const svg = scaleSvg([{ label: 'after <x>', result: result() }]);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('after &lt;x&gt;');
    expect(svg.match(/class="panel"/g)).toHaveLength(7);
    // steady and peak RSS, KB per device, CPU, start; and the RSS over time
    expect(svg.match(/class="target"/g)).toHaveLength(6);
    for (const label of [`target ${TARGETS.peakRssMb} MB`, `target ${TARGETS.kbPerDevice} KB`, `target ${TARGETS.cpuUsPerMessage} µs`, `target ${TARGETS.startS} s`]) expect(svg).toContain(label);
    // 3 points in 5 panels (p99 and max in one), 2 marginal ones (none at the first size)
    expect(svg.match(/class="point"/g)).toHaveLength(3 * 6 + 2);
    expect(svg.match(/class="rss"/g)).toHaveLength(3);
    // devices on a log scale: 10,000 in the middle of a panel, whose padding is a quarter decade each side
    const xs = [...svg.matchAll(/<circle class="point" data-run="0" cx="([\d.]+)"/g)].slice(0, 3).map((m) => Number(m[1]));
    expect(xs[1]! - xs[0]!).toBeCloseTo(xs[2]! - xs[1]!, 6);
    expect(xs[1]).toBeCloseTo(70 + (1100 - 70 - 30 - 80) / 4, 6);
    expect(svg).toContain('every reading sent landed in InfluxDB in the run');
  });

  it('draws a second run beside the first and notes readings that did not land', () => {
    const svg = scaleSvg([
      { label: 'after', result: result() },
      { label: 'before', result: result(91_351) },
    ]);
    expect(svg.match(/class="point" data-run="1"/g)).toHaveLength(3 * 6 + 2);
    expect(svg.match(/class="rss" data-run="1"[^>]*stroke-dasharray/g)).toHaveLength(3);
    expect(svg).toContain('before: at 100,000 devices 91,351 of 100,000 readings landed');
  });

  it('picks powers of ten for a log axis and formats values', () => {
    expect(logTicks(19, 2296)).toEqual([10, 100, 1000, 10_000]);
    expect(logTicks(10, 10)).toEqual([10, 100]);
    expect(fmt(1087.4)).toBe('1,087');
    expect(fmt(6.70, 1)).toBe('6.7');
    expect(fmt(3.37, 1)).toBe('3.4');
  });

  it('reads a file of the figures and refuses another', () => {
    const dir = mkdtempSync(join(tmpdir(), 'estate-scale-plot-'));
    try {
      const good = join(dir, 'scale.json');
      writeFileSync(good, JSON.stringify(result()));
      expect(readScale(good).counts).toHaveLength(3);
      const bad = join(dir, 'soak.json');
      writeFileSync(bad, JSON.stringify({ samples: [] }));
      expect(() => readScale(bad)).toThrow(/not the figures/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
