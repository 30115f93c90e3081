/**
 * Routing by jurisdiction (docs/alerts.md#route) as a tree of
 * matchers, after Alertmanager's dispatch/route.go: a node matches an alert when every key it
 * names matches (a list: any of its values); its departments are added; children are tried in
 * order and the first that matches wins unless it says `continue`. The estate file's routes
 * come first, then the defaults:
 *
 * - a site's outage (site_offline) to the maintainer and the departments whose equipment there went dark;
 * - sensor housekeeping (silent, offline, battery) to the maintainer, not to the department;
 * - a municipal hydrant to the water authority too;
 * - everything else to its rule's department.
 *
 * It is judged again at every announcement with the alert's severity then. The site's own
 * recipient (property company or sub-district office) is added by the notifier, not here.
 */
import { HOUSEKEEPING_RULES, SITE_OFFLINE, type Matcher, type RouteDef } from '../config/index.ts';

export interface RouteSubject {
  site: string;
  device: string;
  kind: string;
  rule: string;
  severity: string;
  building: string;
  /** the rule's own departments: its default department (config/rules.ts); a site's outage, those of the kinds that went dark */
  departments: readonly string[];
  /** a municipal hydrant (attribute `municipal`) belongs to the water authority too */
  municipal: boolean;
}

export interface RouteNode {
  match: Matcher & { municipal?: boolean };
  departments: string[];
  continue: boolean;
  /** departments taken from the subject itself: its rule's departments */
  fromRule?: boolean;
  children: RouteNode[];
}

/** Whether a matcher's key admits a value: absent, equal, or one of a list. */
export function admits(m: string | readonly string[] | undefined, v: string): boolean {
  return m === undefined || (typeof m === 'string' ? m === v : m.includes(v));
}

export function matches(m: RouteNode['match'], s: RouteSubject): boolean {
  return (
    admits(m.site, s.site) &&
    admits(m.device, s.device) &&
    admits(m.kind, s.kind) &&
    admits(m.rule, s.rule) &&
    admits(m.severity, s.severity) &&
    (m.municipal === undefined || m.municipal === s.municipal)
  );
}

/** Walks the tree; returns the departments in the order they were found, without repeats. */
export function route(node: RouteNode, s: RouteSubject, out: string[] = []): string[] {
  if (!matches(node.match, s)) return out;
  const add = (d: string) => d && !out.includes(d) && out.push(d);
  node.departments.forEach(add);
  if (node.fromRule) s.departments.forEach(add);
  for (const child of node.children) {
    const matched = matches(child.match, s);
    route(child, s, out);
    if (matched && !child.continue) break;
  }
  return out;
}

const HOUSEKEEPING_DEVICE_RULES = [...HOUSEKEEPING_RULES].filter((r) => r !== SITE_OFFLINE);

/** The estate's routes, then the defaults (see the file's comment). */
export function buildRouteTree(routes: readonly RouteDef[]): RouteNode {
  const custom: RouteNode[] = routes.map((r) => ({ match: r.match, departments: [...r.departments], continue: r.continue, children: [] }));
  const defaults: RouteNode[] = [
    { match: { rule: SITE_OFFLINE }, departments: ['maintainer'], fromRule: true, continue: false, children: [] },
    { match: { rule: HOUSEKEEPING_DEVICE_RULES }, departments: ['maintainer'], continue: false, children: [] },
    { match: { kind: 'hydrant', municipal: true }, departments: ['water-authority'], continue: true, children: [] },
    { match: {}, departments: [], fromRule: true, continue: false, children: [] },
  ];
  return { match: {}, departments: [], continue: false, children: [...custom, ...defaults] };
}
