/** Estates for tests, built as YAML so they go through the real loader. */
import { parseEstate, type Estate } from '../../config/index.ts';

export interface HydrantSite {
  site?: string;
  name?: string;
  /** each device's reporting interval (s); the catalog's default when absent */
  intervalSec?: number | ((i: number) => number);
  building?: (i: number) => string;
}

/** The YAML of one site with `n` hydrants named H0000…, plus the admin token `demo-admin`. */
export function hydrantEstateYaml(n: number, o: HydrantSite = {}): string {
  const building = o.building ?? ((i: number) => `${(i % 20) + 1}栋`);
  const interval = (i: number) => (o.intervalSec === undefined ? '' : `, intervalSec: ${typeof o.intervalSec === 'number' ? o.intervalSec : o.intervalSec(i)}`);
  const devices = Array.from({ length: n }, (_, i) => `      - { id: ${hydrantId(i)}, kind: hydrant, building: "${building(i)}"${interval(i)} }`);
  return `sites:
  - id: ${o.site ?? 'load-test'}
    name: ${o.name ?? '压测小区'}
    property: { name: 测试物业 }
    devices:
${devices.join('\n')}
auth:
  tokens:
    - { name: admin, role: admin, sha256: cce7a2cf1ae045989cfc914fb95a41526f167a838b3c7d33745143614abace7c }
`;
}

/** One site with `n` hydrants named H0000…, plus the admin token `demo-admin`. */
export function hydrantEstate(n: number, site = 'load-test'): Estate {
  return parseEstate(hydrantEstateYaml(n, { site }), 'test-estate.yaml', {});
}

export function hydrantId(i: number): string {
  return `H${String(i).padStart(4, '0')}`;
}
