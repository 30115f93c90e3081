/**
 * What each default rule is called, in zh-CN and en, for titles and subjects
 * ("压力过低" / "Pressure low"). Keyed by rule id (config/rules.ts: an event rule's id is its
 * event code). A rule without a label here (an override's own, a `system` rule) is shown by
 * its metric's name or, failing that, its id.
 */
import type { LocalizedText } from '../types.ts';

const L = (zh: string, en: string): LocalizedText => ({ 'zh-CN': zh, en });

export const RULE_LABELS: Readonly<Record<string, LocalizedText>> = {
  // elevators
  overspeed_derived: L('超速', 'Overspeed'),
  overspeed: L('超速', 'Overspeed'),
  trapped: L('困人', 'Passengers trapped'),
  trapped_derived: L('疑似困人', 'Passengers possibly trapped'),
  stop_outside_door_zone: L('门区外停梯', 'Stopped outside the door zone'),
  stop_outside_door_zone_derived: L('门区外停梯', 'Stopped outside the door zone'),
  door_held_open: L('长时间开门', 'Door held open'),
  door_open_moving: L('开门走车', 'Moving with the door open'),
  overrun_top: L('冲顶', 'Overrun at the top'),
  overrun_bottom: L('蹲底', 'Overrun at the bottom'),
  safety_circuit_open: L('安全回路断开', 'Safety circuit open'),
  power_loss: L('停电', 'Power loss'),
  door_open_fault: L('开门故障', 'Door open fault'),
  door_close_fault: L('关门故障', 'Door close fault'),
  user_alarm: L('轿厢报警', 'Alarm button pressed'),
  run_timeout: L('运行超时', 'Run timeout'),
  // hydrants
  pressure_low: L('压力过低', 'Pressure low'),
  pressure_high: L('压力过高', 'Pressure high'),
  freeze_risk: L('冰冻风险', 'Freeze risk'),
  tamper: L('被拆动', 'Tampering'),
  tamper_metric: L('被拆动', 'Tampering'),
  leak: L('漏水', 'Leak'),
  leak_metric: L('漏水', 'Leak'),
  valve_open: L('阀门开启', 'Valve open'),
  // fire lanes
  blocked: L('消防通道堵塞', 'Fire lane blocked'),
  lane_occupied: L('消防通道被占用', 'Fire lane occupied'),
  sensor_obstructed: L('传感器被遮挡', 'Sensor obstructed'),
  // secondary water supply
  turbidity_high: L('浑浊度超标', 'Turbidity high'),
  chlorine_low: L('余氯过低', 'Free chlorine low'),
  chlorine_high: L('余氯过高', 'Free chlorine high'),
  ph_low: L('pH 过低', 'pH low'),
  ph_high: L('pH 过高', 'pH high'),
  tds_high: L('溶解性总固体超标', 'Dissolved solids high'),
  tank_level_low: L('水箱水位过低', 'Tank level low'),
  tank_level_high: L('水箱水位过高', 'Tank level high'),
  pump_fault: L('水泵故障', 'Pump fault'),
  tank_overflow: L('水箱溢流', 'Tank overflow'),
  tank_cover_open: L('水箱盖未关', 'Tank cover open'),
  // every kind
  device_silent: L('设备离线', 'Device silent'),
  battery_low: L('电量低', 'Battery low'),
};
