/**
 * The estate file's keys for hardware that does not speak our MQTT (docs/adapters.md):
 * `adapters` (one instance per platform connection), `profiles` (how one model's fields and
 * fault codes map to the metric catalog), and a device's `source` and `profile`. The schema
 * pieces live here; cross-checks (a device's adapter and profile exist, the profile's kind is
 * the device's, one source id per device) are in references.ts.
 */
import { z } from 'zod';

export const ADAPTER_TYPES = ['onenet', 'ctwing', 'chirpstack', 'mqtt-json'] as const;
export type AdapterType = (typeof ADAPTER_TYPES)[number];

/**
 * The binary payload decoders a profile may name (`codec`): each a small decoder of one
 * model's frames, written and tested in ingest/adapters/codecs.ts; the estate file only names one.
 */
export const CODECS = {
  'hydrant-pressure-v1': 'NB-IoT hydrant pressure frame: u8 version 1, u16 pressure kPa, u8 battery %, u8 flags (bit0 tamper, bit1 leak); big-endian',
  'water-quality-v1': 'water-quality analyser frame: u8 version 1, u16 turbidity × 0.01 NTU, u16 free chlorine × 0.01 mg/L, u16 pH × 0.01, u8 battery %; big-endian',
} as const;
export type CodecName = keyof typeof CODECS;

const adapterId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must match [a-z0-9][a-z0-9-]{0,63}');
const secret = z.string().min(1);
const mqttUrl = z.string().regex(/^(mqtts?|wss?):\/\/./, 'must be an mqtt://, mqtts://, ws:// or wss:// URL');

export const adapterSchema = z.discriminatedUnion('type', [
  z.strictObject({
    id: adapterId,
    type: z.literal('onenet'),
    /** the token entered in OneNET's push settings */
    token: secret,
    /** OneNET's EncodingAESKey (43 characters), for its safe mode */
    aesKey: z.string().regex(/^[A-Za-z0-9+/]{43}$/, "must be OneNET's EncodingAESKey: 43 characters of base64").optional(),
  }),
  z.strictObject({
    id: adapterId,
    type: z.literal('ctwing'),
    /** the last segment of the push URL entered in CTWing's subscription (CTWing signs nothing) */
    secret: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/, 'must be 16–128 characters of [A-Za-z0-9_-] (it is part of a URL)'),
  }),
  z.strictObject({
    id: adapterId,
    type: z.literal('chirpstack'),
    /** the ChirpStack application id whose events to take */
    application: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be the application id ([A-Za-z0-9-])'),
    /** ChirpStack's MQTT broker; default the service's own */
    mqtt: mqttUrl.optional(),
    username: z.string().optional(),
    password: z.string().optional(),
  }),
  z.strictObject({
    id: adapterId,
    type: z.literal('mqtt-json'),
    /** the vendor's topic, with `+id` where the device's source id stands */
    topic: z.string().refine((t) => t.split('/').filter((l) => l === '+id').length === 1 && !t.includes('#'), 'must contain the level +id exactly once, and no #'),
    mqtt: mqttUrl.optional(),
    username: z.string().optional(),
    password: z.string().optional(),
  }),
]);

/** A profile field: a catalog metric name, or one with a scale and offset (value × scale + offset). */
const fieldMapping = z.union([
  z.string().min(1),
  z.strictObject({ metric: z.string().min(1), scale: z.number().finite().default(1), offset: z.number().finite().default(0) }),
]);

const fieldPath = z.string().regex(/^[A-Za-z0-9_$@-]+(\.[A-Za-z0-9_$@-]+)*$/, 'must be a field name or a dotted path (car.floor)');

export const profileSchema = z.strictObject({
  kind: z.enum(['elevator', 'hydrant', 'firelane', 'water']),
  /** vendor field (a dotted path into the message) → catalog metric */
  metrics: z.record(fieldPath, fieldMapping).default({}),
  /** the field that carries the vendor's fault code (mqtt-json); a mapped code starts that event */
  eventField: fieldPath.optional(),
  /** vendor event code → catalog event code */
  events: z.record(z.string().min(1), z.string().min(1)).default({}),
  /** the field that carries the reading's time (epoch ms or RFC 3339); default the arrival time */
  timeField: fieldPath.optional(),
  /** the decoder of the model's binary frames (CTWing APPdata, ChirpStack data without a codec in ChirpStack) */
  codec: z.enum(Object.keys(CODECS) as [CodecName, ...CodecName[]]).optional(),
});

export const deviceSourceSchema = z.strictObject({
  adapter: adapterId,
  /** the device's id on that platform: OneNET dev_id or deviceName, CTWing deviceId or IMEI, a LoRaWAN DevEUI, a vendor's id */
  id: z.string().min(1).max(128),
});

export type AdapterDef = z.infer<typeof adapterSchema>;
export type ProfileDef = z.infer<typeof profileSchema>;
export type DeviceSource = z.infer<typeof deviceSourceSchema>;
