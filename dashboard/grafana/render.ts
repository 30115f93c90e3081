/**
 * Everything `npm run grafana` writes under dashboard/grafana/provisioning/, as text: the
 * data source, the dashboard provider and one JSON file per dashboard. Pure and stable, so
 * the committed files can be compared with a fresh rendering (test/grafana.test.ts).
 */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { DATASOURCE, datasourceYaml, prometheusYaml, providerYaml } from './datasource.ts';
import { KIND_DASHBOARDS, kindDashboard } from './kind.ts';
import { overviewDashboard } from './overview.ts';
import { SERVICE, serviceDashboard } from './service.ts';

export const DATASOURCE_FILE = 'datasources/estate-influxdb.yaml';
export const PROMETHEUS_FILE = 'datasources/estate-prometheus.yaml';
export const PROVIDER_FILE = 'dashboards/estate.yaml';
/** the folder of the dashboard JSON files, relative to provisioning/ */
export const DASHBOARD_DIR = 'dashboards/estate';

/**
 * What the builders leave out: panel ids in order (rows included, so a link to a panel stays
 * valid across regenerations), each panel's data source, and an annotation list Grafana can
 * add its built-in annotations to.
 */
function finish(d: Dashboard): Dashboard {
  let id = 0;
  for (const p of d.panels ?? []) {
    p.id = ++id;
    if ('targets' in p && p.targets?.length && !p.datasource) p.datasource = DATASOURCE;
  }
  if (!d.annotations?.list) d.annotations = { list: [] };
  return d;
}

/** Every dashboard as provisioned, overview first, the service's own last. */
export function dashboards(): Dashboard[] {
  return [overviewDashboard(), ...KIND_DASHBOARDS.map(kindDashboard), serviceDashboard()].map(finish);
}

/** The file name of a dashboard: its uid. */
export function dashboardFile(uid: string): string {
  return `${DASHBOARD_DIR}/${uid}.json`;
}

/** Path relative to provisioning/ → content. */
export function renderProvisioning(): Map<string, string> {
  const files = new Map<string, string>([
    [DATASOURCE_FILE, datasourceYaml()],
    [PROMETHEUS_FILE, prometheusYaml()],
    [PROVIDER_FILE, providerYaml()],
  ]);
  for (const d of dashboards()) files.set(dashboardFile(d.uid!), `${JSON.stringify(d, null, 2)}\n`);
  return files;
}

export { KIND_DASHBOARDS, SERVICE };
