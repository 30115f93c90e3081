/**
 * The metric catalog: for each device kind, the metrics it may send (docs/interfaces.md#metrics-and-event-codes),
 * their units, their physical ranges and their types, and the event codes it may raise.
 * A value outside its physical range is not a reading of the world but a broken sensor or
 * a wrong unit, so ingest rejects it (`bad_metric`); thresholds live in `rules.ts`.
 */

export const KINDS = ['elevator', 'hydrant', 'firelane', 'water'] as const;
export type Kind = (typeof KINDS)[number];

export const TOPIC_CHANNELS = ['telemetry', 'event', 'status'] as const;
export type TopicChannel = (typeof TOPIC_CHANNELS)[number];

export interface MetricSpec {
  readonly name: string;
  readonly type: 'number' | 'boolean';
  /** unit shown to people; '' for booleans and counts without a unit */
  readonly unit: string;
  readonly min?: number;
  readonly max?: number;
  /** integer-valued (codes, counters) */
  readonly integer?: boolean;
  /** a counter that only grows (reports compute differences) */
  readonly counter?: boolean;
  readonly label: { readonly 'zh-CN': string; readonly en: string };
}

const num = (
  name: string,
  unit: string,
  min: number,
  max: number,
  zh: string,
  en: string,
  extra: Partial<MetricSpec> = {},
): MetricSpec => ({ name, type: 'number', unit, min, max, label: { 'zh-CN': zh, en }, ...extra });

const bool = (name: string, zh: string, en: string): MetricSpec => ({
  name,
  type: 'boolean',
  unit: '',
  label: { 'zh-CN': zh, en },
});

const COMMON: readonly MetricSpec[] = [
  num('battery_pct', '%', 0, 100, '电池电量', 'Battery'),
  num('rssi_dbm', 'dBm', -150, 0, '信号强度', 'Signal strength'),
];

const BY_KIND: Record<Kind, readonly MetricSpec[]> = {
  elevator: [
    num('floor', '', -5, 200, '楼层', 'Floor', { integer: true }),
    num('speed_mps', 'm/s', 0, 25, '运行速度', 'Speed'),
    bool('door_open', '门开', 'Door open'),
    bool('running', '运行中', 'Running'),
    bool('in_door_zone', '平层区', 'In door zone'),
    num('service_mode', '', 0, 7, '运行模式', 'Service mode', { integer: true }),
    // Above 100 % is an overload, which the load weighing device reports; 150 % is its physical limit.
    num('load_pct', '%', 0, 150, '载重', 'Load'),
    num('vibration_mms', 'mm/s', 0, 100, '振动', 'Vibration'),
    num('motor_temp_c', '°C', -40, 200, '电机温度', 'Motor temperature'),
    num('run_count', '', 0, 1e12, '运行次数', 'Runs', { integer: true, counter: true }),
    num('door_cycles', '', 0, 1e12, '开关门次数', 'Door cycles', { integer: true, counter: true }),
    bool('passengers_present', '轿厢有人', 'Passengers present'),
  ],
  hydrant: [
    num('pressure_mpa', 'MPa', 0, 2.5, '水压', 'Pressure'),
    num('flow_lps', 'L/s', 0, 100, '流量', 'Flow'),
    num('temp_c', '°C', -40, 100, '温度', 'Temperature'),
    bool('tamper', '被拆动', 'Tamper'),
    bool('leak', '漏水', 'Leak'),
  ],
  firelane: [
    bool('occupied', '占用', 'Occupied'),
    num('vehicle_count', '', 0, 1000, '车辆数', 'Vehicles', { integer: true }),
    num('obstruction_pct', '%', 0, 100, '遮挡', 'Obstruction'),
  ],
  water: [
    num('turbidity_ntu', 'NTU', 0, 1000, '浑浊度', 'Turbidity'),
    num('chlorine_mgl', 'mg/L', 0, 20, '余氯', 'Free chlorine'),
    num('ph', 'pH', 0, 14, 'pH', 'pH'),
    num('tds_mgl', 'mg/L', 0, 50000, '溶解性总固体', 'TDS'),
    num('temp_c', '°C', -10, 100, '水温', 'Water temperature'),
    num('tank_level_pct', '%', 0, 100, '水箱液位', 'Tank level'),
    num('outlet_pressure_mpa', 'MPa', 0, 2.5, '出水压力', 'Outlet pressure'),
    bool('pump_running', '水泵运行', 'Pump running'),
  ],
};

export const EVENT_CODES: Record<Kind, readonly string[]> = {
  elevator: [
    'trapped',
    'door_open_moving',
    'overspeed',
    'overrun_top',
    'overrun_bottom',
    'stop_outside_door_zone',
    'power_loss',
    'safety_circuit_open',
    'door_open_fault',
    'door_close_fault',
    'user_alarm',
    'run_timeout',
  ],
  hydrant: ['tamper', 'leak', 'valve_open'],
  firelane: ['blocked'],
  water: ['pump_fault', 'tank_overflow', 'tank_cover_open'],
};

/** Metrics of one kind, the kind's own plus the ones every kind may send. */
export const METRICS = Object.fromEntries(
  KINDS.map((kind) => [kind, new Map([...BY_KIND[kind], ...COMMON].map((m) => [m.name, m]))]),
) as unknown as Record<Kind, ReadonlyMap<string, MetricSpec>>;

export const EVENT_CODE_SETS = Object.fromEntries(
  KINDS.map((kind) => [kind, new Set(EVENT_CODES[kind])]),
) as unknown as Record<Kind, ReadonlySet<string>>;

export const SERVICE_MODES = [
  'stopped',
  'normal',
  'inspection',
  'fire return',
  'firefighter',
  'emergency power',
  'earthquake',
  'unknown',
] as const;

export function isKind(s: string): s is Kind {
  return (KINDS as readonly string[]).includes(s);
}

export function isTopicChannel(s: string): s is TopicChannel {
  return (TOPIC_CHANNELS as readonly string[]).includes(s);
}
