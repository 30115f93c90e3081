/**
 * Cross-reference checks that a schema alone cannot express: unique ids across the
 * estate, and every name that points somewhere pointing at something that exists.
 *
 * They run on the raw (substituted) data, before or whatever the schema says, so that a
 * file with a schema mistake still gets its reference mistakes reported in the same run.
 * Hence every access is defensive: a value of the wrong shape is the schema's to report,
 * and is skipped here.
 */
import { RULE_IDS } from './rules.ts';
import { EVENT_CODES, METRICS, isKind } from './catalog.ts';
import type { YamlPath } from './load.ts';

export interface Problem {
  path: YamlPath;
  message: string;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The key of each item (undefined where it has none); reports repeats; returns the keys seen. */
function duplicates(items: readonly unknown[], key: (t: Obj) => string | undefined, path: (i: number) => YamlPath, what: string, out: Problem[]): Set<string> {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    if (!isObj(item)) return;
    const k = key(item);
    if (k === undefined) return;
    const first = seen.get(k);
    if (first !== undefined) out.push({ path: path(i), message: `duplicate ${what} "${k}" (first at index ${first})` });
    else seen.set(k, i);
  });
  return new Set(seen.keys());
}

/** Recipient ids the service gives a meaning of its own; no department may take them. */
const RESERVED_WHY: Record<string, string> = {
  property: "each site's property company",
  subdistrict: "each site's sub-district office",
  maintainer: 'whoever keeps a site\'s or a device\'s sensors running',
  operators: "the service's own operators (alerting.operators)",
};
const RESERVED_RECIPIENTS = Object.keys(RESERVED_WHY);

/** Things worth saying at start that do not stop it: a site that nobody on site would hear of. */
export function checkWarnings(estate: { sites: readonly { id: string; property?: unknown; subdistrict?: unknown }[] }): string[] {
  return estate.sites
    .filter((s) => !s.property && !s.subdistrict)
    .map((s) => `site "${s.id}" has neither a property company nor a sub-district office: its alerts reach only departments and maintainers`);
}

export function checkReferences(estate: unknown): Problem[] {
  const out: Problem[] = [];
  if (!isObj(estate)) return out;
  const sites = list(estate.sites);
  const departments = list(estate.departments);
  const siteIds = duplicates(sites, (s) => str(s.id), (i) => ['sites', i, 'id'], 'site id', out);
  const departmentIds = duplicates(departments, (d) => str(d.id), (i) => ['departments', i, 'id'], 'department id', out);
  for (const reserved of RESERVED_RECIPIENTS) {
    if (!departmentIds.has(reserved)) continue;
    const i = departments.findIndex((d) => isObj(d) && d.id === reserved);
    out.push({ path: ['departments', i, 'id'], message: `"${reserved}" is reserved (${RESERVED_WHY[reserved]})` });
  }

  // Device ids are unique across the whole estate (docs/interfaces.md#topics).
  const devices = new Map<string, string>();
  sites.forEach((site, s) => {
    if (!isObj(site)) return;
    list(site.devices).forEach((device, d) => {
      const id = isObj(device) ? str(device.id) : undefined;
      if (id === undefined) return;
      const first = devices.get(id);
      if (first) out.push({ path: ['sites', s, 'devices', d, 'id'], message: `duplicate device id "${id}" (also at ${first})` });
      else devices.set(id, `sites[${s}].devices[${d}]`);
    });
  });

  const auth = isObj(estate.auth) ? estate.auth : {};
  const tokens = list(auth.tokens);
  duplicates(tokens, (t) => str(t.name), (i) => ['auth', 'tokens', i, 'name'], 'token name', out);
  duplicates(tokens, (t) => str(t.sha256)?.toLowerCase(), (i) => ['auth', 'tokens', i, 'sha256'], 'token hash', out);
  tokens.forEach((token, i) => {
    if (!isObj(token)) return;
    const tokenSites = list(token.sites);
    const tokenDepartments = list(token.departments);
    tokenSites.forEach((site, j) => {
      if (typeof site === 'string' && !siteIds.has(site)) out.push({ path: ['auth', 'tokens', i, 'sites', j], message: `site "${site}" does not exist` });
    });
    tokenDepartments.forEach((dep, j) => {
      if (typeof dep === 'string' && !departmentIds.has(dep)) out.push({ path: ['auth', 'tokens', i, 'departments', j], message: `department "${dep}" does not exist` });
    });
    if (token.role === 'department' && tokenDepartments.length === 0) {
      out.push({ path: ['auth', 'tokens', i, 'departments'], message: 'a department token must name its departments' });
    }
    if (typeof token.role === 'string' && token.role !== 'department' && tokenDepartments.length > 0) {
      out.push({ path: ['auth', 'tokens', i, 'departments'], message: `only a department token is scoped to departments (this one is ${token.role})` });
    }
  });
  // Routes and rule overrides name departments, sites, devices and rules that exist.
  const checkMatch = (m: unknown, path: (string | number)[]) => {
    if (!isObj(m)) return;
    const each = (key: string, exists: (v: string) => boolean, what: string, hint = '') => {
      const v = m[key];
      const values = typeof v === 'string' ? [[v, [...path, key]] as const] : Array.isArray(v) ? v.map((x, j) => [x, [...path, key, j]] as const) : [];
      for (const [x, at] of values) if (typeof x === 'string' && !exists(x)) out.push({ path: at, message: `${what} "${x}" does not exist${hint}` });
    };
    each('site', (x) => siteIds.has(x), 'site');
    each('device', (x) => devices.has(x), 'device');
    each('rule', (x) => RULE_IDS.has(x), 'rule', ' (see config/rules.ts)');
  };
  list(estate.routes).forEach((route, i) => {
    if (!isObj(route)) return;
    checkMatch(route.match, ['routes', i, 'match']);
    list(route.departments).forEach((dep, j) => {
      if (typeof dep === 'string' && !departmentIds.has(dep)) out.push({ path: ['routes', i, 'departments', j], message: `department "${dep}" does not exist` });
    });
  });
  list(estate.rules).forEach((rule, i) => checkMatch(rule, ['rules', i]));
  list(estate.inhibit).forEach((rule, i) => {
    if (!isObj(rule)) return;
    checkMatch(rule.source, ['inhibit', i, 'source']);
    checkMatch(rule.target, ['inhibit', i, 'target']);
  });
  const alerting = isObj(estate.alerting) ? estate.alerting : {};
  checkAdapters(estate, sites, out);
  const contactChannels = (o: unknown) => (isObj(o) ? list(o.channels) : []);
  const needsSmtp = [
    ...sites.flatMap((s) => (isObj(s) ? [...contactChannels(s.property), ...contactChannels(s.subdistrict), ...contactChannels(s.maintainer), ...list(s.devices).flatMap((d) => (isObj(d) ? contactChannels(d.maintainer) : []))] : [])),
    ...departments.flatMap((d) => contactChannels(d)),
    ...contactChannels(alerting.operators),
  ].some((c) => isObj(c) && c.type === 'email');
  if (needsSmtp && !isObj(estate.smtp)) out.push({ path: ['smtp'], message: 'an email channel needs the smtp settings' });
  return out;
}

/** Adapters, profiles and the devices that name them (docs/adapters.md). */
function checkAdapters(estate: Obj, sites: unknown[], out: Problem[]): void {
  const adapters = list(estate.adapters);
  const adapterIds = duplicates(adapters, (a) => str(a.id), (i) => ['adapters', i, 'id'], 'adapter id', out);
  const profiles = isObj(estate.profiles) ? estate.profiles : {};
  for (const [name, p] of Object.entries(profiles)) {
    if (!isObj(p) || typeof p.kind !== 'string' || !isKind(p.kind)) continue;
    const kind = p.kind;
    const metrics = isObj(p.metrics) ? p.metrics : {};
    for (const [field, m] of Object.entries(metrics)) {
      const metric = typeof m === 'string' ? m : isObj(m) ? str(m.metric) : undefined;
      if (metric !== undefined && !METRICS[kind].has(metric)) {
        out.push({ path: ['profiles', name, 'metrics', field, ...(typeof m === 'string' ? [] : ['metric'])], message: `"${metric}" is not a metric of ${kind}s (${[...METRICS[kind].keys()].join(', ')})` });
      }
    }
    const events = isObj(p.events) ? p.events : {};
    for (const [code, e] of Object.entries(events)) {
      if (typeof e === 'string' && !EVENT_CODES[kind].includes(e)) out.push({ path: ['profiles', name, 'events', code], message: `"${e}" is not an event code of ${kind}s (${EVENT_CODES[kind].join(', ')})` });
    }
  }
  const sourceOf = new Map<string, string>();
  sites.forEach((site, s) => {
    if (!isObj(site)) return;
    list(site.devices).forEach((device, d) => {
      if (!isObj(device)) return;
      const at = (...rest: (string | number)[]) => ['sites', s, 'devices', d, ...rest];
      const profile = str(device.profile);
      if (profile !== undefined) {
        const p = profiles[profile];
        if (!isObj(p)) out.push({ path: at('profile'), message: `profile "${profile}" does not exist` });
        else if (typeof p.kind === 'string' && p.kind !== device.kind) out.push({ path: at('profile'), message: `profile "${profile}" is for ${p.kind}s; this device is of kind ${String(device.kind)}` });
        if (!isObj(device.source)) out.push({ path: at('profile'), message: 'a profile is for a device that names its source (an adapter)' });
      }
      const source = isObj(device.source) ? device.source : undefined;
      if (!source) return;
      const adapter = str(source.adapter);
      const id = str(source.id);
      if (adapter !== undefined && !adapterIds.has(adapter)) out.push({ path: at('source', 'adapter'), message: `adapter "${adapter}" does not exist` });
      if (adapter === undefined || id === undefined) return;
      const key = `${adapter}\u0000${id}`;
      const first = sourceOf.get(key);
      if (first) out.push({ path: at('source', 'id'), message: `adapter "${adapter}" already has a device with source id "${id}" (${first})` });
      else sourceOf.set(key, `sites[${s}].devices[${d}]`);
      const def = adapters.find((a) => isObj(a) && a.id === adapter);
      const type = isObj(def) ? str(def.type) : undefined;
      if ((type === 'chirpstack' || type === 'mqtt-json') && profile === undefined) out.push({ path: at('profile'), message: `a device behind a ${type} adapter needs a profile: its fields are the vendor's` });
    });
  });
}
