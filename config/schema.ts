/**
 * The estate file's schema: the one source of its types, defaults and validation.
 * Unknown keys are refused everywhere (a typo must not be silently ignored).
 */
import { z } from 'zod';
import cron from 'node-cron';
import { KINDS } from './catalog.ts';
import { adapterSchema, deviceSourceSchema, profileSchema } from './adapters.ts';

export const SITE_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
export const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const siteId = z.string().regex(SITE_ID, 'must match [a-z0-9][a-z0-9-]{0,63}');
const deviceId = z.string().regex(DEVICE_ID, 'must match [A-Za-z0-9][A-Za-z0-9_.-]{0,63}');
const departmentId = z.string().regex(SITE_ID, 'must match [a-z0-9][a-z0-9-]{0,63}');

/**
 * Free text that becomes an InfluxDB tag value (building) or a label: no control characters
 * (line protocol cannot carry a newline in a tag) and no trailing backslash (InfluxDB 1.x
 * cannot represent one at the end of a tag value).
 */
const label = z
  .string()
  .min(1, 'must not be empty')
  .max(200, 'must be at most 200 characters')
  // eslint-disable-next-line no-control-regex
  .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'must not contain control characters such as a newline')
  .refine((s) => !s.endsWith('\\'), 'must not end with a backslash');

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

const webhook = z.strictObject({
  type: z.literal('webhook'),
  url: httpUrl,
  secret: z.string().min(1).optional(),
});
const wecom = z.strictObject({ type: z.literal('wecom'), url: httpUrl });
const dingtalk = z.strictObject({ type: z.literal('dingtalk'), url: httpUrl, secret: z.string().min(1).optional() });
const email = z.strictObject({ type: z.literal('email'), to: z.array(z.email()).min(1) });
export const channelSchema = z.discriminatedUnion('type', [webhook, wecom, dingtalk, email]);

/**
 * Someone the service tells: a name and the channels to reach them by. A site's property
 * company, its sub-district office, a maintainer (docs/alerts.md, "Recipients").
 */
const contactSchema = z.strictObject({ name: label, channels: z.array(channelSchema).default([]) });

const deviceBase = {
  id: deviceId,
  building: label,
  name: label.optional(),
  /** seconds between the device's regular reports; "silent" is 3 of them */
  intervalSec: z.number().int().min(1).max(86_400).default(60),
  /** who keeps this device running (its 维保单位, the sensor vendor); wins over the site's */
  maintainer: contactSchema.optional(),
  /** a device that reaches the service through an adapter (docs/adapters.md): which, and its id there */
  source: deviceSourceSchema.optional(),
  /** how its fields and codes map to the catalog (a key of `profiles`) */
  profile: z.string().min(1).optional(),
};

const elevator = z.strictObject({
  ...deviceBase,
  kind: z.literal('elevator'),
  attributes: z
    .strictObject({
      ratedSpeedMps: z.number().positive().max(25).default(1.75),
      floors: z.number().int().min(2).max(200).default(18),
      lowestFloor: z.number().int().min(-5).max(1).default(1),
    })
    .default({ ratedSpeedMps: 1.75, floors: 18, lowestFloor: 1 }),
});
const hydrant = z.strictObject({
  ...deviceBase,
  kind: z.literal('hydrant'),
  attributes: z
    .strictObject({
      minPressureMpa: z.number().min(0).max(2.5).default(0.14),
      /** part of the municipal network (water authority) rather than the compound's fire system */
      municipal: z.boolean().default(false),
    })
    .default({ minPressureMpa: 0.14, municipal: false }),
});
const firelane = z.strictObject({
  ...deviceBase,
  kind: z.literal('firelane'),
  attributes: z.strictObject({}).default({}),
});
const water = z.strictObject({
  ...deviceBase,
  kind: z.literal('water'),
  attributes: z.strictObject({ tankVolumeM3: z.number().positive().optional() }).default({}),
});
export const deviceSchema = z.discriminatedUnion('kind', [elevator, hydrant, firelane, water]);

const siteSchema = z.strictObject({
  id: siteId,
  name: label,
  district: label.optional(),
  address: label.optional(),
  /** the compound's property-service company; many old compounds have none */
  property: contactSchema.optional(),
  /** the sub-district office (街道办事处); receives what the property company would where there is none */
  subdistrict: contactSchema.optional(),
  /** who keeps the site's sensors and equipment running, unless a device names its own */
  maintainer: contactSchema.optional(),
  devices: z.array(deviceSchema).default([]),
});

const departmentSchema = z.strictObject({
  id: departmentId,
  name: label,
  channels: z.array(channelSchema).default([]),
});

export const ROLES = ['viewer', 'operator', 'department', 'admin'] as const;
const tokenSchema = z.strictObject({
  name: z.string().min(1).max(64),
  role: z.enum(ROLES),
  sha256: z.string().regex(/^[0-9a-f]{64}$/i, 'must be the hex SHA-256 of the token (64 hex digits)'),
  sites: z.array(siteId).optional(),
  departments: z.array(departmentId).optional(),
});

/** One value, or a list of which any may match. */
const oneOrMany = <T extends z.ZodType>(t: T) => z.union([t, z.array(t).min(1)]);

/** Which alerts a route or an inhibition applies to; every given key must match (a list: any of it). */
const matcherSchema = z.strictObject({
  site: oneOrMany(siteId).optional(),
  device: oneOrMany(deviceId).optional(),
  kind: oneOrMany(z.enum([...KINDS, 'system', 'site'])).optional(),
  rule: oneOrMany(z.string().min(1)).optional(),
  severity: oneOrMany(z.enum(['warning', 'critical'])).optional(),
});

/** The labels of an alert that matchers and inhibitions' `equal` may name. */
export const ALERT_LABELS = ['site', 'device', 'kind', 'rule', 'severity', 'building'] as const;
export type AlertLabel = (typeof ALERT_LABELS)[number];

/**
 * An inhibition (after Alertmanager's inhibit_rules): while an open alert matches `source`,
 * announcements of alerts matching `target` whose `equal` labels are the same are held back.
 */
const inhibitSchema = z.strictObject({
  source: matcherSchema,
  target: matcherSchema,
  equal: z.array(z.enum(ALERT_LABELS)).default([]),
});

/** A route: matching alerts go to these departments; `continue` lets later routes match too. */
const routeSchema = z.strictObject({
  match: matcherSchema.default({}),
  departments: z.array(departmentId).min(1),
  continue: z.boolean().default(false),
});

const levelOverride = z.strictObject({
  value: z.number().finite().optional(),
  forSec: z.number().int().min(0).max(86_400).optional(),
});

/** Changes one default rule for a site, a kind or a device (the most specific wins). */
const ruleOverrideSchema = z.strictObject({
  rule: z.string().min(1),
  site: siteId.optional(),
  device: deviceId.optional(),
  disabled: z.boolean().optional(),
  warning: levelOverride.nullable().optional(),
  critical: levelOverride.nullable().optional(),
  hysteresis: z.number().min(0).optional(),
  severity: z.enum(['warning', 'critical']).optional(),
});

const minutes = (d: number) => z.number().min(0.05).max(7 * 24 * 60).default(d);

const alertingSchema = z.strictObject({
  /** minutes an alert may stay unacknowledged before it escalates to `housing` */
  escalateAfterMin: z
    .strictObject({ critical: minutes(5), warning: minutes(30), trapped: minutes(5) })
    .default({ critical: 5, warning: 30, trapped: 5 }),
  /** minutes between reminders while unacknowledged (0: none) */
  reminderEveryMin: z.number().min(0).max(24 * 60).default(15),
  /** held as flapping after more than `transitions` state changes within `windowMin` */
  flapping: z.strictObject({ transitions: z.number().int().min(2).default(4), windowMin: minutes(30) }).default({ transitions: 4, windowMin: 30 }),
  /** a delivery that has not succeeded after this many minutes is given up (and raises a system alert) */
  deliveryDeadlineMin: minutes(24 * 60),
  /** who gets the service's own alerts (store or broker down, a channel failing); default: every property company */
  operators: z.strictObject({ name: label, channels: z.array(channelSchema).min(1) }).optional(),
  /** a device silent or offline this long: its department hears, once, that it can no longer see that equipment */
  monitoringLostAfterMin: z.number().min(0.05).max(30 * 24 * 60).default(1440),
  /** housekeeping alerts (silent, offline, battery) escalate to housing too */
  escalateHousekeeping: z.boolean().default(false),
  /** a site's devices going dark together: one site_offline alert (docs/alerts.md, "Outages") */
  siteOutage: z
    .strictObject({
      windowSec: z.number().int().min(1).max(3600).default(120),
      minDevices: z.number().int().min(1).default(3),
      share: z.number().gt(0).max(1).default(0.5),
    })
    .default({ windowSec: 120, minDevices: 3, share: 0.5 }),
  /** housekeeping announcements of one site and rule within waitSec go out as one alert.group */
  group: z.strictObject({ waitSec: z.number().min(0).max(3600).default(30) }).default({ waitSec: 30 }),
  /** delivered (or given up) outbox rows are deleted after this many days */
  outboxRetentionDays: z.number().min(1).max(3650).default(30),
});

const smtpSchema = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65_535).default(587),
  secure: z.boolean().default(false),
  user: z.string().optional(),
  password: z.string().optional(),
  from: z.string().min(3),
});

export const REPORT_KINDS = ['health', 'maintenance', 'accountability'] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];
export const REPORT_FORMATS = ['html', 'csv', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];
export const SCHEDULE_NAMES = ['daily', 'weekly', 'monthly'] as const;
export type ScheduleName = (typeof SCHEDULE_NAMES)[number];

/**
 * A report as the API lists it (docs/reports.md): what the reports part makes and the
 * dashboard serves and shows, so both name it here. Times are RFC 3339 in +08:00.
 */
export interface ReportView {
  id: string;
  kind: ReportKind;
  from: string;
  to: string;
  /** the compounds it covers; null: every compound */
  sites: string[] | null;
  /** the schedule that made it; null when requested */
  schedule: ScheduleName | null;
  createdAt: string;
  formats: Record<ReportFormat, string>;
}

/**
 * A scheduled report run (docs/reports.md): a cron expression judged in Asia/Shanghai and the
 * kinds it makes, each over the period its name says (the previous day, week or month).
 */
const reportSchedule = (expression: string, kinds: ReportKind[]) =>
  z
    .strictObject({
      cron: z
        .string()
        .refine((s) => cron.validate(s), 'must be a cron expression: minute hour day-of-month month day-of-week (a seconds field may come first)')
        .default(expression),
      kinds: z.array(z.enum(REPORT_KINDS)).min(1).default([...kinds]),
      enabled: z.boolean().default(true),
    })
    .default({ cron: expression, kinds: [...kinds], enabled: true });

const reportsSchema = z.strictObject({
  daily: reportSchedule('0 7 * * *', ['health']),
  weekly: reportSchedule('30 7 * * 1', ['health', 'accountability']),
  monthly: reportSchedule('0 8 1 * *', ['health', 'maintenance', 'accountability']),
  /** wear flags of the maintenance report: the last 7 days against the 30 before them */
  wear: z
    .strictObject({
      doorCyclesFactor: z.number().min(1).max(100).default(1.5),
      vibrationFactor: z.number().min(1).max(100).default(1.3),
    })
    .default({ doorCyclesFactor: 1.5, vibrationFactor: 1.3 }),
});

export const estateSchema = z.strictObject({
  sites: z.array(siteSchema).min(1, 'the estate needs at least one site'),
  departments: z.array(departmentSchema).default([]),
  /** platforms and vendor gateways that deliver devices' data (docs/adapters.md) */
  adapters: z.array(adapterSchema).default([]),
  /** how a model's fields and codes map to the catalog, by name */
  profiles: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must match [A-Za-z0-9][A-Za-z0-9_.-]{0,63}'), profileSchema).default({}),
  routes: z.array(routeSchema).default([]),
  /** inhibitions beyond the defaults (alerts/notify/inhibit.ts) */
  inhibit: z.array(inhibitSchema).default([]),
  rules: z.array(ruleOverrideSchema).default([]),
  alerting: alertingSchema.default({
    escalateAfterMin: { critical: 5, warning: 30, trapped: 5 },
    reminderEveryMin: 15,
    flapping: { transitions: 4, windowMin: 30 },
    deliveryDeadlineMin: 24 * 60,
    monitoringLostAfterMin: 1440,
    escalateHousekeeping: false,
    siteOutage: { windowSec: 120, minDevices: 3, share: 0.5 },
    group: { waitSec: 30 },
    outboxRetentionDays: 30,
  }),
  smtp: smtpSchema.optional(),
  reports: reportsSchema.default({
    daily: { cron: '0 7 * * *', kinds: ['health'], enabled: true },
    weekly: { cron: '30 7 * * 1', kinds: ['health', 'accountability'], enabled: true },
    monthly: { cron: '0 8 1 * *', kinds: ['health', 'maintenance', 'accountability'], enabled: true },
    wear: { doorCyclesFactor: 1.5, vibrationFactor: 1.3 },
  }),
  auth: z
    .strictObject({
      tokens: z.array(tokenSchema).default([]),
      protectMetrics: z.boolean().default(false),
    })
    .default({ tokens: [], protectMetrics: false }),
});

export type Estate = z.infer<typeof estateSchema>;
export type Site = Estate['sites'][number];
export type Device = z.infer<typeof deviceSchema>;
export type Department = Estate['departments'][number];
export type Channel = z.infer<typeof channelSchema>;
export type TokenDef = Estate['auth']['tokens'][number];
export type Role = (typeof ROLES)[number];
export type Matcher = z.infer<typeof matcherSchema>;
export type InhibitDef = Estate['inhibit'][number];
export type Contact = z.infer<typeof contactSchema>;
export type RouteDef = Estate['routes'][number];
export type RuleOverride = Estate['rules'][number];
export type Alerting = Estate['alerting'];
export type Smtp = NonNullable<Estate['smtp']>;
export type ReportsConfig = Estate['reports'];
export type ReportScheduleConfig = ReportsConfig['daily'];
export { KINDS };
