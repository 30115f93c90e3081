/** A test receiver for the worker's window: holds every request until the test answers it. */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** One request the holding receiver got and has not answered yet. */
export interface Held {
  id: string;
  alertId: string;
  event: string;
  res: ServerResponse;
}

/**
 * A real HTTP receiver on 127.0.0.1 that holds every request until the test releases it, and
 * notes at each arrival how many it holds and whether another of the same alert is held.
 */
export class HoldingReceiver {
  readonly held: Held[] = [];
  /** every request, in order of arrival */
  readonly arrived: { id: string; alertId: string; event: string; holding: number }[] = [];
  /** arrivals while another request of the same alert was held */
  readonly sameAlertAtOnce: string[] = [];
  maxHeld = 0;
  /** answered (released) ids, in order */
  readonly answered: string[] = [];
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;

  async listen(): Promise<void> {
    const server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
      req.on('end', () => {
        const body = JSON.parse(raw) as { event?: string; alert?: { id: string } };
        const h: Held = { id: String(req.headers['x-estate-delivery'] ?? ''), alertId: body.alert?.id ?? '', event: body.event ?? '', res };
        if (h.alertId && this.held.some((o) => o.alertId === h.alertId)) this.sameAlertAtOnce.push(h.id);
        this.held.push(h);
        this.maxHeld = Math.max(this.maxHeld, this.held.length);
        this.arrived.push({ id: h.id, alertId: h.alertId, event: h.event, holding: this.held.length });
      });
    });
    server.on('connection', (sock) => {
      this.sockets.add(sock);
      sock.on('close', () => this.sockets.delete(sock));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    this.server = server;
    this.port = (server.address() as { port: number }).port;
  }

  url(): string {
    return `http://127.0.0.1:${this.port}/hold`;
  }

  /** Answers the held request at `index` (default the oldest). */
  release(index = 0, status = 204, body?: string): Held {
    const [h] = this.held.splice(index, 1);
    if (!h) throw new Error('nothing held');
    this.answered.push(h.id);
    h.res.writeHead(status, body ? { 'content-type': 'application/json' } : {}).end(body);
    return h;
  }

  releaseAll(status = 204): void {
    while (this.held.length) this.release(0, status);
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    for (const sock of this.sockets) sock.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
}
