/**
 * The estate at a glance: devices by site and kind and which are offline; the alerts still
 * open, by severity and by department; alerts per department over time; how many readings
 * are stored; the latest events. One variable: the site.
 */
import type { Builder } from '@grafana/grafana-foundation-sdk/cog';
import {
  BarGaugeDisplayMode,
  BigValueColorMode,
  BigValueGraphMode,
  BigValueTextMode,
  GraphDrawStyle,
  LegendDisplayMode,
  LegendPlacement,
  ReduceDataOptionsBuilder,
  StackingConfigBuilder,
  StackingMode,
  VizLegendOptionsBuilder,
  VizOrientation,
} from '@grafana/grafana-foundation-sdk/common';
import {
  DashboardBuilder,
  DashboardCursorSync,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  type Dashboard,
  type Panel,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as BarGaugePanel } from '@grafana/grafana-foundation-sdk/bargauge';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { METRICS } from '../../config/index.ts';
import { InfluxQuery, ident, matchVar, refId, where } from './influxql.ts';
import { KIND_DASHBOARDS, TAG, estateLinks } from './kind.ts';
import { eventsTable, openAlertsTable } from './tables.ts';
import { COLORS } from './units.ts';
import { siteVariable } from './variables.ts';

export const OVERVIEW = { uid: 'estate-overview', title: '小区设备总览 Estate overview' } as const;

const SITE = [matchVar('site', 'site')];
const fixed = (color: string) => ({ id: 'color', value: { mode: 'fixed', fixedColor: color } });
const lastValue = () => new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false);
const single = (color = 'text') => new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([{ value: null, color }]);

/** The alerts whose last change in the range is not a resolution, counted by `group`. */
function openAlertCount(group: string): string {
  return (
    `SELECT count("state") FROM (SELECT last("state") AS "state", "severity", "department" FROM "alerts" ${where(...SITE)} ` +
    `GROUP BY "site", "device", "rule") WHERE "state" <> 'resolved' GROUP BY ${ident(group)}`
  );
}

function devicesBySite(): Builder<Panel> {
  const panel = new BarGaugePanel()
    .title('各小区设备 Devices by site')
    .description("Devices that sent readings in the time range, by site and kind (a device counts when it sent its kind's first catalog metric).")
    .reduceOptions(lastValue())
    .displayMode(BarGaugeDisplayMode.Basic)
    .orientation(VizOrientation.Horizontal)
    .thresholds(single('blue'))
    .decimals(0)
    .span(8)
    .height(9);
  KIND_DASHBOARDS.forEach((d, i) => {
    const first = [...METRICS[d.kind].keys()][0]!;
    panel.withTarget(
      new InfluxQuery(refId(i), `SELECT count("v") FROM (SELECT last(${ident(first)}) AS "v" FROM ${ident(d.kind)} ${where(...SITE)} GROUP BY "site", "device") GROUP BY "site"`, {
        alias: `$tag_site · ${d.title}`,
      }),
    );
  });
  return panel;
}

const lastStatus = `SELECT last("online") AS "online", "kind" FROM "status" ${where(...SITE)} GROUP BY "site", "device"`;

function offlineCount(): Builder<Panel> {
  return new StatPanel()
    .title('离线设备数 Devices offline')
    .description("Devices whose last status in the time range is offline (a retained `{\"online\": false}` or the MQTT last will), by site.")
    .withTarget(new InfluxQuery('A', `SELECT count("online") FROM (${lastStatus}) WHERE "online" = false GROUP BY "site"`, { alias: '$tag_site' }))
    .reduceOptions(lastValue())
    .colorMode(BigValueColorMode.Background)
    .graphMode(BigValueGraphMode.None)
    .textMode(BigValueTextMode.ValueAndName)
    .thresholds(new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([{ value: null, color: COLORS.ok }, { value: 1, color: COLORS.critical }]))
    .noValue('0')
    .decimals(0)
    .span(4)
    .height(9);
}

function offlineTable(): Builder<Panel> {
  return new TablePanel()
    .title('离线设备 Offline devices')
    .description('Each device whose last status in the time range is offline, since when.')
    .withTarget(new InfluxQuery('A', `SELECT "site", "device", "kind" FROM (${lastStatus}) WHERE "online" = false ORDER BY time DESC`, { format: 'table' }))
    .overrideByName('Time', [{ id: 'displayName', value: 'offline since 离线时间' }, { id: 'unit', value: 'dateTimeAsLocal' }])
    .span(12)
    .height(9);
}

function openBySeverity(): Builder<Panel> {
  return new StatPanel()
    .title('未解决告警 Open alerts')
    .description('Alerts firing or acknowledged (last change in the last 30 days not `resolved`), by severity.')
    .withTarget(new InfluxQuery('A', openAlertCount('severity'), { alias: '$tag_severity' }))
    .timeFrom('30d')
    .reduceOptions(lastValue())
    .colorMode(BigValueColorMode.Value)
    .graphMode(BigValueGraphMode.None)
    .textMode(BigValueTextMode.ValueAndName)
    .thresholds(single())
    .overrideByName('critical', [fixed(COLORS.critical)])
    .overrideByName('warning', [fixed(COLORS.warning)])
    .noValue('0')
    .decimals(0)
    .span(6)
    .height(8);
}

function openByDepartment(): Builder<Panel> {
  return new BarGaugePanel()
    .title('各部门未解决告警 Open alerts by department')
    .description('Open alerts by the department of jurisdiction (docs/alerts.md, Rules); every alert also goes to the property company.')
    .withTarget(new InfluxQuery('A', openAlertCount('department'), { alias: '$tag_department' }))
    .timeFrom('30d')
    .reduceOptions(lastValue())
    .displayMode(BarGaugeDisplayMode.Basic)
    .orientation(VizOrientation.Horizontal)
    .thresholds(single(COLORS.warning))
    .decimals(0)
    .span(9)
    .height(8);
}

function alertsByDepartment(): Builder<Panel> {
  return new BarGaugePanel()
    .title('时段内告警 Alerts in the time range, by department')
    .description('Alerts with any recorded change (fired, acknowledged, escalated, resolved) in the time range, by department of jurisdiction.')
    .withTarget(new InfluxQuery('A', `SELECT count(distinct("alert_id")) FROM "alerts" ${where(...SITE)} GROUP BY "department"`, { alias: '$tag_department' }))
    .reduceOptions(lastValue())
    .displayMode(BarGaugeDisplayMode.Basic)
    .orientation(VizOrientation.Horizontal)
    .thresholds(single('blue'))
    .decimals(0)
    .span(9)
    .height(8);
}

function firingOverTime(): Builder<Panel> {
  return new TimeseriesPanel()
    .title('告警 Alerts firing per $__interval, by department')
    .description('Alerts that fired, rose in severity or were escalated in each interval, by department of jurisdiction.')
    .withTarget(
      new InfluxQuery('A', `SELECT count(distinct("alert_id")) FROM "alerts" ${where(`"state" = 'firing'`, ...SITE)} GROUP BY time($__interval), "department" fill(none)`, {
        alias: '$tag_department',
      }),
    )
    .drawStyle(GraphDrawStyle.Bars)
    .fillOpacity(70)
    .stacking(new StackingConfigBuilder().mode(StackingMode.Normal))
    .legend(new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom))
    .unit('none')
    .decimals(0)
    .span(24)
    .height(8);
}

function readingsStored(): Builder<Panel> {
  const panel = new TimeseriesPanel()
    .title('入库读数 Readings stored per $__interval')
    .description("Readings written to InfluxDB in each interval, by kind (counted by each kind's first catalog metric). A gap means the devices, the broker or the service are silent.")
    .drawStyle(GraphDrawStyle.Bars)
    .fillOpacity(70)
    .stacking(new StackingConfigBuilder().mode(StackingMode.Normal))
    .legend(new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom))
    .unit('short')
    .decimals(0)
    .span(12)
    .height(8);
  KIND_DASHBOARDS.forEach((d, i) => {
    const first = [...METRICS[d.kind].keys()][0]!;
    panel.withTarget(new InfluxQuery(refId(i), `SELECT count(${ident(first)}) FROM ${ident(d.kind)} ${where(...SITE)} GROUP BY time($__interval) fill(0)`, { alias: d.title }));
  });
  return panel;
}

export function overviewDashboard(): Dashboard {
  return new DashboardBuilder(OVERVIEW.title)
    .uid(OVERVIEW.uid)
    .description('Estate Sentinel: every site and kind at a glance, from the equipment measurements and `status`, `alerts`, `events`. Generated by npm run grafana.')
    .tags([TAG, 'overview'])
    .timezone('browser')
    .time({ from: 'now-24h', to: 'now' })
    .refresh('30s')
    .tooltip(DashboardCursorSync.Crosshair)
    .readonly()
    .link(estateLinks())
    .withVariable(siteVariable())
    .withRow(new RowBuilder('设备 Devices'))
    .withPanel(devicesBySite())
    .withPanel(offlineCount())
    .withPanel(offlineTable())
    .withRow(new RowBuilder('告警 Alerts'))
    .withPanel(openBySeverity())
    .withPanel(openByDepartment())
    .withPanel(alertsByDepartment())
    .withPanel(openAlertsTable(SITE, 24, 9))
    .withPanel(firingOverTime())
    .withRow(new RowBuilder('接入 Ingest'))
    .withPanel(readingsStored())
    .withPanel(eventsTable(SITE, 12, 8))
    .build();
}
