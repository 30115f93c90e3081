/**
 * A device behind an adapter reports its vendor's fields, not the catalog's metrics: this is the
 * inverse of its profile (docs/adapters.md, the estate file's `profiles`). A metric the profile
 * maps as `{metric, scale, offset}` goes out as (metric − offset) / scale under the vendor's
 * field (a dotted path makes nested objects); booleans as they are; a metric the profile does
 * not map is not sent (the vendor's hardware does not report it). Without a profile, the
 * catalog's own names. Fault codes likewise: a catalog event back to the vendor's code.
 */
import { METRICS, type Kind, type ProfileDef } from '../../config/index.ts';
import type { Metrics } from '../model.ts';

/** Sets `value` at a dotted path, making the objects on the way. */
export function setAt(o: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let cur = o;
  for (const k of keys.slice(0, -1)) {
    const next = cur[k];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys.at(-1)!] = value;
}

/** A number as a vendor would send it: no floating-point noise from the division (1e-6 steps). */
function tidy(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

/** The vendor's fields for a reading of the catalog's metrics. */
export function vendorFields(metrics: Metrics, kind: Kind, profile: ProfileDef | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!profile) {
    const catalog = METRICS[kind];
    for (const [k, v] of Object.entries(metrics)) if (catalog.has(k)) out[k] = v;
    return out;
  }
  for (const [path, m] of Object.entries(profile.metrics)) {
    const { metric, scale, offset } = typeof m === 'string' ? { metric: m, scale: 1, offset: 0 } : m;
    const v = metrics[metric];
    if (v === undefined) continue;
    setAt(out, path, typeof v === 'boolean' ? v : tidy((v - offset) / scale));
  }
  return out;
}

/** The vendor's code for a catalog event, if the profile maps one to it. */
export function vendorEventCode(profile: ProfileDef | undefined, code: string): string | undefined {
  if (!profile) return undefined;
  return Object.entries(profile.events).find(([, c]) => c === code)?.[0];
}
