/**
 * The vocabulary of the adapters (docs/adapters.md): what a platform's message becomes — the
 * telemetry, events and statuses of docs/interfaces.md's MQTT section, for a registered device
 * — before they take the same way as any MQTT message: decode and validate, de-duplication,
 * spool, rules. An adapter only translates; it never stores, judges or answers.
 */
import type { RegisteredDevice } from '../../config/index.ts';
import type { Reject } from '../decode.ts';

/** One message as a device speaking our MQTT would have sent it. */
export interface SourceMessage {
  device: RegisteredDevice;
  channel: 'telemetry' | 'event' | 'status';
  /** the payload's JSON, as docs/interfaces.md describes it for that channel */
  body: Record<string, unknown> | Record<string, unknown>[];
}

/** What one platform message gave: the messages, and what could not be taken (each with the adapter named). */
export interface Translation {
  messages: SourceMessage[];
  rejects: Reject[];
  /** the one device an MQTT adapter's message was about, once found (its refusals are its owner's to record under SHARD) */
  device?: RegisteredDevice;
}

/** Where an adapter's message came from, for its rejects: the adapter, a topic-like name, the raw body. */
export interface AdapterOrigin {
  adapter: string;
  /** `onenet/<id>`, `ctwing/<id>`, or the MQTT topic it came on */
  topic: string;
  raw: string;
}

export const emptyTranslation = (): Translation => ({ messages: [], rejects: [] });
