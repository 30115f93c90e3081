/** The routing tree: the default jurisdiction of docs/alerts.md#rules, and the estate's own routes first. */
import { describe, expect, it } from 'vitest';
import { parseEstate } from '../config/index.ts';
import { buildRouteTree, route, type RouteSubject } from './routing.ts';

const subject = (s: Partial<RouteSubject>): RouteSubject => ({ site: 's1', device: 'D', kind: 'hydrant', rule: 'pressure_low', severity: 'critical', building: 'b', departments: ['fire-rescue'], municipal: false, ...s });

describe('default jurisdiction', () => {
  const tree = buildRouteTree([]);
  const cases: [string, Partial<RouteSubject>, string[]][] = [
    ['elevators to market supervision', { kind: 'elevator', rule: 'trapped', departments: ['market-supervision'] }, ['market-supervision']],
    ['hydrant pressure to fire rescue', {}, ['fire-rescue']],
    ['a municipal hydrant to the water authority and fire rescue', { municipal: true }, ['water-authority', 'fire-rescue']],
    ['fire lanes to fire rescue', { kind: 'firelane', rule: 'lane_occupied' }, ['fire-rescue']],
    ['water quality to the health commission', { kind: 'water', rule: 'chlorine_low', departments: ['health-commission'] }, ['health-commission']],
    ['water facilities to the water authority', { kind: 'water', rule: 'pump_fault', departments: ['water-authority'] }, ['water-authority']],
    ['a silent sensor to its maintainer, not to the department', { rule: 'device_silent', severity: 'warning' }, ['maintainer']],
    ['a low battery to its maintainer', { kind: 'elevator', rule: 'battery_low', departments: ['market-supervision'] }, ['maintainer']],
    ["a site's outage to the maintainer and the departments whose equipment went dark", { kind: 'site', rule: 'site_offline', departments: ['fire-rescue', 'market-supervision'] }, ['maintainer', 'fire-rescue', 'market-supervision']],
  ];
  it.each(cases)('%s', (_, s, expected) => expect(route(tree, subject(s))).toEqual(expected));
});

describe('estate routes', () => {
  const estate = parseEstate(
    `
sites:
  - { id: s1, name: A, property: { name: P }, devices: [ { id: HY-1, kind: hydrant, building: b } ] }
  - { id: s2, name: B, property: { name: Q }, devices: [] }
departments:
  - { id: fire-rescue, name: F }
  - { id: police, name: 区公安局 }
  - { id: street-office, name: 街道办 }
routes:
  - { match: { kind: firelane }, departments: [police], continue: true }
  - { match: { site: s2 }, departments: [street-office] }
  - { match: { rule: pressure_low, severity: warning }, departments: [street-office] }
  - { match: { rule: [battery_low, device_silent], site: s1 }, departments: [fire-rescue] }
`,
    'routes.yaml',
    {},
  );
  const tree = buildRouteTree(estate.routes);
  const cases: [string, Partial<RouteSubject>, string[]][] = [
    ['continue: fire lanes to the police and then by default', { kind: 'firelane', rule: 'lane_occupied' }, ['police', 'fire-rescue']],
    ['a site route without continue replaces the default', { site: 's2' }, ['street-office']],
    ['a route by rule and severity', { severity: 'warning' }, ['street-office']],
    ['the same rule at another severity goes by default', { severity: 'critical' }, ['fire-rescue']],
    ['a list matches any of its values, before the housekeeping default', { rule: 'battery_low' }, ['fire-rescue']],
  ];
  it.each(cases)('%s', (_, s, expected) => expect(route(tree, subject(s))).toEqual(expected));

  it('a route naming a department that does not exist is a configuration error', () => {
    expect(() =>
      parseEstate(`sites: [ { id: s1, name: A, property: { name: P } } ]\nroutes:\n  - { match: { kind: firelane }, departments: [nobody] }\n`, 'bad.yaml', {}),
    ).toThrow(/routes\[0\]\.departments\[0\]: department "nobody" does not exist/);
  });
});
