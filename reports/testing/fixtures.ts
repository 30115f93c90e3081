/**
 * A small estate and the reports part over real stores, for the reports' unit tests: no
 * broker, no InfluxDB. The operational store is a temp SQLite file, or the PostgreSQL
 * database a test hands in (storage's `freshDatabase()`), migrated with the tables of every
 * part the reports read or write; alerts are written to it through the alerts part's own AlertStore, as the
 * committer would, and the report links go to the real delivery outbox.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEstate, Registry, type Estate } from '../../config/index.ts';
import { EmbeddedStore, openOperationalStore, type OpDb } from '../../storage/index.ts';
import {
  ALERTS_SCHEMA,
  AUDIT_SCHEMA,
  AlertStore,
  AuditLog,
  DELIVERY_SCHEMA,
  Outbox,
  Recipients,
  type AckRow,
  type Alert,
  type HistoryRow,
} from '../../alerts/index.ts';
import { REPORTS_SCHEMA } from '../maintenance.ts';
import { Reports } from '../service.ts';

/**
 * Sites a and b have property companies (a: a webhook and a WeCom robot; b: a signed
 * webhook); c has none, its sub-district office (a DingTalk robot and e-mail) stands in; d
 * has neither and hears of nothing.
 */
export const ESTATE_YAML = `sites:
  - id: a
    name: 甲小区
    property:
      name: 甲物业
      channels: [{ type: webhook, url: "http://127.0.0.1:9/a" }, { type: wecom, url: "http://127.0.0.1:9/wecom" }]
    devices:
      - { id: EL-1, kind: elevator, building: "1栋", intervalSec: 3600 }
      - { id: HY-1, kind: hydrant, building: "1栋" }
      - { id: WS-1, kind: water, building: "泵房" }
  - id: b
    name: 乙小区
    property: { name: 乙物业, channels: [{ type: webhook, url: "http://127.0.0.1:9/b", secret: s3cret }] }
    devices:
      - { id: EL-2, kind: elevator, building: "2栋", intervalSec: 3600 }
      - { id: FL-1, kind: firelane, building: "北门" }
  - id: c
    name: 丙小区
    subdistrict:
      name: 丙街道办事处
      channels: [{ type: dingtalk, url: "http://127.0.0.1:9/dingtalk" }, { type: email, to: [jiedao@example.org] }]
    devices:
      - { id: FL-2, kind: firelane, building: "南门" }
  - id: d
    name: 丁小区
    devices:
      - { id: FL-3, kind: firelane, building: "东门" }
departments:
  - { id: market-supervision, name: 区市场监管局 }
  - { id: fire-rescue, name: 区消防救援支队 }
  - { id: health-commission, name: 区卫生健康委 }
  - { id: housing, name: 区住房城乡建委, channels: [{ type: webhook, url: "http://127.0.0.1:9/housing" }] }
smtp: { host: 127.0.0.1, port: 9, from: "estate@example.org" }
`;

export interface Fixture {
  estate: Estate;
  db: OpDb;
  alerts: AlertStore;
  audit: AuditLog;
  outbox: Outbox;
  store: EmbeddedStore;
  reports: Reports;
  /** another Reports over the same stores and folder, as after a restart */
  again(): Reports;
  /** an alert as the committer writes it: the alert, its history and its acknowledgements, in one transaction */
  saveAlert(a: Alert, history?: readonly Omit<HistoryRow, 'alertId'>[], acks?: readonly Omit<AckRow, 'alertId'>[]): Promise<void>;
  /** every delivery in the outbox, oldest first, with its body */
  deliveries(): ReturnType<Outbox['due']>;
  dir: string;
  close(): Promise<void>;
}

/** `target`: a postgres:// URL of an empty database; without it, a SQLite file in the fixture's folder. */
export async function fixture(now: () => number, target?: string): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'estate-reports-'));
  const estate = parseEstate(ESTATE_YAML, 'reports-test.yaml', {});
  const registry = new Registry(estate);
  const db = await openOperationalStore(target ?? join(dir, 'operational.db'), [ALERTS_SCHEMA, DELIVERY_SCHEMA, AUDIT_SCHEMA, REPORTS_SCHEMA]);
  const store = new EmbeddedStore(join(dir, 'series.db'));
  await store.init();
  const alerts = new AlertStore(db);
  const audit = new AuditLog(db);
  const outbox = new Outbox(db);
  const deps: ConstructorParameters<typeof Reports>[0] = {
    estate,
    registry,
    store,
    db,
    outbox,
    audit,
    recipients: new Recipients(estate, registry),
    dataDir: dir,
    publicUrl: 'http://127.0.0.1:8080',
    log: { info: () => {}, warn: () => {}, error: () => {} },
    now,
  };
  const reports = new Reports(deps);
  return {
    estate,
    db,
    alerts,
    audit,
    outbox,
    store,
    reports,
    again: () => new Reports(deps),
    saveAlert: (a, history = [], acks = []) =>
      db.transaction(async (tx) => {
        await alerts.save(
          tx,
          a,
          history.map((h) => ({ alertId: a.id, ...h })),
        );
        for (const k of acks) await alerts.addAck(tx, { alertId: a.id, ...k });
      }),
    deliveries: () => outbox.due(Number.MAX_SAFE_INTEGER, 10_000),
    dir,
    async close() {
      await reports.stop();
      await store.close();
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let n = 0;

/** An alert as the engine would have saved it, with the fields a test cares about; announced when it fired unless said otherwise. */
export function alert(p: Partial<Alert> & Pick<Alert, 'site' | 'device' | 'rule' | 'severity' | 'startsAt' | 'departments'>): Alert {
  n++;
  const firedAt = p.firedAt !== undefined ? p.firedAt : p.startsAt;
  const announcedAt = p.announcedAt !== undefined ? p.announcedAt : firedAt;
  return {
    id: `01TEST${String(n).padStart(20, '0')}`,
    key: `${p.site}/${p.device}/${p.rule}`,
    siteName: p.site,
    building: '1栋',
    kind: 'elevator',
    metric: null,
    state: 'resolved',
    value: null,
    threshold: null,
    unit: null,
    firedAt,
    endsAt: null,
    ackDeadline: null,
    ackedAt: null,
    ackedBy: null,
    ackNote: null,
    escalatedAt: null,
    notified: announcedAt === null ? [] : [...p.departments],
    announcedAt,
    summary: { 'zh-CN': '', en: '' },
    mutedBy: null,
    flapping: false,
    source: 'test',
    housekeeping: false,
    offline: false,
    monitoringLostAt: null,
    ...p,
  };
}
