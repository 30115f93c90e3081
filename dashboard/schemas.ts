/**
 * JSON schemas of what the API answers. Fastify serializes responses through them (so a field
 * missing here would be dropped: tests compare whole bodies), and /api/openapi.json is built
 * from them.
 */
const nullableString = { type: ['string', 'null'] } as const;
const time = { type: 'string', format: 'date-time' } as const;
const nullableTime = { type: ['string', 'null'], format: 'date-time' } as const;
const localized = { type: 'object', properties: { 'zh-CN': { type: 'string' }, en: { type: 'string' } }, required: ['zh-CN', 'en'] } as const;

/**
 * Every refusal's body (the error catalogue, dashboard/errors.ts). In /api/openapi.json each
 * error answer refers to it as `#/components/schemas/Error` (routes/openapi.ts).
 */
export const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string', description: 'a code of the error catalogue (docs/interfaces.md, "Errors")' }, message: { type: 'string' } },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
} as const;

/** The statuses of the error catalogue that a route may answer with, beside 500 INTERNAL (any route). */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 410 | 413 | 415 | 429 | 503;

/** What each status means on most routes; a route gives its own words where they differ. */
const ERROR_MEANING: Record<ErrorStatus, string> = {
  400: 'BAD_REQUEST: a path parameter, the query or the body is not valid',
  401: 'UNAUTHENTICATED: no bearer token, or one the estate file does not hold',
  403: "FORBIDDEN: the token's role may not do this",
  404: "NOT_FOUND: no such id, or one outside the token's scope (the same answer)",
  409: 'CONFLICT: already done',
  410: 'GONE: no longer available',
  413: 'PAYLOAD_TOO_LARGE: the body is over 1 MiB',
  415: 'UNSUPPORTED_MEDIA_TYPE: the body is not application/json',
  429: 'TOO_MANY_REQUESTS: this client presented 10 wrong tokens within a minute and is blocked for 5 minutes, whatever it presents',
  503: 'STORE_UNAVAILABLE: the operational store cannot be used right now; try again after Retry-After',
};

const retryAfter = { 'Retry-After': { type: 'integer', description: 'seconds to wait before trying again' } } as const;

/** A refusal in a route's own words; `retryAfter: false` where it sends no Retry-After (the default: on 429 and 503). */
export type ErrorAnswer = ErrorStatus | readonly [ErrorStatus, string] | readonly [ErrorStatus, string, { retryAfter: boolean }];

/**
 * Response schemas for the refusals a route can give, for its `schema.response`: each the
 * catalogue's body (fastify serializes refusals through it: the same two keys), with its
 * meaning as the description, and `Retry-After` on 429 and 503. Give a status alone for its
 * usual meaning, or `[status, words]` for the route's own.
 */
export function errorResponses(...list: ErrorAnswer[]): Record<number, unknown> {
  const out: Record<number, unknown> = {};
  for (const item of list) {
    const [status, description, opts] = typeof item === 'number' ? [item, ERROR_MEANING[item], undefined] : item;
    const withHeader = opts?.retryAfter ?? (status === 429 || status === 503);
    out[status] = { description, ...(withHeader ? { headers: retryAfter } : {}), ...errorSchema };
  }
  return out;
}

/** The refusals every route behind a bearer token can give (401, 429), and the given ones. */
export const bearerErrors = (...list: ErrorAnswer[]) => errorResponses(401, 429, ...list);

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
