/**
 * The series store refusing lines for a tag's cap on values (InfluxDB 1.x's
 * `[data] max-values-per-tag`, bus event `store.tag_limit`): one `store_tag_limit` system alert
 * per measurement, raised at its first refusal and resolved once none has been refused for
 * TAG_LIMIT_CLEAR_MS, judged by the engine's 1-s tick (docs/alerts.md, "Outages").
 */

export const STORE_TAG_LIMIT = 'store_tag_limit';

/** How long without a refusal before a measurement's alert resolves. */
export const TAG_LIMIT_CLEAR_MS = 15 * 60_000;

/** The key suffix of a measurement's alert: `estate/system/store_tag_limit/<measurement>`. */
export const tagLimitSuffix = (measurement: string) => `/${measurement}`;

export class TagLimits {
  /** measurement → the service's time of its last refusal, while its alert is open or on its way */
  private readonly last = new Map<string, number>();

  /** A refusal of `measurement` at `now`; true when its alert is to be raised (none open since its last resolution). */
  refused(measurement: string, now: number): boolean {
    const open = this.last.has(measurement);
    this.last.set(measurement, now);
    return !open;
  }

  /** An alert found open at a start counts as refused then: it resolves TAG_LIMIT_CLEAR_MS later unless refusals go on. */
  restore(key: string, now: number): void {
    const prefix = `estate/system/${STORE_TAG_LIMIT}/`;
    if (key.startsWith(prefix)) this.last.set(key.slice(prefix.length), now);
  }

  /** The measurements with no refusal for TAG_LIMIT_CLEAR_MS up to `now`, forgotten here: their alerts are to resolve. */
  quiet(now: number): string[] {
    const out: string[] = [];
    for (const [m, at] of this.last) {
      if (now - at < TAG_LIMIT_CLEAR_MS) continue;
      this.last.delete(m);
      out.push(m);
    }
    return out;
  }
}
