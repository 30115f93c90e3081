/**
 * The registry with what is known now (docs/interfaces.md#routes): `GET /api/sites`,
 * `GET /api/devices?site=&kind=`, `GET /api/devices/:id` and its time series
 * `GET /api/devices/:id/series?metric=&from=&to=&step=`.
 */
import type { FastifyInstance } from 'fastify';
import { METRICS, isKind, type RegisteredDevice, type Registry, type RuleOverride } from '../../config/index.ts';
import type { SeriesStore } from '../../storage/index.ts';
import { effectiveRules } from '../../alerts/index.ts';
import { ApiError } from '../errors.ts';
import { canSeeSite } from '../auth.ts';
import { principalOf } from '../server.ts';
import type { LatestCache } from '../live/latest.ts';
import { bearerErrors, deviceSchema, siteSchema, seriesSchema } from '../schemas.ts';

export interface RegistryDeps {
  registry: Registry;
  latest: LatestCache;
  store: SeriesStore;
  overrides: readonly RuleOverride[];
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

const STEP = /^(\d+)(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export function parseStep(step: string): number | undefined {
  const m = STEP.exec(step);
  if (!m) return undefined;
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

function formatStep(ms: number): string {
  for (const [u, n] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) if (ms % n === 0) return `${ms / n}${u}`;
  return `${ms}ms`;
}

export function deviceJson(d: RegisteredDevice, latest: LatestCache) {
  const now = latest.get(d.id);
  const catalog = METRICS[d.kind];
  const values: Record<string, { value: number | boolean; unit: string; at: string }> = {};
  for (const [m, [value, at]] of Object.entries(now?.values ?? {})) values[m] = { value, unit: catalog.get(m)?.unit ?? '', at: iso(at)! };
  let critical = 0;
  let warning = 0;
  for (const s of now?.alerts.values() ?? []) s === 'critical' ? critical++ : warning++;
  return {
    id: d.id,
    site: d.site,
    siteName: d.siteName,
    kind: d.kind,
    building: d.building,
    name: d.name ?? null,
    intervalSec: d.intervalSec,
    attributes: d.attributes,
    online: now?.online ?? null,
    lastSeen: iso(now?.lastSeen ?? null),
    state: latest.state(d.id),
    values,
    alerts: { critical, warning },
  };
}

/** The thresholds the device's rules use, per metric, for charts. */
function thresholds(d: RegisteredDevice, overrides: readonly RuleOverride[]) {
  const out: { rule: string; metric: string; direction: 'above' | 'below'; severity: 'warning' | 'critical'; value: number }[] = [];
  for (const r of effectiveRules(d, overrides)) {
    if (r.type !== 'threshold') continue;
    for (const l of r.levels) out.push({ rule: r.id, metric: r.metric, direction: r.direction, severity: l.severity, value: l.limit });
  }
  return out;
}

const tags = ['registry'];
const notFound = (what: string) => [404, `NOT_FOUND: no such ${what}, or one outside the token's scope`] as const;
const sitesRoute = {
  operationId: 'listSites',
  tags,
  summary: 'The sites the token may see, with their devices counted by kind and state',
  response: { 200: { type: 'object', properties: { items: { type: 'array', items: siteSchema } } }, ...bearerErrors() },
};
const deviceRoute = {
  operationId: 'getDevice',
  tags,
  summary: 'One device with its latest values and the thresholds its rules use',
  response: { 200: { ...deviceSchema, properties: { ...deviceSchema.properties, thresholds: { type: 'array' } } }, ...bearerErrors(notFound('device')) },
};

export function registryRoutes(app: FastifyInstance, deps: RegistryDeps): void {
  const visibleDevice = (req: Parameters<typeof principalOf>[0], id: string): RegisteredDevice => {
    const d = deps.registry.device(id);
    if (!d || !canSeeSite(principalOf(req), d.site)) throw new ApiError('NOT_FOUND', `no device ${id}`);
    return d;
  };

  app.get('/api/sites', { schema: sitesRoute }, async (req) => {
    const p = principalOf(req);
    const items = deps.registry.estate.sites
      .filter((s) => canSeeSite(p, s.id))
      .map((s) => {
        const byState = { ok: 0, warning: 0, critical: 0, offline: 0, unknown: 0 };
        const kinds = { elevator: 0, hydrant: 0, firelane: 0, water: 0 };
        for (const d of s.devices) {
          byState[deps.latest.state(d.id)]++;
          kinds[d.kind]++;
        }
        // Who answers on site: the property company, or the sub-district office where there is none (names only, never channels).
        const named = (c: { name: string } | undefined) => (c ? { name: c.name } : null);
        return {
          id: s.id,
          name: s.name,
          district: s.district ?? null,
          address: s.address ?? null,
          property: named(s.property),
          subdistrict: named(s.subdistrict),
          maintainer: named(s.maintainer),
          devices: s.devices.length,
          kinds,
          byState,
        };
      });
    return { items };
  });

  app.get<{ Querystring: { site?: string; kind?: string } }>(
    '/api/devices',
    {
      schema: {
        operationId: 'listDevices',
        tags,
        summary: 'Devices with their latest values, online state and open alerts',
        querystring: { type: 'object', additionalProperties: false, properties: { site: { type: 'string', maxLength: 64 }, kind: { type: 'string', enum: ['elevator', 'hydrant', 'firelane', 'water'] } } },
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: deviceSchema } } }, ...bearerErrors(400, notFound('site')) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const { site, kind } = req.query;
      if (site !== undefined && (!deps.registry.sites.has(site) || !canSeeSite(p, site))) throw new ApiError('NOT_FOUND', `no site ${site}`);
      const items = [...deps.registry.devices.values()]
        .filter((d) => canSeeSite(p, d.site) && (site === undefined || d.site === site) && (kind === undefined || d.kind === kind))
        .map((d) => deviceJson(d, deps.latest));
      return { items };
    },
  );

  app.get<{ Params: { id: string } }>('/api/devices/:id', { schema: deviceRoute }, async (req) => {
    const d = visibleDevice(req, req.params.id);
    return { ...deviceJson(d, deps.latest), thresholds: thresholds(d, deps.overrides) };
  });

  app.get<{ Params: { id: string }; Querystring: { metric: string; from?: string; to?: string; step?: string } }>(
    '/api/devices/:id/series',
    {
      schema: {
        operationId: 'getDeviceSeries',
        tags,
        summary: 'A metric of a device over time, downsampled to `step` (empty steps left out)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['metric'],
          properties: { metric: { type: 'string', maxLength: 64 }, from: { type: 'string', format: 'date-time' }, to: { type: 'string', format: 'date-time' }, step: { type: 'string', pattern: STEP.source } },
        },
        response: {
          200: seriesSchema,
          ...bearerErrors([400, "BAD_REQUEST: a metric the device's kind does not have, `from` not before `to`, a bad `step`, or more than 10,000 steps"], notFound('device')),
        },
      },
    },
    async (req) => {
      const d = visibleDevice(req, req.params.id);
      const q = req.query;
      const spec = isKind(d.kind) ? METRICS[d.kind].get(q.metric) : undefined;
      if (!spec) throw new ApiError('BAD_REQUEST', `${d.kind} has no metric ${q.metric}`);
      const to = q.to ? Date.parse(q.to) : Date.now();
      const from = q.from ? Date.parse(q.from) : to - 3_600_000;
      if (!(from < to)) throw new ApiError('BAD_REQUEST', 'from must be before to');
      // Without a step: about 300 points over the span, at least 1 s.
      const stepMs = q.step ? parseStep(q.step)! : Math.max(1000, Math.ceil((to - from) / 300 / 1000) * 1000);
      if ((to - from) / stepMs > 10_000) throw new ApiError('BAD_REQUEST', 'at most 10,000 steps: choose a larger step');
      const buckets = await deps.store.series({ measurement: d.kind, device: d.id, metric: q.metric, from, to, stepMs });
      return { device: d.id, metric: q.metric, unit: spec.unit, step: q.step ?? formatStep(stepMs), points: buckets.map((b) => ({ t: new Date(b.t).toISOString(), mean: b.mean, min: b.min, max: b.max })) };
    },
  );
}
