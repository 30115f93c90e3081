/** Estates for tests, built as YAML so they go through the real loader. */
import { parseEstate, type Estate } from '../../config/index.ts';

/** One site with `n` hydrants named H000…, plus the admin token `demo-admin`. */
export function hydrantEstate(n: number, site = 'load-test'): Estate {
  const devices = Array.from({ length: n }, (_, i) => `      - { id: ${hydrantId(i)}, kind: hydrant, building: "${(i % 20) + 1}栋" }`);
  return parseEstate(
    `sites:
  - id: ${site}
    name: 压测小区
    property: { name: 测试物业 }
    devices:
${devices.join('\n')}
auth:
  tokens:
    - { name: admin, role: admin, sha256: cce7a2cf1ae045989cfc914fb95a41526f167a838b3c7d33745143614abace7c }
`,
    'test-estate.yaml',
    {},
  );
}

export function hydrantId(i: number): string {
  return `H${String(i).padStart(4, '0')}`;
}
