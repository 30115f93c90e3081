/**
 * The reports part: makes reports on request and on schedule, keeps them under
 * `DATA_DIR/reports/`, announces the scheduled ones, and records maintenance done.
 * `start()` loads the archive and starts the schedules; `stop()` ends them and waits for a
 * report being made.
 */
import { join } from 'node:path';
import type { Channel, Estate, Registry, ReportFormat, ReportKind, ReportView, ScheduleName } from '../config/index.ts';
import type { OpDb, SeriesStore } from '../storage/index.ts';
import { newId, type AuditLog, type Outbox, type OutboxItem, type Recipient, type Recipients, type ReportNotification } from '../alerts/index.ts';
import { buildAccountability } from './accountability.ts';
import { AlertFacts, type ReportContext, type Scope } from './sources.ts';
import { ReportArchive, toCsv } from './files.ts';
import { buildHealth } from './health.ts';
import { renderHtml } from './html/page.ts';
import { MaintenanceLog, buildMaintenance, type MaintenanceRecord, type MaintenanceTask } from './maintenance.ts';
import { ReportSchedules, iso, type ScheduledRun } from './calendar.ts';
import { FORMATS, type Built, type ReportMeta } from './types.ts';

export interface ReportsDeps {
  estate: Estate;
  registry: Registry;
  store: SeriesStore;
  /** the operational store: the alerts part's tables (read), the reports part's own (REPORTS_SCHEMA) */
  db: OpDb;
  /** the durable delivery outbox, for the links of scheduled reports (its own transaction, then it wakes the worker) */
  outbox: Pick<Outbox, 'enqueue'>;
  /** who asked for a report, who recorded maintenance */
  audit: Pick<AuditLog, 'add'>;
  /** who a site's own recipient is (property company or sub-district office) and how to reach it */
  recipients: Pick<Recipients, 'local' | 'resolve'>;
  dataDir: string;
  /** base of the links to a report's files */
  publicUrl: string;
  log: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void };
  now?: () => number;
  /** each report made or that could not be made (metrics); `schedule` null: requested through the API */
  observe?: (kind: ReportKind, outcome: 'made' | 'failed', schedule: ScheduleName | null) => void;
}

export interface ReportRequest {
  kind: ReportKind;
  from: number;
  to: number;
  /** null: every site */
  sites: string[] | null;
  requestedBy: string;
}

const CONTENT_TYPES: Record<ReportFormat, string> = {
  html: 'text/html; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  json: 'application/json; charset=utf-8',
};

export class Reports {
  readonly archive: ReportArchive;
  readonly maintenance: MaintenanceLog;
  readonly schedules: ReportSchedules;
  private readonly ctx: ReportContext;
  private readonly now: () => number;
  private readonly making = new Set<Promise<unknown>>();

  constructor(private readonly deps: ReportsDeps) {
    this.now = deps.now ?? Date.now;
    this.archive = new ReportArchive(join(deps.dataDir, 'reports'), deps.log);
    this.maintenance = new MaintenanceLog(deps.db);
    this.ctx = { registry: deps.registry, store: deps.store, facts: new AlertFacts(deps.db), maintenance: this.maintenance, config: deps.estate.reports, now: this.now };
    this.schedules = new ReportSchedules(deps.estate.reports, (run) => this.runScheduled(run), deps.log);
  }

  start(): void {
    this.archive.load();
    this.schedules.start();
  }

  async stop(): Promise<void> {
    await this.schedules.stop();
    await Promise.allSettled([...this.making]);
  }

  formats(id: string): Record<ReportFormat, string> {
    return Object.fromEntries(FORMATS.map((f) => [f, `${this.deps.publicUrl}/api/reports/${id}/report.${f}`])) as Record<ReportFormat, string>;
  }

  view(m: ReportMeta): ReportView {
    return { id: m.id, kind: m.kind, from: iso(m.from), to: iso(m.to), sites: m.sites, schedule: m.schedule, createdAt: iso(m.createdAt), formats: this.formats(m.id) };
  }

  /** Reports, newest first, with the sites each covers (null: all) for the caller to filter by. */
  list(): ReportView[] {
    return this.archive.list().map((m) => this.view(m));
  }

  get(id: string): ReportView | undefined {
    const m = this.archive.get(id);
    return m ? this.view(m) : undefined;
  }

  /** Where a report's file is, and its content type. */
  file(id: string, format: ReportFormat): { path: string; contentType: string } | undefined {
    const path = this.archive.path(id, format);
    return path ? { path, contentType: CONTENT_TYPES[format] } : undefined;
  }

  /** A report asked for through the API: made now, audited. */
  async request(req: ReportRequest): Promise<ReportView> {
    const meta = await this.make(req, null);
    await this.deps.audit.add(req.requestedBy, 'report.request', meta.id, JSON.stringify({ kind: req.kind, from: iso(req.from), to: iso(req.to), sites: req.sites }), this.now());
    return this.view(meta);
  }

  /** One run of a schedule: each of its kinds over every site, then their links to the recipients. */
  async runScheduled(run: ScheduledRun): Promise<ReportMeta[]> {
    const made: ReportMeta[] = [];
    for (const kind of run.kinds) {
      const meta = await this.make({ kind, from: run.from, to: run.to, sites: null, requestedBy: `schedule:${run.schedule}` }, run.schedule);
      const deadline = this.deps.estate.alerting.deliveryDeadlineMin * 60_000;
      const now = this.now();
      const items = readyItems(meta, this.formats(meta.id), recipientsOf(meta, this.deps.estate, this.deps.recipients), now, deadline);
      const n = (await this.deps.outbox.enqueue(items, now)).length;
      this.deps.log.info({ report: meta.id, kind, schedule: run.schedule, deliveries: n }, 'scheduled report made');
      made.push(meta);
    }
    return made;
  }

  private async make(req: ReportRequest, schedule: ScheduleName | null): Promise<ReportMeta> {
    const work = this.build(req, schedule);
    this.making.add(work);
    try {
      const meta = await work;
      this.observed(req.kind, 'made', schedule);
      return meta;
    } catch (err) {
      this.observed(req.kind, 'failed', schedule);
      throw err;
    } finally {
      this.making.delete(work);
    }
  }

  private async build(req: ReportRequest, schedule: ScheduleName | null): Promise<ReportMeta> {
    const { estate, registry } = this.deps;
    const scope: Scope = {
      from: req.from,
      to: req.to,
      sites: req.sites === null ? estate.sites : req.sites.map((id) => registry.sites.get(id)!).filter(Boolean),
    };
    let built: Built;
    switch (req.kind) {
      case 'health':
        built = await buildHealth(this.ctx, scope);
        break;
      case 'maintenance':
        built = await buildMaintenance(this.ctx, scope);
        break;
      case 'accountability':
        built = await buildAccountability(
          this.ctx,
          scope,
          estate.departments.map((d) => d.id),
        );
        break;
    }
    const createdAt = this.now();
    const meta: ReportMeta = { id: newId(createdAt), kind: req.kind, from: req.from, to: req.to, sites: req.sites, schedule, createdAt, requestedBy: req.requestedBy };
    const names = { registry, departments: new Map(estate.departments.map((d) => [d.id, d.name])) };
    this.archive.save(meta, { json: `${JSON.stringify(built.json, null, 2)}\n`, csv: toCsv(built.json), html: renderHtml(meta, built, names) });
    return meta;
  }

  private observed(kind: ReportKind, outcome: 'made' | 'failed', schedule: ScheduleName | null): void {
    try {
      this.deps.observe?.(kind, outcome, schedule);
    } catch {
      // a metric is never worth a report
    }
  }

  /** `POST /api/maintenance`: the device and task were checked by the caller. Audited. */
  async recordMaintenance(input: { device: string; task: MaintenanceTask; doneAt: number; note: string | null; recordedBy: string }): Promise<MaintenanceRecord> {
    const device = this.deps.registry.device(input.device)!;
    const record = await this.maintenance.record({ ...input, site: device.site, recordedAt: this.now() });
    await this.deps.audit.add(input.recordedBy, 'maintenance.record', input.device, JSON.stringify({ task: input.task, doneAt: iso(input.doneAt), note: input.note }), record.recordedAt);
    return record;
  }
}

/*
 * When a scheduled report is made, its links go to the own recipient of each of its sites
 * (the property company, or the sub-district office where a site has none; a site with
 * neither, to nobody) and, for accountability, to `housing`, through the durable delivery
 * outbox: retried with backoff, under one delivery id, signed where the channel has a secret.
 *
 * The body is a `ReportNotification` (docs/reports.md), on every channel of each recipient:
 *   {"version": 1, "event": "report.ready", "sentAt", "department": {"id", "name"},
 *    "report": {"id", "kind", "from", "to", "formats"}}
 * The webhook posts it as it is; the WeCom, DingTalk and e-mail senders render it.
 */

/** Who hears of a report, with the channels to reach them. */
export interface ReportRecipient extends Recipient {
  channels: readonly Channel[];
}

/**
 * Who hears of a report: the own recipient of each site it covers, and housing for
 * accountability. One recipient with the same channel for several sites (a company that runs
 * several compounds) hears of it once on that channel.
 */
export function recipientsOf(meta: Pick<ReportMeta, 'kind' | 'sites'>, estate: Estate, recipients: Pick<Recipients, 'local' | 'resolve'>): ReportRecipient[] {
  const out: ReportRecipient[] = [];
  const seen = new Set<string>();
  const add = (targets: readonly ReportRecipient[]) => {
    for (const t of targets) {
      const channels = t.channels.filter((c) => {
        const key = JSON.stringify([t.id, t.name, c]);
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
      if (channels.length > 0) out.push({ id: t.id, name: t.name, channels });
    }
  };
  for (const site of estate.sites) {
    if (meta.sites !== null && !meta.sites.includes(site.id)) continue;
    const own = recipients.local(site.id);
    if (own) add(recipients.resolve({ site: site.id, device: '' }, own));
  }
  if (meta.kind === 'accountability') add(recipients.resolve({ site: '', device: '' }, 'housing'));
  return out;
}

export function readyBody(meta: ReportMeta, formats: Record<ReportFormat, string>, department: Recipient, now: number): ReportNotification {
  return {
    version: 1,
    event: 'report.ready',
    sentAt: new Date(now).toISOString(),
    department: { id: department.id, name: department.name },
    report: { id: meta.id, kind: meta.kind, from: iso(meta.from), to: iso(meta.to), formats },
  };
}

/** The outbox entries of one report: one per channel of each recipient; `alertId` holds the report's id. */
export function readyItems(meta: ReportMeta, formats: Record<ReportFormat, string>, recipients: readonly ReportRecipient[], now: number, deadlineMs: number): OutboxItem[] {
  const items: OutboxItem[] = [];
  for (const r of recipients) {
    const body = readyBody(meta, formats, r, now);
    for (const channel of r.channels) items.push({ alertId: meta.id, event: 'report.ready', recipient: r.id, channel, body, deadline: now + deadlineMs });
  }
  return items;
}
