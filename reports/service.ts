/**
 * The reports part: makes reports on request and on schedule, keeps them under
 * `DATA_DIR/reports/`, announces the scheduled ones, and records maintenance done.
 * `start()` loads the archive and starts the schedules; `stop()` ends them and waits for a
 * report being made.
 */
import { join } from 'node:path';
import type { Channel, Estate, Registry, ReportFormat, ReportKind, ReportView, ScheduleName } from '../config/index.ts';
import type { OpDb as Database, SeriesStore } from '../storage/index.ts';
import { newId, type DeliverySink, type Notification, type OutboxItem } from '../alerts/index.ts';
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
  /** the operational store's database: alerts, acknowledgements, maintenance */
  db: Database;
  /** the alerts' delivery outbox, for the links of scheduled reports */
  sink: DeliverySink;
  /** the audit log (AlertStore.audit) */
  audit: (actor: string, action: string, target: string | null, detail: string | null) => void;
  dataDir: string;
  /** base of the links to a report's files */
  publicUrl: string;
  log: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void };
  now?: () => number;
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
    this.deps.audit(req.requestedBy, 'report.request', meta.id, JSON.stringify({ kind: req.kind, from: iso(req.from), to: iso(req.to), sites: req.sites }));
    return this.view(meta);
  }

  /** One run of a schedule: each of its kinds over every site, then their links to the recipients. */
  async runScheduled(run: ScheduledRun): Promise<ReportMeta[]> {
    const made: ReportMeta[] = [];
    for (const kind of run.kinds) {
      const meta = await this.make({ kind, from: run.from, to: run.to, sites: null, requestedBy: `schedule:${run.schedule}` }, run.schedule);
      const deadline = this.deps.estate.alerting.deliveryDeadlineMin * 60_000;
      const n = announce(this.deps.sink, readyItems(meta, this.formats(meta.id), this.deps.estate, this.now(), deadline));
      this.deps.log.info({ report: meta.id, kind, schedule: run.schedule, deliveries: n }, 'scheduled report made');
      made.push(meta);
    }
    return made;
  }

  private async make(req: ReportRequest, schedule: ScheduleName | null): Promise<ReportMeta> {
    const work = this.build(req, schedule);
    this.making.add(work);
    try {
      return await work;
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
        built = buildAccountability(
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

  /** `POST /api/maintenance`: the device and task were checked by the caller. Audited. */
  recordMaintenance(input: { device: string; task: MaintenanceTask; doneAt: number; note: string | null; recordedBy: string }): MaintenanceRecord {
    const device = this.deps.registry.device(input.device)!;
    const record = this.maintenance.record({ ...input, site: device.site, recordedAt: this.now() });
    this.deps.audit(input.recordedBy, 'maintenance.record', input.device, JSON.stringify({ task: input.task, doneAt: iso(input.doneAt), note: input.note }));
    return record;
  }
}

/*
 * When a scheduled report is made, its links go to the property companies of its sites (and,
 * for accountability, to `housing`), through the alerts' durable delivery outbox: retried
 * with backoff, under one delivery id, signed where the channel has a secret.
 *
 * The body is a small webhook event of its own (docs/contract-notes.md):
 *   {"version": 1, "event": "report.ready", "sentAt", "report": {"id", "kind", "from", "to", "formats"}}
 * The outbox's webhook sender posts a body as it was stored, so webhook channels carry it as
 * it is; the WeCom, DingTalk and e-mail senders render an alert, so those channels are not
 * given report bodies.
 */
export interface ReportReady {
  version: 1;
  event: 'report.ready';
  sentAt: string;
  report: { id: string; kind: string; from: string; to: string; formats: Record<ReportFormat, string> };
}

export interface ReportRecipient {
  id: string;
  channels: readonly Channel[];
}

/** Who hears of a report: the property company of each of its sites, and housing for accountability. */
export function recipientsOf(meta: ReportMeta, estate: Estate): ReportRecipient[] {
  const out: ReportRecipient[] = [];
  for (const site of estate.sites) {
    if (meta.sites === null || meta.sites.includes(site.id)) out.push({ id: 'property', channels: site.property.channels });
  }
  if (meta.kind === 'accountability') {
    const housing = estate.departments.find((d) => d.id === 'housing');
    if (housing) out.push({ id: 'housing', channels: housing.channels });
  }
  return out;
}

export function readyBody(meta: ReportMeta, formats: Record<ReportFormat, string>, now: number): ReportReady {
  return { version: 1, event: 'report.ready', sentAt: new Date(now).toISOString(), report: { id: meta.id, kind: meta.kind, from: iso(meta.from), to: iso(meta.to), formats } };
}

/**
 * The outbox entries of one report: one per webhook channel of each recipient. The outbox is
 * typed for alert notifications; this body goes only to the webhook sender, which serialises
 * whatever body it is given, and `alertId` holds the report's id (ids never collide).
 */
export function readyItems(meta: ReportMeta, formats: Record<ReportFormat, string>, estate: Estate, now: number, deadlineMs: number): OutboxItem[] {
  const body = readyBody(meta, formats, now);
  const items: OutboxItem[] = [];
  for (const r of recipientsOf(meta, estate)) {
    for (const channel of r.channels) {
      if (channel.type !== 'webhook') continue;
      items.push({ alertId: meta.id, event: 'report.ready' as OutboxItem['event'], recipient: r.id, channel, body: body as unknown as Notification, deadline: now + deadlineMs });
    }
  }
  return items;
}

/** Queues the report's deliveries; returns how many. */
export function announce(sink: DeliverySink, items: OutboxItem[]): number {
  if (items.length === 0) return 0;
  sink.enqueue(items);
  sink.wake();
  return items.length;
}
