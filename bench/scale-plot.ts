/**
 * The scale benchmark's figures (bench/scale.ts, `--json FILE`) as a plot: x = devices on a log
 * scale (1,000, 10,000, 100,000), one panel each for steady RSS, peak RSS, marginal KB per
 * device, CPU µs per message, start to ready and the event loop's p99 and max, issue 13's
 * targets as dashed lines (peak RSS 450 MB, 2 KB per device, 25 µs/msg, start 3 s), and the
 * RSS every 500 ms from spawn at each size. One run, or a run beside an earlier one ("before").
 *
 * An SVG, turned into a PNG by Chromium through bench/soak-plot.ts's `renderPng` (playwright-core,
 * no other dependency). Two ways in:
 *
 *   npm run bench -- --only ingest --devices 1000,10000,100000 --json /tmp/scale.json --png /tmp/scale.png
 *   npx tsx bench/scale-plot.ts IN.json [BEFORE.json] OUT.png [--title …] [--labels after,before]
 *
 * The first plots the run it just made (bench/run.ts); the second any file or two, e.g.
 * docs/scale.png (docs/performance.md, City scale). Pure functions except `main`, so the SVG is
 * tested without a benchmark (test/scale-plot.test.ts).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { CountFigures, RateFigures, ScaleResult } from './scale.ts';
import { niceTicks, renderPng } from './soak-plot.ts';

/** Issue 13's targets, drawn as dashed lines. */
export const TARGETS = { peakRssMb: 450, kbPerDevice: 2, cpuUsPerMessage: 25, startS: 3 } as const;

export interface ScaleRun {
  label: string;
  result: ScaleResult;
}

export interface ScalePlotOptions {
  title?: string;
  subtitle?: string;
}

/** The rate a size's per-message figures are read from: the last of the run's rates. */
export function mainRate(c: CountFigures): RateFigures | undefined {
  return c.rates.at(-1);
}

interface Metric {
  label: string;
  value: (c: CountFigures) => number | null;
  /** the marker: a filled circle, or a hollow square for a second metric in the same panel */
  shape?: 'circle' | 'square';
}

interface Panel {
  title: string;
  metrics: Metric[];
  target?: { value: number; label: string };
  logY?: boolean;
  digits?: number;
}

const PANELS: Panel[] = [
  { title: 'steady RSS, MB (2 s after the last rate)', metrics: [{ label: 'steady', value: (c) => c.steadyRssMb }], target: { value: TARGETS.peakRssMb, label: `target: peak ${TARGETS.peakRssMb} MB` } },
  { title: 'peak RSS, MB (VmHWM of the service)', metrics: [{ label: 'peak', value: (c) => c.peakRssMb }], target: { value: TARGETS.peakRssMb, label: `target ${TARGETS.peakRssMb} MB` } },
  { title: 'KB per device, marginal (vs the size before)', metrics: [{ label: 'marginal', value: (c) => c.marginalKbPerDevice }], target: { value: TARGETS.kbPerDevice, label: `target ${TARGETS.kbPerDevice} KB` }, digits: 1 },
  { title: 'service CPU, µs per message', metrics: [{ label: 'CPU', value: (c) => mainRate(c)?.cpuUsPerMessage ?? null }], target: { value: TARGETS.cpuUsPerMessage, label: `target ${TARGETS.cpuUsPerMessage} µs` } },
  { title: 'start to ready, s (spawn of npm start → /readyz)', metrics: [{ label: 'start', value: (c) => (c.readyMs === null ? null : c.readyMs / 1000) }], target: { value: TARGETS.startS, label: `target ${TARGETS.startS} s` }, digits: 1 },
  {
    title: 'event loop delay, ms (log scale): p99 ● solid, max □ dotted',
    metrics: [
      { label: 'p99', value: (c) => mainRate(c)?.eventLoopP99Ms ?? null },
      { label: 'max', value: (c) => mainRate(c)?.eventLoopMaxMs ?? null, shape: 'square' },
    ],
    logY: true,
  },
];

const COLOURS = ['#1d3557', '#e76f51', '#2a9d8f'];
const TARGET_COLOUR = '#c1121f';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const n = (x: number) => x.toLocaleString('en');

/** A value as written beside its point: no decimals from 100 up, else `digits`. */
export function fmt(v: number, digits = 0): string {
  return Math.abs(v) >= 100 ? n(Math.round(v)) : v.toFixed(digits);
}

/** Powers of ten from below `min` to above `max` (both > 0). */
export function logTicks(min: number, max: number): number[] {
  const lo = Math.floor(Math.log10(Math.max(min, 1e-9)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(max, 1e-9))));
  const ticks: number[] = [];
  for (let e = lo; e <= hi; e++) ticks.push(10 ** e);
  return ticks;
}

/** The plot: six panels against devices (log scale) in two columns, and RSS over time below. */
export function scaleSvg(runs: ScaleRun[], opts: ScalePlotOptions = {}): string {
  if (runs.length === 0) throw new Error('no runs');
  const W = 1100;
  const cols = 2;
  const left = 70;
  const colGap = 80;
  const right = 30;
  const top = 96;
  const panelH = 190;
  const rowGap = 62;
  const panelW = (W - left - right - colGap * (cols - 1)) / cols;
  const rows = Math.ceil(PANELS.length / cols);
  const seriesTop = top + rows * (panelH + rowGap) + 10;
  const seriesH = 230;
  const H = seriesTop + seriesH + 78;
  const devices = [...new Set(runs.flatMap((r) => r.result.counts.map((c) => c.devices)))].filter((d) => d > 0).sort((a, b) => a - b);
  const lMin = Math.log10(devices[0] ?? 1000) - 0.25;
  const lMax = Math.log10(devices.at(-1) ?? 100_000) + 0.25;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  const first = runs[0]!.result;
  const rate = mainRate(first.counts[0] ?? ({ rates: [] } as unknown as CountFigures));
  out.push(`<text x="${left}" y="26" font-size="17" font-weight="bold">${esc(opts.title ?? 'Estate Sentinel at city scale: cost per device and per message (issue 13)')}</text>`);
  const sub =
    opts.subtitle ??
    `load ${first.load}, ${rate ? `QoS ${rate.qos} at ${n(rate.rate)} msg/s` : 'no rate'} for ${first.seconds} s per size after one reading from each device; Node ${first.node.replace(/^v/, '')}, ${first.cores} cores; a fresh Mosquitto and InfluxDB per size`;
  out.push(`<text x="${left}" y="46" fill="#555">${esc(sub)}</text>`);
  // legend: the runs, and the targets
  let lx = left;
  runs.forEach((r, i) => {
    const c = COLOURS[i % COLOURS.length]!;
    const label = `${r.label} (${r.result.startedAt.slice(0, 16).replace('T', ' ')} UTC)`;
    out.push(`<line class="legend" x1="${lx}" x2="${lx + 24}" y1="66" y2="66" stroke="${c}" stroke-width="2.5"/><circle cx="${lx + 12}" cy="66" r="4" fill="${c}"/>`);
    out.push(`<text x="${lx + 30}" y="70">${esc(label)}</text>`);
    lx += 50 + label.length * 7;
  });
  out.push(`<line x1="${lx}" x2="${lx + 24}" y1="66" y2="66" stroke="${TARGET_COLOUR}" stroke-width="1.5" stroke-dasharray="6 4"/>`);
  out.push(`<text x="${lx + 30}" y="70">issue 13's target</text>`);

  PANELS.forEach((panel, p) => {
    const x0 = left + (p % cols) * (panelW + colGap);
    const y0 = top + Math.floor(p / cols) * (panelH + rowGap);
    const x = (d: number) => x0 + (panelW * (Math.log10(d) - lMin)) / (lMax - lMin);
    const values = runs.flatMap((r) => r.result.counts.flatMap((c) => panel.metrics.map((m) => m.value(c)))).filter((v): v is number => v !== null && Number.isFinite(v));
    const all = panel.target ? [...values, panel.target.value] : values;
    let y: (v: number) => number;
    let ticks: number[];
    if (panel.logY) {
      const pos = all.filter((v) => v > 0);
      ticks = logTicks(Math.min(...pos, 10), Math.max(...pos, 10));
      const a = Math.log10(ticks[0]!);
      const b = Math.log10(ticks.at(-1)!);
      y = (v: number) => y0 + panelH - (panelH * (Math.log10(Math.max(v, ticks[0]!)) - a)) / (b - a);
    } else {
      ticks = niceTicks(Math.max(0, ...all) * 1.1);
      const vMax = ticks.at(-1)!;
      y = (v: number) => y0 + panelH - (panelH * v) / vMax;
    }
    out.push(`<g class="panel" data-panel="${p}">`);
    for (const t of ticks) {
      out.push(`<line x1="${x0}" x2="${x0 + panelW}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e2e2e2"/>`);
      out.push(`<text x="${x0 - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${n(t)}</text>`);
    }
    for (const d of devices) {
      out.push(`<line x1="${x(d).toFixed(1)}" x2="${x(d).toFixed(1)}" y1="${y0}" y2="${y0 + panelH}" stroke="#f0f0f0"/>`);
      out.push(`<text x="${x(d).toFixed(1)}" y="${y0 + panelH + 16}" text-anchor="middle">${n(d)}</text>`);
    }
    out.push(`<rect x="${x0}" y="${y0}" width="${panelW}" height="${panelH}" fill="none" stroke="#999"/>`);
    out.push(`<text x="${x0}" y="${y0 - 8}" font-weight="bold">${esc(panel.title)}</text>`);
    if (panel.target) {
      const ty = y(panel.target.value).toFixed(1);
      out.push(`<line class="target" x1="${x0}" x2="${x0 + panelW}" y1="${ty}" y2="${ty}" stroke="${TARGET_COLOUR}" stroke-width="1.5" stroke-dasharray="6 4"/>`);
      // the label above the panel, right-aligned, clear of the points that lie near the target
      const tw = panel.target.label.length * 7;
      out.push(`<line x1="${x0 + panelW - tw - 30}" x2="${x0 + panelW - tw - 6}" y1="${y0 - 12}" y2="${y0 - 12}" stroke="${TARGET_COLOUR}" stroke-width="1.5" stroke-dasharray="6 4"/>`);
      out.push(`<text x="${x0 + panelW}" y="${y0 - 8}" text-anchor="end" fill="${TARGET_COLOUR}">${esc(panel.target.label)}</text>`);
    }
    runs.forEach((r, i) => {
      const colour = COLOURS[i % COLOURS.length]!;
      for (const m of panel.metrics) {
        const pts = r.result.counts
          .filter((c) => c.devices > 0)
          .map((c) => [c.devices, m.value(c)] as const)
          .filter((pt): pt is readonly [number, number] => pt[1] !== null && Number.isFinite(pt[1]));
        if (pts.length > 1) out.push(`<polyline class="series" data-run="${i}" points="${pts.map(([d, v]) => `${x(d).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}" fill="none" stroke="${colour}" stroke-width="2"${m.shape === 'square' ? ' stroke-dasharray="2 3"' : ''}/>`);
        for (const [d, v] of pts) {
          const px = x(d);
          const py = y(v);
          if (m.shape === 'square') out.push(`<rect class="point" data-run="${i}" x="${(px - 4).toFixed(1)}" y="${(py - 4).toFixed(1)}" width="8" height="8" fill="#fff" stroke="${colour}" stroke-width="2"/>`);
          else out.push(`<circle class="point" data-run="${i}" cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="4" fill="${colour}"/>`);
          // above the point, or below it where another run's value at this size is higher, so that
          // the labels do not overlap; a panel's second metric beside its points instead (the
          // first run's to the left, the others' to the right), clear of the first metric's labels
          let lxp: number;
          let ly: number;
          let anchor: 'start' | 'middle' | 'end';
          if (m.shape === 'square') {
            anchor = i === 0 ? 'end' : 'start';
            lxp = i === 0 ? px - 8 : px + 8;
            ly = py + 4;
          } else {
            const others = runs.filter((_, j) => j !== i).map((o) => o.result.counts.find((c) => c.devices === d)).map((c) => (c ? m.value(c) : null));
            const below = others.some((o) => o !== null && (o > v || (o === v && i > 0)));
            ly = below ? py + 17 : py - 8;
            anchor = d === devices.at(-1) ? 'end' : d === devices[0] ? 'start' : 'middle';
            lxp = anchor === 'end' ? px + 4 : anchor === 'start' ? px - 4 : px;
          }
          out.push(`<text class="value" x="${lxp.toFixed(1)}" y="${ly.toFixed(1)}" text-anchor="${anchor}" fill="${colour}" font-size="11" stroke="#fff" stroke-width="3" paint-order="stroke">${fmt(v, panel.digits ?? 0)}</text>`);
        }
      }
    });
    out.push(`<text x="${x0 + panelW / 2}" y="${y0 + panelH + 32}" text-anchor="middle" fill="#555">devices (log scale)</text>`);
    out.push('</g>');
  });

  // RSS over time at each size: a line per size and run, the run's colour, each size darker
  const sW = W - left - right;
  const series = runs.flatMap((r, i) => r.result.counts.filter((c) => c.rssSeries.length > 0).map((c) => ({ run: i, c })));
  const tMax = Math.max(10, ...series.map((s) => s.c.rssSeries.at(-1)![0]));
  const rssTicks = niceTicks(Math.max(100, ...series.flatMap((s) => s.c.rssSeries.map((pt) => pt[1])), TARGETS.peakRssMb) * 1.05);
  // room on the right for the sizes' labels at the ends of the lines
  const sx = (t: number) => left + ((sW - 60) * t) / tMax;
  const sy = (v: number) => seriesTop + seriesH - (seriesH * v) / rssTicks.at(-1)!;
  out.push(`<g class="panel" data-panel="rss-series">`);
  out.push(`<text x="${left}" y="${seriesTop - 8}" font-weight="bold">service RSS every 500 ms from spawn, MB (each size: start, one reading per device, ${first.seconds} s at the rate, 2 s idle)</text>`);
  for (const t of rssTicks) {
    out.push(`<line x1="${left}" x2="${left + sW}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#e2e2e2"/>`);
    out.push(`<text x="${left - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${n(t)}</text>`);
  }
  const every = tMax > 120 ? 30 : tMax > 40 ? 10 : 5;
  for (let t = 0; t <= tMax; t += every) {
    out.push(`<line x1="${sx(t).toFixed(1)}" x2="${sx(t).toFixed(1)}" y1="${seriesTop + seriesH}" y2="${seriesTop + seriesH + 5}" stroke="#333"/>`);
    out.push(`<text x="${sx(t).toFixed(1)}" y="${seriesTop + seriesH + 18}" text-anchor="middle">${t}</text>`);
  }
  out.push(`<rect x="${left}" y="${seriesTop}" width="${sW}" height="${seriesH}" fill="none" stroke="#999"/>`);
  const ty = sy(TARGETS.peakRssMb).toFixed(1);
  out.push(`<line class="target" x1="${left}" x2="${left + sW}" y1="${ty}" y2="${ty}" stroke="${TARGET_COLOUR}" stroke-width="1.5" stroke-dasharray="6 4"/>`);
  out.push(`<text x="${left + 6}" y="${(Number(ty) - 5).toFixed(1)}" fill="${TARGET_COLOUR}">target ${TARGETS.peakRssMb} MB (peak)</text>`);
  for (const { run, c } of series) {
    const colour = COLOURS[run % COLOURS.length]!;
    const k = devices.indexOf(c.devices);
    const width = 1 + k * 0.75;
    const dash = run > 0 ? ' stroke-dasharray="5 3"' : '';
    out.push(`<polyline class="rss" data-run="${run}" points="${c.rssSeries.map(([t, v]) => `${sx(t).toFixed(1)},${sy(v).toFixed(1)}`).join(' ')}" fill="none" stroke="${colour}" stroke-width="${width}"${dash}/>`);
    const [te, ve] = c.rssSeries.at(-1)!;
    out.push(`<text x="${(sx(te) + 4).toFixed(1)}" y="${(sy(ve) + (run % 2 === 0 ? -4 : 12)).toFixed(1)}" fill="${colour}" font-size="11">${n(c.devices)}</text>`);
  }
  out.push(`<text x="${left + sW / 2}" y="${seriesTop + seriesH + 34}" text-anchor="middle" fill="#555">seconds since spawn of npm start${runs.length > 1 ? ` (${runs.slice(1).map((r) => r.label).join(', ')} dashed)` : ''}</text>`);
  out.push('</g>');

  // what the panels do not show: readings the service did not receive
  const notes = runs.flatMap((r) =>
    r.result.counts.flatMap((c) =>
      c.rates.filter((x) => x.landed < x.sent).map((x) => `${r.label}: at ${n(c.devices)} devices ${n(x.landed)} of ${n(x.sent)} readings landed (the service received ${n(x.messages)})`),
    ),
  );
  const errors = runs.flatMap((r) => r.result.counts.filter((c) => c.error).map((c) => `${r.label}: at ${n(c.devices)} devices ${c.error}`));
  const foot = [...notes, ...errors].join('; ') || `every reading sent landed in InfluxDB in ${runs.length > 1 ? 'both runs' : 'the run'}`;
  out.push(`<text x="${left}" y="${H - 14}" fill="#555">${esc(foot)}</text>`);
  out.push('</svg>');
  return out.join('\n');
}

/** A file of bench/scale.ts's figures, checked for what the plot reads. */
export function readScale(path: string): ScaleResult {
  const r = JSON.parse(readFileSync(path, 'utf8')) as ScaleResult;
  if (!Array.isArray(r.counts) || r.counts.some((c) => typeof c.devices !== 'number' || !Array.isArray(c.rates) || !Array.isArray(c.rssSeries))) {
    throw new Error(`${path}: not the figures of npm run bench -- --only ingest --json (bench/scale.ts)`);
  }
  return r;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { title: { type: 'string' }, labels: { type: 'string' } } });
  if (positionals.length < 2 || positionals.length > 3 || !positionals.at(-1)!.endsWith('.png')) {
    throw new Error('usage: npx tsx bench/scale-plot.ts IN.json [BEFORE.json] OUT.png [--title …] [--labels after,before]');
  }
  const out = resolve(positionals.at(-1)!);
  const [inPath, beforePath] = positionals.slice(0, -1) as [string, string | undefined];
  const labels = (values.labels ?? (beforePath ? 'after,before' : 'this run')).split(',');
  const runs: ScaleRun[] = [{ label: labels[0] ?? 'after', result: readScale(inPath) }];
  if (beforePath) runs.push({ label: labels[1] ?? 'before', result: readScale(beforePath) });
  await renderPng(scaleSvg(runs, values.title ? { title: values.title } : {}), out);
  console.log(`plot written to ${out}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
