/**
 * InfluxDB 1.x caps the values of one tag per measurement at `[data] max-values-per-tag`
 * (100,000 by default; environment `INFLUXDB_DATA_MAX_VALUES_PER_TAG`; 0 for no cap). Past it,
 * a write of a line with a new value of that tag answers 400, and Debian's influxd 1.6.7 says:
 *
 *   partial write: max-values-per-tag limit exceeded (3/3): measurement="hydrant" tag="device" value="H0003" dropped=1
 *
 * (the values the tag has, then the cap; the names in Go's %q quoting). The rest of the batch
 * is written. The store bisects the batch down to the refused lines (store.ts), so each refused
 * line comes back with this message naming its own value; `tagLimitOf` recognises it, once,
 * here, and the store hands it on with the line (docs/alerts.md, "Outages": `store_tag_limit`).
 *
 * The check is made against the values the measurement had before the write: a batch that
 * brings several new values at once is taken whole even if it passes the cap.
 */
import type { TagLimit } from '../series.ts';

/** The setting behind the cap, as the configuration file and the official image's environment name it. */
export const MAX_VALUES_PER_TAG: TagLimit['setting'] = Object.freeze({ file: '[data] max-values-per-tag', env: 'INFLUXDB_DATA_MAX_VALUES_PER_TAG', unlimited: 0 });

const QUOTED = String.raw`"((?:[^"\\]|\\.)*)"`;
const REFUSAL = new RegExp(String.raw`max-values-per-tag limit exceeded \((\d+)/(\d+)\): measurement=${QUOTED} tag=${QUOTED} value=${QUOTED}`);

/** The tag limit an InfluxDB write error names, or undefined when it is about something else. */
export function tagLimitOf(error: string): TagLimit | undefined {
  const m = REFUSAL.exec(error);
  if (!m) return undefined;
  return { measurement: unquote(m[3]!), tag: unquote(m[4]!), value: unquote(m[5]!), limit: Number(m[2]), setting: MAX_VALUES_PER_TAG };
}

const ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** Undoes Go's %q: `\"`, `\\`, the letter escapes and `\xNN`, `\uNNNN`, `\UNNNNNNNN`; other text is as it was. */
function unquote(s: string): string {
  return s.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)/g, (_, e: string) => {
    if (e.length > 1) return String.fromCodePoint(parseInt(e.slice(1), 16));
    return ESCAPES[e] ?? e;
  });
}
