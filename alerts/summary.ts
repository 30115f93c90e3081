/**
 * The one-line summary of an alert, in zh-CN and en (`summary` of docs/interfaces.md#the-alert-object):
 * "3栋消火栓压力 0.08 MPa，低于 0.10 MPa" / "Hydrant HY-03 pressure 0.08 MPa is below 0.10 MPa".
 */
import { METRICS, type Kind } from '../config/index.ts';
import type { LocalizedText } from './types.ts';

const KIND: Record<Kind | 'system' | 'site', LocalizedText> = {
  elevator: { 'zh-CN': '电梯', en: 'Elevator' },
  hydrant: { 'zh-CN': '消火栓', en: 'Hydrant' },
  firelane: { 'zh-CN': '消防通道', en: 'Fire lane' },
  water: { 'zh-CN': '二次供水', en: 'Water supply' },
  system: { 'zh-CN': '系统', en: 'System' },
  site: { 'zh-CN': '小区', en: 'Site' },
};

/** What each rule means, for people. */
export const RULE_TEXT: Record<string, LocalizedText> = {
  overspeed_derived: { 'zh-CN': '超速', en: 'overspeed' },
  trapped: { 'zh-CN': '困人', en: 'passengers trapped' },
  trapped_derived: { 'zh-CN': '疑似困人（停梯、门关、轿厢有人）', en: 'passengers probably trapped (stopped, doors shut, people inside)' },
  stop_outside_door_zone_derived: { 'zh-CN': '门区外停梯', en: 'stopped outside the door zone' },
  stop_outside_door_zone: { 'zh-CN': '门区外停梯', en: 'stopped outside the door zone' },
  door_held_open: { 'zh-CN': '长时间开门', en: 'door held open' },
  door_open_moving: { 'zh-CN': '开门走车', en: 'moving with the door open' },
  overspeed: { 'zh-CN': '超速', en: 'overspeed' },
  overrun_top: { 'zh-CN': '冲顶', en: 'overrun at the top' },
  overrun_bottom: { 'zh-CN': '蹲底', en: 'overrun at the bottom' },
  safety_circuit_open: { 'zh-CN': '安全回路断开', en: 'safety circuit open' },
  power_loss: { 'zh-CN': '停电', en: 'power loss' },
  door_open_fault: { 'zh-CN': '开门故障', en: 'door opening fault' },
  door_close_fault: { 'zh-CN': '关门故障', en: 'door closing fault' },
  user_alarm: { 'zh-CN': '乘客报警', en: 'passenger alarm' },
  run_timeout: { 'zh-CN': '运行超时', en: 'run timeout' },
  pressure_low: { 'zh-CN': '压力过低', en: 'pressure low' },
  pressure_high: { 'zh-CN': '压力过高', en: 'pressure high' },
  freeze_risk: { 'zh-CN': '冰冻风险', en: 'freeze risk' },
  tamper_metric: { 'zh-CN': '被拆动', en: 'tampered with' },
  leak_metric: { 'zh-CN': '漏水', en: 'leaking' },
  tamper: { 'zh-CN': '被拆动', en: 'tampered with' },
  leak: { 'zh-CN': '漏水', en: 'leaking' },
  valve_open: { 'zh-CN': '阀门被打开', en: 'valve opened' },
  lane_occupied: { 'zh-CN': '被占用', en: 'occupied' },
  sensor_obstructed: { 'zh-CN': '传感器被遮挡', en: 'sensor obstructed' },
  blocked: { 'zh-CN': '被堵塞', en: 'blocked' },
  turbidity_high: { 'zh-CN': '浑浊度超标', en: 'turbidity high' },
  chlorine_low: { 'zh-CN': '余氯不足', en: 'free chlorine low' },
  chlorine_high: { 'zh-CN': '余氯超标', en: 'free chlorine high' },
  ph_low: { 'zh-CN': 'pH 偏低', en: 'pH low' },
  ph_high: { 'zh-CN': 'pH 偏高', en: 'pH high' },
  tds_high: { 'zh-CN': '溶解性总固体超标', en: 'TDS high' },
  tank_level_low: { 'zh-CN': '水箱液位过低', en: 'tank level low' },
  tank_level_high: { 'zh-CN': '水箱液位过高（溢流）', en: 'tank level high (overflow)' },
  pump_fault: { 'zh-CN': '水泵故障', en: 'pump fault' },
  tank_overflow: { 'zh-CN': '水箱溢流', en: 'tank overflow' },
  tank_cover_open: { 'zh-CN': '水箱盖未关', en: 'tank cover open' },
  device_silent: { 'zh-CN': '设备无数据', en: 'device silent' },
  device_offline: { 'zh-CN': '设备离线', en: 'device offline' },
  battery_low: { 'zh-CN': '电池电量低', en: 'battery low' },
  site_offline: { 'zh-CN': '小区设备集体离线', en: 'site offline' },
  ops_store_down: { 'zh-CN': '运行数据库不可用，告警变更暂缓写入', en: 'the operational store was away; alert changes waited' },
  store_down: { 'zh-CN': '时序数据库不可用，读数暂存在磁盘', en: 'the series store is away; readings wait on disk' },
  store_tag_limit: { 'zh-CN': '时序数据库标签取值数达上限，拒收新设备的数据', en: "the series store's cap on a tag's values is reached; new devices' points are refused" },
  broker_down: { 'zh-CN': 'MQTT 服务器连接中断', en: 'lost the MQTT broker' },
  spool_near_full: { 'zh-CN': '磁盘暂存区将满（已过上限的 80%）', en: 'the spool is nearly full (past 80 % of its cap)' },
  spool_full: { 'zh-CN': '磁盘暂存区已满，停止接收数据', en: 'the spool is full; ingest has stopped taking messages' },
  delivery_failed: { 'zh-CN': '告警通知发送失败', en: 'an alert notification could not be delivered' },
};

export function ruleText(rule: string): LocalizedText {
  return RULE_TEXT[rule] ?? { 'zh-CN': rule, en: rule.replace(/_/g, ' ') };
}

const fmt = (v: number) => String(Math.round(v * 1000) / 1000);

/** `金佛花园 12/20 台设备同时离线（停电或网络中断？）` / `金佛花园: 12 of 20 devices went dark together (power or uplink lost?)` */
export function siteOutageSummary(siteName: string, dark: number, total: number): LocalizedText {
  return {
    'zh-CN': `${siteName} ${dark}/${total} 台设备同时离线（停电或网络中断？）`,
    en: `${siteName}: ${dark} of ${total} devices went dark together (power or uplink lost?)`,
  };
}

/**
 * `store_tag_limit`: what the store refuses and the setting that lifts the cap, in both languages:
 * `系统：时序数据库拒收测量 hydrant 中标签 device 的新取值：已达上限 100000 个（InfluxDB 配置 [data] max-values-per-tag，环境变量 INFLUXDB_DATA_MAX_VALUES_PER_TAG；设为 0 即不设上限）`
 */
export function tagLimitSummary(c: { measurement: string; tag: string; limit: number; setting: { file: string; env: string; unlimited: number } }): LocalizedText {
  const { file, env, unlimited } = c.setting;
  return {
    'zh-CN': `系统：时序数据库拒收测量 ${c.measurement} 中标签 ${c.tag} 的新取值：已达上限 ${c.limit} 个（InfluxDB 配置 ${file}，环境变量 ${env}；设为 ${unlimited} 即不设上限）`,
    en: `System: the series store refuses new values of tag ${c.tag} in measurement ${c.measurement}: it is at its cap of ${c.limit} values (InfluxDB ${file}, environment ${env}; ${unlimited} lifts the cap)`,
  };
}

export interface SummaryInput {
  kind: Kind | 'system';
  device: string;
  building: string;
  rule: string;
  metric: string | null;
  value: number | null;
  threshold: number | null;
  direction?: 'above' | 'below';
  detail?: string;
}

export function summarize(a: SummaryInput): LocalizedText {
  const kind = KIND[a.kind];
  const rule = ruleText(a.rule);
  if (a.kind === 'system') {
    return { 'zh-CN': `系统：${rule['zh-CN']}${a.detail ? `（${a.detail}）` : ''}`, en: `System: ${rule.en}${a.detail ? ` (${a.detail})` : ''}` };
  }
  // A fire lane's location often names it already ("南门消防通道"): do not say it twice.
  const kindZh = a.building.endsWith(kind['zh-CN']) ? '' : kind['zh-CN'];
  const where = `${a.building}${kindZh} ${a.device}`;
  const spec = a.metric ? METRICS[a.kind].get(a.metric) : undefined;
  if (spec && spec.type === 'number' && a.value !== null && a.threshold !== null && a.direction) {
    const unit = spec.unit ? ` ${spec.unit}` : '';
    return {
      'zh-CN': `${a.building}${kindZh}${spec.label['zh-CN']} ${fmt(a.value)}${unit}，${a.direction === 'below' ? '低于' : '高于'} ${fmt(a.threshold)}${unit}`,
      en: `${kind.en} ${a.device} ${spec.label.en.toLowerCase()} ${fmt(a.value)}${unit} is ${a.direction} ${fmt(a.threshold)}${unit}`,
    };
  }
  const detail = a.detail ? `（${a.detail}）` : '';
  return { 'zh-CN': `${where} ${rule['zh-CN']}${detail}`, en: `${kind.en} ${a.device}: ${rule.en}${a.detail ? ` (${a.detail})` : ''}` };
}
