/**
 * The estate loader (docs/interfaces.md#the-estate-file, STYLE point 4): every configuration mistake gives
 * one clear problem naming the file, the YAML path and its line; all mistakes of a file
 * come in one report; the demo estate loads and is frozen; and `main.ts` given a bad file
 * exits 2 with that report and no stack trace.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, KINDS, loadEstate, parseEstate, type Estate } from '../config/index.ts';
import { parseTopic } from '../ingest/index.ts';
import { freePort } from './harness/ports.ts';
import { ROOT } from './harness/service.ts';

/** Strips the common indentation of a template literal, so YAML can be written inline. */
function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const text = String.raw({ raw: strings }, ...values).replace(/^\n/, '');
  const lines = text.split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.match(/^ */)![0].length));
  return lines.map((l) => l.slice(indent)).join('\n');
}

const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);

/** A valid estate; the cases below are variations of it with one mistake each. */
const VALID = yaml`
  sites:
    - id: jinfo-garden
      name: 金佛花园
      property:
        name: 渝南物业
        channels:
          - { type: webhook, url: "http://127.0.0.1:9100/property", secret: s3cret }
      devices:
        - { id: HY-03, kind: hydrant, building: "3栋", attributes: { minPressureMpa: 0.14 } }
        - { id: EL-1-A, kind: elevator, building: "1栋", attributes: { ratedSpeedMps: 1.75 } }
  departments:
    - id: fire-rescue
      name: 区消防救援支队
      channels:
        - { type: webhook, url: "http://127.0.0.1:9100/fire" }
  auth:
    tokens:
      - { name: ops, role: operator, sha256: ${HASH_A}, sites: [jinfo-garden] }
      - { name: fire-desk, role: department, sha256: ${HASH_B}, departments: [fire-rescue] }
`;

function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    parseEstate(text, 'test.yaml', env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('the estate was accepted');
}

describe('a valid estate', () => {
  it('loads, with the schema defaults filled in', () => {
    const estate = parseEstate(VALID, 'test.yaml', {});
    expect(estate.sites.map((s) => s.id)).toEqual(['jinfo-garden']);
    expect(estate.sites[0]!.devices.map((d) => [d.id, d.kind, d.building, d.intervalSec])).toEqual([
      ['HY-03', 'hydrant', '3栋', 60],
      ['EL-1-A', 'elevator', '1栋', 60],
    ]);
    expect(estate.sites[0]!.devices[1]!.attributes).toEqual({ ratedSpeedMps: 1.75, floors: 18, lowestFloor: 1 });
    expect(estate.auth.protectMetrics).toBe(false);
  });
});

interface MistakeCase {
  name: string;
  text: string;
  path: string;
  line: number;
  /** syntax errors have no path; they say the column instead */
  column?: number;
  message: RegExp;
}

const mistakes: MistakeCase[] = [
  {
    name: 'unknown key at the top level',
    text: VALID + 'sitez: []\n',
    path: 'sitez',
    line: 20,
    message: /^unknown key$/,
  },
  {
    name: 'unknown key in a site',
    text: VALID.replace('    name: 金佛花园\n', '    name: 金佛花园\n    adress: 金佛大道88号\n'),
    path: 'sites[0].adress',
    line: 4,
    message: /^unknown key$/,
  },
  {
    name: 'unknown key in a device',
    text: VALID.replace('building: "3栋",', 'building: "3栋", colour: red,'),
    path: 'sites[0].devices[0].colour',
    line: 9,
    message: /^unknown key$/,
  },
  {
    name: 'unknown key in attributes',
    text: VALID.replace('minPressureMpa: 0.14', 'minPressure: 0.14'),
    path: 'sites[0].devices[0].attributes.minPressure',
    line: 9,
    message: /^unknown key$/,
  },
  {
    name: 'site id with capitals',
    text: VALID.replace('- id: jinfo-garden', '- id: Jinfo-Garden').replace(', sites: [jinfo-garden]', ''),
    path: 'sites[0].id',
    line: 2,
    message: /must match \[a-z0-9\]\[a-z0-9-\]\{0,63\}/,
  },
  {
    name: 'site id with an underscore',
    text: VALID.replace('- id: jinfo-garden', '- id: jinfo_garden').replace(', sites: [jinfo-garden]', ''),
    path: 'sites[0].id',
    line: 2,
    message: /must match \[a-z0-9\]\[a-z0-9-\]\{0,63\}/,
  },
  {
    name: 'device id with a slash',
    text: VALID.replace('id: HY-03', 'id: "HY/03"'),
    path: 'sites[0].devices[0].id',
    line: 9,
    message: /must match \[A-Za-z0-9\]\[A-Za-z0-9_.-\]\{0,63\}/,
  },
  {
    name: 'device id with a space',
    text: VALID.replace('id: EL-1-A', 'id: "EL 1 A"'),
    path: 'sites[0].devices[1].id',
    line: 10,
    message: /must match \[A-Za-z0-9\]\[A-Za-z0-9_.-\]\{0,63\}/,
  },
  {
    name: 'the same device id in two sites',
    text: VALID.replace(
      'departments:\n',
      yaml`
          - id: nancheng-mansion
            name: 南城首府
            property: { name: 锦程物业 }
            devices:
              - { id: HY-03, kind: hydrant, building: "1幢" }
        departments:
      `,
    ),
    path: 'sites[1].devices[0].id',
    line: 15,
    message: /^duplicate device id "HY-03" \(also at sites\[0\]\.devices\[0\]\)$/,
  },
  {
    name: 'the same site id twice',
    text: VALID.replace('departments:\n', '  - { id: jinfo-garden, name: 又一个, property: { name: P } }\ndepartments:\n'),
    path: 'sites[1].id',
    line: 11,
    message: /^duplicate site id "jinfo-garden"/,
  },
  {
    name: 'the same department twice',
    text: VALID.replace('auth:\n', '  - { id: fire-rescue, name: 又一个 }\nauth:\n'),
    path: 'departments[1].id',
    line: 16,
    message: /^duplicate department id "fire-rescue"/,
  },
  {
    name: 'a token naming a site that does not exist',
    text: VALID.replace('sites: [jinfo-garden]', 'sites: [jinfo-garden, nowhere]'),
    path: 'auth.tokens[0].sites[1]',
    line: 18,
    message: /^site "nowhere" does not exist$/,
  },
  {
    name: 'a token naming a department that does not exist',
    text: VALID.replace('departments: [fire-rescue]', 'departments: [fire-brigade]'),
    path: 'auth.tokens[1].departments[0]',
    line: 19,
    message: /^department "fire-brigade" does not exist$/,
  },
  {
    name: 'a department token without departments',
    text: VALID.replace(', departments: [fire-rescue]', ''),
    path: 'auth.tokens[1].departments',
    line: 19,
    message: /a department token must name its departments/,
  },
  {
    name: 'a sha256 that is not 64 hex digits',
    text: VALID.replace(HASH_A, 'not-a-hash'),
    path: 'auth.tokens[0].sha256',
    line: 18,
    message: /must be the hex SHA-256 of the token \(64 hex digits\)/,
  },
  {
    name: 'an unknown kind',
    text: VALID.replace('kind: elevator', 'kind: escalator'),
    path: 'sites[0].devices[1].kind',
    line: 10,
    message: /^unknown kind: expected elevator, hydrant, firelane or water$/,
  },
  {
    name: 'an unknown channel type (site property)',
    text: VALID.replace('type: webhook, url: "http://127.0.0.1:9100/property"', 'type: sms, url: "http://127.0.0.1:9100/property"'),
    path: 'sites[0].property.channels[0].type',
    line: 7,
    message: /^unknown channel type: expected webhook, wecom, dingtalk or email$/,
  },
  {
    name: 'an unknown channel type (department)',
    text: VALID.replace('type: webhook, url: "http://127.0.0.1:9100/fire"', 'type: fax, url: "http://127.0.0.1:9100/fire"'),
    path: 'departments[0].channels[0].type',
    line: 15,
    message: /^unknown channel type/,
  },
  {
    name: 'a building with a newline',
    text: VALID.replace('building: "3栋"', 'building: "3栋\\n东侧"'),
    path: 'sites[0].devices[0].building',
    line: 9,
    message: /must not contain control characters such as a newline/,
  },
  {
    name: 'a building ending in a backslash',
    text: VALID.replace('building: "1栋"', 'building: "1栋\\\\"'),
    path: 'sites[0].devices[1].building',
    line: 10,
    message: /must not end with a backslash/,
  },
  {
    name: 'a YAML syntax error',
    text: VALID.replace('    name: 金佛花园\n', '   name: 金佛花园\n'),
    path: '',
    line: 3,
    column: 1,
    // Only the first error: the parser's follow-on errors for the lines below are left out.
    message: /^YAML syntax: Sequence item without - indicator$/,
  },
  {
    name: 'a duplicate YAML key',
    text: VALID.replace('    name: 金佛花园\n', '    name: 金佛花园\n    name: 又一个\n'),
    path: '',
    line: 4,
    column: 5,
    message: /^YAML syntax: Map keys must be unique/,
  },
  {
    name: 'an unset ${VAR}',
    text: VALID.replace('secret: s3cret', 'secret: "${PROPERTY_HOOK_SECRET}"'),
    path: 'sites[0].property.channels[0].secret',
    line: 7,
    message: /^environment variable PROPERTY_HOOK_SECRET is not set$/,
  },
];

describe('each configuration mistake gives one clear problem', () => {
  it.each(mistakes)('$name → $path', ({ text, path, line, column, message }) => {
    const err = problemsOf(text);
    expect(err.file).toBe('test.yaml');
    expect(err.problems).toHaveLength(1);
    const [p] = err.problems;
    expect({ path: p!.path, line: p!.line, column: p!.column }).toEqual({ path, line, column });
    expect(p!.message).toMatch(message);
    // The message a user reads names the file, the line and the path (the column for syntax).
    const at = column ? `line ${line}, column ${column}` : `line ${line}, ${path}`;
    expect(err.message).toBe(`test.yaml: 1 problem in the estate file\n  - ${at}: ${p!.message}`);
    expect(err.code).toBe('CONFIG_INVALID');
  });

  it('the cases above really are one mistake each on a valid estate', () => {
    // Guards the table: a `replace` that matched nothing would leave the valid text.
    for (const c of mistakes) expect(c.text, c.name).not.toBe(VALID);
  });
});

describe('${VAR} substitution', () => {
  const withVar = VALID.replace('secret: s3cret', 'secret: "${PROPERTY_HOOK_SECRET:-fallback-secret}"');
  const secretOf = (e: Estate) => {
    const ch = e.sites[0]!.property!.channels[0]!;
    return ch.type === 'webhook' ? ch.secret : undefined;
  };

  it('${VAR:-default} falls back to the default when VAR is unset or empty', () => {
    expect(secretOf(parseEstate(withVar, 'test.yaml', {}))).toBe('fallback-secret');
    expect(secretOf(parseEstate(withVar, 'test.yaml', { PROPERTY_HOOK_SECRET: '' }))).toBe('fallback-secret');
  });

  it('a set VAR wins over the default, also inside a longer string', () => {
    expect(secretOf(parseEstate(withVar, 'test.yaml', { PROPERTY_HOOK_SECRET: 'from-env' }))).toBe('from-env');
    const url = VALID.replace('http://127.0.0.1:9100/property', 'http://127.0.0.1:${HOOK_PORT:-9100}/property');
    const ch = parseEstate(url, 'test.yaml', { HOOK_PORT: '9200' }).sites[0]!.property!.channels[0]!;
    expect(ch.type === 'webhook' && ch.url).toBe('http://127.0.0.1:9200/property');
  });
});

describe('all mistakes at once', () => {
  it('a file with three mistakes of different kinds lists all three, in file order', () => {
    const text = VALID.replace('building: "3栋",', 'building: "3栋", colour: red,') // schema: unknown key
      .replace('departments: [fire-rescue]', 'departments: [fire-brigade]') // reference: missing department
      .replace(HASH_A, 'not-a-hash'); // schema: bad sha256
    const err = problemsOf(text);
    expect(err.problems.map((p) => [p.line, p.path, p.message])).toEqual([
      [9, 'sites[0].devices[0].colour', 'unknown key'],
      [18, 'auth.tokens[0].sha256', 'must be the hex SHA-256 of the token (64 hex digits)'],
      [19, 'auth.tokens[1].departments[0]', 'department "fire-brigade" does not exist'],
    ]);
    expect(err.message.split('\n')).toEqual([
      'test.yaml: 3 problems in the estate file',
      '  - line 9, sites[0].devices[0].colour: unknown key',
      '  - line 18, auth.tokens[0].sha256: must be the hex SHA-256 of the token (64 hex digits)',
      '  - line 19, auth.tokens[1].departments[0]: department "fire-brigade" does not exist',
    ]);
  });

  it('renaming a site that a token names gives both the schema and the reference problem', () => {
    const err = problemsOf(VALID.replace('- id: jinfo-garden', '- id: Jinfo_Garden'));
    expect(err.problems.map((p) => [p.line, p.path, p.message])).toEqual([
      [2, 'sites[0].id', 'must match [a-z0-9][a-z0-9-]{0,63}'],
      [18, 'auth.tokens[0].sites[0]', 'site "jinfo-garden" does not exist'],
    ]);
  });

  it('reference mistakes are reported even when the schema fails elsewhere', () => {
    const text = VALID.replace('kind: elevator', 'kind: escalator') // schema
      .replace('id: EL-1-A', 'id: HY-03') // reference: duplicate device
      .replace(HASH_A, 'short'); // schema
    const err = problemsOf(text);
    expect(err.problems.map((p) => [p.path, p.message])).toEqual([
      ['sites[0].devices[1].kind', 'unknown kind: expected elevator, hydrant, firelane or water'],
      ['sites[0].devices[1].id', 'duplicate device id "HY-03" (also at sites[0].devices[0])'],
      ['auth.tokens[0].sha256', 'must be the hex SHA-256 of the token (64 hex digits)'],
    ]);
  });

  it('data of the wrong shape does not crash the reference checks', () => {
    const text = yaml`
      sites: "not a list"
      departments: [ 42, { id: [1] } ]
      auth: { tokens: [ "x", { role: department, departments: "fire", sha256: 7 } ] }
    `;
    const err = problemsOf(text);
    expect(err.problems.length).toBeGreaterThanOrEqual(3);
    expect(err.problems.map((p) => p.path)).toContain('sites');
    expect(err.problems.map((p) => p.path)).toContain('auth.tokens[1].sha256');
  });

  it('an unset variable is reported once, not again as the empty value it leaves', () => {
    const err = problemsOf(VALID.replace('name: 区消防救援支队', 'name: "${DEPT_NAME}"'));
    expect(err.problems).toEqual([{ path: 'departments[0].name', line: 13, message: 'environment variable DEPT_NAME is not set' }]);
  });
});

describe('the demo estate (config/estate.yaml)', () => {
  const estate = loadEstate(join(ROOT, 'config/estate.yaml'), {});
  const devices = estate.sites.flatMap((s) => s.devices.map((d) => ({ site: s.id, ...d })));

  it('has two sites', () => {
    expect(estate.sites.map((s) => s.id)).toEqual(['jinfo-garden', 'nancheng-mansion']);
  });

  it('has every department of the default jurisdiction (docs/alerts.md, Rules)', () => {
    expect(estate.departments.map((d) => d.id).sort()).toEqual(['fire-rescue', 'health-commission', 'housing', 'market-supervision', 'water-authority']);
  });

  it('has devices of all four kinds in each site', () => {
    for (const site of estate.sites) expect(new Set(site.devices.map((d) => d.kind)), site.id).toEqual(new Set(KINDS));
  });

  it('has ids that satisfy the topic regexes of docs/interfaces.md#topics, and that ingest parses back', () => {
    for (const d of devices) {
      expect(d.site).toMatch(/^[a-z0-9][a-z0-9-]{0,63}$/);
      expect(d.id).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/);
      expect(parseTopic(`estate/${d.site}/${d.kind}/${d.id}/telemetry`)).toEqual({ site: d.site, kind: d.kind, device: d.id, channel: 'telemetry' });
    }
    expect(new Set(devices.map((d) => d.id)).size).toBe(devices.length);
  });

  it('fills ${VAR:-default} from the defaults when the environment is empty', () => {
    const ch = estate.sites[0]!.property!.channels[0]!;
    expect(ch.type === 'webhook' && ch.url).toBe('http://127.0.0.1:9100/property/jinfo-garden');
  });

  it('is frozen all the way down', () => {
    expect(Object.isFrozen(estate)).toBe(true);
    expect(Object.isFrozen(estate.sites)).toBe(true);
    expect(Object.isFrozen(estate.sites[0]!.devices[0]!)).toBe(true);
    expect(Object.isFrozen(estate.sites[0]!.devices[0]!.attributes)).toBe(true);
    expect(Object.isFrozen(estate.auth.tokens[0]!)).toBe(true);
    expect(() => {
      (estate.sites[0] as { id: string }).id = 'changed';
    }).toThrow(TypeError);
    expect(estate.sites[0]!.id).toBe('jinfo-garden');
  });

  it('a file that cannot be read is a ConfigError naming it', () => {
    const missing = join(tmpdir(), 'estate-sentinel-no-such-file.yaml');
    expect(() => loadEstate(missing, {})).toThrow(ConfigError);
    expect(() => loadEstate(missing, {})).toThrow(`${missing}: 1 problem in the estate file\n  - (top level): cannot read the file: ENOENT`);
  });
});

describe('main.ts with a bad estate file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'estate-config-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits with code 2 and one message naming the file and the path, without a stack trace', async () => {
    const file = join(dir, 'bad-estate.yaml');
    writeFileSync(file, VALID.replace('kind: elevator', 'kind: escalator'));
    const [port, mqttPort] = [await freePort(), await freePort()];
    const child = spawn(process.execPath, ['--import', 'tsx', 'main.ts'], {
      cwd: ROOT,
      env: { ...process.env, CONFIG: file, DATA_DIR: join(dir, 'data'), PORT: String(port), MQTT_PORT: String(mqttPort), HOST: '127.0.0.1', INFLUX_URL: '', MQTT_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      `estate-sentinel: ${file}: 1 problem in the estate file\n` +
        `  - line 10, sites[0].devices[1].kind: unknown kind: expected elevator, hydrant, firelane or water\n`,
    );
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
