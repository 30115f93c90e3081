/**
 * The InfluxDB v1 HTTP API, the one API InfluxDB 1.x, 2.x and 3.x all serve:
 * `POST /write` (line protocol, precision ms) and `/query` (InfluxQL, epoch ms).
 */
import http from 'node:http';
import https from 'node:https';
import { StoreWriteError } from '../series.ts';

export interface InfluxOptions {
  url: string;
  db: string;
  token?: string;
  user?: string;
  password?: string;
  /** per request */
  timeoutMs?: number;
}

export interface QuerySeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

export class InfluxHttp {
  private readonly base: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly writeUrl: URL;
  private readonly agent: http.Agent;

  constructor(readonly opts: InfluxOptions) {
    this.base = opts.url.replace(/\/+$/, '');
    this.headers = {};
    if (opts.token) this.headers.authorization = `Token ${opts.token}`;
    else if (opts.user) {
      this.headers.authorization = `Basic ${Buffer.from(`${opts.user}:${opts.password ?? ''}`).toString('base64')}`;
    }
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.writeUrl = new URL(`${this.base}/write?db=${encodeURIComponent(opts.db)}&precision=ms`);
    const secure = this.writeUrl.protocol === 'https:';
    this.agent = new (secure ? https : http).Agent({ keepAlive: true, maxSockets: 4 });
  }

  /**
   * POSTs a body of lines, given as the spool's buffers: written to the socket one after the
   * other (node:http rather than fetch, which copies a body whole, and twice with a concat
   * before it). Returns the status and, for errors, InfluxDB's message.
   */
  write(body: string | Buffer | readonly Buffer[]): Promise<{ status: number; error?: string }> {
    const parts = typeof body === 'string' ? [Buffer.from(body)] : Buffer.isBuffer(body) ? [body] : body;
    let length = 0;
    for (const p of parts) length += p.length;
    const secure = this.writeUrl.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const req = (secure ? https : http).request(
        this.writeUrl,
        {
          method: 'POST',
          agent: this.agent,
          headers: { ...this.headers, 'content-type': 'text/plain; charset=utf-8', 'content-length': length },
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.length < 64 && chunks.push(c));
          res.on('error', (err) => reject(new StoreWriteError(`InfluxDB unreachable: ${describeFetchError(err)}`, true)));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status === 204 || status === 200) return resolve({ status });
            const text = Buffer.concat(chunks).toString('utf8');
            let error = text;
            try {
              error = (JSON.parse(text) as { error?: string }).error ?? text;
            } catch {
              // not JSON: keep the text
            }
            resolve({ status, error: error.slice(0, 2000) });
          });
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { name: 'TimeoutError' })));
      req.on('error', (err) => reject(new StoreWriteError(`InfluxDB unreachable: ${describeFetchError(err)}`, true)));
      for (const p of parts) req.write(p);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }

  async query(q: string, opts: { method?: 'GET' | 'POST'; db?: boolean } = {}): Promise<QuerySeries[][]> {
    const params = new URLSearchParams({ q, epoch: 'ms' });
    if (opts.db !== false) params.set('db', this.opts.db);
    const method = opts.method ?? 'GET';
    const url = method === 'GET' ? `${this.base}/query?${params}` : `${this.base}/query`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: method === 'POST' ? { ...this.headers, 'content-type': 'application/x-www-form-urlencoded' } : this.headers,
        ...(method === 'POST' ? { body: params.toString() } : {}),
        signal: AbortSignal.timeout(this.timeoutMs * 3),
      });
    } catch (err) {
      throw new StoreWriteError(`InfluxDB unreachable: ${describeFetchError(err)}`, true);
    }
    const text = await res.text();
    let body: { results?: { series?: QuerySeries[]; error?: string }[]; error?: string };
    try {
      body = JSON.parse(text);
    } catch {
      throw new StoreWriteError(`InfluxDB query answered ${res.status}: ${text.slice(0, 200)}`, res.status >= 500);
    }
    if (body.error) throw new StoreWriteError(`InfluxDB query failed: ${body.error}`, res.status >= 500, res.status);
    return (body.results ?? []).map((r) => {
      if (r.error) throw new StoreWriteError(`InfluxDB query failed: ${r.error}`, false, res.status);
      return r.series ?? [];
    });
  }

  async ping(): Promise<boolean> {
    try {
      const res = await fetch(`${this.base}/ping`, { headers: this.headers, signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return res.status === 204 || res.status === 200;
    } catch {
      return false;
    }
  }
}

function describeFetchError(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'timed out';
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

/** InfluxQL string literal. */
export function quoteString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** InfluxQL identifier. */
export function quoteIdent(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
