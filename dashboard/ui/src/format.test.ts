/** The UI's pure rules: relative times, values with units, a device's state, building order, paths. */
import { describe, expect, it } from 'vitest';
import { METRICS } from '../../../config/catalog.ts';
import { byBuilding, deviceState, metricValue, number, presetPeriod, relativeTime, reportFileName, reportPeriod, requestPeriod, shanghaiDate } from './format.ts';
import { route, paths } from './router.ts';

describe('relativeTime', () => {
  const now = Date.parse('2026-11-25T08:00:00Z');
  it.each([
    [null, '从未上报', 'never heard'],
    [now - 3_000, '刚刚', 'just now'],
    [now - 42_000, '42 秒前', '42 s ago'],
    [now - 3 * 60_000 - 5_000, '3 分钟前', '3 min ago'],
    [now - 5 * 3_600_000, '5 小时前', '5 h ago'],
    [now - 2 * 86_400_000, '2 天前', '2 d ago'],
    [now + 5_000, '刚刚', 'just now'],
  ])('%s', (then, zh, en) => {
    expect(relativeTime(then, now, 'zh-CN')).toBe(zh);
    expect(relativeTime(then, now, 'en')).toBe(en);
  });
});

describe('metricValue', () => {
  const hydrant = METRICS.hydrant;
  const elevator = METRICS.elevator;
  it.each([
    [hydrant.get('pressure_mpa'), 0.28, '0.28 MPa'],
    [hydrant.get('pressure_mpa'), 0.3, '0.3 MPa'],
    [hydrant.get('temp_c'), 12.345, '12.3 °C'],
    [hydrant.get('battery_pct'), 87, '87 %'],
    [METRICS.water.get('turbidity_ntu'), 0.013, '0.013 NTU'],
    [elevator.get('floor'), 12, '12'],
    [elevator.get('run_count'), 123456, '123456'],
    [hydrant.get('tamper'), true, '是'],
    [elevator.get('service_mode'), 2, '检修'],
    [hydrant.get('pressure_mpa'), undefined, '—'],
  ])('%#', (spec, value, text) => {
    expect(metricValue(spec, value, 'zh-CN')).toBe(text);
  });
  it('in English', () => {
    expect(metricValue(elevator.get('door_open'), false, 'en')).toBe('no');
    expect(metricValue(elevator.get('service_mode'), 3, 'en')).toBe('Fire return');
  });
  it('rounds by size', () => {
    expect([number(1234.5), number(12.34), number(0.2849), number(0), number(-3.5)]).toEqual(['1235', '12.3', '0.28', '0', '-3.5']);
  });
});

describe('deviceState', () => {
  it.each([
    [['warning', 'critical'], true, true, 'critical'],
    [['warning'], false, true, 'warning'],
    [[], false, true, 'offline'],
    [[], true, true, 'ok'],
    [[], null, true, 'ok'],
    [[], null, false, 'unknown'],
  ] as const)('%j online=%s heard=%s → %s', (open, online, heard, state) => {
    expect(deviceState(open, online, heard)).toBe(state);
  });
});

describe('buildings and paths', () => {
  it('orders buildings by their numbers', () => {
    expect(['10栋', '2栋', '1栋', '地下车库', '3栋'].sort(byBuilding)).toEqual(['1栋', '2栋', '3栋', '10栋', '地下车库']);
  });
  it('routes every view and nothing else', () => {
    expect(route('/')).toEqual({ view: 'overview' });
    expect(route('/sites/jinfo-garden')).toEqual({ view: 'compound', site: 'jinfo-garden' });
    expect(route(paths.device('EL-1.A'))).toEqual({ view: 'device', device: 'EL-1.A' });
    expect(route('/alerts')).toEqual({ view: 'alerts' });
    expect(route('/ingest')).toEqual({ view: 'ingest' });
    expect(route('/login')).toEqual({ view: 'login' });
    expect(route('/sites/a/b')).toEqual({ view: 'missing' });
    expect(paths.alerts({ state: 'all', site: '', severity: 'critical' })).toBe('/alerts?state=all&severity=critical');
  });
});

describe('report periods in Shanghai time', () => {
  // 2026-11-25 (a Wednesday) 01:30 in Shanghai is 2026-11-24T17:30Z.
  const now = Date.parse('2026-11-24T17:30:00Z');

  it('finds the previous day, week (Monday to Sunday) and month of Shanghai, not of UTC', () => {
    expect(shanghaiDate(now)).toBe('2026-11-25');
    expect(presetPeriod('day', now)).toEqual({ from: '2026-11-24', to: '2026-11-24' });
    expect(presetPeriod('week', now)).toEqual({ from: '2026-11-16', to: '2026-11-22' });
    expect(presetPeriod('month', now)).toEqual({ from: '2026-10-01', to: '2026-10-31' });
    expect(presetPeriod('month', Date.parse('2026-03-10T00:00:00Z'))).toEqual({ from: '2026-02-01', to: '2026-02-28' });
  });

  it('asks for whole days, and for today only up to now', () => {
    expect(requestPeriod('2026-11-01', '2026-11-30', now)).toEqual({ from: '2026-11-01T00:00:00+08:00', to: '2026-12-01T00:00:00+08:00' });
    expect(requestPeriod('2026-11-24', '2026-11-25', now)).toEqual({ from: '2026-11-24T00:00:00+08:00', to: '2026-11-24T17:30:00.000Z' });
  });

  it('shows a period as days when it is whole days, else to the minute; maintenance as of its end', () => {
    expect(reportPeriod('health', '2026-11-24T16:00:00Z', '2026-11-25T16:00:00Z')).toBe('2026-11-25');
    expect(reportPeriod('health', '2026-10-31T16:00:00Z', '2026-11-30T16:00:00Z')).toBe('2026-11-01 – 2026-11-30');
    expect(reportPeriod('health', '2026-11-24T16:00:00Z', '2026-11-24T17:30:00Z')).toBe('2026-11-25 00:00 – 01:30');
    expect(reportPeriod('maintenance', '2026-11-24T16:00:00Z', '2026-11-30T16:00:00Z')).toBe('2026-12-01 00:00');
    expect(reportPeriod('health', 'nonsense', '2026-11-30T16:00:00Z')).toBe('—');
  });

  it('names downloaded files by kind, period and id, with nothing a file system refuses', () => {
    expect(reportFileName({ id: 'r1', kind: 'health', from: '2026-11-24T16:00:00Z', to: '2026-11-25T16:00:00Z' }, 'csv')).toBe('health_2026-11-25_r1.csv');
    expect(reportFileName({ id: 'r/2', kind: 'accountability', from: '2026-10-31T16:00:00Z', to: '2026-11-30T16:00:00Z' }, 'json')).toBe('accountability_2026-11-01_2026-11-30_r-2.json');
    expect(reportFileName({ id: 'r3', kind: 'maintenance', from: '2026-11-24T16:00:00Z', to: '2026-11-30T16:00:00Z' }, 'html')).toBe('maintenance_2026-12-01_r3.html');
  });
});
