/**
 * One metric over time (uPlot): the mean of each step as a line inside its min–max band, and
 * the device's thresholds as dashed lines in their severity's colour. Live readings are added
 * as they come; the chart redraws at most once a frame.
 */
import uPlot from 'uplot';
import type { SeriesPoint, Severity } from './api.ts';
import { mark, unmark, type Flushable } from './frame.ts';
import { dateTime, number } from './format.ts';
import { t } from './i18n.ts';

export interface ChartLine {
  value: number;
  severity: Severity;
  label: string;
}

export interface ChartSpec {
  title: string;
  unit: string;
  /** a boolean metric: the share of "yes" per step, 0–1 */
  boolean: boolean;
  integer: boolean;
  thresholds: readonly ChartLine[];
  /** the span shown, ms, ending now */
  spanMs: number;
}

const COLOURS = { mean: '#1565c0', edge: 'rgba(21,101,192,0.35)', band: 'rgba(21,101,192,0.14)', warning: '#b26a00', critical: '#c62828' } as const;
const pad = (n: number) => String(n).padStart(2, '0');

/** Axis labels in 24-hour time, dates as MM-DD: the same in both languages. */
function timeLabels(_u: uPlot, splits: number[], _axis: number, _space: number, incr: number): string[] {
  return splits.map((s) => {
    const d = new Date(s * 1000);
    return incr >= 86_400 ? `${pad(d.getMonth() + 1)}-${pad(d.getDate())}` : incr >= 3600 && d.getHours() === 0 ? `${pad(d.getMonth() + 1)}-${pad(d.getDate())}` : `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  });
}

export class MetricChart implements Flushable {
  private readonly plot: uPlot;
  private xs: number[] = [];
  private means: number[] = [];
  private mins: number[] = [];
  private maxs: number[] = [];
  private readonly resize: ResizeObserver;

  constructor(
    readonly el: HTMLElement,
    private readonly spec: ChartSpec,
  ) {
    const fmt = (v: number | null) => (v === null ? '—' : spec.boolean ? `${Math.round(v * 100)} %` : `${number(v, spec.integer)}${spec.unit ? ` ${spec.unit}` : ''}`);
    const opts: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height: 220,
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: true, range: () => this.xRange() },
        y: { range: (_u, min, max) => this.yRange(min, max) },
      },
      axes: [
        { values: timeLabels, stroke: '#555', grid: { stroke: '#eee' } },
        { stroke: '#555', grid: { stroke: '#eee' }, size: 64, values: (_u, splits) => splits.map((v) => (spec.boolean ? `${Math.round(v * 100)}%` : number(v))) },
      ],
      series: [
        { label: t('device.at'), value: (_u, v) => (v === null ? '—' : dateTime(v * 1000)) },
        { label: spec.boolean ? t('device.share') : t('device.mean'), stroke: COLOURS.mean, width: 2, value: (_u, v) => fmt(v) },
        { label: t('device.min'), stroke: COLOURS.edge, width: 1, value: (_u, v) => fmt(v) },
        { label: t('device.max'), stroke: COLOURS.edge, width: 1, value: (_u, v) => fmt(v) },
      ],
      bands: [{ series: [3, 2], fill: COLOURS.band }],
      hooks: { draw: [(u) => this.drawThresholds(u)] },
    };
    this.plot = new uPlot(opts, [[], [], [], []], el);
    this.resize = new ResizeObserver(() => {
      const w = Math.max(280, el.clientWidth);
      if (w !== this.plot.width) this.plot.setSize({ width: w, height: 220 });
    });
    this.resize.observe(el);
  }

  private xRange(): uPlot.Range.MinMax {
    const now = Date.now() / 1000;
    return [now - this.spec.spanMs / 1000, now];
  }

  /**
   * The data's range, widened to take in the thresholds near it. A threshold far from the
   * data (pressure high at 1.0 MPa while the pressure is 0.3) would squash the line: it is
   * left out of the range and named at the chart's edge instead.
   */
  private yRange(min: number | null, max: number | null): uPlot.Range.MinMax {
    if (this.spec.boolean) return [0, 1];
    let lo = min ?? Infinity;
    let hi = max ?? -Infinity;
    const hasData = Number.isFinite(lo) && Number.isFinite(hi);
    const span = hasData ? Math.max(hi - lo, Math.abs(hi) * 0.25, 1e-6) : Infinity;
    for (const l of this.spec.thresholds) {
      if (hasData && (l.value < lo - 2 * span || l.value > hi + 2 * span)) continue;
      lo = Math.min(lo, l.value);
      hi = Math.max(hi, l.value);
    }
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
    const room = (hi - lo || Math.abs(hi) || 1) * 0.1;
    return [lo >= 0 && lo - room < 0 ? 0 : lo - room, hi + room];
  }

  private drawThresholds(u: uPlot): void {
    const ctx = u.ctx;
    const r = uPlot.pxRatio;
    const { left, top, width, height } = u.bbox;
    ctx.save();
    ctx.font = `${11 * r}px system-ui, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif`;
    ctx.lineWidth = 1.5 * r;
    // Warnings are labelled at the left end of their line, criticals at the right, so that close ones do not overlap.
    for (const l of this.spec.thresholds) {
      const y = Math.round(u.valToPos(l.value, 'y', true));
      ctx.strokeStyle = COLOURS[l.severity];
      ctx.fillStyle = COLOURS[l.severity];
      ctx.textAlign = l.severity === 'critical' ? 'right' : 'left';
      const x = l.severity === 'critical' ? left + width - 6 * r : left + 6 * r;
      if (y < top || y > top + height) {
        ctx.textBaseline = y < top ? 'top' : 'bottom';
        ctx.fillText(`${y < top ? '↑' : '↓'} ${l.label}`, x, y < top ? top + 2 * r : top + height - 2 * r);
        continue;
      }
      ctx.setLineDash([6 * r, 4 * r]);
      ctx.beginPath();
      ctx.moveTo(left, y);
      ctx.lineTo(left + width, y);
      ctx.stroke();
      ctx.textBaseline = 'bottom';
      ctx.fillText(l.label, x, y - 3 * r);
    }
    ctx.restore();
  }

  /** The stored series, replacing what was there. */
  set(points: readonly SeriesPoint[]): void {
    this.xs = points.map((p) => Date.parse(p.t) / 1000);
    this.means = points.map((p) => p.mean);
    this.mins = points.map((p) => p.min);
    this.maxs = points.map((p) => p.max);
    mark(this);
  }

  /** A live reading. */
  add(ts: number, value: number | boolean): void {
    const x = ts / 1000;
    const v = typeof value === 'boolean' ? (value ? 1 : 0) : value;
    const last = this.xs.at(-1);
    if (last !== undefined && x < last) return;
    this.xs.push(x);
    this.means.push(v);
    this.mins.push(v);
    this.maxs.push(v);
    if (this.xs[0]! < x - this.spec.spanMs / 1000 - 60) this.trim();
    mark(this);
  }

  flush(): void {
    this.trim();
    this.plot.setData([this.xs, this.means, this.mins, this.maxs]);
  }

  /** Drops what has left the span (also while a hidden tab runs no frames). */
  private trim(): void {
    const from = Date.now() / 1000 - this.spec.spanMs / 1000;
    let drop = 0;
    while (drop < this.xs.length && this.xs[drop]! < from) drop++;
    if (drop > 0) {
      this.xs.splice(0, drop);
      this.means.splice(0, drop);
      this.mins.splice(0, drop);
      this.maxs.splice(0, drop);
    }
  }

  destroy(): void {
    unmark(this);
    this.resize.disconnect();
    this.plot.destroy();
  }
}
