/**
 * DOM writes batched per animation frame: a live event marks what it changed, and once per
 * frame each marked thing writes itself, once, however many events touched it. A hidden tab
 * runs no frames, so marks wait (at most one per thing) until it is shown again.
 */
export interface Flushable {
  flush(): void;
}

const dirty = new Set<Flushable>();
let scheduled = false;

function run(): void {
  scheduled = false;
  const list = [...dirty];
  dirty.clear();
  for (const x of list) {
    try {
      x.flush();
    } catch (err) {
      console.error('a view failed to update', err);
    }
  }
}

export function mark(x: Flushable): void {
  dirty.add(x);
  if (!scheduled) {
    scheduled = true;
    requestAnimationFrame(run);
  }
}

/** Forgets marks of things that left the page. */
export function unmark(x: Flushable): void {
  dirty.delete(x);
}
