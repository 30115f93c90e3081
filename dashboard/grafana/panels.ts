/**
 * One panel per metric of the catalog, shaped by what the metric is: a number is a line per
 * device with its rules' threshold lines, a counter shows its increase per interval, a
 * boolean or a mode is a state timeline. Titles carry the catalog's labels in both
 * languages; units come from the catalog.
 */
import type { Builder } from '@grafana/grafana-foundation-sdk/cog';
import {
  GraphDrawStyle,
  GraphThresholdsStyleConfigBuilder,
  GraphThresholdsStyleMode,
  LegendDisplayMode,
  LegendPlacement,
  LineInterpolation,
  SortOrder,
  TooltipDisplayMode,
  VisibilityMode,
  VizLegendOptionsBuilder,
  VizTooltipOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import { MappingType, ThresholdsConfigBuilder, ThresholdsMode, type Panel, type ValueMapping } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as StateTimelinePanel } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { SERVICE_MODES, type Kind, type MetricSpec } from '../../config/index.ts';
import { InfluxQuery, ident, literal, matchVar, where } from './influxql.ts';
import { COLORS, grafanaUnit, problemWhenTrue, thresholdSteps } from './units.ts';

export function title(spec: MetricSpec): string {
  return `${spec.label['zh-CN']} ${spec.label.en}`;
}

const legend = () => new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom);
const tooltip = () => new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending);

/** The filter of a kind dashboard: its variables. */
export function deviceFilter(): string[] {
  return [matchVar('site', 'site'), matchVar('device', 'device')];
}

/** `SELECT fn("metric") … GROUP BY time($__interval), "device"`: one series per device. */
export function perDevice(measurement: string, select: string, conditions: string[] = deviceFilter(), fill = 'none'): InfluxQuery {
  return new InfluxQuery('A', `SELECT ${select} FROM ${ident(measurement)} ${where(...conditions)} GROUP BY time($__interval), "device" fill(${fill})`, {
    alias: '$tag_device',
  });
}

function numberPanel(kind: Kind, spec: MetricSpec, width: number): Builder<Panel> {
  const steps = thresholdSteps(kind, spec.name);
  // A floor or a count of vehicles is a level, not an average: the last value of each interval.
  const fn = spec.integer ? 'last' : 'mean';
  const panel = new TimeseriesPanel()
    .title(title(spec))
    .description(describe(kind, spec, steps !== undefined))
    .withTarget(perDevice(kind, `${fn}(${ident(spec.name)})`))
    .unit(grafanaUnit(spec))
    .legend(legend())
    .tooltip(tooltip())
    .showPoints(VisibilityMode.Never)
    .lineWidth(1)
    .spanNulls(false)
    .span(width)
    .height(8);
  if (spec.integer) panel.lineInterpolation(LineInterpolation.StepAfter).decimals(0);
  if (steps) {
    panel
      .thresholds(new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(steps))
      .thresholdsStyle(new GraphThresholdsStyleConfigBuilder().mode(GraphThresholdsStyleMode.Dashed));
  }
  return panel;
}

function counterPanel(kind: Kind, spec: MetricSpec, width: number): Builder<Panel> {
  return new TimeseriesPanel()
    .title(`${title(spec)} · per $__interval`)
    .description(`${describe(kind, spec, false)} The counter only grows; this shows how much it grew in each interval.`)
    .withTarget(perDevice(kind, `non_negative_difference(last(${ident(spec.name)}))`))
    .unit('none')
    .decimals(0)
    .drawStyle(GraphDrawStyle.Bars)
    .fillOpacity(60)
    .legend(legend())
    .tooltip(tooltip())
    .span(width)
    .height(8);
}

function stateMappings(kind: Kind, spec: MetricSpec): ValueMapping[] {
  if (spec.name === 'service_mode') {
    const color: Record<string, string> = {
      stopped: 'text',
      normal: COLORS.ok,
      inspection: 'blue',
      'fire return': COLORS.critical,
      firefighter: COLORS.critical,
      'emergency power': COLORS.warning,
      earthquake: COLORS.critical,
      unknown: 'text',
    };
    return [
      {
        type: MappingType.ValueToText,
        options: Object.fromEntries(SERVICE_MODES.map((mode, i) => [String(i), { text: mode, color: color[mode] ?? 'text', index: i }])),
      },
    ];
  }
  const problem = problemWhenTrue(kind, spec.name);
  return [
    {
      type: MappingType.ValueToText,
      options: {
        true: { text: '是 yes', color: problem ? COLORS[problem] : 'blue', index: 0 },
        false: { text: '否 no', color: problem ? COLORS.ok : 'transparent', index: 1 },
      },
    },
  ];
}

function statePanel(kind: Kind, spec: MetricSpec, width: number): Builder<Panel> {
  return new StateTimelinePanel()
    .title(title(spec))
    .description(describe(kind, spec, false))
    .withTarget(perDevice(kind, `last(${ident(spec.name)})`))
    .mappings(stateMappings(kind, spec))
    .thresholds(new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([{ value: null, color: 'text' }]))
    .showValue(VisibilityMode.Never)
    .mergeValues(true)
    .legend(legend())
    .span(width)
    .height(8);
}

export function metricPanel(kind: Kind, spec: MetricSpec, width = 12): Builder<Panel> {
  if (spec.type === 'boolean' || spec.name === 'service_mode') return statePanel(kind, spec, width);
  if (spec.counter) return counterPanel(kind, spec, width);
  return numberPanel(kind, spec, width);
}

function describe(kind: Kind, spec: MetricSpec, lines: boolean): string {
  const unit = spec.unit ? `, ${spec.unit}` : '';
  const range = spec.min !== undefined && spec.max !== undefined ? ` Physical range ${spec.min}…${spec.max}${unit ? ` ${spec.unit}` : ''}.` : '';
  const rules = lines ? ' Dashed lines: the default alert thresholds of config/rules.ts (orange warning, red critical).' : '';
  return `\`${spec.name}\` of ${kind} devices${unit}.${range}${rules}`;
}

/** The devices' online state from the `status` measurement (retained status and last will). */
export function onlinePanel(kind: Kind): Builder<Panel> {
  return new StateTimelinePanel()
    .title('在线 Online')
    .description('The `status` measurement: each device\'s retained status and MQTT last will. A point is written when the state changes.')
    .withTarget(perDevice('status', 'last("online")', [`"kind" = ${literal(kind)}`, ...deviceFilter()], 'previous'))
    .mappings([
      {
        type: MappingType.ValueToText,
        options: { true: { text: '在线 online', color: COLORS.ok, index: 0 }, false: { text: '离线 offline', color: COLORS.critical, index: 1 } },
      },
    ])
    .thresholds(new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([{ value: null, color: 'text' }]))
    .showValue(VisibilityMode.Never)
    .mergeValues(true)
    .legend(legend())
    .span(8)
    .height(8);
}
