/**
 * Template variables: the site, and the device within the chosen sites, both read from
 * InfluxDB's tags (`SHOW TAG VALUES`), both multi-select with "All". "All" is sent as `.*`,
 * so a query's `"site" =~ /^$site$/` matches every site without listing them.
 */
import { QueryVariableBuilder, VariableRefresh, VariableSort } from '@grafana/grafana-foundation-sdk/dashboard';
import { DATASOURCE } from './datasource.ts';
import { ident, matchVar } from './influxql.ts';

function tagVariable(name: string, label: string, query: string): QueryVariableBuilder {
  return new QueryVariableBuilder(name)
    .label(label)
    .datasource(DATASOURCE)
    .query(query)
    .definition(query)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ selected: true, text: ['All'], value: ['$__all'] })
    .refresh(VariableRefresh.OnDashboardLoad)
    .sort(VariableSort.AlphabeticalAsc);
}

/** The sites that have points in `measurement`, or in any measurement when none is given. */
export function siteVariable(measurement?: string): QueryVariableBuilder {
  const from = measurement ? ` FROM ${ident(measurement)}` : '';
  return tagVariable('site', 'Site 小区', `SHOW TAG VALUES${from} WITH KEY = "site"`);
}

/** The devices of `measurement` in the chosen sites. */
export function deviceVariable(measurement: string): QueryVariableBuilder {
  return tagVariable('device', 'Device 设备', `SHOW TAG VALUES FROM ${ident(measurement)} WITH KEY = "device" WHERE ${matchVar('site', 'site')}`);
}

