/**
 * The reports on disk: `DATA_DIR/reports/<id>/` holds `report.html`, `report.csv`,
 * `report.json` and `meta.json` (what the API lists). A report's folder is written under a
 * temporary name and renamed into place, so a listed report always has all its files.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FORMATS, type ReportFormat, type ReportMeta } from './types.ts';

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
