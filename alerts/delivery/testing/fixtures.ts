/**
 * For tests: the contract's example notification (CONTRACT section 4) with fixed ids and
 * times, outbox items built from it, and a temporary operational store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Channel } from '../../../config/index.ts';
import { OperationalStore } from '../../../storage/index.ts';
import type { Notification } from '../../types.ts';
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

export function sampleNotification(over: Partial<Notification> = {}): Notification {
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

export function sampleItem(channel: Channel, over: Partial<OutboxItem> = {}): OutboxItem {
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
export function sampleDelivery(channel: Channel, over: Partial<Delivery> = {}): Delivery {
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
  store: OperationalStore;
  close(): void;
}

export function tempStore(prefix = 'estate-delivery-'): TempStore {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const store = new OperationalStore(join(dir, 'operational.db'));
  return {
    dir,
    store,
    close() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
