/**
 * The service itself (docs/operations.md): whether it can serve and what it depends on, the
 * ingest rate and rejects, the spool and write latency, the open alerts, the deliveries and
 * their latency, the outbox, the HTTP API, the event loop and memory. From Prometheus scraping /metrics
 * (deploy/prometheus/), not InfluxDB. One variable: the instance (several with SHARD=i/N).
 */
import type { Builder } from '@grafana/grafana-foundation-sdk/cog';
import {
  BigValueColorMode,
  BigValueGraphMode,
  BigValueTextMode,
  GraphDrawStyle,
  GraphThresholdsStyleConfigBuilder,
  GraphThresholdsStyleMode,
  LegendDisplayMode,
  LegendPlacement,
  ReduceDataOptionsBuilder,
  StackingConfigBuilder,
  StackingMode,
  VizLegendOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import {
  DashboardBuilder,
  DashboardCursorSync,
  MappingType,
  QueryVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
  type Dashboard,
  type Panel,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder as PromQuery } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as BarGaugePanel } from '@grafana/grafana-foundation-sdk/bargauge';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { PROMETHEUS } from './datasource.ts';
import { TAG, estateLinks } from './kind.ts';
import { refId } from './influxql.ts';
import { COLORS } from './units.ts';

export const SERVICE = { uid: 'estate-service', title: '服务运行 Estate Sentinel service' } as const;

/** A metric of the chosen instances, with more matchers if given. */
export function sel(metric: string, matchers = ''): string {
  return `${metric}{instance=~"$instance"${matchers ? `, ${matchers}` : ''}}`;
}

const rate = (metric: string, matchers = '') => `rate(${sel(metric, matchers)}[$__rate_interval])`;
const quantile = (q: number, histogram: string, by = '', matchers = '') =>
  `histogram_quantile(${q}, sum by (le${by ? `, ${by}` : ''}) (rate(${sel(`${histogram}_bucket`, matchers)}[$__rate_interval])))`;

interface Target {
  expr: string;
  legend: string;
  instant?: boolean;
}

function targets<P extends { withTarget(t: Builder<never>): P }>(panel: P, list: readonly Target[]): P {
  list.forEach((t, i) => {
    const q = new PromQuery().refId(refId(i)).datasource(PROMETHEUS).expr(t.expr).legendFormat(t.legend);
    panel.withTarget((t.instant ? q.instant() : q.range()) as unknown as Builder<never>);
  });
  return panel;
}

const legend = () => new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom);
const lastValue = () => new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false);
const single = (color = 'text') => new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([{ value: null, color }]);

function timeseries(title: string, description: string, unit: string, list: readonly Target[], span = 12): TimeseriesPanel {
  return targets(
    new TimeseriesPanel().title(title).description(description).datasource(PROMETHEUS).unit(unit).legend(legend()).fillOpacity(10).span(span).height(8),
    list,
  );
}

function instanceVariable(): QueryVariableBuilder {
  const query = 'label_values(estate_build_info, instance)';
  return new QueryVariableBuilder('instance')
    .label('Instance 实例')
    .datasource(PROMETHEUS)
    .query(query)
    .definition(query)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ selected: true, text: ['All'], value: ['$__all'] })
    .refresh(VariableRefresh.OnDashboardLoad)
    .sort(VariableSort.AlphabeticalAsc);
}

function states(): Builder<Panel> {
  return targets(
    new StatPanel()
      .title('状态 Can it serve')
      .description('Ready: /readyz answers 200 (the operational store usable, the spool not full, no stop begun). The broker and InfluxDB being away leave it ready: these say so.')
      .datasource(PROMETHEUS)
      .reduceOptions(lastValue())
      .colorMode(BigValueColorMode.Background)
      .graphMode(BigValueGraphMode.None)
      .textMode(BigValueTextMode.ValueAndName)
      .mappings([
        {
          type: MappingType.ValueToText,
          options: { '1': { text: 'up 正常', color: COLORS.ok, index: 0 }, '0': { text: 'down 故障', color: COLORS.critical, index: 1 } },
        },
      ])
      .thresholds(single())
      .noValue('no data 无数据')
      .span(12)
      .height(5),
    [
      { expr: `min(${sel('estate_ready')})`, legend: 'ready 就绪', instant: true },
      { expr: `min(${sel('estate_operational_store_up')})`, legend: 'operational store 运维库', instant: true },
      { expr: `min(${sel('estate_store_up')})`, legend: 'series store 时序库', instant: true },
      { expr: `min(${sel('estate_broker_connected')})`, legend: 'MQTT broker 消息代理', instant: true },
    ],
  );
}

function build(): Builder<Panel> {
  return targets(
    new StatPanel()
      .title('版本 Version')
      .description("estate_build_info: the service's version, its commit (when run from a git checkout) and Node.js, per instance.")
      .datasource(PROMETHEUS)
      .reduceOptions(lastValue())
      .colorMode(BigValueColorMode.None)
      .graphMode(BigValueGraphMode.None)
      .textMode(BigValueTextMode.Name)
      .thresholds(single())
      .span(6)
      .height(5),
    [{ expr: sel('estate_build_info'), legend: '{{instance}} {{version}} {{commit}} · node {{node}}', instant: true }],
  );
}

function uptime(): Builder<Panel> {
  return targets(
    new StatPanel()
      .title('运行时间 Uptime')
      .description('Since the process started (process_start_time_seconds).')
      .datasource(PROMETHEUS)
      .reduceOptions(lastValue())
      .colorMode(BigValueColorMode.None)
      .graphMode(BigValueGraphMode.None)
      .textMode(BigValueTextMode.ValueAndName)
      .unit('s')
      .thresholds(single())
      .span(6)
      .height(5),
    [{ expr: `time() - ${sel('process_start_time_seconds')}`, legend: '{{instance}}', instant: true }],
  );
}

function openAlerts(): Builder<Panel> {
  return targets(
    new TimeseriesPanel()
      .title('未解决告警 Open alerts, by severity')
      .description('Alerts firing or acknowledged as the service has them committed (pending ones left out), by severity.')
      .datasource(PROMETHEUS)
      .unit('none')
      .decimals(0)
      .stacking(new StackingConfigBuilder().mode(StackingMode.Normal))
      .fillOpacity(40)
      .legend(legend())
      .overrideByName('critical', [{ id: 'color', value: { mode: 'fixed', fixedColor: COLORS.critical } }])
      .overrideByName('warning', [{ id: 'color', value: { mode: 'fixed', fixedColor: COLORS.warning } }])
      .span(8)
      .height(8),
    [{ expr: `sum by (severity) (${sel('estate_alerts_open', 'state!="pending"')})`, legend: '{{severity}}' }],
  );
}

function openByRule(): Builder<Panel> {
  return targets(
    new BarGaugePanel()
      .title('各规则未解决告警 Open alerts, by rule')
      .description('Open alerts (firing or acknowledged) by rule, now.')
      .datasource(PROMETHEUS)
      .reduceOptions(lastValue())
      .thresholds(single(COLORS.warning))
      .decimals(0)
      .span(8)
      .height(8),
    [{ expr: `sort_desc(sum by (rule) (${sel('estate_alerts_open', 'state!="pending"')}) > 0)`, legend: '{{rule}}', instant: true }],
  );
}

function transitions(): Builder<Panel> {
  return targets(
    new TimeseriesPanel()
      .title('告警变化 Alert changes per interval')
      .description('Committed alert changes (fired, acknowledged, escalated, resolved, …) in each interval, by transition.')
      .datasource(PROMETHEUS)
      .drawStyle(GraphDrawStyle.Bars)
      .fillOpacity(70)
      .stacking(new StackingConfigBuilder().mode(StackingMode.Normal))
      .unit('none')
      .legend(legend())
      .span(8)
      .height(8),
    [{ expr: `sum by (transition) (increase(${sel('estate_alert_transitions_total')}[$__rate_interval]))`, legend: '{{transition}}' }],
  );
}

function oldestPending(): Builder<Panel> {
  return targets(
    new TimeseriesPanel()
      .title('最久待发 Oldest pending delivery')
      .description('Age of the oldest delivery still pending in the outbox. Over 5 minutes: EstateOutboxStuck (dashed line).')
      .datasource(PROMETHEUS)
      .unit('s')
      .legend(legend())
      .thresholds(new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([{ value: null, color: COLORS.ok }, { value: 300, color: COLORS.critical }]))
      .thresholdsStyle(new GraphThresholdsStyleConfigBuilder().mode(GraphThresholdsStyleMode.Dashed))
      .span(6)
      .height(8),
    [{ expr: sel('estate_outbox_oldest_pending_seconds'), legend: '{{instance}}' }],
  );
}

function spool(): Builder<Panel> {
  return targets(
    new TimeseriesPanel()
      .title('缓冲 Spool')
      .description('Bytes in the spool (readings not yet written to the series store) and its cap, SPOOL_MAX_BYTES (dashed). At 80 %: EstateSpoolNearFull; at the cap ingest stops taking messages.')
      .datasource(PROMETHEUS)
      .unit('bytes')
      .legend(legend())
      .fillOpacity(10)
      .overrideByRegexp('^cap', [
        { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
        { id: 'color', value: { mode: 'fixed', fixedColor: COLORS.critical } },
        { id: 'custom.fillOpacity', value: 0 },
      ])
      .span(12)
      .height(8),
    [
      { expr: sel('estate_spool_bytes'), legend: '{{instance}}' },
      { expr: sel('estate_spool_max_bytes'), legend: 'cap {{instance}}' },
    ],
  );
}

export function serviceDashboard(): Dashboard {
  return new DashboardBuilder(SERVICE.title)
    .uid(SERVICE.uid)
    .description('Estate Sentinel itself, from Prometheus scraping /metrics (docs/operations.md). Generated by npm run grafana.')
    .tags([TAG, 'service'])
    .timezone('browser')
    .time({ from: 'now-6h', to: 'now' })
    .refresh('30s')
    .tooltip(DashboardCursorSync.Crosshair)
    .readonly()
    .link(estateLinks())
    .withVariable(instanceVariable())
    .withRow(new RowBuilder('服务 Service'))
    .withPanel(states())
    .withPanel(build())
    .withPanel(uptime())
    .withRow(new RowBuilder('接入 Ingest'))
    .withPanel(
      timeseries('消息 Messages per second', 'MQTT messages received, points accepted into the spool, points written to the series store, duplicates dropped.', 'cps', [
        { expr: `sum(${rate('estate_mqtt_messages_total')})`, legend: 'received 收到' },
        { expr: `sum(${rate('estate_records_accepted_total')})`, legend: 'accepted 接受' },
        { expr: `sum(${rate('estate_readings_stored_total')})`, legend: 'stored 入库' },
        { expr: `sum(${rate('estate_ingest_duplicates_total')})`, legend: 'duplicates 重复' },
      ]),
    )
    .withPanel(
      timeseries('拒收 Rejects per second, by reason', 'Messages or fields refused (GET /api/ingest/rejects lists them): bad topic, unknown device, bad payload, metric or timestamp, refused by the store, spool full.', 'cps', [
        { expr: `sum by (reason) (${rate('estate_ingest_rejects_total')}) > 0`, legend: '{{reason}}' },
      ]),
    )
    .withPanel(spool())
    .withPanel(
      timeseries('写入延迟 Series store write latency', 'One batch write to InfluxDB (or the embedded store): median and 99th percentile.', 's', [
        { expr: quantile(0.5, 'estate_store_write_seconds'), legend: 'p50' },
        { expr: quantile(0.99, 'estate_store_write_seconds'), legend: 'p99' },
      ]),
    )
    .withRow(new RowBuilder('告警 Alerts'))
    .withPanel(openAlerts())
    .withPanel(openByRule())
    .withPanel(transitions())
    .withRow(new RowBuilder('通知 Deliveries'))
    .withPanel(
      timeseries('通知 Deliveries per second, by channel', 'Accepted by their receiver, retried (a failure worth retrying), given up (refused, or past the deadline: EstateChannelFailing).', 'cps', [
        { expr: `sum by (channel) (${rate('estate_deliveries_sent_total')})`, legend: 'sent 送达 {{channel}}' },
        { expr: `sum by (channel) (${rate('estate_delivery_retries_total')})`, legend: 'retried 重试 {{channel}}' },
        { expr: `sum by (channel, reason) (${rate('estate_deliveries_failed_total')})`, legend: 'given up 放弃 {{channel}} {{reason}}' },
      ]),
    )
    .withPanel(
      timeseries(
        '通知延迟 Alert delivery latency',
        "alert.firing deliveries, from the alert firing (its firedAt) to the receiver's 2xx: median, 95th and 99th percentile, every channel.",
        's',
        [
          { expr: quantile(0.5, 'estate_delivery_latency_seconds', '', 'event="alert.firing"'), legend: 'p50' },
          { expr: quantile(0.95, 'estate_delivery_latency_seconds', '', 'event="alert.firing"'), legend: 'p95' },
          { expr: quantile(0.99, 'estate_delivery_latency_seconds', '', 'event="alert.firing"'), legend: 'p99' },
        ],
        6,
      ),
    )
    .withPanel(timeseries('待发 Outbox pending', 'Deliveries pending in the outbox: due, in flight, or waiting for a retry.', 'none', [{ expr: sel('estate_outbox_pending'), legend: '{{instance}}' }], 6))
    .withPanel(oldestPending())
    .withRow(new RowBuilder('接口 HTTP API'))
    .withPanel(
      timeseries('请求 Requests per second, by status', 'HTTP requests answered (API, dashboard, probes), by status code. 503 with STORE_UNAVAILABLE: the operational store cannot be used.', 'reqps', [
        { expr: `sum by (status) (${rate('estate_http_requests_total')})`, legend: '{{status}}' },
      ]),
    )
    .withPanel(
      timeseries('响应时间 Response time p99, by route', 'The 99th percentile of the time to answer, by route pattern (/api/alerts/:id, …).', 's', [
        { expr: `topk(8, ${quantile(0.99, 'estate_http_request_duration_seconds', 'route')})`, legend: '{{route}}' },
      ]),
    )
    .withRow(new RowBuilder('进程 Process'))
    .withPanel(
      timeseries('事件循环延迟 Event-loop lag', 'How late the Node.js event loop runs timers: everything the service does waits on it.', 's', [
        { expr: sel('nodejs_eventloop_lag_p50_seconds'), legend: 'p50 {{instance}}' },
        { expr: sel('nodejs_eventloop_lag_p99_seconds'), legend: 'p99 {{instance}}' },
        { expr: sel('nodejs_eventloop_lag_max_seconds'), legend: 'max {{instance}}' },
      ], 8),
    )
    .withPanel(
      timeseries('内存 Memory', 'Resident set size, the V8 heap used and allocated, memory outside the heap (buffers).', 'bytes', [
        { expr: sel('process_resident_memory_bytes'), legend: 'RSS {{instance}}' },
        { expr: sel('nodejs_heap_size_used_bytes'), legend: 'heap used {{instance}}' },
        { expr: sel('nodejs_heap_size_total_bytes'), legend: 'heap total {{instance}}' },
        { expr: sel('nodejs_external_memory_bytes'), legend: 'external {{instance}}' },
      ], 8),
    )
    .withPanel(timeseries('处理器 CPU', 'CPU time used per second of wall time (1 = one core).', 'percentunit', [{ expr: rate('process_cpu_seconds_total'), legend: '{{instance}}' }], 8))
    .build();
}
