/**
 * The device registry: the estate file indexed for the hot path (ingest looks up every
 * message's device here) and for the API.
 */
import type { Kind } from './catalog.ts';
import type { Device, Estate, Site } from './schema.ts';

export interface RegisteredDevice {
  /**
   * Its place in the registry, 0 to `count` − 1 in the estate file's order: the other parts keep
   * a device's state in arrays at this index instead of a Map keyed by id each (an entry was
   * about 37 bytes a Map; docs/performance.md, "City scale").
   */
  readonly index: number;
  readonly id: string;
  readonly kind: Kind;
  readonly site: string;
  readonly siteName: string;
  readonly building: string;
  readonly name?: string;
  readonly intervalSec: number;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly def: Device;
}

/**
 * A device as the registry holds it: its index, its definition and its site, and the rest read
 * from those. Fields of its own for each were 104 bytes a device, 48 now (docs/performance.md,
 * "City scale"). The getters are on the prototype, so a spread or JSON.stringify of one gives
 * only `index`, `def` and `at`: callers name the fields they want.
 */
class Registered implements RegisteredDevice {
  constructor(
    readonly index: number,
    readonly def: Device,
    private readonly at: Site,
  ) {}

  get id(): string {
    return this.def.id;
  }
  get kind(): Kind {
    return this.def.kind;
  }
  get site(): string {
    return this.at.id;
  }
  get siteName(): string {
    return this.at.name;
  }
  get building(): string {
    return this.def.building;
  }
  get name(): string | undefined {
    return this.def.name || undefined;
  }
  get intervalSec(): number {
    return this.def.intervalSec;
  }
  get attributes(): Readonly<Record<string, unknown>> {
    return this.def.attributes;
  }
}

export class Registry {
  readonly devices: ReadonlyMap<string, RegisteredDevice>;
  /** every device at its `index` */
  readonly all: readonly RegisteredDevice[];
  readonly sites: ReadonlyMap<string, Site>;
  private readonly bySite = new Map<string, RegisteredDevice[]>();

  constructor(readonly estate: Estate) {
    const devices = new Map<string, RegisteredDevice>();
    const all: RegisteredDevice[] = [];
    const sites = new Map<string, Site>();
    for (const site of estate.sites) {
      sites.set(site.id, site);
      const here: RegisteredDevice[] = [];
      this.bySite.set(site.id, here);
      for (const d of site.devices) {
        const registered = new Registered(devices.size, d, site);
        devices.set(d.id, registered);
        all.push(registered);
        here.push(registered);
      }
    }
    this.devices = devices;
    this.all = all;
    this.sites = sites;
  }

  /** How many devices there are: every `index` is below it. */
  get count(): number {
    return this.all.length;
  }

  device(id: string): RegisteredDevice | undefined {
    return this.devices.get(id);
  }

  /** The site's devices, in the estate file's order (a copy). */
  devicesOf(site: string): RegisteredDevice[] {
    return [...(this.bySite.get(site) ?? [])];
  }
}
