/**
 * The reports on disk: `DATA_DIR/reports/<id>/` holds `report.html`, `report.csv`,
 * `report.json` and `meta.json` (what the API lists). A report's folder is written under a
 * temporary name and renamed into place, so a listed report always has all its files.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FORMATS, type ReportFormat, type ReportJson, type ReportMeta } from './types.ts';

const ID = /^[0-9A-Z]{26}$/;

export interface ReportFiles {
  html: string;
  csv: string;
  json: string;
}

export class ReportArchive {
  private readonly reports = new Map<string, ReportMeta>();

  constructor(
    readonly dir: string,
    private readonly log?: { warn(o: object, m: string): void },
  ) {}

  /** Reads what earlier runs left. */
  load(): void {
    mkdirSync(this.dir, { recursive: true });
    for (const name of readdirSync(this.dir)) {
      const folder = join(this.dir, name);
      if (name.startsWith('.tmp-')) {
        rmSync(folder, { recursive: true, force: true });
        continue;
      }
      if (!ID.test(name)) continue;
      try {
        const meta = JSON.parse(readFileSync(join(folder, 'meta.json'), 'utf8')) as ReportMeta;
        if (meta.id === name && FORMATS.every((f) => existsSync(join(folder, `report.${f}`)))) this.reports.set(name, meta);
      } catch (err) {
        this.log?.warn({ folder, err: (err as Error).message }, 'a report folder without a readable meta.json was skipped');
      }
    }
  }

  save(meta: ReportMeta, files: ReportFiles): void {
    mkdirSync(this.dir, { recursive: true });
    const tmp = join(this.dir, `.tmp-${meta.id}`);
    mkdirSync(tmp, { recursive: true });
    for (const f of FORMATS) writeFileSync(join(tmp, `report.${f}`), files[f]);
    writeFileSync(join(tmp, 'meta.json'), JSON.stringify(meta, null, 2));
    renameSync(tmp, join(this.dir, meta.id));
    this.reports.set(meta.id, meta);
  }

  get(id: string): ReportMeta | undefined {
    return this.reports.get(id);
  }

  /** Newest first. */
  list(): ReportMeta[] {
    return [...this.reports.values()].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
  }

  path(id: string, format: ReportFormat): string | undefined {
    return this.reports.has(id) ? join(this.dir, id, `report.${format}`) : undefined;
  }
}

/*
 * The CSV format: one file in "long" form, one figure per row, so every kind of report has
 * the same five columns and a spreadsheet pivot table rebuilds any table:
 *
 *   section,site,subject,figure,value
 *   report,,,kind,health
 *   elevators,jinfo-garden,EL-1-A,runs,1240
 *   elevators,jinfo-garden,EL-1-A,faults.door_close_fault,3
 *   water,jinfo-garden,WS-1,compliancePct.chlorine_mgl,99.52
 *   maintenance,jinfo-garden,EL-1-A,elevator_maintenance.due,2026-12-01T00:00:00+08:00
 *   departments,,fire-rescue,ackP50Sec,95.5
 *   properties,jinfo-garden,property,alerts,12
 *
 * `section` is the JSON array the row comes from (`report` for the report's own keys),
 * `subject` the device, department id or `property`, `figure` the JSON key (nested keys
 * joined with a dot; maintenance items as `<task>.<key>`), and `value` as in the JSON, empty
 * for null. UTF-8 with a byte-order mark, so that spreadsheet programs read the Chinese names.
 */
type Value = string | number | boolean | null;
type Row = [section: string, site: string, subject: string, figure: string, value: Value];

function cell(v: Value): string {
  const s = v === null ? '' : String(v);
  return /[",\r\n]/.test(s) || s.trim() !== s ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The rows of one object's figures: nested objects flattened as `key.sub`. */
function flatten(section: string, site: string, subject: string, obj: Record<string, unknown>, skip: readonly string[], prefix = ''): Row[] {
  const rows: Row[] = [];
  for (const [k, v] of Object.entries(obj)) {
    if (skip.includes(k)) continue;
    if (v !== null && typeof v === 'object') rows.push(...flatten(section, site, subject, v as Record<string, unknown>, [], `${prefix}${k}.`));
    else rows.push([section, site, subject, `${prefix}${k}`, v as Value]);
  }
  return rows;
}

export function rowsOf(report: ReportJson): Row[] {
  const rows: Row[] = [];
  const head = (k: string, v: string) => rows.push(['report', '', '', k, v]);
  head('kind', report.kind);
  switch (report.kind) {
    case 'health':
      head('from', report.from);
      head('to', report.to);
      for (const s of report.sites) {
        rows.push(['sites', s.id, '', 'name', s.name]);
        for (const section of ['elevators', 'hydrants', 'water', 'firelanes'] as const) {
          for (const d of s[section]) rows.push(...flatten(section, s.id, d.device, d as unknown as Record<string, unknown>, ['device']));
        }
      }
      break;
    case 'maintenance':
      head('asOf', report.asOf);
      for (const i of report.items) {
        for (const k of ['intervalDays', 'lastDone', 'due', 'overdue'] as const) rows.push(['maintenance', i.site, i.device, `${i.task}.${k}`, i[k]]);
      }
      break;
    case 'accountability':
      head('from', report.from);
      head('to', report.to);
      for (const d of report.departments) rows.push(...flatten('departments', '', d.id, d as unknown as Record<string, unknown>, ['id']));
      for (const p of report.properties) rows.push(...flatten('properties', p.site, 'property', p as unknown as Record<string, unknown>, ['site']));
      break;
  }
  return rows;
}

export function toCsv(report: ReportJson): string {
  const lines = [['section', 'site', 'subject', 'figure', 'value'], ...rowsOf(report)].map((r) => r.map(cell).join(','));
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}
