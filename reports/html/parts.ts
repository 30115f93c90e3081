/**
 * The pieces of the HTML reports: escaping, bilingual labels, tables, figures, and charts as
 * inline SVG drawn here (no chart library, nothing loaded at view time): a line chart of
 * daily values with limit lines, and a horizontal bar chart. They print as vectors.
 */

export function esc(s: string | number): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A label in Chinese with its English subtitle, as headings and table heads show them. */
export function bi(zh: string, en: string): string {
  return `${esc(zh)}<span class="en">${esc(en)}</span>`;
}

export interface Column<T> {
  zh: string;
  en: string;
  cell: (row: T) => string;
  /** right-aligned figures */
  num?: boolean;
}

/** A table; `cell` returns HTML (escape what it takes from data). Empty: a "none" line. */
export function table<T>(rows: readonly T[], cols: readonly Column<T>[], rowClass?: (row: T) => string): string {
  if (rows.length === 0) return `<p class="none">${bi('无', 'None')}</p>`;
  const head = cols.map((c) => `<th${c.num ? ' class="num"' : ''}>${bi(c.zh, c.en)}</th>`).join('');
  const body = rows
    .map((r) => {
      const cls = rowClass?.(r);
      return `<tr${cls ? ` class="${cls}"` : ''}>${cols.map((c) => `<td${c.num ? ' class="num"' : ''}>${c.cell(r)}</td>`).join('')}</tr>`;
    })
    .join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** A figure for a cell: '—' for null (no readings in the period). */
export function fig(v: number | null, unit = ''): string {
  if (v === null) return '<span class="na">—</span>';
  return esc(`${v.toLocaleString('en-US', { maximumFractionDigits: 3 })}${unit}`);
}

const PALETTE = ['#1f6feb', '#d97706', '#15803d', '#9333ea', '#be123c', '#0e7490'];
const FONT = 'font-family="Noto Sans CJK SC, PingFang SC, Microsoft YaHei, sans-serif"';

/** About `n` round tick values from 0 to at least `max`. */
export function ticks(max: number, n = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = 0; v < max + step * 0.999; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

export interface LineSeries {
  name: string;
  points: readonly { t: number; v: number }[];
}

export interface LineChart {
  title: string;
  unit: string;
  from: number;
  to: number;
  series: readonly LineSeries[];
  limits: readonly { v: number; label: string }[];
  /** x label of a time */
  label: (t: number) => string;
  /** where a point is drawn within its step (half a day for daily means) */
  shiftMs?: number;
  width?: number;
  height?: number;
}

export function lineChart(c: LineChart): string {
  const W = c.width ?? 480;
  const H = c.height ?? 210;
  const L = 48;
  const R = 12;
  const T = 28;
  const B = 34;
  const values = [...c.series.flatMap((s) => s.points.map((p) => p.v)), ...c.limits.map((l) => l.v)];
  const ys = ticks(Math.max(...values, 0) * 1.1);
  const top = ys.at(-1)!;
  const x = (t: number) => L + ((t + (c.shiftMs ?? 0) - c.from) / Math.max(1, c.to - c.from)) * (W - L - R);
  const y = (v: number) => T + (1 - v / top) * (H - T - B);
  const parts: string[] = [`<text x="${L}" y="16" font-size="13" font-weight="600">${esc(c.title)}</text>`];
  for (const v of ys) {
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e9ef"/>`);
    parts.push(`<text x="${L - 6}" y="${(y(v) + 4).toFixed(1)}" font-size="11" text-anchor="end" fill="#5f6b7a">${esc(String(v))}</text>`);
  }
  const days = Math.max(1, Math.round((c.to - c.from) / 86_400_000));
  const every = Math.max(1, Math.ceil(days / 7));
  for (let i = 0; i < days; i += every) {
    const t = c.from + i * 86_400_000;
    parts.push(`<text x="${x(t).toFixed(1)}" y="${H - B + 16}" font-size="11" fill="#5f6b7a">${esc(c.label(t))}</text>`);
  }
  parts.push(`<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#5f6b7a"/>`);
  for (const l of c.limits) {
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${y(l.v).toFixed(1)}" y2="${y(l.v).toFixed(1)}" stroke="#b42318" stroke-dasharray="5 4"/>`);
    parts.push(`<text x="${W - R - 2}" y="${(y(l.v) - 4).toFixed(1)}" font-size="11" text-anchor="end" fill="#b42318">${esc(l.label)}</text>`);
  }
  c.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const pts = s.points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`);
    if (pts.length > 1) parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(' ')}"/>`);
    for (const p of pts) parts.push(`<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="2.5" fill="${color}"/>`);
    parts.push(`<text x="${L + 8 + i * 110}" y="${H - 6}" font-size="11" fill="${color}">■ ${esc(s.name)}</text>`);
  });
  return svg(W, H, `${c.title} (${c.unit})`, parts);
}

export interface Bar {
  label: string;
  values: readonly (number | null)[];
}

/** Horizontal bars, one group per label, one bar per value (`names` gives the legend). */
export function barChart(title: string, names: readonly string[], bars: readonly Bar[], unit: string, width = 560): string {
  const L = 150;
  const R = 60;
  const rowH = 10 * names.length + 10;
  const H = 40 + bars.length * rowH + 20;
  const max = Math.max(1, ...bars.flatMap((b) => b.values.map((v) => v ?? 0)));
  const scale = (v: number) => (v / max) * (width - L - R);
  const parts: string[] = [`<text x="0" y="16" font-size="13" font-weight="600">${esc(title)}</text>`];
  bars.forEach((b, i) => {
    const top = 32 + i * rowH;
    parts.push(`<text x="${L - 8}" y="${top + rowH / 2 + 2}" font-size="11" text-anchor="end">${esc(b.label)}</text>`);
    b.values.forEach((v, j) => {
      const yy = top + j * 10;
      if (v === null) return void parts.push(`<text x="${L + 4}" y="${yy + 8}" font-size="10" fill="#5f6b7a">—</text>`);
      parts.push(`<rect x="${L}" y="${yy}" width="${Math.max(1, scale(v)).toFixed(1)}" height="8" fill="${PALETTE[j % PALETTE.length]}"/>`);
      parts.push(`<text x="${(L + scale(v) + 4).toFixed(1)}" y="${yy + 8}" font-size="10">${esc(`${v} ${unit}`)}</text>`);
    });
  });
  names.forEach((n, j) => parts.push(`<text x="${L + j * 90}" y="${H - 6}" font-size="11" fill="${PALETTE[j % PALETTE.length]}">■ ${esc(n)}</text>`));
  return svg(width, H, title, parts);
}

function svg(w: number, h: number, label: string, parts: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(label)}" ${FONT}>\n${parts.join('\n')}\n</svg>`;
}
