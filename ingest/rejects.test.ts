/** The reject log keeps what the operational store refused and writes it once the store is back. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RejectRow } from './reject-store.ts';
import { MAX_WAITING, RejectLog } from './rejects.ts';

function fakeStore() {
  const rows: RejectRow[] = [];
  let down = false;
  const store = {
    async insertRejects(r: readonly RejectRow[]) {
      if (down) throw new Error('connection refused');
      rows.push(...r);
    },
    async pruneRejects() {},
    async upsertUnregistered() {
      if (down) throw new Error('connection refused');
    },
  };
  return { rows, store, setDown: (d: boolean) => (down = d) };
}

const reject = (i: number) => ({ reason: 'bad_payload' as const, topic: `estate/s/hydrant/H${i}/telemetry`, detail: 'not JSON', payload: 'x' });

afterEach(() => vi.useRealTimers());

describe('RejectLog when the operational store refuses writes', () => {
  it('never throws, keeps the rows, and writes them all once the store is back', async () => {
    vi.useFakeTimers();
    const { rows, store, setDown } = fakeStore();
    const errors: number[] = [];
    const log = new RejectLog(store, () => undefined, 100_000, (_err, waiting) => errors.push(waiting));
    setDown(true);
    for (let i = 0; i < 5; i++) log.add(reject(i), i);
    await vi.advanceTimersByTimeAsync(100);
    expect(rows).toHaveLength(0);
    expect(errors).toEqual([5]);
    log.add(reject(5), 5);
    await vi.advanceTimersByTimeAsync(1000);
    expect(errors).toEqual([5, 6]);
    setDown(false);
    await vi.advanceTimersByTimeAsync(1000);
    expect(rows.map((r) => r.topic)).toEqual([0, 1, 2, 3, 4, 5].map((i) => reject(i).topic));
    expect(log.counts.get('bad_payload')).toBe(6);
  });

  it('holds at most the newest MAX_WAITING rows while the store is away', async () => {
    const { rows, store, setDown } = fakeStore();
    const log = new RejectLog(store, () => undefined);
    setDown(true);
    for (let i = 0; i < MAX_WAITING + 50; i++) log.add(reject(i), i);
    await log.flush();
    setDown(false);
    await log.flush();
    expect(rows).toHaveLength(MAX_WAITING);
    expect(rows[0]!.topic).toBe(reject(50).topic);
    expect(log.counts.get('bad_payload')).toBe(MAX_WAITING + 50);
  });
});
