/** What the de-duplication tests share (ingest/dedup.test.ts, ingest/dedup-formats.test.ts). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { SeqDedup } from '../dedup.ts';

/** The service's clock: compaction forgets keys by the wall clock, so the tests live near it. */
export const T = Date.now();

const dirs: string[] = [];
/** A fresh directory, removed after the file's tests. */
export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'estate-dedup-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A SeqDedup on `dir` (none: in memory only), opened. */
export function opened(dir: string | undefined, compactBytes?: number): SeqDedup {
  const d = new SeqDedup(dir, compactBytes);
  d.open();
  return d;
}
