/**
 * DOM writes batched per animation frame: a live event marks what it changed, and once per
 * frame each marked thing writes itself, once, however many events touched it. A frame
 * spends at most a few milliseconds on it and leaves the rest to the next, so that a burst
 * (a snapshot of 500 devices) never blocks the page. A hidden tab runs no frames, so marks
 * wait (at most one per thing) until it is shown again.
 */
export interface Flushable {
  flush(): void;
}

/** ms of writes per frame before the rest waits for the next one */
const BUDGET_MS = 6;
const dirty = new Set<Flushable>();
let scheduled = false;

function run(): void {
  scheduled = false;
  const started = performance.now();
  let n = 0;
  for (const x of dirty) {
    dirty.delete(x);
    try {
      x.flush();
    } catch (err) {
      console.error('a view failed to update', err);
    }
    if (++n % 16 === 0 && performance.now() - started > BUDGET_MS) break;
  }
  if (dirty.size > 0) schedule();
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(run);
}

export function mark(x: Flushable): void {
  dirty.add(x);
  schedule();
}

/** Forgets marks of things that left the page. */
export function unmark(x: Flushable): void {
  dirty.delete(x);
}
