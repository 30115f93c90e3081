/** The routing table of `npm run check-config` (alerts/routing-table.ts, scripts/check-config.ts), from inline estates. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseEstate } from '../config/index.ts';
import { checkConfig } from '../scripts/check-config.ts';
import { formatRoutingTable, routingTable } from './routing-table.ts';

const ESTATE = `
sites:
  - id: garden
    name: 金佛花园
    property: { name: 渝南物业, channels: [] }
    maintainer: { name: 蓝盾维保, channels: [] }
    devices:
      - { id: HY-1, kind: hydrant, building: "1栋" }
      - { id: HY-2, kind: hydrant, building: "2栋", attributes: { municipal: true } }
      - { id: EL-1, kind: elevator, building: "1栋" }
  - id: old-town
    name: 老城小区
    subdistrict: { name: 南城街道办, channels: [] }
    devices:
      - { id: WS-1, kind: water, building: "泵房" }
departments:
  - { id: fire-rescue, name: 区消防救援支队 }
  - { id: police, name: 区公安局 }
  - { id: housing, name: 区住房城乡建委 }
routes:
  - { match: { kind: hydrant, severity: critical }, departments: [police], continue: true }
`;

const rows = () => routingTable(parseEstate(ESTATE, 'routes.yaml', {}));
const row = (site: string, device: string, rule: string) => rows().find((r) => r.site === site && r.rule === rule && (device === '' || r.devices.includes(device)))!;

describe('the routing table', () => {
  it.each([
    ['a warning by the default jurisdiction, a critical also by a severity route', 'garden', 'HY-1', 'pressure_low', ['fire-rescue', 'property'], ['police', 'fire-rescue', 'property']],
    ['a municipal hydrant to the water authority too', 'garden', 'HY-2', 'pressure_low', ['water-authority', 'fire-rescue', 'property'], ['police', 'water-authority', 'fire-rescue', 'property']],
    ['an elevator to market supervision (not in this estate: listed, told nobody)', 'garden', 'EL-1', 'trapped', null, ['market-supervision', 'property']],
    ['a battery to the maintainer and the property company', 'garden', 'EL-1', 'battery_low', ['maintainer', 'property'], ['maintainer', 'property']],
    ["a hydrant's battery at critical: the estate's own route for critical hydrants takes it too (routes come first)", 'garden', 'HY-1', 'battery_low', ['maintainer', 'property'], ['police', 'maintainer', 'property']],
    ['a compound without a property company: its sub-district office', 'old-town', 'WS-1', 'chlorine_low', ['health-commission', 'subdistrict'], ['health-commission', 'subdistrict']],
    ['no maintainer named: housekeeping to the site\'s own recipient alone', 'old-town', 'WS-1', 'device_silent', ['subdistrict'], null],
  ])('%s', (_what, site, device, rule, warning, critical) => {
    const r = row(site, device, rule);
    expect(r.warning).toEqual(warning);
    expect(r.critical).toEqual(critical);
  });

  it('says who hears at escalation and what holds an alert back', () => {
    expect(row('garden', 'EL-1', 'trapped').escalation).toEqual({ minutes: 5, to: ['market-supervision', 'property', 'housing'] });
    expect(row('garden', 'HY-1', 'battery_low').escalation).toBeNull();
    expect(row('garden', 'EL-1', 'trapped_derived').heldBack).toEqual(['while rule=trapped (same device)', 'inspection mode']);
    expect(row('garden', 'HY-1', 'device_silent').heldBack).toEqual(expect.arrayContaining(['while rule=site_offline (same site)', 'grouped (30 s)']));
    expect(row('garden', '', 'site_offline')).toMatchObject({ kind: 'site', warning: ['maintainer', 'fire-rescue', 'market-supervision', 'property'], escalation: null });
  });

  it('shares a row between devices routed alike, and names every recipient', () => {
    expect(rows().filter((r) => r.rule === 'pressure_low').map((r) => r.devices)).toEqual([['HY-1'], ['HY-2']]);
    const text = formatRoutingTable(rows(), parseEstate(ESTATE, 'routes.yaml', {}));
    expect(text).toMatch(/maintainer@garden\s+蓝盾维保/);
    expect(text).toMatch(/subdistrict@old-town\s+南城街道办/);
    expect(text).toMatch(/market-supervision\s+\(not in the estate file: nobody is told\)/);
  });
});

describe('npm run check-config', () => {
  const run = (text: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'check-config-'));
    try {
      writeFileSync(join(dir, 'estate.yaml'), text);
      const out: string[] = [];
      const err: string[] = [];
      const code = checkConfig(['estate.yaml'], dir, (s) => out.push(s), (s) => err.push(s));
      return { code, out: out.join('\n'), err: err.join('\n') };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('prints the table of a valid file, with the warning of a site nobody on site would hear of', () => {
    const r = run(ESTATE.replace('departments:', '  - id: nobody\n    name: 无人小区\n    devices: []\ndepartments:'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/valid — 3 sites, 4 devices/);
    expect(r.out).toMatch(/warning: site "nobody" has neither a property company nor a sub-district office/);
    expect(r.out).toMatch(/garden\s+hydrant\s+pressure_low\s+HY-1\s+fire-rescue, property\s+police, fire-rescue, property/);
  });

  it('refuses a bad file with every problem at once and exit code 2', () => {
    const r = run(ESTATE.replace('departments: [police]', 'departments: [nobody]').replace('kind: water', 'kind: boiler'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/routes\[0\]\.departments\[0\]: department "nobody" does not exist/);
    expect(r.err).toMatch(/sites\[1\]\.devices\[0\]/);
  });
});
