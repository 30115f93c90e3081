/**
 * A small estate and the reports part over temp stores, for the reports' unit tests: no
 * broker, no InfluxDB; alerts are written to the operational store directly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEstate, Registry, type Estate } from '../../config/index.ts';
import { EmbeddedStore, OperationalStore } from '../../storage/index.ts';
import { AlertStore, type Alert, type OutboxItem } from '../../alerts/index.ts';
import { Reports } from '../service.ts';

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
departments:
  - { id: market-supervision, name: 区市场监管局 }
  - { id: fire-rescue, name: 区消防救援支队 }
  - { id: health-commission, name: 区卫生健康委 }
  - { id: housing, name: 区住房城乡建委, channels: [{ type: webhook, url: "http://127.0.0.1:9/housing" }] }
`;

export interface Fixture {
  estate: Estate;
  ops: OperationalStore;
  alerts: AlertStore;
  store: EmbeddedStore;
  reports: Reports;
  /** another Reports over the same stores and folder, as after a restart */
  again(): Reports;
  sent: OutboxItem[];
  audit: string[][];
  dir: string;
  close(): Promise<void>;
}

export async function fixture(now: () => number): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'estate-reports-'));
  const estate = parseEstate(ESTATE_YAML, 'reports-test.yaml', {});
  const ops = new OperationalStore(join(dir, 'operational.db'));
  const store = new EmbeddedStore(join(dir, 'series.db'));
  await store.init();
  const alerts = new AlertStore(ops.db);
  const sent: OutboxItem[] = [];
  const audit: string[][] = [];
  const deps: ConstructorParameters<typeof Reports>[0] = {
    estate,
    registry: new Registry(estate),
    store,
    db: ops.db,
    sink: { enqueue: (items) => (sent.push(...items), items.map((_, i) => String(i))), wake: () => {} },
    audit: (actor, action, target) => void audit.push([actor, action, target ?? '']),
    dataDir: dir,
    publicUrl: 'http://127.0.0.1:8080',
    log: { info: () => {}, warn: () => {}, error: () => {} },
    now,
  };
  const reports = new Reports(deps);
  return {
    estate,
    ops,
    alerts,
    store,
    reports,
    again: () => new Reports(deps),
    sent,
    audit,
    dir,
    async close() {
      await reports.stop();
      await store.close();
      ops.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let n = 0;

/** An alert as the engine would have saved it, with the fields a test cares about. */
export function alert(p: Partial<Alert> & Pick<Alert, 'site' | 'device' | 'rule' | 'severity' | 'startsAt' | 'departments'>): Alert {
  n++;
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
    firedAt: p.startsAt,
    endsAt: null,
    ackDeadline: null,
    ackedAt: null,
    ackedBy: null,
    ackNote: null,
    escalatedAt: null,
    summary: { 'zh-CN': '', en: '' },
    mutedBy: null,
    flapping: false,
    source: 'test',
    ...p,
  };
}
