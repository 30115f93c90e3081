/**
 * A site's devices going dark together (docs/alerts.md#outages): when
 * at least `share` of a site's devices, and at least `minDevices`, went silent or offline
 * within `windowSec`, the site has one `site_offline` alert listing them, and their own
 * silent and offline alerts are held back (an inhibition, notify/inhibit.ts). It resolves
 * once fewer than that are dark; those still dark then take their own course.
 */
import type { Alerting, RegisteredDevice, Registry } from '../config/index.ts';

export type OutageJudgement = { state: 'raise'; since: number; devices: string[]; threshold: number; total: number } | { state: 'clear' };

interface SiteDark {
  /** device → since when it is dark (service time) */
  dark: Map<string, number>;
  raised: boolean;
  /** the devices the open alert lists */
  listed: string;
}

export class SiteOutages {
  private readonly sites = new Map<string, SiteDark>();
  private readonly totals = new Map<string, number>();

  constructor(
    registry: Registry,
    private readonly config: Alerting['siteOutage'],
  ) {
    for (const d of registry.devices.values()) this.totals.set(d.site, (this.totals.get(d.site) ?? 0) + 1);
  }

  private site(id: string): SiteDark {
    let s = this.sites.get(id);
    if (!s) this.sites.set(id, (s = { dark: new Map(), raised: false, listed: '' }));
    return s;
  }

  /** How many dark devices make an outage at this site. */
  threshold(site: string): number {
    const total = this.totals.get(site) ?? 0;
    return Math.max(this.config.minDevices, Math.ceil(this.config.share * total));
  }

  /** The device went silent or offline at `at`; true when its site's outage should be judged again. */
  dark(d: RegisteredDevice, at: number): boolean {
    const s = this.site(d.site);
    if (s.dark.has(d.id)) return false;
    s.dark.set(d.id, at);
    return true;
  }

  /** The device was heard from; true when it had been dark. */
  light(d: RegisteredDevice): boolean {
    const s = this.sites.get(d.site);
    return s ? s.dark.delete(d.id) : false;
  }

  /** An outage alert open at a start. */
  restore(a: { site: string; devices?: string[] }): void {
    const s = this.site(a.site);
    s.raised = true;
    s.listed = (a.devices ?? []).join(',');
  }

  /** Whether the site's outage alert must be raised, updated or resolved now; null when nothing changes. */
  judge(site: string, now: number): OutageJudgement | null {
    const s = this.site(site);
    const threshold = this.threshold(site);
    const total = this.totals.get(site) ?? 0;
    if (!s.raised) {
      let since = Infinity;
      let recent = 0;
      for (const at of s.dark.values()) {
        if (at >= now - this.config.windowSec * 1000) {
          recent++;
          since = Math.min(since, at);
        }
      }
      if (recent < threshold) return null;
      s.raised = true;
      const devices = [...s.dark.keys()].sort();
      s.listed = devices.join(',');
      return { state: 'raise', since, devices, threshold, total };
    }
    if (s.dark.size < threshold) {
      s.raised = false;
      s.listed = '';
      return { state: 'clear' };
    }
    const devices = [...s.dark.keys()].sort();
    const listed = devices.join(',');
    if (listed === s.listed) return null;
    s.listed = listed;
    return { state: 'raise', since: Math.min(...s.dark.values()), devices, threshold, total };
  }
}
