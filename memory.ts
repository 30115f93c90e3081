/**
 * Hands the memory the start used back to the system (docs/performance.md, "City scale").
 * V8 keeps the pages a collection frees in a pool for its own reuse rather than returning
 * them, so the garbage of the estate file's parse and of building the parts (about 120 MB at
 * 100,000 devices) would stay resident for the life of the process. A last-resort collection,
 * the one V8 runs before it gives up on an allocation, empties that pool.
 *
 * `gc` is reached through `vm` with `--expose-gc` set for that moment only, so the service's
 * own global scope has no `gc`. Where the flag cannot be set (a runtime without it), nothing
 * is released and the service runs as before.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

function lastResortGc(): Gc | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as Gc) : undefined;
  } catch {
    return undefined;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/** Runs the collection; returns how long it took (ms), or undefined if it could not run. */
export function releaseStartMemory(): number | undefined {
  const gc = lastResortGc();
  if (!gc) return undefined;
  const t0 = performance.now();
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  return performance.now() - t0;
}
