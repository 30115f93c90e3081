/**
 * Tables shared by the dashboards: the alerts still open, the latest events, the latest
 * reading of each device. The `alerts` measurement has one point per change of an alert
 * (docs/interfaces.md#stored-series); an alert is open when the last point of its (site, device, rule)
 * in the time range is not `resolved`.
 */
import type { Builder } from '@grafana/grafana-foundation-sdk/cog';
import { MappingType, type Panel, type ValueMapping } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { METRICS, type Kind } from '../../config/index.ts';
import { InfluxQuery, ident, where } from './influxql.ts';
import { title } from './panels.ts';
import { COLORS, grafanaUnit } from './units.ts';

/** Each (site, device, rule) with its last recorded change, when that change is not a resolution. */
export function openAlertsQuery(conditions: string[]): string {
  return (
    'SELECT "site", "device", "kind", "rule", "severity", "department", "state", "value" FROM (' +
    `SELECT last("state") AS "state", "value", "kind", "severity", "department" FROM "alerts" ${where(...conditions)} GROUP BY "site", "device", "rule"` +
    `) WHERE "state" <> 'resolved' ORDER BY time DESC`
  );
}

const severityColors: ValueMapping = {
  type: MappingType.ValueToText,
  options: {
    critical: { text: 'critical 严重', color: COLORS.critical, index: 0 },
    warning: { text: 'warning 警告', color: COLORS.warning, index: 1 },
  },
};

const colored = (name: string, mapping: ValueMapping) =>
  ({ matcher: { id: 'byName', options: name }, properties: [{ id: 'mappings', value: [mapping] }, { id: 'custom.cellOptions', value: { type: 'color-text' } }] });

export function openAlertsTable(conditions: string[], width: number, height: number): Builder<Panel> {
  return new TablePanel()
    .title('未解决告警 Open alerts')
    .description(
      'Alerts whose last change in the time range (at most 30 days back) is not `resolved`, newest first: firing or acknowledged. ' +
        '`department` is the department of jurisdiction; every alert also goes to the site\'s property company. The service\'s API (`GET /api/alerts?state=active`) is the record.',
    )
    .withTarget(new InfluxQuery('A', openAlertsQuery(conditions), { format: 'table' }))
    .timeFrom('30d')
    .withOverride(colored('severity', severityColors))
    .overrideByName('Time', [{ id: 'displayName', value: 'since 自' }, { id: 'unit', value: 'dateTimeAsLocal' }])
    .span(width)
    .height(height);
}

export function eventsTable(conditions: string[], width: number, height: number): Builder<Panel> {
  return new TablePanel()
    .title('最近事件 Recent events')
    .description('The `events` measurement: faults and conditions the devices raised (`active: true`) and ended (`active: false`), newest first.')
    .withTarget(
      new InfluxQuery('A', `SELECT "site", "building", "device", "kind", "code", "active", "detail" FROM "events" ${where(...conditions)} ORDER BY time DESC LIMIT 200`, {
        format: 'table',
      }),
    )
    .withOverride(
      colored('active', {
        type: MappingType.ValueToText,
        options: { true: { text: 'raised 发生', color: COLORS.critical, index: 0 }, false: { text: 'ended 结束', color: COLORS.ok, index: 1 } },
      }),
    )
    .overrideByName('Time', [{ id: 'unit', value: 'dateTimeAsLocal' }])
    .span(width)
    .height(height);
}

/** The last value of every metric of each device, with the catalog's labels and units as column headers. */
export function latestReadingsTable(kind: Kind, conditions: string[]): Builder<Panel> {
  const panel = new TablePanel()
    .title('最新读数 Latest readings')
    .description(`The last value of each metric of each ${kind} device in the time range.`)
    .withTarget(new InfluxQuery('A', `SELECT last(*) FROM ${ident(kind)} ${where(...conditions)} GROUP BY "site", "building", "device"`, { format: 'table' }))
    // last(*) answers with the start of the range as its time: not worth a column.
    .withTransformation({ id: 'organize', options: { excludeByName: { Time: true } } })
    .span(24)
    .height(8);
  for (const spec of METRICS[kind].values()) {
    panel.overrideByName(`last_${spec.name}`, [
      { id: 'displayName', value: title(spec) },
      { id: 'unit', value: grafanaUnit(spec) },
    ]);
  }
  return panel;
}
