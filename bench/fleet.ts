/**
 * The benchmark's devices from a compact spec, so that any number of them can be published
 * (bench/publisher.ts) and loaded (the estate file it writes) without a device list passing
 * between processes: both ends generate the same devices, topics and payloads from the spec.
 *
 *   mix       (the default) sites of `siteSize` devices (100): 40 % hydrants, 30 % elevators,
 *             15 % fire lanes, 15 % water analysers, in that order within a site; a last site
 *             may be short. Device ids `s0001-h00`, `s0001-e40`, …; site ids `s0001`, ….
 *             Metrics a message: hydrant 7, elevator 13, fire lane 5, water 10 (8.95 on average).
 *   hydrants  the benchmark's old load: one site (`site`, default `bench`) of `devices` hydrants
 *             H0000…, four metrics a message.
 *
 * Every value is inside the default rules (config/rules.ts) and the catalog's ranges
 * (config/catalog.ts, METRICS), so no alert opens: hydrant pressure 0.30–0.40 MPa (≥ 0.14, ≤ 1.0),
 * temperatures ≥ 5 °C, battery ≥ 60 %, elevators never stopped with passengers nor stopped
 * outside the door zone, their doors shut (door_held_open would open a pending alert at once), speed ≤ 1.5 m/s
 * (≤ 1.1 × the default rated 1.75), service mode 1 (normal); fire lanes free, obstruction
 * ≤ 10 %; water turbidity ≤ 0.3 NTU, chlorine 0.3–0.5 mg/L, pH 7.0–7.6, TDS ≤ 400 mg/L,
 * tank 50–90 %. Counters (run_count, door_cycles) grow with the device's seq. The seed varies
 * the values between devices and readings, deterministically.
 */

export type Kind = 'hydrant' | 'elevator' | 'firelane' | 'water';
export type Load = 'mix' | 'hydrants';

export interface FleetSpec {
  load: Load;
  devices: number;
  /** devices per site (mix only) */
  siteSize?: number;
  seed?: number;
  /** the one site of the hydrants load */
  site?: string;
}

export interface Device {
  site: string;
  kind: Kind;
  id: string;
  building: string;
}

/** Share of each kind in a site of 100, in order. */
const MIX: readonly [Kind, number][] = [
  ['hydrant', 40],
  ['elevator', 30],
  ['firelane', 15],
  ['water', 15],
];
const LETTER: Record<Kind, string> = { hydrant: 'h', elevator: 'e', firelane: 'f', water: 'w' };
/** the field counted per kind to tell readings landed: one each kind always sends */
export const COUNT_FIELD: Record<Kind, string> = { hydrant: 'pressure_mpa', elevator: 'floor', firelane: 'obstruction_pct', water: 'ph' };
export const METRICS_PER_MESSAGE: Record<Kind, number> = { hydrant: 7, elevator: 13, firelane: 5, water: 10 };

/** The kind of position j (0-based) in a site of `size` devices. */
function kindAt(j: number, size: number): Kind {
  let bound = 0;
  for (const [kind, share] of MIX) {
    bound += (share * size) / 100;
    if (j < Math.round(bound)) return kind;
  }
  return 'water';
}

export class Fleet {
  readonly spec: Required<FleetSpec>;
  readonly size: number;
  private readonly siteDigits: number;
  private readonly posDigits: number;
  private readonly kinds: Kind[];

  constructor(spec: FleetSpec) {
    this.spec = { siteSize: 100, seed: 1, site: 'bench', ...spec };
    if (!Number.isInteger(this.spec.devices) || this.spec.devices < 0) throw new Error(`devices must be a whole number ≥ 0, not ${spec.devices}`);
    if (!Number.isInteger(this.spec.siteSize) || this.spec.siteSize < 1) throw new Error(`siteSize must be a whole number ≥ 1`);
    this.size = this.spec.devices;
    this.siteDigits = Math.max(4, String(Math.ceil(this.size / this.spec.siteSize)).length);
    this.posDigits = String(this.spec.siteSize - 1).length;
    this.kinds = Array.from({ length: this.spec.siteSize }, (_, j) => kindAt(j, this.spec.siteSize));
  }

  get sites(): number {
    return this.spec.load === 'hydrants' ? (this.size > 0 ? 1 : 0) : Math.ceil(this.size / this.spec.siteSize);
  }

  siteId(k: number): string {
    return this.spec.load === 'hydrants' ? this.spec.site : `s${String(k).padStart(this.siteDigits, '0')}`;
  }

  device(i: number): Device {
    if (this.spec.load === 'hydrants') return { site: this.spec.site, kind: 'hydrant', id: `H${String(i).padStart(4, '0')}`, building: `${(i % 30) + 1}栋` };
    const k = Math.floor(i / this.spec.siteSize);
    const j = i % this.spec.siteSize;
    const kind = this.kinds[j]!;
    const site = this.siteId(k);
    return { site, kind, id: `${site}-${LETTER[kind]}${String(j).padStart(this.posDigits, '0')}`, building: `${(j % 10) + 1}栋` };
  }

  topic(i: number, d = this.device(i)): string {
    return `estate/${d.site}/${d.kind}/${d.id}/telemetry`;
  }

  /** The kinds present and how many of each. */
  counts(): Record<Kind, number> {
    const out: Record<Kind, number> = { hydrant: 0, elevator: 0, firelane: 0, water: 0 };
    if (this.spec.load === 'hydrants') out.hydrant = this.size;
    else for (let i = 0; i < this.size; i++) out[this.kinds[i % this.spec.siteSize]!]++;
    return out;
  }

  /** Metrics per message on average over the fleet (each device sending equally often). */
  metricsPerMessage(): number {
    if (this.spec.load === 'hydrants') return 4;
    const c = this.counts();
    return (Object.keys(c) as Kind[]).reduce((n, k) => n + c[k] * METRICS_PER_MESSAGE[k], 0) / Math.max(1, this.size);
  }

  /** The JSON payload of device i's reading number `seq` at `ts`. */
  payload(i: number, kind: Kind, seq: number, ts: number): string {
    if (this.spec.load === 'hydrants') {
      return `{"ts":${ts},"seq":${seq},"metrics":{"pressure_mpa":${(0.3 + (seq % 100) / 1000).toFixed(3)},"flow_lps":0,"temp_c":${(15 + (i % 10) / 10).toFixed(1)},"battery_pct":${90 - (i % 20)}}}`;
    }
    const r = hash(this.spec.seed, i, seq); // 0 ≤ r < 1, per reading
    const dv = hash(this.spec.seed, i, -1); // per device
    const battery = 60 + Math.floor(dv * 40);
    const rssi = -60 - Math.floor(dv * 30);
    let m: string;
    switch (kind) {
      case 'hydrant':
        m = `"pressure_mpa":${(0.3 + r * 0.1).toFixed(3)},"flow_lps":0,"temp_c":${(12 + dv * 6).toFixed(1)},"tamper":false,"leak":false,"battery_pct":${battery},"rssi_dbm":${rssi}`;
        break;
      case 'elevator': {
        // 0, 1: running between floors, passengers aboard; 2, 3: stopped at a floor, doors shut, empty.
        // Never door_open: door_held_open opens a pending alert on the first reading with the door open.
        const running = seq % 4 < 2;
        m =
          `"floor":${1 + ((seq + Math.floor(dv * 18)) % 18)},"speed_mps":${running ? (1 + r * 0.5).toFixed(2) : 0},"door_open":false,"running":${running},` +
          `"in_door_zone":${!running},"service_mode":1,"load_pct":${running ? Math.floor(r * 60) : 0},"vibration_mms":${(0.5 + r * 1.5).toFixed(2)},` +
          `"motor_temp_c":${(30 + dv * 20).toFixed(1)},"run_count":${1000 + seq},"door_cycles":${2000 + 2 * seq},"passengers_present":${running},"rssi_dbm":${rssi}`;
        break;
      }
      case 'firelane':
        m = `"occupied":false,"vehicle_count":0,"obstruction_pct":${(r * 10).toFixed(1)},"battery_pct":${battery},"rssi_dbm":${rssi}`;
        break;
      case 'water':
        m =
          `"turbidity_ntu":${(0.1 + r * 0.2).toFixed(3)},"chlorine_mgl":${(0.3 + r * 0.2).toFixed(3)},"ph":${(7 + r * 0.6).toFixed(2)},"tds_mgl":${Math.floor(200 + dv * 200)},` +
          `"temp_c":${(10 + dv * 10).toFixed(1)},"tank_level_pct":${(50 + r * 40).toFixed(1)},"outlet_pressure_mpa":${(0.2 + r * 0.2).toFixed(3)},"pump_running":${seq % 2 === 0},"battery_pct":${battery},"rssi_dbm":${rssi}`;
        break;
    }
    return `{"ts":${ts},"seq":${seq},"metrics":{${m}}}`;
  }

  /**
   * The estate file the service loads for this fleet (the same devices), as YAML in the
   * estate file's flow style; built as one string, about 60 ms for 100,000 devices.
   */
  estateYaml(): string {
    const parts: string[] = ['sites:\n'];
    if (this.spec.load === 'hydrants') {
      parts.push(`  - id: ${this.spec.site}\n    name: 压测小区\n    property: { name: 测试物业 }\n    devices:\n`);
      for (let i = 0; i < this.size; i++) {
        const d = this.device(i);
        parts.push(`      - { id: ${d.id}, kind: hydrant, building: "${d.building}" }\n`);
      }
      if (this.size === 0) parts[1] = parts[1]!.replace('devices:\n', 'devices: []\n');
      return parts.join('');
    }
    // The estate needs a site: an empty fleet is one site without devices (the baseline of KB per device).
    if (this.size === 0) return `sites:\n  - id: ${this.siteId(0)}\n    name: 压测小区1\n    property: { name: 测试物业 }\n    devices: []\n`;
    for (let k = 0; k < this.sites; k++) {
      const site = this.siteId(k);
      parts.push(`  - id: ${site}\n    name: 压测小区${k + 1}\n    property: { name: 测试物业 }\n    devices:\n`);
      const end = Math.min(this.size, (k + 1) * this.spec.siteSize);
      for (let i = k * this.spec.siteSize; i < end; i++) {
        const d = this.device(i);
        parts.push(`      - { id: ${d.id}, kind: ${d.kind}, building: "${d.building}" }\n`);
      }
    }
    return parts.join('');
  }
}

/** A deterministic number in [0, 1) from three integers (a 32-bit integer mix). */
function hash(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35) ^ Math.imul(c + 0x165667b1, 0x27d4eb2f);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  h = Math.imul(h, 0x297a2d39);
  h ^= h >>> 15;
  return (h >>> 0) / 4294967296;
}
