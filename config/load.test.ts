/**
 * The estate file's two readings (config/load.ts): the quick one (js-yaml) and the exact one
 * (`yaml`'s document, which knows lines) give the same estate for a file without mistakes, and
 * the quick one declines everything the exact one must judge or report.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseEstate } from './index.ts';
import { exactly, quickly } from './load.ts';

const DEMO = readFileSync(join(import.meta.dirname, 'estate.yaml'), 'utf8');
const ENV = {};

const small = (devices: string, extra = '') => `
sites:
  - id: s1
    name: 金佛花园
    property: { name: 渝南物业, channels: [ { type: webhook, url: "http://127.0.0.1:1/property" } ] }
    devices:
${devices}
departments:
  - { id: fire-rescue, name: 区消防救援支队, channels: [ { type: webhook, url: "http://127.0.0.1:1/fire" } ] }
${extra}`;

describe('the estate file read quickly and exactly', () => {
  it('gives the same estate for the demo file', () => {
    const q = quickly(DEMO, ENV);
    expect(q).toBeDefined();
    expect(q).toEqual(exactly(DEMO, 'estate.yaml', ENV));
    expect(Object.isFrozen(q!.sites[0]!.devices[0])).toBe(true);
  });

  it('gives the same estate for every scalar spelling YAML 1.2 core allows in a value', () => {
    const scalars = ['0.14', '1e-1', '0o17', '0x1F', '+12', '-0', '.5', '"0.14"', "'x'", 'true', 'True', 'TRUE', '~', 'null', 'yes', '2026-01-01', '12:30', '1_000', '"\\u91d1"'];
    for (const v of scalars) {
      const text = small(`      - { id: HY-1, kind: hydrant, building: "1栋", attributes: { minPressureMpa: 0.14, note: ${v} } }`);
      const q = quickly(text, ENV);
      const e = (() => {
        try {
          return exactly(text, 'x.yaml', ENV);
        } catch {
          return undefined;
        }
      })();
      expect({ v, q }).toEqual({ v, q: e });
    }
  });

  it('declines a file with aliases, which the exact reading expands within its bound', () => {
    const text = small(`      - &h { id: HY-1, kind: hydrant, building: "1栋" }`, `alerting: { reminderEveryMin: 10 }\n`).replace('channels: [ { type: webhook, url: "http://127.0.0.1:1/fire" } ] }', 'channels: &c [ { type: webhook, url: "http://127.0.0.1:1/fire" } ] }\n  - { id: market-supervision, name: 区市场监管局, channels: *c }');
    expect(quickly(text, ENV)).toBeUndefined();
    expect(parseEstate(text, 'aliases.yaml', ENV).departments.map((d) => { const c = d.channels[0]!; return c.type === 'webhook' ? c.url : c.type; })).toEqual(['http://127.0.0.1:1/fire', 'http://127.0.0.1:1/fire']);
  });

  it.each([
    ['a syntax error', small(`      - { id: HY-1, kind: hydrant, building: "1栋" `), /line \d+.*YAML syntax/],
    ['a duplicate key', small(`      - { id: HY-1, kind: hydrant, kind: water, building: "1栋" }`), /line 7/],
    ['an unknown key', small(`      - { id: HY-1, kind: hydrant, building: "1栋", colour: red }`), /line 7, sites\[0\]\.devices\[0\]\.colour: unknown key/],
    ['an unset variable', small(`      - { id: HY-1, kind: hydrant, building: "\${NOT_SET_ANYWHERE}" }`), /environment variable NOT_SET_ANYWHERE is not set/],
    ['a reference to nothing', small(`      - { id: HY-1, kind: hydrant, building: "1栋", source: { adapter: nobody, id: "1" } }`), /nobody/],
  ])('declines %s, and the exact reading reports it with its line', (_what, text, report) => {
    expect(quickly(text, ENV)).toBeUndefined();
    expect(() => parseEstate(text, 'bad.yaml', ENV)).toThrow(ConfigError);
    expect(() => parseEstate(text, 'bad.yaml', ENV)).toThrow(report);
  });
});
