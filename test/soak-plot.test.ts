/**
 * The soak's figures (bench/soak-plot.ts) on made-up samples: the summary (counts, RSS growth,
 * spool and lag drain after the InfluxDB outage), the table with one row per 30 s and its
 * fault marks, the SVG's shaded windows and lines, and the PNG Chromium makes of it.
 * (Here and not beside the bench: vitest.config.ts includes no bench/ tests.)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clock, drainSeconds, INFLUX_FAULT, markdownTable, niceTicks, renderPng, soakSvg, summarize, tableRows, type FaultWindow, type SoakSample } from '../bench/soak-plot.ts';

/**
 * 120 s sampled every 5 s: RSS 100 MB + 1 MB/min; a heap that saw-tooths every 30 s on a floor
 * rising 2 MB/min; InfluxDB down 20–40 s, the spool and lag grow there and drain by 50 s.
 */
function run(): { samples: SoakSample[]; faults: FaultWindow[] } {
  const faults: FaultWindow[] = [
    { name: INFLUX_FAULT, start: 20, end: 40 },
    { name: 'broker restart', start: 60, end: 62 },
  ];
  const samples: SoakSample[] = [];
  for (let t = 0; t <= 120; t += 5) {
    const down = t > 20 && t <= 40 ? t - 20 : t > 40 && t < 50 ? 50 - t : 0;
    const generated = t * 1000;
    const lag = 500 + down * 1000;
    samples.push({
      t,
      rssMb: 100 + t / 60,
      heapMb: t === 65 ? null : 40 + (t % 30) + t / 30,
      cpuPct: 30,
      spoolMb: t === 65 ? null : 0.5 + down,
      generated,
      acked: generated,
      stored: generated - lag,
      lag,
      delayS: down ? null : 0.5,
      writeMs: t > 20 && t <= 40 ? null : 12,
      load: t === 100 ? 3.5 : 1.5,
    });
  }
  return { samples, faults };
}

describe('soak figures', () => {
  it('summarizes counts, memory growth, the spool and lag peaks and their drain', () => {
    const { samples, faults } = run();
    const s = summarize(samples, faults, { generated: 120_000, acked: 120_000, stored: 119_990 }, 10);
    expect(s.lost).toBe(10);
    expect(s.rss.start).toBe(100);
    expect(s.rss.end).toBe(102);
    expect(s.rss.min).toBe(100);
    expect(s.rssSlopeMbPerMin).toBeCloseTo(1, 6);
    expect(s.rssSlopeTailMbPerMin).toBeCloseTo(1, 6);
    expect(s.spoolPeakMb).toBe(20.5);
    expect(s.spoolPeakAt).toBe(40);
    // before the outage the spool peaked at 0.5 MB; with 1 MB slack it is back at 1.5 MB at t = 50 (0.5 MB)
    expect(s.spoolDrainS).toBe(10);
    expect(s.lagPeak).toBe(20_500);
    expect(s.lagDrainS).toBe(10);
    expect(s.delayMaxS).toBe(0.5);
    expect(s.cpuMeanPct).toBe(30);
    // each minute's smallest heap after the warm-up: 41 (t 30), 42 (t 60), 44 (t 120)
    expect(s.heapFloorMb).toEqual({ first: 41, last: 44 });
    expect(s.heapFloorSlopeMbPerMin).toBeCloseTo(1.5, 6);
    expect(s.load!.max).toBe(3.5);
  });

  it('gives no drain time without an outage, or when the value never comes back', () => {
    const { samples } = run();
    expect(drainSeconds(samples, undefined, (x) => x.spoolMb, 0, 1)).toBeNull();
    const never = samples.map((x) => ({ ...x, spoolMb: x.t >= 20 ? 10 : 0 }));
    expect(drainSeconds(never, { name: INFLUX_FAULT, start: 20, end: 40 }, (x) => x.spoolMb, 0, 1)).toBeNull();
  });

  it('makes one table row per 30 s with the peaks inside it and the faults that touch it', () => {
    const { samples, faults } = run();
    const rows = tableRows(samples, faults, 30);
    expect(rows.map((r) => [r.from, r.to])).toEqual([
      [0, 30],
      [30, 60],
      [60, 90],
      [90, 120],
    ]);
    expect(rows[0]!.faults).toEqual([INFLUX_FAULT]);
    expect(rows[1]!.faults).toEqual([INFLUX_FAULT]);
    expect(rows[2]!.faults).toEqual(['broker restart']);
    expect(rows[3]!.faults).toEqual([]);
    // a fault that starts a hair before a row's end is the next row's
    expect(tableRows(samples, [{ name: 'x', start: 59.99, end: 61 }], 30).map((r) => r.faults)).toEqual([[], [], ['x'], []]);
    expect(rows[1]!.spoolMb).toBe(20.5);
    expect(rows[1]!.lag).toBe(20_500);
    expect(rows[0]!.delayS).toBe(0.5);
    // the heap sample missing at 65 s: the row's end (90 s) has one
    expect(rows[2]!.heapMb).toBe(43);
    expect(rows[0]!.writeMs).toBe(12);
    expect(rows[3]!.load).toBe(3.5);
    expect(rows[2]!.load).toBe(1.5);
    // stored per second over a span without change of lag is the publishing rate
    expect(rows[3]!.storedPerS).toBe(1000);
    const md = markdownTable(rows).split('\n');
    expect(md).toHaveLength(2 + rows.length);
    expect(md[0]).toContain('RSS MB');
    expect(md[0]).toContain('load avg');
    expect(md[3]).toMatch(/^\| 0:30–1:00 \| 101 \| 42 \| 30 \| [\d,]+ \| 12 \| 20\.5 \| 20,500 \| 0\.5 \| 1\.5 \| /);
    expect(md[3]!.endsWith('| influxd down |')).toBe(true);
  });

  it('draws three panels with the fault windows shaded in each and a line broken where a value is missing', () => {
    const { samples, faults } = run();
    const svg = soakSvg(samples, faults, { title: 'soak <test>' });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('soak &lt;test&gt;');
    expect(svg.match(/class="fault" data-fault="influxd down"/g)).toHaveLength(3);
    expect(svg.match(/class="fault" data-fault="broker restart"/g)).toHaveLength(3);
    // RSS: one line; spool: broken at 65 s into two; lag: one
    expect(svg.match(/data-series="0"/g)).toHaveLength(1);
    expect(svg.match(/data-series="1"/g)).toHaveLength(2);
    expect(svg.match(/data-series="2"/g)).toHaveLength(1);
    // the outage starts a sixth of the way along the time axis
    const x = Number(/class="fault" data-fault="influxd down" x="([\d.]+)"/.exec(svg)![1]);
    expect(x).toBeCloseTo(70 + (1000 - 70 - 20) / 6, 0);
  });

  it('picks round axis ticks and formats times as m:ss', () => {
    expect(niceTicks(20.5)).toEqual([0, 10, 20, 30]);
    expect(niceTicks(102)).toEqual([0, 50, 100, 150]);
    expect(niceTicks(0)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(clock(0)).toBe('0:00');
    expect(clock(59.6)).toBe('1:00');
    expect(clock(605)).toBe('10:05');
  });

  it('renders the plot to a PNG of the SVG size with Chromium', async () => {
    const { samples, faults } = run();
    const dir = mkdtempSync(join(tmpdir(), 'estate-soak-plot-'));
    try {
      const path = join(dir, 'soak.png');
      await renderPng(soakSvg(samples, faults, { title: 'soak' }), path);
      const png = readFileSync(path);
      expect(png.subarray(1, 4).toString()).toBe('PNG');
      expect(png.readUInt32BE(16)).toBe(1000);
      expect(png.readUInt32BE(20)).toBeGreaterThan(500);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
