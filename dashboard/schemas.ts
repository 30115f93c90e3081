/**
 * JSON schemas of what the API answers. Fastify serializes responses through them (so a field
 * missing here would be dropped: tests compare whole bodies), and /api/openapi.json is built
 * from them.
 */
const nullableString = { type: ['string', 'null'] } as const;
const time = { type: 'string', format: 'date-time' } as const;
const nullableTime = { type: ['string', 'null'], format: 'date-time' } as const;
const localized = { type: 'object', properties: { 'zh-CN': { type: 'string' }, en: { type: 'string' } }, required: ['zh-CN', 'en'] } as const;

export const errorSchema = {
  type: 'object',
  properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] } },
  required: ['error'],
} as const;

const counts = (keys: string[]) => ({ type: 'object', properties: Object.fromEntries(keys.map((k) => [k, { type: 'integer' }])) });

export const siteSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    district: nullableString,
    address: nullableString,
    /** null: the compound has no property company (its sub-district office stands in, if it names one) */
    property: { type: ['object', 'null'], properties: { name: { type: 'string' } } },
    subdistrict: { type: ['object', 'null'], properties: { name: { type: 'string' } } },
    maintainer: { type: ['object', 'null'], properties: { name: { type: 'string' } } },
    devices: { type: 'integer' },
    kinds: counts(['elevator', 'hydrant', 'firelane', 'water']),
    byState: counts(['ok', 'warning', 'critical', 'offline', 'unknown']),
  },
} as const;

export const deviceSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    site: { type: 'string' },
    siteName: { type: 'string' },
    kind: { type: 'string' },
    building: { type: 'string' },
    name: nullableString,
    intervalSec: { type: 'integer' },
    attributes: { type: 'object', additionalProperties: true },
    online: { type: ['boolean', 'null'] },
    lastSeen: nullableTime,
    state: { type: 'string', enum: ['ok', 'warning', 'critical', 'offline', 'unknown'] },
    values: {
      type: 'object',
      additionalProperties: { type: 'object', properties: { value: { type: ['number', 'boolean'] }, unit: { type: 'string' }, at: time } },
    },
    alerts: counts(['critical', 'warning']),
    thresholds: {
      type: 'array',
      items: { type: 'object', properties: { rule: { type: 'string' }, metric: { type: 'string' }, direction: { type: 'string' }, severity: { type: 'string' }, value: { type: 'number' } } },
    },
  },
} as const;

export const seriesSchema = {
  type: 'object',
  properties: {
    device: { type: 'string' },
    metric: { type: 'string' },
    unit: { type: 'string' },
    step: { type: 'string' },
    points: { type: 'array', items: { type: 'object', properties: { t: time, mean: { type: 'number' }, min: { type: 'number' }, max: { type: 'number' } } } },
  },
} as const;

export const alertSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    key: { type: 'string' },
    site: { type: 'string' },
    siteName: { type: 'string' },
    building: { type: 'string' },
    device: { type: 'string' },
    kind: { type: 'string' },
    rule: { type: 'string' },
    metric: nullableString,
    severity: { type: 'string', enum: ['warning', 'critical'] },
    state: { type: 'string', enum: ['pending', 'firing', 'acknowledged', 'resolved'] },
    value: { type: ['number', 'null'] },
    threshold: { type: ['number', 'null'] },
    unit: nullableString,
    startsAt: time,
    firedAt: nullableTime,
    endsAt: nullableTime,
    ackDeadline: nullableTime,
    ackedAt: nullableTime,
    ackedBy: nullableString,
    ackNote: nullableString,
    escalatedAt: nullableTime,
    departments: { type: 'array', items: { type: 'string' } },
    /** the recipients that were told of it */
    notified: { type: 'array', items: { type: 'string' } },
    /** when anyone was first told of it; null while nobody was (held back) */
    announcedAt: nullableTime,
    /** about the sensor, not the equipment: silent, offline, battery, a site's outage */
    housekeeping: { type: 'boolean' },
    /** a site's outage (kind `site`, device ''): the devices that went dark; null otherwise */
    devices: { type: ['array', 'null'], items: { type: 'string' } },
    summary: localized,
    mutedBy: nullableString,
    flapping: { type: 'boolean' },
    source: { type: 'string' },
  },
} as const;
