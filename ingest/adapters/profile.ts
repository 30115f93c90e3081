/**
 * A profile (the estate file's `profiles`, docs/adapters.md) applied to one message of a
 * vendor: its fields, found by dotted path, become catalog metrics (value × scale + offset;
 * booleans and 0/1 as they are), and its fault codes become catalog events. A field the
 * profile does not map is reported, so that it is refused as `bad_metric` naming the adapter.
 * Without a profile, a field is taken when its name is the catalog's own.
 */
import { METRICS, type Kind, type ProfileDef } from '../../config/index.ts';

export interface Mapped {
  metrics: Record<string, number | boolean>;
  /** fields present that nothing maps */
  unmapped: string[];
}

/** The value at a dotted path (`car.floor`), or undefined. */
export function at(o: unknown, path: string): unknown {
  let v: unknown = o;
  for (const key of path.split('.')) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** Every leaf of an object as dotted paths (for what a profile leaves unmapped). */
function leaves(o: Record<string, unknown>, prefix = '', out: string[] = []): string[] {
  for (const [k, v] of Object.entries(o)) {
    const p = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) leaves(v as Record<string, unknown>, p, out);
    else out.push(p);
  }
  return out;
}

function scaled(v: unknown, scale: number, offset: number): number | boolean | undefined {
  if (typeof v === 'boolean') return v;
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isFinite(n)) return undefined;
  return scale === 1 && offset === 0 ? n : Math.round((n * scale + offset) * 1e9) / 1e9;
}

/**
 * Maps a flat or nested field object. `ignore` names fields that are the message's own
 * bookkeeping (a time field, the event field), not readings.
 */
export function mapFields(fields: Record<string, unknown>, kind: Kind, profile: ProfileDef | undefined, ignore: readonly string[] = []): Mapped {
  const metrics: Record<string, number | boolean> = {};
  const used = new Set<string>(ignore);
  if (profile) {
    for (const [path, m] of Object.entries(profile.metrics)) {
      const raw = at(fields, path);
      if (raw === undefined || raw === null) continue;
      used.add(path);
      const { metric, scale, offset } = typeof m === 'string' ? { metric: m, scale: 1, offset: 0 } : m;
      const v = scaled(raw, scale, offset);
      if (v === undefined) continue; // a value that is not a number: the catalog's validation refuses what is sent, so send it as it is
      metrics[metric] = v;
    }
    if (profile.eventField) used.add(profile.eventField);
    if (profile.timeField) used.add(profile.timeField);
  } else {
    const catalog = METRICS[kind];
    for (const [k, v] of Object.entries(fields)) {
      if (!catalog.has(k)) continue;
      used.add(k);
      const n = scaled(v, 1, 0);
      if (n !== undefined) metrics[k] = n;
    }
  }
  const unmapped = leaves(fields).filter((p) => !used.has(p) && ![...used].some((u) => p.startsWith(`${u}.`)));
  return { metrics, unmapped };
}

/** The catalog event a vendor's code stands for, if the profile maps it. */
export function eventOf(profile: ProfileDef | undefined, code: unknown): string | undefined {
  if (!profile || code === undefined || code === null || code === '') return undefined;
  return profile.events[String(code)];
}

/** A time field's value as epoch ms, if it is one. */
export function timeOf(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v < 1e12 ? v * 1000 : v; // seconds or ms
  if (typeof v === 'string' && v !== '') {
    const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
    if (Number.isFinite(t)) return t < 1e12 ? t * 1000 : t;
  }
  return undefined;
}
