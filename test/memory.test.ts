/**
 * memory.ts: the start's garbage goes back to the system. V8 keeps freed pages in its pool, so
 * an ordinary collection leaves the process's RSS where it was; the last-resort one returns
 * them (docs/performance.md, "City scale").
 */
import { describe, expect, it } from 'vitest';
import { releaseStartMemory } from '../memory.ts';

const MB = 1024 * 1024;

/** About 200 MB of small objects, alive until the function returns (as an estate's parse is). */
function garbage(): number {
  const keep: { a: number; b: string }[] = [];
  for (let i = 0; i < 2_000_000; i++) keep.push({ a: i, b: `device-${i}` });
  return keep.length;
}

describe('releaseStartMemory', () => {
  it('returns the pages an estate-sized garbage left behind, which an ordinary collection keeps', () => {
    const before = process.memoryUsage().rss;
    expect(garbage()).toBe(2_000_000);
    const full = process.memoryUsage().rss;
    expect(full - before).toBeGreaterThan(100 * MB);
    const ms = releaseStartMemory();
    expect(ms).toBeTypeOf('number');
    const after = process.memoryUsage().rss;
    // The pages of the garbage (at least 100 MB of it) are no longer resident.
    expect(full - after).toBeGreaterThan(100 * MB);
  });

  it('leaves the service without a global gc', () => {
    releaseStartMemory();
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
  });
});
