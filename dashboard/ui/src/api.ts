/**
 * The HTTP API as the UI uses it (docs/interfaces.md#http-api; shapes as dashboard/schemas.ts gives
 * them). Every request carries the bearer token; an error answer becomes an `ApiError`
 * with the status and the API's code, so a view can say what went wrong.
 */
import type { Kind } from '../../../config/catalog.ts';

export type DeviceState = 'ok' | 'warning' | 'critical' | 'offline' | 'unknown';
export type Severity = 'warning' | 'critical';
export type AlertState = 'pending' | 'firing' | 'acknowledged' | 'resolved';
export type Localized = { 'zh-CN': string; en: string };

export interface Site {
  id: string;
  name: string;
  district: string | null;
  address: string | null;
  /** null: no property company (its sub-district office, if named, stands in) */
  property: { name: string } | null;
  subdistrict: { name: string } | null;
  maintainer: { name: string } | null;
  devices: number;
  kinds: Record<Kind, number>;
  byState: Record<DeviceState, number>;
}

export interface MetricValue {
  value: number | boolean;
  unit: string;
  at: string;
}

export interface Device {
  id: string;
  site: string;
  siteName: string;
  kind: Kind;
  building: string;
  name: string | null;
  intervalSec: number;
  attributes: Record<string, unknown>;
  online: boolean | null;
  lastSeen: string | null;
  state: DeviceState;
  values: Record<string, MetricValue>;
  alerts: { critical: number; warning: number };
}

export interface Threshold {
  rule: string;
  metric: string;
  direction: 'above' | 'below';
  severity: Severity;
  value: number;
}

export interface DeviceDetail extends Device {
  thresholds: Threshold[];
}

export interface SeriesPoint {
  t: string;
  mean: number;
  min: number;
  max: number;
}

export interface Series {
  device: string;
  metric: string;
  unit: string;
  step: string;
  points: SeriesPoint[];
}

export interface Alert {
  id: string;
  key: string;
  site: string;
  siteName: string;
  building: string;
  /** '' for a site's outage (kind `site`), 'system' for the service's own */
  device: string;
  kind: Kind | 'system' | 'site';
  rule: string;
  metric: string | null;
  severity: Severity;
  state: AlertState;
  value: number | null;
  threshold: number | null;
  unit: string | null;
  startsAt: string;
  firedAt: string | null;
  endsAt: string | null;
  ackDeadline: string | null;
  ackedAt: string | null;
  ackedBy: string | null;
  ackNote: string | null;
  escalatedAt: string | null;
  departments: string[];
  /** the recipients that were told of it */
  notified: string[];
  announcedAt: string | null;
  /** about the sensor, not the equipment */
  housekeeping: boolean;
  /** a site's outage: the devices that went dark */
  devices: string[] | null;
  summary: Localized;
  /** a silence id, 'inspection', or `inhibited:<key>` (held back by an outage) */
  mutedBy: string | null;
  flapping: boolean;
  source: string;
}

export interface Silence {
  id: string;
  matchers: Record<string, string>;
  startsAt: string;
  endsAt: string;
  createdAt: string;
  createdBy?: string;
  comment: string;
}

export interface Reject {
  at: string;
  reason: string;
  topic: string;
  detail: string;
  payload: string;
}

export interface Unregistered {
  device: string;
  site: string | null;
  kind: string | null;
  topic: string;
  firstSeen: string;
  lastSeen: string;
  messages: number;
  reason: string;
}

/** A report as `GET /api/reports` lists it (docs/reports.md); the API's own type. */
export type { ReportFormat, ReportKind, ReportView as Report } from '../../../config/schema.ts';

/** What `POST /api/maintenance` answers. */
export interface MaintenanceRecord {
  id: string;
  site: string;
  device: string;
  task: string;
  doneAt: string;
  recordedBy: string;
  recordedAt: string;
  note: string | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** seconds, from Retry-After (429) */
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }
}

export interface Api {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
  del(path: string): Promise<void>;
  /** A file the API serves (a report's HTML, CSV or JSON) as it is, for a blob URL: plain links would not carry the token. */
  file(path: string): Promise<Blob>;
}

/** `onUnauthorized` runs when a request that carried the token is answered 401 (the token was withdrawn). */
export function createApi(token: string, onUnauthorized: () => void = () => undefined): Api {
  async function send(method: string, path: string, body: unknown, accept: string): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    } catch (err) {
      throw new ApiError(0, 'NETWORK', (err as Error).message);
    }
    if (res.ok) return res;
    const text = await res.text().catch(() => '');
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: a proxy's error page, say
    }
    const e = (json as { error?: { code?: string; message?: string } } | null)?.error;
    const retry = Number(res.headers.get('retry-after'));
    if (res.status === 401) onUnauthorized();
    throw new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? (text.slice(0, 200) || res.statusText), Number.isFinite(retry) && retry > 0 ? retry : null);
  }
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await send(method, path, body, 'application/json');
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    try {
      return (text ? JSON.parse(text) : null) as T;
    } catch {
      return null as T;
    }
  }
  return {
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body),
    del: (path) => call('DELETE', path),
    file: async (path) => (await send('GET', path, undefined, '*/*')).blob(),
  };
}

/** Builds `path?k=v&…`, leaving out empty values. */
export function withQuery(path: string, q: Record<string, string | number | undefined | null>): string {
  const parts = Object.entries(q)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? `${path}?${parts.join('&')}` : path;
}
