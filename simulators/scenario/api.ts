/**
 * The two service routes an assertion reads (docs/interfaces.md#routes): `GET /api/alerts` and
 * `GET /api/ingest/rejects`, with a bearer token. A failure says what to fix: the service
 * unreachable, the token refused, a route missing.
 */

/** An alert as `GET /api/alerts` gives it; times are RFC 3339. */
export interface ApiAlert {
  id: string;
  key?: string;
  site: string;
  device: string;
  kind?: string;
  rule: string;
  metric?: string | null;
  severity: string;
  state: string;
  value?: number | null;
  threshold?: number | null;
  unit?: string | null;
  startsAt: string;
  firedAt: string | null;
  endsAt?: string | null;
  departments: string[];
  mutedBy?: string | null;
  flapping?: boolean;
}

/** A reject as `GET /api/ingest/rejects` gives it. */
export interface ApiReject {
  at: string;
  reason: string;
  topic: string;
  detail?: string;
  payload?: string;
}

export interface AlertSource {
  /** alerts of every state whose condition began at or after `from` (epoch ms) */
  alerts(from: number): Promise<ApiAlert[]>;
  /** rejects recorded at or after `since` (epoch ms), newest first */
  rejects(since: number): Promise<ApiReject[]>;
}

/** The API could not be read; the message says why and what to check. */
export class ServiceApiError extends Error {
  readonly code = 'API_FAILED';
}

const PAGE = 1000;
const MAX_PAGES = 50;

export class ServiceApi implements AlertSource {
  private readonly base: string;

  constructor(
    base: string,
    private readonly token: string,
    private readonly timeoutMs = 15_000,
  ) {
    this.base = base.replace(/\/+$/, '');
  }

  private async get<T>(path: string): Promise<T> {
    const url = `${this.base}${path}`;
    let res: Response;
    try {
      res = await fetch(url, { headers: { authorization: `Bearer ${this.token}`, accept: 'application/json' }, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      throw new ServiceApiError(`cannot reach the service at ${this.base} (${cause}): is it running, and is --api right?`);
    }
    const text = await res.text();
    if (!res.ok) {
      let message = text.slice(0, 300);
      try {
        message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
      } catch {
        // not JSON: keep the text
      }
      const route = path.split('?')[0];
      if (res.status === 401) throw new ServiceApiError(`GET ${route} answered 401: the service does not know the token (--token, or ESTATE_TOKEN)`);
      if (res.status === 403) throw new ServiceApiError(`GET ${route} answered 403: ${message} (an admin token sees every alert and reject)`);
      if (res.status === 404) throw new ServiceApiError(`GET ${route} answered 404: this service has no such route (${message}); is it an Estate Sentinel with alerts?`);
      throw new ServiceApiError(`GET ${route} answered ${res.status}: ${message}`);
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ServiceApiError(`GET ${path.split('?')[0]} answered something that is not JSON: ${text.slice(0, 200)}`);
    }
  }

  async alerts(from: number): Promise<ApiAlert[]> {
    const q = new URLSearchParams({ state: 'all', from: new Date(from).toISOString(), limit: String(PAGE) });
    const body = await this.get<{ items?: ApiAlert[] }>(`/api/alerts?${q}`);
    if (!Array.isArray(body.items)) throw new ServiceApiError('GET /api/alerts answered without an items list');
    return body.items;
  }

  async rejects(since: number): Promise<ApiReject[]> {
    const out: ApiReject[] = [];
    let before: string | number | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const q = new URLSearchParams({ limit: String(PAGE), ...(before !== undefined ? { before: String(before) } : {}) });
      const body = await this.get<{ items?: ApiReject[]; next?: string | number }>(`/api/ingest/rejects?${q}`);
      if (!Array.isArray(body.items)) throw new ServiceApiError('GET /api/ingest/rejects answered without an items list');
      for (const r of body.items) {
        if (Date.parse(r.at) < since) return out;
        out.push(r);
      }
      if (body.next === undefined) return out;
      before = body.next;
    }
    return out;
  }
}
