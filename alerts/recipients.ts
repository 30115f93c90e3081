/**
 * Who a recipient id stands for, with the channels to reach them (docs/alerts.md,
 * "Recipients"): a department of the estate file; `property`, the site's property company;
 * `subdistrict`, its sub-district office, which takes the property company's place where a
 * site has none (docs/interfaces.md#recipients); `maintainer`, whoever keeps the device's (or else the
 * site's) sensors running; `operators`, the service's own operators. A recipient the estate
 * file does not name is not told (and not an error).
 */
import type { Channel, Contact, Estate, Registry } from '../config/index.ts';
import type { Alert } from './types.ts';

export interface Target {
  id: string;
  name: string;
  channels: readonly Channel[];
}

export class Recipients {
  private readonly departments: Map<string, Target>;

  constructor(
    private readonly estate: Estate,
    private readonly registry: Registry,
  ) {
    this.departments = new Map(estate.departments.map((d) => [d.id, { id: d.id, name: d.name, channels: d.channels }]));
  }

  /** The recipient on site that every alert of the site goes to: 'property', else 'subdistrict', else none. */
  local(site: string): 'property' | 'subdistrict' | null {
    const s = this.registry.sites.get(site);
    if (s?.property) return 'property';
    if (s?.subdistrict) return 'subdistrict';
    return null;
  }

  /** The recipients of this alert among `ids`, each with its channels (several for a system alert's 'property'). */
  targets(alert: Pick<Alert, 'site' | 'device'>, ids: readonly string[]): Target[] {
    const out: Target[] = [];
    for (const id of ids) out.push(...this.resolve(alert, id));
    return out;
  }

  resolve(alert: Pick<Alert, 'site' | 'device'>, id: string): Target[] {
    const contact = (c: Contact | undefined): Target[] => (c ? [{ id, name: c.name, channels: c.channels }] : []);
    const site = alert.site ? this.registry.sites.get(alert.site) : undefined;
    switch (id) {
      case 'property':
      case 'subdistrict':
        if (site) return contact(id === 'property' ? site.property : site.subdistrict);
        // A system alert (no site) goes to every site's own recipient when no operators are named.
        return this.estate.sites.flatMap((s) => contact(id === 'property' ? s.property : s.subdistrict));
      case 'maintainer': {
        const device = alert.device ? this.registry.device(alert.device) : undefined;
        return contact(device?.def.maintainer ?? site?.maintainer);
      }
      case 'operators':
        return contact(this.estate.alerting.operators);
      default: {
        const d = this.departments.get(id);
        return d ? [d] : [];
      }
    }
  }
}
