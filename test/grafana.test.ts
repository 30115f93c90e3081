/**
 * The Grafana dashboards as code (dashboard/grafana/): the committed provisioning is what
 * `npm run grafana` generates, and every query of every panel and variable, with Grafana's
 * macros and variables filled in, runs against a real InfluxDB fed by the simulated demo
 * estate through Mosquitto and the service, and returns data. The service dashboard reads
 * Prometheus instead: each of its expressions names only metrics the running service exports
 * (and parses, where promtool is installed).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { loadEstate, type Estate, type Kind } from '../config/index.ts';
import { Fleet, scaledClock } from '../simulators/index.ts';
import { DATASOURCE_UID, PROMETHEUS_UID } from '../dashboard/grafana/datasource.ts';
import { PROVISIONING_DIR } from '../dashboard/grafana/generate.ts';
import { KIND_DASHBOARDS, SERVICE, dashboards, renderProvisioning } from '../dashboard/grafana/render.ts';
import { SYNTHETIC, checkExpressions, exportedNames, findPromtool, promqlMetricNames } from './harness/prometheus.ts';
import { startInfluxd, type Influxd } from './harness/influxd.ts';
import { startMosquitto, type Mosquitto } from './harness/mosquitto.ts';
import { device } from './harness/publish.ts';
import { ROOT, removeDir, startService, type TestService } from './harness/service.ts';
import { sleep, waitFor } from './harness/ports.ts';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [relative(PROVISIONING_DIR, p)];
  });
}

describe('Grafana provisioning', () => {
  it('the committed files are exactly what `npm run grafana` generates now', () => {
    const files = renderProvisioning();
    for (const [path, text] of files) {
      let committed: string | undefined;
      try {
        committed = readFileSync(join(PROVISIONING_DIR, path), 'utf8');
      } catch {
        committed = undefined;
      }
      expect(committed, `${path} differs from the generator's output: run npm run grafana and commit it`).toBe(text);
    }
    expect(filesUnder(PROVISIONING_DIR).sort(), 'files the generator does not write (npm run grafana removes stale dashboards)').toEqual([...files.keys()].sort());
  });

  it('rendering twice gives the same bytes', () => {
    expect([...renderProvisioning()]).toEqual([...renderProvisioning()]);
  });

  it('one dashboard per kind plus the overview, unique uids, every target a raw InfluxQL query on the provisioned data source', () => {
    const all = dashboards();
    expect(all.map((d) => d.uid)).toEqual(['estate-overview', ...KIND_DASHBOARDS.map((k) => k.uid), SERVICE.uid]);
    const panelIds = all.map((d) => (d.panels ?? []).map((p) => p.id));
    for (const ids of panelIds) expect(new Set(ids).size).toBe(ids.length);
    for (const d of all.filter((x) => x.uid !== SERVICE.uid)) {
      for (const p of d.panels ?? []) {
        if (p.type === 'row') continue;
        const targets = (p as { targets?: Record<string, unknown>[] }).targets ?? [];
        expect(targets.length, `${d.uid} / ${p.title}`).toBeGreaterThan(0);
        for (const t of targets) {
          expect(t, `${d.uid} / ${p.title}`).toMatchObject({ datasource: { type: 'influxdb', uid: DATASOURCE_UID }, rawQuery: true });
          expect(typeof t.query).toBe('string');
        }
      }
      for (const v of d.templating?.list ?? []) expect(v.datasource).toEqual({ type: 'influxdb', uid: DATASOURCE_UID });
    }
  });

  it('the service dashboard: every target a PromQL query on the provisioned Prometheus data source, in the same folder and menu as the others', () => {
    const d = dashboards().find((x) => x.uid === SERVICE.uid)!;
    expect(d.tags).toContain('estate-sentinel');
    const panels = (d.panels ?? []).filter((p) => p.type !== 'row');
    expect(panels.length).toBeGreaterThan(15);
    for (const p of panels) {
      const targets = (p as { targets?: Record<string, unknown>[] }).targets ?? [];
      expect(targets.length, p.title).toBeGreaterThan(0);
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: PROMETHEUS_UID });
      for (const t of targets) {
        expect(t, p.title).toMatchObject({ datasource: { type: 'prometheus', uid: PROMETHEUS_UID } });
        expect(typeof t.expr, p.title).toBe('string');
        expect(t.expr, p.title).toContain('instance=~"$instance"');
      }
    }
    for (const v of d.templating?.list ?? []) expect(v.datasource).toEqual({ type: 'prometheus', uid: PROMETHEUS_UID });
    const yaml = renderProvisioning().get('datasources/estate-prometheus.yaml')!;
    expect(yaml).toContain(`uid: ${PROMETHEUS_UID}`);
    expect(yaml).toContain('type: prometheus');
    expect(yaml).toContain('url: http://prometheus:9090');
    expect(yaml).toContain('isDefault: false');
  });

  it('draws the default rules as threshold lines, in the catalog units: hydrant pressure red below 0.10 MPa, orange below 0.14 and above 1.0', () => {
    const panel = (uid: string, title: string) => {
      const p = dashboards().find((d) => d.uid === uid)!.panels!.find((x) => x.title === title) as { fieldConfig: { defaults: Record<string, any> } };
      expect(p, `${uid} / ${title}`).toBeDefined();
      return p.fieldConfig.defaults;
    };
    const pressure = panel('estate-hydrants', '水压 Pressure');
    expect(pressure.unit).toBe('suffix: MPa');
    expect(pressure.thresholds.steps).toEqual([
      { value: null, color: 'red' },
      { value: 0.1, color: 'orange' },
      { value: 0.14, color: 'green' },
      { value: 1, color: 'orange' },
    ]);
    expect(pressure.custom.thresholdsStyle.mode).toBe('dashed');
    expect(panel('estate-water', 'pH pH').thresholds.steps.map((s: { value: number | null }) => s.value)).toEqual([null, 6.5, 8.5]);
    // Overspeed scales each elevator's own rated speed: no single line to draw.
    expect(panel('estate-elevators', '运行速度 Speed').thresholds).toBeUndefined();
    expect(panel('estate-elevators', '运行速度 Speed').unit).toBe('velocityms');
  });

  it('the data source is InfluxQL on influxdb:8086, database estate, with a fixed uid and credentials from the environment', () => {
    const yaml = renderProvisioning().get('datasources/estate-influxdb.yaml')!;
    expect(yaml).toContain(`uid: ${DATASOURCE_UID}`);
    expect(yaml).toContain('url: http://influxdb:8086');
    expect(yaml).toContain('dbName: estate');
    expect(yaml).toContain('version: InfluxQL');
    expect(yaml).toMatch(/password: \$GRAFANA_INFLUX_PASSWORD/);
  });
});

/** A device of each kind in the first site that gets an event (and so an alert) besides its readings. */
const PICKED: Record<Kind, { device: string; code: string }> = {
  elevator: { device: 'EL-1-A', code: 'user_alarm' },
  hydrant: { device: 'HY-03', code: 'tamper' },
  firelane: { device: 'FL-01', code: 'blocked' },
  water: { device: 'WS-01', code: 'tank_cover_open' },
};
const SITE = 'jinfo-garden';

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * What Grafana does to a query before it sends it: the time range (the panel's own relative
 * time when it has one), the interval, and the variables — as a regex inside `/^$var$/`
 * (Grafana escapes a single value there; "All" is the variable's allValue, `.*`).
 */
function interpolate(query: string, vars: Record<string, string>, range: string): string {
  const out = query
    .replace(/\$timeFilter/g, `time > now() - ${range}`)
    .replace(/\$__interval/g, '1m')
    .replace(/\/\^\$(\w+)\$\//g, (m, name: string) => {
      const v = vars[name];
      if (v === undefined) return m;
      return `/^${v === '.*' ? v : escapeRegex(v)}$/`;
    })
    .replace(/\$(\w+)/g, (m, name: string) => vars[name] ?? m);
  return out;
}

interface QueryAnswer {
  results?: { error?: string; series?: { name: string; tags?: Record<string, string>; columns: string[]; values?: unknown[][] }[] }[];
  error?: string;
}

describe('every panel and variable query against InfluxDB after a simulated run of the demo estate', () => {
  let influx: Influxd;
  let mosquitto: Mosquitto;
  let service: TestService;
  let estate: Estate;

  beforeAll(async () => {
    estate = loadEstate(join(ROOT, 'config/estate.yaml'), {});
    [influx, mosquitto] = await Promise.all([startInfluxd(), startMosquitto({ durable: true })]);
    service = await startService({ env: { MQTT_URL: mosquitto.url, INFLUX_URL: influx.url, INFLUX_DB: 'estate' } });

    // 12 minutes of both compounds, an hour ago, in 12 s: one reading per device every 10 simulated s.
    const fleet = new Fleet({
      estate,
      mqttUrl: mosquitto.url,
      rateHz: 0.1,
      seed: 5,
      clock: scaledClock({ speed: 60, start: Date.now() - 70 * 60_000 }),
      clientIdPrefix: 'grafana-sim-',
    });
    fleet.start();
    expect(await fleet.waitConnected(20_000)).toBe(true);
    await sleep(12_000);
    // Leaving publishes each device's retained offline status: `status` points and "device silent" alerts.
    const summary = await fleet.stop();
    expect(summary.sent).toBeGreaterThan(1000);

    // An event of each kind, now: `events` points and alerts that stay open.
    const client: MqttClient = await device(mosquitto.url);
    for (const [kind, p] of Object.entries(PICKED)) {
      await client.publishAsync(`estate/${SITE}/${kind}/${p.device}/event`, JSON.stringify({ code: p.code, active: true, detail: 'grafana test' }), { qos: 1 });
    }
    await client.endAsync();

    await waitFor(
      'the readings, events, statuses and alerts in InfluxDB',
      async () => {
        const counts = await influx.query(
          'SELECT count("battery_pct") FROM "elevator", "hydrant", "firelane", "water"; ' +
            `SELECT count("active") FROM "events" GROUP BY "kind"; ` +
            `SELECT count("online") FROM "status" WHERE "online" = false; ` +
            `SELECT count("alert_id") FROM "alerts" WHERE "rule" =~ /^(${Object.values(PICKED).map((p) => p.code).join('|')})$/ GROUP BY "rule"`,
          'estate',
        );
        const r = (counts as QueryAnswer).results ?? [];
        return (r[0]?.series?.length ?? 0) === 4 && (r[1]?.series?.length ?? 0) === 4 && (r[2]?.series?.length ?? 0) === 1 && (r[3]?.series?.length ?? 0) === 4;
      },
      45_000,
      250,
    );
  }, 110_000);

  afterAll(async () => {
    await service?.stop();
    await Promise.all([mosquitto?.destroy(), influx?.destroy()]);
    if (service) removeDir(service.dataDir);
  });

  /** The query's error, and how many rows with a value it answered. */
  async function run(query: string): Promise<{ error?: string; rows: number }> {
    const a = (await influx.query(query, 'estate')) as QueryAnswer;
    const r = a.results?.[0];
    const error = a.error ?? r?.error;
    // fill(previous) and fill(null) answer rows of nulls: only a row with a value counts.
    const rows = (r?.series ?? []).reduce(
      (n, s) => n + (s.values ?? []).filter((row) => row.some((v, i) => s.columns[i] !== 'time' && v !== null)).length,
      0,
    );
    return { ...(error ? { error } : {}), rows };
  }

  it('each variable lists the demo sites and devices, and every panel target answers with data, for one site and device and for All', async () => {
    const problems: string[] = [];
    let ran = 0;
    for (const d of dashboards().filter((x) => x.uid !== SERVICE.uid)) {
      const kind = KIND_DASHBOARDS.find((k) => k.uid === d.uid)?.kind;
      const vars: Record<string, string> = {};
      // The variables first, in order (the device list depends on the site).
      for (const v of d.templating?.list ?? []) {
        const q = interpolate(String(v.query), vars, '6h');
        const answer = (await influx.query(q, 'estate')) as QueryAnswer;
        const values = (answer.results?.[0]?.series ?? []).flatMap((s) => (s.values ?? []).map((row) => String(row[1])));
        const want = v.name === 'site' ? SITE : v.name === 'device' && kind ? PICKED[kind].device : undefined;
        if (!want) problems.push(`${d.uid}: variable $${v.name} has no test value`);
        else if (!values.includes(want)) problems.push(`${d.uid}: variable $${v.name} (${q}) lists ${JSON.stringify(values)}, not ${want}`);
        vars[v.name] = want ?? '';
        ran++;
      }
      const all = Object.fromEntries(Object.keys(vars).map((k) => [k, '.*']));
      for (const p of d.panels ?? []) {
        const targets = (p as { targets?: { refId: string; query: string }[] }).targets ?? [];
        const range = (p as { timeFrom?: string }).timeFrom ?? '6h';
        for (const t of targets) {
          for (const [label, values] of [
            ['one', vars],
            ['All', all],
          ] as const) {
            const q = interpolate(t.query, values, range);
            const where = `${d.uid} / ${p.title} / ${t.refId} (${label}): ${q}`;
            if (/\$\w/.test(q)) {
              problems.push(`${where}: a macro or variable is left`);
              continue;
            }
            const { error, rows } = await run(q);
            ran++;
            if (error) problems.push(`${where}: ${error}`);
            else if (rows === 0) problems.push(`${where}: no data`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
    expect(ran).toBeGreaterThan(100);
  });
  it('the service dashboard names only metrics the running service exports, and every expression parses where promtool is installed', async () => {
    const names = exportedNames(await (await fetch(`${service.url}/metrics`)).text());
    const d = dashboards().find((x) => x.uid === SERVICE.uid)!;
    const exprs: string[] = [];
    for (const p of d.panels ?? []) for (const t of (p as { targets?: { expr: string }[] }).targets ?? []) exprs.push(t.expr);
    for (const v of d.templating?.list ?? []) {
      const m = /^label_values\((\w+),\s*\w+\)$/.exec(String(v.query));
      expect(m, `variable $${v.name}: ${String(v.query)}`).not.toBeNull();
      exprs.push(m![1]!);
    }
    const missing = exprs.flatMap((e) => promqlMetricNames(e).filter((n) => !names.has(n) && !SYNTHETIC.has(n)).map((n) => `${n} in ${e}`));
    expect(missing).toEqual([]);
    expect(exprs.flatMap(promqlMetricNames).length).toBeGreaterThan(30);
    const promtool = findPromtool();
    if (!promtool) return; // promtool is optional (Debian's prometheus package)
    const dir = mkdtempSync(join(tmpdir(), 'estate-promql-'));
    try {
      const r = checkExpressions(promtool, exprs, dir);
      expect(r.ok, r.output).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
