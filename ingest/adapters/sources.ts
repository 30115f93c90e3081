/**
 * Which registered device an adapter's message is about: each adapter's devices by their
 * source id (the estate file's `source: {adapter, id}`), with their profile. Built once from
 * the estate file; the file's checks guarantee one device per (adapter, source id).
 */
import type { Estate, ProfileDef, RegisteredDevice, Registry } from '../../config/index.ts';

export interface SourceDevice {
  device: RegisteredDevice;
  profile: ProfileDef | undefined;
}

export class SourceIndex {
  private readonly byAdapter = new Map<string, Map<string, SourceDevice>>();

  constructor(estate: Estate, registry: Registry) {
    for (const d of registry.devices.values()) {
      const source = d.def.source;
      if (!source) continue;
      let m = this.byAdapter.get(source.adapter);
      if (!m) this.byAdapter.set(source.adapter, (m = new Map()));
      m.set(source.id, { device: d, profile: d.def.profile ? estate.profiles[d.def.profile] : undefined });
    }
  }

  /** The device with this source id behind this adapter (the first id of several that is known). */
  find(adapter: string, ...ids: (string | number | undefined | null)[]): SourceDevice | undefined {
    const m = this.byAdapter.get(adapter);
    if (!m) return undefined;
    for (const id of ids) {
      if (id === undefined || id === null || id === '') continue;
      const d = m.get(String(id));
      if (d) return d;
    }
    return undefined;
  }

  count(adapter: string): number {
    return this.byAdapter.get(adapter)?.size ?? 0;
  }
}
