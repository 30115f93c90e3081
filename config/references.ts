/**
 * Cross-reference checks that a schema alone cannot express: unique ids across the
 * estate, and every name that points somewhere pointing at something that exists.
 */
import type { Estate } from './schema.ts';
import type { YamlPath } from './load.ts';

export interface Problem {
  path: YamlPath;
  message: string;
}

function duplicates<T>(items: readonly T[], key: (t: T) => string, path: (i: number) => YamlPath, what: string, out: Problem[]): Set<string> {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const k = key(item);
    const first = seen.get(k);
    if (first !== undefined) out.push({ path: path(i), message: `duplicate ${what} "${k}" (first at index ${first})` });
    else seen.set(k, i);
  });
  return new Set(seen.keys());
}

export function checkReferences(estate: Estate): Problem[] {
  const out: Problem[] = [];
  const siteIds = duplicates(estate.sites, (s) => s.id, (i) => ['sites', i, 'id'], 'site id', out);
  const departmentIds = duplicates(estate.departments, (d) => d.id, (i) => ['departments', i, 'id'], 'department id', out);
  if (departmentIds.has('property')) {
    const i = estate.departments.findIndex((d) => d.id === 'property');
    out.push({ path: ['departments', i, 'id'], message: '"property" is reserved for each site\'s property company' });
  }

  // Device ids are unique across the whole estate (CONTRACT section 2).
  const devices = new Map<string, string>();
  estate.sites.forEach((site, s) =>
    site.devices.forEach((device, d) => {
      const first = devices.get(device.id);
      if (first) out.push({ path: ['sites', s, 'devices', d, 'id'], message: `duplicate device id "${device.id}" (also at ${first})` });
      else devices.set(device.id, `sites[${s}].devices[${d}]`);
    }),
  );

  duplicates(estate.auth.tokens, (t) => t.name, (i) => ['auth', 'tokens', i, 'name'], 'token name', out);
  duplicates(estate.auth.tokens, (t) => t.sha256.toLowerCase(), (i) => ['auth', 'tokens', i, 'sha256'], 'token hash', out);
  estate.auth.tokens.forEach((token, i) => {
    token.sites?.forEach((site, j) => {
      if (!siteIds.has(site)) out.push({ path: ['auth', 'tokens', i, 'sites', j], message: `site "${site}" does not exist` });
    });
    token.departments?.forEach((dep, j) => {
      if (!departmentIds.has(dep)) out.push({ path: ['auth', 'tokens', i, 'departments', j], message: `department "${dep}" does not exist` });
    });
    if (token.role === 'department' && !token.departments?.length) {
      out.push({ path: ['auth', 'tokens', i, 'departments'], message: 'a department token must name its departments' });
    }
    if (token.role !== 'department' && token.departments?.length) {
      out.push({ path: ['auth', 'tokens', i, 'departments'], message: `only a department token is scoped to departments (this one is ${token.role})` });
    }
  });
  return out;
}
