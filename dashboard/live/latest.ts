/**
 * What the dashboard knows of each device right now: its latest value of every metric (with
 * the reading's time), its online state, when it was last heard from, and its open alerts.
 * Filled from the series store at start and kept current from the bus, so that neither the
 * API nor a socket.io snapshot queries the database.
 *
 * Kept per kind in typed arrays, one row per device and one column per metric of the kind's
 * catalog (config/catalog.ts): a value and its reading time as two numbers (NaN: none yet; a
 * boolean as 0 or 1), about 100–210 bytes a device, with no object of its own. As an object
 * of [value, time] pairs per device it was about 1 KB a device at 100,000 devices
 * (docs/performance.md, "City scale"). Open alerts are held only for the devices that have one.
 */
import { KINDS, METRICS, type Kind, type Registry } from '../../config/index.ts';
import type { SeriesStore } from '../../storage/index.ts';
import type { Bus, DeviceStatus, Reading } from '../../bus.ts';
import type { Alert } from '../../alerts/index.ts';

export interface DeviceNow {
  /** metric → [value, reading time ms] */
  values: Record<string, [number | boolean, number]>;
  online: boolean | null;
  lastSeen: number | null;
  /** open alerts (firing or acknowledged): key → severity */
  alerts: ReadonlyMap<string, 'warning' | 'critical'>;
}

const NO_ALERTS: ReadonlyMap<string, 'warning' | 'critical'> = new Map();

/** One kind's devices: row r's metric c at r × metrics + c. */
class KindTable {
  readonly metrics: readonly string[];
  readonly column = new Map<string, number>();
  /** per column: 1 when the metric is a boolean */
  readonly bool: Uint8Array;
  readonly values: Float64Array;
  readonly at: Float64Array;
  /** per row: -1 unknown, 0 offline, 1 online */
  readonly online: Int8Array;
  /** per row: wall-clock ms of the last message; NaN: never */
  readonly lastSeen: Float64Array;

  constructor(kind: Kind, rows: number) {
    const specs = [...METRICS[kind].values()];
    this.metrics = specs.map((s) => s.name);
    specs.forEach((s, i) => this.column.set(s.name, i));
    this.bool = Uint8Array.from(specs, (s) => (s.type === 'boolean' ? 1 : 0));
    this.values = new Float64Array(rows * specs.length).fill(NaN);
    this.at = new Float64Array(rows * specs.length).fill(NaN);
    this.online = new Int8Array(rows).fill(-1);
    this.lastSeen = new Float64Array(rows).fill(NaN);
  }

  value(row: number, c: number): number | boolean {
    const v = this.values[row * this.metrics.length + c]!;
    return this.bool[c] ? v !== 0 : v;
  }

  /** Sets metric c of a row unless what it holds is newer. */
  set(row: number, c: number, v: unknown, ts: number): void {
    const i = row * this.metrics.length + c;
    const n = typeof v === 'boolean' ? (v ? 1 : 0) : typeof v === 'number' ? v : NaN;
    if (Number.isNaN(n)) return;
    const prev = this.at[i]!;
    if (!Number.isNaN(prev) && prev > ts) return;
    this.values[i] = n;
    this.at[i] = ts;
  }

  heard(row: number): boolean {
    if (!Number.isNaN(this.lastSeen[row]!)) return true;
    const m = this.metrics.length;
    for (let i = row * m; i < (row + 1) * m; i++) if (!Number.isNaN(this.at[i]!)) return true;
    return false;
  }
}

export class LatestCache {
  private readonly tables = {} as Record<Kind, KindTable>;
  /** each device's row in its kind's table, at its registry index (no Map or record per device) */
  private readonly rowOf: Int32Array;
  private readonly alerts = new Map<string, Map<string, 'warning' | 'critical'>>();

  constructor(private readonly registry: Registry) {
    const counts = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<Kind, number>;
    for (const d of registry.all) counts[d.kind]++;
    for (const k of KINDS) this.tables[k] = new KindTable(k, counts[k]);
    for (const k of KINDS) counts[k] = 0;
    this.rowOf = new Int32Array(registry.count);
    for (const d of registry.all) this.rowOf[d.index] = counts[d.kind]++;
  }

  /** Loads the newest stored values (best effort: a store that is away leaves them empty). */
  async load(store: SeriesStore): Promise<void> {
    for (const kind of KINDS) {
      const latest = await store.latest(kind).catch(() => new Map());
      const t = this.tables[kind];
      for (const [device, v] of latest) {
        const d = this.registry.device(device);
        if (!d || d.kind !== kind) continue;
        const row = this.rowOf[d.index]!;
        for (const [m, value] of Object.entries(v.fields as Record<string, unknown>)) {
          const c = t.column.get(m);
          // A value that came over the bus while loading is newer: kept.
          if (c !== undefined && Number.isNaN(t.at[row * t.metrics.length + c]!)) t.set(row, c, value, v.ts);
        }
        if (Number.isNaN(t.lastSeen[row]!)) t.lastSeen[row] = v.ts;
      }
    }
  }

  attach(bus: Bus): (() => void)[] {
    return [bus.on('reading', (r) => this.reading(r)), bus.on('status', (s) => this.status(s)), bus.on('alert', (e) => this.alert(e.alert))];
  }

  reading(r: Reading): void {
    const d = this.registry.device(r.device);
    if (!d) return;
    const t = this.tables[d.kind];
    const row = this.rowOf[d.index]!;
    for (const m in r.metrics) {
      const c = t.column.get(m);
      if (c !== undefined) t.set(row, c, r.metrics[m], r.ts);
    }
    t.lastSeen[row] = Date.now();
  }

  status(s: DeviceStatus): void {
    const d = this.registry.device(s.device);
    if (!d) return;
    const t = this.tables[d.kind];
    const row = this.rowOf[d.index]!;
    t.online[row] = s.online ? 1 : 0;
    t.lastSeen[row] = Date.now();
  }

  alert(a: Alert): void {
    if (!this.registry.device(a.device)) return;
    let open = this.alerts.get(a.device);
    if (a.state === 'firing' || a.state === 'acknowledged') {
      if (!open) this.alerts.set(a.device, (open = new Map()));
      open.set(a.key, a.severity);
    } else if (open) {
      open.delete(a.key);
      if (open.size === 0) this.alerts.delete(a.device);
    }
  }

  /** One metric's latest value and its reading time. */
  value(device: string, metric: string): [number | boolean, number] | undefined {
    const d = this.registry.device(device);
    if (!d) return undefined;
    const t = this.tables[d.kind];
    const row = this.rowOf[d.index]!;
    const c = t.column.get(metric);
    if (c === undefined) return undefined;
    const ts = t.at[row * t.metrics.length + c]!;
    return Number.isNaN(ts) ? undefined : [t.value(row, c), ts];
  }

  /** What is known of the device now, as a new object. */
  get(device: string): DeviceNow | undefined {
    const d = this.registry.device(device);
    if (!d) return undefined;
    const t = this.tables[d.kind];
    const row = this.rowOf[d.index]!;
    const values: DeviceNow['values'] = {};
    const base = row * t.metrics.length;
    for (let c = 0; c < t.metrics.length; c++) {
      const ts = t.at[base + c]!;
      if (!Number.isNaN(ts)) values[t.metrics[c]!] = [t.value(row, c), ts];
    }
    const online = t.online[row]!;
    const seen = t.lastSeen[row]!;
    return { values, online: online < 0 ? null : online === 1, lastSeen: Number.isNaN(seen) ? null : seen, alerts: this.alerts.get(device) ?? NO_ALERTS };
  }

  /** The device's state for people: alarm, warning, offline, ok, or unknown (never heard). */
  state(device: string): 'critical' | 'warning' | 'offline' | 'ok' | 'unknown' {
    const d = this.registry.device(device);
    if (!d) return 'unknown';
    let worst: 'critical' | 'warning' | undefined;
    for (const s of this.alerts.get(device)?.values() ?? []) if (s === 'critical' || !worst) worst = s;
    if (worst) return worst;
    const t = this.tables[d.kind];
    const row = this.rowOf[d.index]!;
    if (t.online[row] === 0) return 'offline';
    if (!t.heard(row)) return 'unknown';
    return 'ok';
  }

  devicesOf(site: string) {
    return this.registry.devicesOf(site);
  }
}
