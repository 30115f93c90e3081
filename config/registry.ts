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
        const registered: RegisteredDevice = {
          index: devices.size,
          id: d.id,
          kind: d.kind,
          site: site.id,
          siteName: site.name,
          building: d.building,
          ...(d.name ? { name: d.name } : {}),
          intervalSec: d.intervalSec,
          attributes: d.attributes,
          def: d,
        };
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
