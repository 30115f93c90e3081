/**
 * How a device behind an adapter reaches the service: a link speaks its platform (a OneNET or
 * CTWing push, a ChirpStack uplink, a vendor gateway's JSON), and keeps the counts a fleet's
 * summary reports.
 */
import type { Metrics } from '../model.ts';

export interface PlatformReading {
  /** simulated time, epoch ms */
  t: number;
  /** the reading's slot on the device's schedule */
  seq: number;
  metrics: Metrics;
}

export interface LinkStats {
  /** readings the platform delivered (a push answered 200, an MQTT publish acknowledged) */
  sent: number;
  /** of those, delivered after at least one failed try */
  replayed: number;
  /** pushes or MQTT messages delivered */
  messages: number;
  /** readings waiting to be delivered */
  buffered: number;
  /** readings given up: the queue full, or the platform's retries spent (CTWing tries 4 times in all) */
  dropped: number;
}

export interface PlatformLink {
  /** the platform's name for logs: "onenet cmcc-hydrants" */
  readonly name: string;
  /** the service takes what this device sends now (its last push answered 200; its MQTT client connected) */
  readonly connected: boolean;
  readonly stats: LinkStats;
  /** the device comes online (a OneNET or CTWing online message; an MQTT connection) */
  start(): void;
  send(r: PlatformReading): void;
  /** a catalog event raised (active) or cleared, in the vendor's terms where its profile maps one */
  event(code: string, active: boolean, t: number, detail?: string): void;
  /** the device goes offline (an offline message), what is queued is sent (bounded), the link closes */
  stop(): Promise<void>;
}

export const newLinkStats = (): LinkStats => ({ sent: 0, replayed: 0, messages: 0, buffered: 0, dropped: 0 });
