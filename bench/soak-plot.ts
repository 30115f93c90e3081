/**
 * The soak's figures (bench/soak.ts): a summary of the samples, a table with one row per
 * 30 s, and a plot — an SVG of RSS, spool and lag over time with the fault windows shaded —
 * turned into a PNG by Chromium (playwright-core). Pure functions except `renderPng`, so the
 * table and the plot are tested without a soak (test/soak-plot.test.ts).
 */

/** One sample of the soak, taken every few seconds. */
export interface SoakSample {
  /** seconds since publishing started */
  t: number;
  /** the service's resident memory (VmRSS), MB */
  rssMb: number;
  /** V8 heap used, MB, from /metrics (null when /metrics did not answer in time) */
  heapMb: number | null;
  /** the service's CPU since the previous sample, % of one core */
  cpuPct: number;
  /** bytes in the spool, MB (null when /metrics did not answer in time) */
  spoolMb: number | null;
  /** readings made by the publishers so far */
  generated: number;
  /** of those, acknowledged by the broker */
  acked: number;
  /** points the service has written to InfluxDB since publishing started */
  stored: number;
  /** generated − stored: readings made and not yet in InfluxDB (at the publishers, the broker, the service or its spool) */
  lag: number;
  /** age of the newest reading stored in InfluxDB, s (null while InfluxDB is down) */
  delayS: number | null;
  /** mean duration of the service's writes to InfluxDB since the previous sample, ms (null: none finished) */
  writeMs?: number | null;
  /** the machine's 1-minute load average (2 cores: above 2, processes wait for a CPU) */
  load?: number;
}

/** A fault window, seconds since publishing started. */
export interface FaultWindow {
  name: string;
  start: number;
  end: number;
}

export interface SoakCounts {
  generated: number;
  acked: number;
  /** distinct readings found in InfluxDB after the drain */
  stored: number;
}

export interface SoakSummary {
  samples: number;
  generated: number;
  acked: number;
  stored: number;
  lost: number;
  rss: { start: number; min: number; max: number; end: number };
  /** least-squares slope of RSS over the samples after the warm-up, MB per minute */
  rssSlopeMbPerMin: number;
  /** the same over the last third of the run (after the faults have passed, on the default schedule) */
  rssSlopeTailMbPerMin: number;
  heapSlopeMbPerMin: number | null;
  /**
   * The slope of the heap's floor: the smallest heap of each minute after the warm-up (what
   * survives a full collection), MB per minute. Unlike RSS and the heap itself, which saw-tooth
   * by 100 MB between old-generation collections, a leak shows here.
   */
  heapFloorSlopeMbPerMin: number | null;
  heapFloorMb: { first: number; last: number } | null;
  spoolPeakMb: number;
  spoolPeakAt: number;
  /** seconds from the end of the InfluxDB outage until the spool was back to its level before it (null: never, or no outage) */
  spoolDrainS: number | null;
  lagPeak: number;
  lagPeakAt: number;
  /** seconds from the end of the InfluxDB outage until the lag was back to its level before it */
  lagDrainS: number | null;
  delayMaxS: number | null;
  cpuMeanPct: number;
  /** the machine's 1-minute load average over the samples */
  load: { mean: number; max: number } | null;
}

export const INFLUX_FAULT = 'influxd down';

function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  let sx = 0;
  let sy = 0;
  for (const [x, y] of points) {
    sx += x;
    sy += y;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/**
 * Seconds from the end of `window` until `value` is back to at most its level before the
 * window started (its peak between `from` and the window's start, plus `slack`).
 */
export function drainSeconds(samples: SoakSample[], window: FaultWindow | undefined, value: (s: SoakSample) => number | null, from: number, slack: number): number | null {
  if (!window) return null;
  let before = 0;
  for (const s of samples) if (s.t >= from && s.t < window.start) before = Math.max(before, value(s) ?? 0);
  const threshold = before + slack;
  for (const s of samples) {
    if (s.t < window.end) continue;
    const v = value(s);
    if (v !== null && v <= threshold) return s.t - window.end;
  }
  return null;
}

export function summarize(samples: SoakSample[], faults: FaultWindow[], counts: SoakCounts, warmupS: number): SoakSummary {
  if (samples.length === 0) throw new Error('no samples');
  const rss = samples.map((s) => s.rssMb);
  const after = samples.filter((s) => s.t >= warmupS);
  const tail = samples.filter((s) => s.t >= (2 / 3) * samples.at(-1)!.t);
  const heapPts = after.filter((s) => s.heapMb !== null).map((s) => [s.t / 60, s.heapMb!] as [number, number]);
  let spoolPeak = samples[0]!;
  let lagPeak = samples[0]!;
  for (const s of samples) {
    if ((s.spoolMb ?? 0) > (spoolPeak.spoolMb ?? 0)) spoolPeak = s;
    if (s.lag > lagPeak.lag) lagPeak = s;
  }
  const outage = faults.find((f) => f.name === INFLUX_FAULT);
  const delays = samples.map((s) => s.delayS).filter((d): d is number => d !== null);
  const cpu = samples.slice(1).map((s) => s.cpuPct);
  const loads = samples.map((s) => s.load).filter((l): l is number => l !== undefined);
  const floors = new Map<number, number>();
  for (const s of after) {
    if (s.heapMb === null) continue;
    const m = Math.floor(s.t / 60);
    floors.set(m, Math.min(floors.get(m) ?? Infinity, s.heapMb));
  }
  const floorPts = [...floors].map(([m, v]) => [m, v] as [number, number]);
  return {
    samples: samples.length,
    generated: counts.generated,
    acked: counts.acked,
    stored: counts.stored,
    lost: counts.generated - counts.stored,
    rss: { start: rss[0]!, min: Math.min(...rss), max: Math.max(...rss), end: rss.at(-1)! },
    rssSlopeMbPerMin: slope(after.map((s) => [s.t / 60, s.rssMb])),
    rssSlopeTailMbPerMin: slope(tail.map((s) => [s.t / 60, s.rssMb])),
    heapSlopeMbPerMin: heapPts.length >= 2 ? slope(heapPts) : null,
    heapFloorSlopeMbPerMin: floorPts.length >= 2 ? slope(floorPts) : null,
    heapFloorMb: floorPts.length ? { first: floorPts[0]![1], last: floorPts.at(-1)![1] } : null,
    spoolPeakMb: spoolPeak.spoolMb ?? 0,
    spoolPeakAt: spoolPeak.t,
    spoolDrainS: drainSeconds(samples, outage, (s) => s.spoolMb, warmupS, 1),
    lagPeak: lagPeak.lag,
    lagPeakAt: lagPeak.t,
    lagDrainS: drainSeconds(samples, outage, (s) => s.lag, warmupS, 2000),
    delayMaxS: delays.length ? Math.max(...delays) : null,
    cpuMeanPct: cpu.length ? cpu.reduce((a, b) => a + b, 0) / cpu.length : 0,
    load: loads.length ? { mean: loads.reduce((a, b) => a + b, 0) / loads.length, max: Math.max(...loads) } : null,
  };
}

/** m:ss */
export function clock(t: number): string {
  const s = Math.max(0, Math.round(t));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export interface TableRow {
  /** the row covers (from, to] */
  from: number;
  to: number;
  /** at the end of the row's span */
  rssMb: number;
  heapMb: number | null;
  /** peaks within the span */
  spoolMb: number;
  lag: number;
  delayS: number | null;
  cpuPct: number;
  /** readings stored per second over the span */
  storedPerS: number;
  /** mean of the samples' mean write durations, ms */
  writeMs: number | null;
  /** the largest load average in the span */
  load: number | null;
  faults: string[];
}

function mean(xs: (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
}

/** One row per `everyS` seconds: memory at the end of the span, peaks of spool, lag and delay within it, the faults that touch it. */
export function tableRows(samples: SoakSample[], faults: FaultWindow[], everyS = 30): TableRow[] {
  const rows: TableRow[] = [];
  if (samples.length === 0) return rows;
  const last = samples.at(-1)!.t;
  let prev: SoakSample | undefined;
  for (let from = 0; from < last; from += everyS) {
    const to = Math.min(from + everyS, last);
    const span = samples.filter((s) => s.t > from && s.t <= to);
    if (span.length === 0) continue;
    const end = span.at(-1)!;
    const delays = span.map((s) => s.delayS).filter((d): d is number => d !== null);
    const base = prev ?? samples[0]!;
    const dt = end.t - base.t;
    rows.push({
      from,
      to,
      rssMb: end.rssMb,
      heapMb: end.heapMb,
      spoolMb: Math.max(...span.map((s) => s.spoolMb ?? 0)),
      lag: Math.max(...span.map((s) => s.lag)),
      delayS: delays.length ? Math.max(...delays) : null,
      cpuPct: span.reduce((a, s) => a + s.cpuPct, 0) / span.length,
      storedPerS: dt > 0 ? (end.stored - base.stored) / dt : 0,
      writeMs: mean(span.map((s) => s.writeMs ?? null)),
      load: span.some((s) => s.load !== undefined) ? Math.max(...span.map((s) => s.load ?? 0)) : null,
      // half a second of tolerance: a fault started on the dot of 2:00 belongs to the row after it
      faults: faults.filter((f) => f.start < to - 0.5 && f.end > from + 0.5).map((f) => f.name),
    });
    prev = end;
  }
  return rows;
}

const HEAD = ['time', 'RSS MB', 'heap MB', 'CPU %', 'stored/s', 'write ms', 'spool MB (peak)', 'lag (peak)', 'delay s (peak)', 'load avg', 'faults'];

export function markdownTable(rows: TableRow[]): string {
  const lines = ['| ' + HEAD.join(' | ') + ' |', '|' + HEAD.map(() => '---').join('|') + '|'];
  for (const r of rows) {
    lines.push(
      '| ' +
        [
          `${clock(r.from)}–${clock(r.to)}`,
          r.rssMb.toFixed(0),
          r.heapMb === null ? '–' : r.heapMb.toFixed(0),
          r.cpuPct.toFixed(0),
          Math.round(r.storedPerS).toLocaleString('en'),
          r.writeMs === null ? '–' : r.writeMs.toFixed(0),
          r.spoolMb.toFixed(1),
          r.lag.toLocaleString('en'),
          r.delayS === null ? '–' : r.delayS.toFixed(1),
          r.load === null ? '–' : r.load.toFixed(1),
          r.faults.join(', ') || '',
        ].join(' | ') +
        ' |',
    );
  }
  return lines.join('\n');
}

export function summaryText(s: SoakSummary, faults: FaultWindow[]): string {
  const n = (x: number) => x.toLocaleString('en');
  const drain = (x: number | null) => (x === null ? 'not within the run' : `${x.toFixed(0)} s`);
  return [
    `readings: ${n(s.generated)} made, ${n(s.acked)} acknowledged by the broker, ${n(s.stored)} in InfluxDB, ${n(s.lost)} lost`,
    `RSS MB: start ${s.rss.start.toFixed(0)}, min ${s.rss.min.toFixed(0)}, max ${s.rss.max.toFixed(0)}, end ${s.rss.end.toFixed(0)}; growth after warm-up ${s.rssSlopeMbPerMin.toFixed(2)} MB/min (last third ${s.rssSlopeTailMbPerMin.toFixed(2)} MB/min)${s.heapSlopeMbPerMin === null ? '' : `; heap ${s.heapSlopeMbPerMin.toFixed(2)} MB/min`}${s.heapFloorSlopeMbPerMin === null || !s.heapFloorMb ? '' : `; heap floor (each minute's smallest) ${s.heapFloorMb.first.toFixed(0)} → ${s.heapFloorMb.last.toFixed(0)} MB, ${s.heapFloorSlopeMbPerMin.toFixed(2)} MB/min`}`,
    `spool: peak ${s.spoolPeakMb.toFixed(1)} MB at ${clock(s.spoolPeakAt)}, back to its level ${drain(s.spoolDrainS)} after InfluxDB returned`,
    `lag: peak ${n(s.lagPeak)} readings at ${clock(s.lagPeakAt)}, back to its level ${drain(s.lagDrainS)} after InfluxDB returned; newest stored reading at most ${s.delayMaxS === null ? '–' : s.delayMaxS.toFixed(1)} s old`,
    `service CPU: ${s.cpuMeanPct.toFixed(0)} % of a core on average${s.load ? `; machine load average ${s.load.mean.toFixed(1)} on average, at most ${s.load.max.toFixed(1)}` : ''}`,
    `faults: ${faults.map((f) => `${f.name} ${clock(f.start)}–${clock(f.end)}`).join('; ') || 'none'}`,
  ].join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** 0, and three or four round steps up to at least `max` */
export function niceTicks(max: number): number[] {
  const m = max > 0 ? max : 1;
  const raw = m / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = 0; v < m + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

const FAULT_COLOURS = ['#f4a261', '#8ecae6', '#e9c46a', '#cdb4db', '#b7e4c7'];

export interface PlotOptions {
  title: string;
  subtitle?: string;
}

/** The plot: three panels sharing the time axis (RSS MB, spool MB, lag in thousands of readings), the fault windows shaded across all three. */
export function soakSvg(samples: SoakSample[], faults: FaultWindow[], opts: PlotOptions): string {
  const W = 1000;
  const left = 70;
  const right = 20;
  const top = 70;
  const panelH = 170;
  const gap = 30;
  const series: { label: string; colour: string; value: (s: SoakSample) => number | null }[] = [
    { label: 'service RSS, MB', colour: '#1d3557', value: (s) => s.rssMb },
    { label: 'spool, MB', colour: '#e76f51', value: (s) => s.spoolMb },
    { label: 'lag, thousand readings (made − stored)', colour: '#2a9d8f', value: (s) => s.lag / 1000 },
  ];
  const H = top + series.length * (panelH + gap) + 40;
  const tMax = Math.max(samples.at(-1)?.t ?? 0, ...faults.map((f) => f.end), 1);
  const x = (t: number) => left + ((W - left - right) * t) / tMax;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${left}" y="24" font-size="16" font-weight="bold">${esc(opts.title)}</text>`);
  if (opts.subtitle) out.push(`<text x="${left}" y="44" fill="#555">${esc(opts.subtitle)}</text>`);
  // legend of the faults
  let lx = left;
  faults.forEach((f, i) => {
    const c = FAULT_COLOURS[i % FAULT_COLOURS.length];
    out.push(`<rect class="legend" x="${lx}" y="52" width="12" height="12" fill="${c}" fill-opacity="0.5"/>`);
    const label = `${f.name} ${clock(f.start)}–${clock(f.end)}`;
    out.push(`<text x="${lx + 16}" y="62">${esc(label)}</text>`);
    lx += 30 + label.length * 7;
  });
  series.forEach((ser, p) => {
    const y0 = top + p * (panelH + gap);
    const values = samples.map(ser.value).filter((v): v is number => v !== null);
    const ticks = niceTicks(Math.max(0, ...values));
    const vMax = ticks.at(-1)!;
    const y = (v: number) => y0 + panelH - (panelH * v) / vMax;
    faults.forEach((f, i) => {
      const x1 = x(f.start);
      const w = Math.max(2, x(f.end) - x1);
      out.push(`<rect class="fault" data-fault="${esc(f.name)}" x="${x1.toFixed(1)}" y="${y0}" width="${w.toFixed(1)}" height="${panelH}" fill="${FAULT_COLOURS[i % FAULT_COLOURS.length]}" fill-opacity="0.35"/>`);
    });
    for (const t of ticks) {
      out.push(`<line x1="${left}" x2="${W - right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#ddd"/>`);
      out.push(`<text x="${left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${t}</text>`);
    }
    out.push(`<rect x="${left}" y="${y0}" width="${W - left - right}" height="${panelH}" fill="none" stroke="#999"/>`);
    out.push(`<text x="${left + 6}" y="${y0 + 16}" font-weight="bold" fill="${ser.colour}">${esc(ser.label)}</text>`);
    // the line, broken where a sample has no value
    const parts: string[][] = [[]];
    for (const s of samples) {
      const v = ser.value(s);
      if (v === null) {
        if (parts.at(-1)!.length) parts.push([]);
        continue;
      }
      parts.at(-1)!.push(`${x(s.t).toFixed(1)},${y(v).toFixed(1)}`);
    }
    for (const pts of parts) if (pts.length) out.push(`<polyline class="series" data-series="${p}" points="${pts.join(' ')}" fill="none" stroke="${ser.colour}" stroke-width="2"/>`);
  });
  // time axis, one tick a minute (or every 10 s for short runs)
  const axisY = top + series.length * (panelH + gap) - gap;
  const every = tMax > 180 ? 60 : 10;
  for (let t = 0; t <= tMax; t += every) {
    out.push(`<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${axisY}" y2="${axisY + 5}" stroke="#333"/>`);
    out.push(`<text x="${x(t).toFixed(1)}" y="${axisY + 18}" text-anchor="middle">${clock(t)}</text>`);
  }
  out.push(`<text x="${(left + W - right) / 2}" y="${axisY + 34}" text-anchor="middle" fill="#555">time since publishing started (m:ss)</text>`);
  out.push('</svg>');
  return out.join('\n');
}

/** The SVG as a PNG, drawn by Chromium (playwright-core, /usr/bin/chromium unless CHROMIUM is set). */
export async function renderPng(svg: string, path: string): Promise<void> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
  try {
    const width = Number(/width="(\d+)"/.exec(svg)?.[1] ?? 1000);
    const height = Number(/height="(\d+)"/.exec(svg)?.[1] ?? 700);
    const page = await browser.newPage({ viewport: { width, height } });
    await page.setContent(`<!doctype html><html><body style="margin:0">${svg}</body></html>`);
    await page.locator('svg').screenshot({ path });
  } finally {
    await browser.close();
  }
}
