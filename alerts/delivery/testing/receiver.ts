/**
 * For tests: a real HTTP receiver on 127.0.0.1 that keeps every request it gets (raw body
 * bytes included) and answers as the test says — a department's webhook, or a WeCom or
 * DingTalk robot. It can stop listening and listen again on the same port (an outage).
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface Received {
  method: string;
  /** path and query, as sent */
  url: string;
  headers: IncomingHttpHeaders;
  raw: Buffer;
  /** the body parsed as JSON, or undefined */
  json: unknown;
  at: number;
  /** the status it was answered with */
  status: number;
}

export interface Answer {
  status: number;
  body?: string;
  /** answer only after this long */
  delayMs?: number;
}

export type Responder = (r: Received, index: number) => Answer;

export const answers = {
  noContent: (): Answer => ({ status: 204 }),
  robotOk: (): Answer => ({ status: 200, body: '{"errcode":0,"errmsg":"ok"}' }),
  robotError: (errcode: number, errmsg = 'error'): Answer => ({ status: 200, body: JSON.stringify({ errcode, errmsg }) }),
};

export class Receiver {
  readonly received: Received[] = [];
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  port = 0;

  constructor(public respond: Responder = answers.noContent) {}

  /** Listens on 127.0.0.1 (on `port`, or the last one, or a free one). */
  async listen(port = this.port): Promise<number> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        let json: unknown;
        try {
          json = raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
        } catch {
          json = undefined;
        }
        const r: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, raw, json, at: Date.now(), status: 0 };
        const answer = this.respond(r, this.received.length);
        r.status = answer.status;
        this.received.push(r);
        const send = (out: ServerResponse) => {
          out.writeHead(answer.status, answer.body ? { 'content-type': 'application/json' } : {});
          out.end(answer.body);
        };
        if (answer.delayMs) {
          const t = setTimeout(() => {
            this.timers.delete(t);
            send(res);
          }, answer.delayMs);
          this.timers.add(t);
        } else send(res);
      });
    });
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port;
    return this.port;
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Stops listening and drops every open connection (the port is then refused). */
  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (!server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** How many requests answered 2xx carried each value of `header` (a delivery id). */
  acceptedBy(header: string): Map<string, number> {
    const out = new Map<string, number>();
    for (const r of this.received) {
      if (r.status < 200 || r.status >= 300) continue;
      const id = String(r.headers[header.toLowerCase()] ?? '');
      out.set(id, (out.get(id) ?? 0) + 1);
    }
    return out;
  }
}
