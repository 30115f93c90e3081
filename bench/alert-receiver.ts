/**
 * The benchmarks' webhook receiver for alert latency (bench/alert-latency.ts, bench/scale.ts):
 * on 127.0.0.1, it takes every delivery with 204 and records when the first `alert.firing` of
 * each device reached its path, on this process's clock (the one the publisher reads).
 */
import { createServer } from 'node:http';
import { freePort } from '../test/harness/ports.ts';

export interface AlertReceiver {
  url: string;
  /** device → when its first alert.firing arrived (ms, performance.timeOrigin + performance.now()) */
  arrivals: Map<string, number>;
  close(): Promise<void>;
}

/** A receiver counting the firings that reach `path`, of `rule` only when given. */
export async function alertReceiver(path: string, rule?: string): Promise<AlertReceiver> {
  const arrivals = new Map<string, number>();
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', () => {
      const at = performance.timeOrigin + performance.now();
      try {
        const b = JSON.parse(raw) as { event: string; alert: { device: string; rule: string } };
        if (b.event === 'alert.firing' && req.url === path && (rule === undefined || b.alert.rule === rule) && !arrivals.has(b.alert.device)) arrivals.set(b.alert.device, at);
      } catch {
        // not an alert
      }
      res.writeHead(204).end();
    });
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${port}`, arrivals, close: () => new Promise((r) => server.close(() => r())) };
}

/** The p-th percentile of sorted numbers (nearest rank), NaN when there are none. */
export const percentile = (sorted: readonly number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
