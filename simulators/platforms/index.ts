/**
 * Devices behind adapters (docs/adapters.md), simulated through their platforms: for each the
 * link its adapter's type speaks (onenet.ts, ctwing.ts, chirpstack.ts, mqtt-json.ts), with the
 * connections they share (one ChirpStack integration per adapter on its broker).
 */
import { ADAPTER_TYPES, type AdapterDef, type AdapterType, type Estate, type ProfileDef } from '../../config/index.ts';
import type { SimDeviceSpec } from '../model.ts';
import { ChirpstackLink } from './chirpstack.ts';
import { CtwingLink } from './ctwing.ts';
import type { PlatformLink } from './link.ts';
import { SharedMqtt } from './mqtt.ts';
import { MqttJsonLink } from './mqtt-json.ts';
import { OnenetLink } from './onenet.ts';

export { PlatformDevice, type PlatformDeviceOptions } from './device.ts';
export type { PlatformLink, PlatformReading, LinkStats } from './link.ts';
export { onenetBody, onenetEncrypt, onenetSignature } from './onenet.ts';
export { vendorFields, vendorEventCode } from './profile.ts';
export { encodeFrame } from './codecs.ts';
export { ADAPTER_TYPES };

/** A device of the estate file behind an adapter: the adapter, its id there, its profile. */
export interface DeviceSource {
  adapter: AdapterDef;
  id: string;
  profile: ProfileDef | undefined;
}

/** The adapter each device of the estate file reports through, by device id (devices on our MQTT are not in it). */
export function deviceSources(estate: Estate): Map<string, DeviceSource> {
  const adapters = new Map(estate.adapters.map((a) => [a.id, a]));
  const out = new Map<string, DeviceSource>();
  for (const site of estate.sites) {
    for (const d of site.devices) {
      const adapter = d.source ? adapters.get(d.source.adapter) : undefined;
      if (!adapter || !d.source) continue;
      out.set(d.id, { adapter, id: d.source.id, profile: d.profile ? estate.profiles[d.profile] : undefined });
    }
  }
  return out;
}

export interface PlatformsOptions {
  /** the service's HTTP base, where OneNET and CTWing push: http://127.0.0.1:8080 */
  http: string;
  /** the service's broker, for ChirpStack and vendor gateways whose adapter names none of its own */
  mqttUrl: string;
  username?: string;
  password?: string;
  qos?: 0 | 1;
  reconnectPeriodMs?: number;
  /** readings a device keeps waiting for its platform at most */
  bufferLimit?: number;
  clientIdPrefix?: string;
  onError: (device: string, message: string) => void;
}

export class Platforms {
  private readonly shared = new Map<string, SharedMqtt>();

  constructor(private readonly opts: PlatformsOptions) {}

  private mqttFor(key: string, def: Extract<AdapterDef, { type: 'chirpstack' | 'mqtt-json' }>, device: string): SharedMqtt {
    let m = this.shared.get(key);
    if (!m) {
      const own = def.mqtt !== undefined;
      const username = own ? def.username : this.opts.username;
      const password = own ? def.password : this.opts.password;
      m = new SharedMqtt({
        url: def.mqtt ?? this.opts.mqttUrl,
        clientId: `${this.opts.clientIdPrefix ?? 'sim-'}${key}`,
        ...(username ? { username } : {}),
        ...(password ? { password } : {}),
        ...(this.opts.reconnectPeriodMs !== undefined ? { reconnectPeriodMs: this.opts.reconnectPeriodMs } : {}),
        onError: (message) => this.opts.onError(device, message),
      });
      this.shared.set(key, m);
    }
    return m;
  }

  /** The link of a device behind an adapter. */
  link(spec: SimDeviceSpec, source: DeviceSource): PlatformLink {
    const { adapter: a, id, profile } = source;
    const onError = (message: string) => this.opts.onError(spec.id, message);
    const http = { base: this.opts.http.replace(/\/+$/, ''), limit: this.opts.bufferLimit ?? 5000, onError };
    const qos = this.opts.qos ?? 1;
    switch (a.type) {
      case 'onenet':
        return new OnenetLink(spec, a, profile, id, http);
      case 'ctwing':
        return new CtwingLink(spec, a, profile, id, http);
      case 'chirpstack':
        // One integration per ChirpStack application publishes for all its devices.
        return new ChirpstackLink(spec, a, profile, id, this.mqttFor(`chirpstack-${a.id}`, a, spec.id), qos, onError);
      case 'mqtt-json':
        // Each terminal its own connection.
        return new MqttJsonLink(spec, a, profile, id, this.mqttFor(spec.id, a, spec.id), qos, onError);
    }
  }
}

export function isAdapterType(s: string): s is AdapterType {
  return (ADAPTER_TYPES as readonly string[]).includes(s);
}
