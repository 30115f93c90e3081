/**
 * Routing by jurisdiction (CONTRACT section 4) as a tree of matchers, after Alertmanager's
 * dispatch/route.go: a node matches an alert when every key it names matches; its
 * departments are added; children are tried in order and the first that matches wins unless
 * it says `continue`. The estate file's routes come first, then the default jurisdiction.
 * The site's property company is added to every alert by the engine, not by the tree.
 */
import type { Matcher, RouteDef } from '../config/index.ts';

export interface RouteSubject {
  site: string;
  device: string;
  kind: string;
  rule: string;
  severity: string;
  /** the rule's own default department (config/rules.ts) */
  department: string;
  /** a municipal hydrant (attribute `municipal`) belongs to the water authority too */
  municipal: boolean;
}

export interface RouteNode {
  match: Matcher & { municipal?: boolean };
  departments: string[];
  continue: boolean;
  /** departments taken from the subject itself: its rule's default department */
  fromRule?: boolean;
  children: RouteNode[];
}

export function matches(m: RouteNode['match'], s: RouteSubject): boolean {
  return (
    (m.site === undefined || m.site === s.site) &&
    (m.device === undefined || m.device === s.device) &&
    (m.kind === undefined || m.kind === s.kind) &&
    (m.rule === undefined || m.rule === s.rule) &&
    (m.severity === undefined || m.severity === s.severity) &&
    (m.municipal === undefined || m.municipal === s.municipal)
  );
}

/** Walks the tree; returns the departments in the order they were found, without repeats. */
export function route(node: RouteNode, s: RouteSubject, out: string[] = []): string[] {
  if (!matches(node.match, s)) return out;
  const add = (d: string) => d && !out.includes(d) && out.push(d);
  node.departments.forEach(add);
  if (node.fromRule) add(s.department);
  for (const child of node.children) {
    const matched = matches(child.match, s);
    route(child, s, out);
    if (matched && !child.continue) break;
  }
  return out;
}

/** The estate's routes, then the default jurisdiction of the district notice. */
export function buildRouteTree(routes: readonly RouteDef[]): RouteNode {
  const custom: RouteNode[] = routes.map((r) => ({ match: r.match, departments: [...r.departments], continue: r.continue, children: [] }));
  const defaults: RouteNode[] = [
    // A municipal hydrant: the water authority, and fire rescue for its pressure as for any hydrant.
    { match: { kind: 'hydrant', municipal: true }, departments: ['water-authority'], continue: true, children: [] },
    // Everything else by its rule's department: elevators to market supervision, hydrants and
    // fire lanes to fire rescue, water quality to the health commission, facilities to the water authority.
    { match: {}, departments: [], fromRule: true, continue: false, children: [] },
  ];
  return { match: {}, departments: [], continue: false, children: [...custom, ...defaults] };
}
