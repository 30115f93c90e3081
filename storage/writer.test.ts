/**
 * The writer with a hand-written fake store (unit test): order, retries with two batches in
 * flight, falling back to the spool when memory fills, and replay of what a run left behind.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool } from './spool.ts';
import { SeriesWriter } from './writer.ts';
import { splitLines } from './lines.ts';
import { StoreWriteError, type RejectedLine } from './series.ts';

/** A store that records what it accepted and fails while `down` is true. */
class FakeStore {
  accepted: string[] = [];
  calls = 0;
  down = false;
  delayMs = 5;
  batches: number[] = [];
  async writeBatch(body: Buffer, count: number): Promise<RejectedLine[]> {
    // The writer hands over a view of a buffer it reuses: copy before the first await.
    body = Buffer.from(body);
    this.calls++;
    const down = this.down;
    await new Promise((r) => setTimeout(r, this.delayMs));
    if (down) throw new StoreWriteError('InfluxDB unreachable: ECONNREFUSED', true);
    this.accepted.push(...splitLines(body));
    this.batches.push(count);
    return [];
  }
}

const dirs: string[] = [];
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(opts: { batchSize?: number; dir?: string; maxInFlight?: number } = {}) {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'writer-test-'));
  if (!opts.dir) dirs.push(dir);
  const spool = new Spool({ dir, maxBytes: 1e9, segmentBytes: 4096 });
  spool.open();
  const store = new FakeStore();
  const states: boolean[] = [];
  const writer = new SeriesWriter({
    store: store as never,
    spool,
    batchSize: opts.batchSize ?? 50,
    maxInFlight: opts.maxInFlight ?? 1,
    flushMs: 10,
    maxBackoffMs: 50,
    events: { rejected: () => undefined, written: () => undefined, storeState: (up) => states.push(up) },
  });
  writer.start();
  cleanup.push(() => {
    writer.stop();
    spool.close();
  });
  const append = (from: number, to: number) => {
    for (let i = from; i < to; i += 10) writer.push(spool.append(Array.from({ length: Math.min(10, to - i) }, (_, k) => `line ${String(i + k).padStart(6, '0')}`)));
  };
  return { dir, spool, store, writer, append, states };
}

const expected = (n: number) => Array.from({ length: n }, (_, i) => `line ${String(i).padStart(6, '0')}`);

describe('SeriesWriter', () => {
  it('writes everything once, in order, and deletes written segments', async () => {
    const { store, writer, append, spool } = setup();
    append(0, 1000);
    expect(await writer.drain(5000)).toBe(true);
    expect(store.accepted).toEqual(expected(1000));
    spool.close();
    expect(spool.stats().segments).toBe(0);
  });

  it('keeps spool order when both batches in flight fail, and retries until the store is back', async () => {
    const { store, writer, append, states } = setup({ maxInFlight: 2 });
    store.down = true;
    append(0, 500);
    await new Promise((r) => setTimeout(r, 300));
    expect(store.calls).toBeGreaterThan(2);
    store.down = false;
    expect(await writer.drain(10_000)).toBe(true);
    expect(store.accepted).toEqual(expected(500));
    expect(states).toEqual([false, true]);
  });

  it('works off an outage\'s backlog in full batches, and reports it meanwhile', async () => {
    const { store, writer, append } = setup({ batchSize: 100 });
    store.down = true;
    append(0, 2000);
    await new Promise((r) => setTimeout(r, 100));
    expect(writer.status().backlogBytes).toBeGreaterThan(2000 * 10);
    store.down = false;
    append(2000, 2500);
    expect(await writer.drain(10_000)).toBe(true);
    expect(store.accepted).toEqual(expected(2500));
    expect(store.batches.every((n) => n <= 100)).toBe(true);
    expect(store.batches.filter((n) => n === 100).length).toBeGreaterThanOrEqual(20);
    expect(writer.status().backlogBytes).toBe(0);
  });

  it('replays at start, in order, what a previous run left in the spool', async () => {
    const first = setup();
    first.store.down = true;
    first.append(0, 300);
    first.writer.stop();
    first.spool.close();
    cleanup.length = 0;
    expect(readdirSync(first.dir).length).toBeGreaterThan(0);
    const second = setup({ dir: first.dir });
    second.append(300, 400);
    expect(await second.writer.drain(10_000)).toBe(true);
    expect(second.store.accepted).toEqual(expected(400));
  });
});
