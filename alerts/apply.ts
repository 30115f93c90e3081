/**
 * How a decided outcome becomes a change in a batch (docs/alerts.md): a rule's outcome for one
 * alert key is turned into a lifecycle step (lifecycle.ts), with the flapping window's context,
 * and the step is applied to the batch: the alert, its history, then each announcement through
 * the notifier. The engine's device rules and the service's own alerts (system-alerts.ts) both
 * go through here.
 */
import type { Estate } from '../config/index.ts';
import * as life from './lifecycle.ts';
import type { Notifier } from './notify/notifier.ts';
import type { Alert } from './types.ts';
import type { Work } from './work.ts';

/** A rule's outcome for one alert key, decided when the reading or the clock decided it. */
export type Outcome = { opening: life.Opening; clear: true } | { opening: life.Opening; clear: false; condition: life.Condition };

export class Applier {
  constructor(
    private readonly notifier: Notifier,
    private readonly alerting: Estate['alerting'],
  ) {}

  /** Applies one step to the batch: the alert, its history, then each announcement through the notifier. */
  apply(w: Work, s: life.Step): Alert {
    if (s.discard) {
      w.discard(s.alert);
      return s.alert;
    }
    let a = s.alert;
    w.put(a, s.history, s.transition);
    for (const ann of s.announce) a = this.notifier.announce(w, a, ann);
    // An outage that spreads to equipment of other departments: those newly routed hear of it now.
    if (s.transition === 'updated' && a.state === 'firing' && a.announcedAt !== null) {
      const newly = this.notifier.routeOf(a).filter((r) => !a.notified.includes(r));
      if (newly.length > 0) a = this.notifier.announce(w, a, { event: 'alert.firing', only: newly });
    }
    return a;
  }

  /** The lifecycle's context for `key`: the batch's time and its firings within the flapping window. */
  ctx(w: Work, key: string): life.LifeContext {
    const window = this.alerting.flapping.windowMin * 60_000;
    return { now: w.now, alerting: this.alerting, fires: w.fires(key).filter((t) => w.now - t < window) };
  }

  /** A rule's outcome, applied to the batch. */
  outcome(w: Work, o: Outcome): void {
    const key = o.opening.key;
    const cur = w.get(key);
    if (o.clear) {
      if (!cur) return;
      if (cur.flapping && cur.state !== 'pending') {
        if (w.clearSince(key) === undefined) w.setClearSince(key, w.now);
        return; // resolved by the tick once it has stayed clear
      }
      this.apply(w, life.clear(cur, this.ctx(w, key)));
      return;
    }
    if (w.clearSince(key) !== undefined) w.setClearSince(key, undefined);
    const ctx = this.ctx(w, key);
    const s = life.raise(cur, o.opening, o.condition, ctx);
    if (s.transition === 'firing') w.setFires(key, [...ctx.fires, w.now]);
    this.apply(w, s);
  }
}
