/**
 * For tests: the example notification of docs/interfaces.md#bodies (hydrant HY-03, 0.08 MPa) with fixed ids and
 * times, a group of housekeeping alerts and a report made ready, outbox items built from them,
 * and a temporary operational store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Channel } from '../../../config/index.ts';
import { openOperationalStore, type OpDb, type Schema } from '../../../storage/index.ts';
import type { AlertBody, AlertNotification, GroupNotification, ReportNotification } from '../../types.ts';
import { DELIVERY_SCHEMA } from '../outbox.ts';
import type { Delivery, OutboxItem } from '../types.ts';
import { signAckToken } from '../ack-token.ts';

/** The secret of the example ack links (a real one lives under DATA_DIR or the estate file). */
export const EXAMPLE_ACK_SECRET = 'example-ack-secret';
const ALERT_ID = '01KB0R6Q2M8V4T7XJ9C3D5F1HN';

/** Fixed, so files written from tests do not change between runs. */
export const FIXED = {
  alertId: ALERT_ID,
  deliveryId: '01KB0R6Q2QW7RZ0C4N8B1E6Y3D',
  /** 2026-11-25T08:00:05.120Z */
  now: Date.parse('2026-11-25T08:00:05.120Z'),
  ackUrl: `http://127.0.0.1:8080/ack/${signAckToken(EXAMPLE_ACK_SECRET, { alertId: ALERT_ID, recipient: 'fire-rescue' })}`,
} as const;

export function sampleNotification(over: Partial<AlertNotification> = {}): AlertNotification {
  return {
    version: 1,
    event: 'alert.firing',
    sentAt: '2026-11-25T08:00:05.120Z',
    department: { id: 'fire-rescue', name: '区消防救援支队' },
    alert: {
      id: FIXED.alertId,
      key: 'jinfo-garden/HY-03/pressure_low',
      site: 'jinfo-garden',
      siteName: '金佛花园',
      building: '3栋',
      device: 'HY-03',
      kind: 'hydrant',
      rule: 'pressure_low',
      metric: 'pressure_mpa',
      severity: 'critical',
      state: 'firing',
      value: 0.08,
      threshold: 0.1,
      unit: 'MPa',
      startsAt: '2026-11-25T08:00:04.900Z',
      endsAt: null,
      summary: { 'zh-CN': '3栋消火栓压力 0.08 MPa，低于 0.10 MPa', en: 'Hydrant HY-03 pressure 0.08 MPa is below 0.10 MPa' },
      ackDeadline: '2026-11-25T08:15:04.900Z',
    },
    ackUrl: FIXED.ackUrl,
    ...over,
  };
}

/** A housekeeping alert of the group below: `device` silent at 金佛花园. */
function silentBody(device: string, building: string, resolved = false): AlertBody {
  return {
    id: `silent-${device}`,
    key: `jinfo-garden/${device}/device_silent`,
    site: 'jinfo-garden',
    siteName: '金佛花园',
    building,
    device,
    kind: 'hydrant',
    rule: 'device_silent',
    metric: null,
    severity: 'warning',
    state: resolved ? 'resolved' : 'firing',
    value: null,
    threshold: null,
    unit: null,
    startsAt: '2026-11-25T07:30:00.000Z',
    endsAt: resolved ? '2026-11-25T07:58:00.000Z' : null,
    summary: { 'zh-CN': `${building}消火栓 ${device} 已 30 分钟无数据`, en: `Hydrant ${device} has sent nothing for 30 min` },
    ackDeadline: null,
  };
}

/** Three silent hydrants of one site announced to its property company as one (the third already back). */
export function sampleGroup(over: Partial<GroupNotification> = {}): GroupNotification {
  return {
    version: 1,
    event: 'alert.group',
    sentAt: '2026-11-25T08:00:05.120Z',
    department: { id: 'property', name: '金佛花园物业服务中心' },
    group: { key: 'jinfo-garden/device_silent', site: 'jinfo-garden', siteName: '金佛花园', rule: 'device_silent', count: 3, event: 'alert.firing' },
    alerts: [silentBody('HY-03', '3栋'), silentBody('HY-04', '4栋'), silentBody('HY-07', '7栋', true)],
    ...over,
  };
}

/** The weekly health report of 2026-11-24 to 2026-11-30 (Asia/Shanghai) made ready for the property company. */
export function sampleReport(over: Partial<ReportNotification> = {}): ReportNotification {
  const base = 'http://127.0.0.1:8080/reports/01KB0R6Q2R3P5X7Z9B1D3F5H7K';
  return {
    version: 1,
    event: 'report.ready',
    sentAt: '2026-11-30T16:05:00.000Z',
    department: { id: 'property', name: '金佛花园物业服务中心' },
    report: {
      id: '01KB0R6Q2R3P5X7Z9B1D3F5H7K',
      kind: 'health',
      from: '2026-11-23T16:00:00.000Z',
      to: '2026-11-30T16:00:00.000Z',
      formats: { html: `${base}/report.html?token=r1`, csv: `${base}/report.csv?token=r1`, json: `${base}/report.json?token=r1` },
    },
    ...over,
  };
}

export function sampleItem(channel: Channel, over: Partial<Omit<OutboxItem, 'body'>> & { body?: AlertNotification } = {}): OutboxItem {
  const body = over.body ?? sampleNotification();
  return {
    alertId: body.alert.id,
    event: body.event,
    recipient: body.department.id,
    channel,
    body,
    deadline: Date.now() + 60 * 60_000,
    ...over,
  };
}

/** A delivery as the worker hands it to a sender, with the fixed id. */
export function sampleDelivery(channel: Channel, over: Partial<Omit<Delivery, 'body'>> & { body?: AlertNotification } = {}): Delivery {
  const body = over.body ?? sampleNotification();
  return {
    id: FIXED.deliveryId,
    alertId: body.alert.id,
    event: body.event,
    recipient: body.department.id,
    channel,
    body,
    attempts: 0,
    createdAt: FIXED.now,
    deadline: FIXED.now + 24 * 60 * 60_000,
    ...over,
  };
}

export interface TempStore {
  dir: string;
  db: OpDb;
  close(): Promise<void>;
}

/** A SQLite operational store in a temp dir with the outbox's tables (and any others given). */
export async function tempStore(prefix = 'estate-delivery-', schemas: readonly Schema[] = [DELIVERY_SCHEMA]): Promise<TempStore> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const db = await openOperationalStore(join(dir, 'operational.db'), schemas);
  return {
    dir,
    db,
    async close() {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
