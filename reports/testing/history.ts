/**
 * A month of history for test/reports.test.ts, with values chosen so that every figure of
 * the reports can be worked out by hand: two compounds, six devices reporting every 600 s,
 * back-dated from 29 (or 28) Shanghai days ago to today's midnight, and the health figures
 * those readings must give.
 */
import { createHash } from 'node:crypto';
import { parseEstate, type Estate } from '../../config/index.ts';
import { iso, startOfDay } from '../calendar.ts';

export const MIN = 60_000;
export const H = 60 * MIN;
export const DAY = 24 * H;
const STEP = 10 * MIN; // every device reports every 600 s
const NOW0 = Date.now();
export const TODAY = startOfDay(NOW0);
/** 29 whole Shanghai days of history, or 28 late in the day (ingest refuses readings 30 days old). */
export const DAYS = NOW0 - TODAY < 20 * H ? 29 : 28;
export const D0 = TODAY - DAYS * DAY;
export const N = DAYS * 144;
/** The last week's readings start here (the maintenance report's wear windows). */
export const K = N - 7 * 144;
export const ts = (i: number) => D0 + i * STEP;
export const r = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;

const hash = (t: string) => createHash('sha256').update(t).digest('hex');
const yaml = (hook: string) => `sites:
  - id: north
    name: 北苑
    property: { name: 北苑物业, channels: [{ type: webhook, url: "${hook}/property/north" }] }
    devices:
      - { id: EL-1, kind: elevator, building: "1栋", intervalSec: 600 }
      - { id: HY-1, kind: hydrant, building: "1栋", intervalSec: 600 }
      - { id: WS-1, kind: water, building: "泵房", intervalSec: 600 }
  - id: south
    name: 南苑
    property: { name: 南苑物业, channels: [{ type: webhook, url: "${hook}/property/south" }] }
    devices:
      - { id: EL-2, kind: elevator, building: "2栋", intervalSec: 600 }
      - { id: HY-2, kind: hydrant, building: "2栋", intervalSec: 600, attributes: { minPressureMpa: 0.10 } }
      - { id: FL-1, kind: firelane, building: "北门", intervalSec: 600 }
departments:
${['market-supervision', 'fire-rescue', 'health-commission', 'water-authority', 'housing'].map((d) => `  - { id: ${d}, name: ${d}, channels: [{ type: webhook, url: "${hook}/department/${d}" }] }`).join('\n')}
auth:
  tokens:
    - { name: root, role: admin, sha256: ${hash('t-root')} }
    - { name: ops-north, role: operator, sha256: ${hash('t-north')}, sites: [north] }
    - { name: viewer-south, role: viewer, sha256: ${hash('t-view-south')}, sites: [south] }
    - { name: market, role: department, sha256: ${hash('t-market')}, departments: [market-supervision] }
`;

// Out-of-range readings, each alone (its neighbours are in range): index → value.
const HY1_LOW = new Map([...[100, 600, 1100, 1600, 2100, 2600].map((i) => [i, 0.12] as const), [3100, 0.08]]);
const HY2_LOW = new Map([...[150, 650, 1150].map((i) => [i, 0.12] as const), [1650, 0.09], [2150, 0.09]]);
const WATER_BAD: Record<string, Map<number, number>> = {
  turbidity_ntu: new Map([205, 705, 1205, 1705, 2205].map((i) => [i, 1.5])),
  chlorine_mgl: new Map([...Array.from({ length: 12 }, (_, j) => [301 + 100 * j, 0.03] as const), ...Array.from({ length: 8 }, (_, j) => [351 + 100 * j, 2.5] as const)]),
  ph: new Map([407, 907, 1407, 1907].map((i) => [i, 8.8])),
  tds_mgl: new Map([509, 1009].map((i) => [i, 1200])),
};
const WATER_OK: Record<string, number> = { turbidity_ntu: 0.3, chlorine_mgl: 0.5, ph: 7.2, tds_mgl: 300 };
/** Fire lane: three episodes of 30 minutes (alerts), two single readings (no alert). */
export const LANE = new Set([1000, 1001, 1002, 2000, 2001, 2002, 3000, 3001, 3002, 1500, 2500]);
export const EL2_DOORS = (i: number) => 100 + 2 * Math.min(i, K) + 6 * Math.max(0, i - K);

export function reading(device: string, i: number): Record<string, number | boolean> {
  switch (device) {
    case 'EL-1':
      return { run_count: 1000 + 5 * i, door_cycles: 500 + 10 * i, running: i % 4 === 0, vibration_mms: i < K ? 1 : 2 };
    case 'EL-2':
      return { run_count: 200 + 3 * i, door_cycles: EL2_DOORS(i), running: i % 2 === 0, vibration_mms: 1.2 };
    case 'HY-1':
      return { pressure_mpa: HY1_LOW.get(i) ?? 0.3 };
    case 'HY-2':
      return { pressure_mpa: HY2_LOW.get(i) ?? 0.25 };
    case 'WS-1':
      return Object.fromEntries(Object.entries(WATER_OK).map(([m, ok]) => [m, WATER_BAD[m]!.get(i) ?? ok]));
    default:
      return { occupied: LANE.has(i) };
  }
}

export const TOPICS: Record<string, string> = { 'EL-1': 'north/elevator', 'HY-1': 'north/hydrant', 'WS-1': 'north/water', 'EL-2': 'south/elevator', 'HY-2': 'south/hydrant', 'FL-1': 'south/firelane' };
/** Elevator faults (warnings), each starting and ending a minute later: day, minute of day, code. */
export const FAULTS: [string, number, number, string][] = [
  ['EL-1', 2, 605, 'door_close_fault'],
  ['EL-1', 9, 605, 'door_close_fault'],
  ['EL-1', 16, 605, 'door_close_fault'],
  ['EL-1', 5, 873, 'user_alarm'],
  ['EL-1', 12, 873, 'user_alarm'],
  ['EL-2', 20, 480, 'run_timeout'],
];

/** The test's estate, its webhooks pointing at `hook`; tokens t-root, t-north, t-view-south, t-market. */
export function historyEstate(hook: string): Estate {
  return parseEstate(yaml(hook), 'reports-test.yaml', {});
}

/** Health of the history alone, worked out by hand from the readings above. */
export function expectedHealth(from: number, to: number) {
  const lane = LANE.size;
  return {
    kind: 'health',
    from: iso(from),
    to: iso(to),
    sites: [
      {
        id: 'north',
        name: '北苑',
        elevators: [{ device: 'EL-1', runs: 5 * (N - 1), doorCycles: 10 * (N - 1), runningHours: (N / 4) * (600 / 3600), faults: { door_close_fault: 3, user_alarm: 2 }, trappings: 0, availabilityPct: 100 }],
        hydrants: [{ device: 'HY-1', minPressureMpa: 0.08, meanPressureMpa: r((0.3 * (N - 7) + 0.12 * 6 + 0.08) / N, 3), minutesBelowMin: 70 }],
        water: [
          {
            device: 'WS-1',
            compliancePct: { turbidity_ntu: r((100 * (N - 5)) / N, 2), chlorine_mgl: r((100 * (N - 20)) / N, 2), ph: r((100 * (N - 4)) / N, 2), tds_mgl: r((100 * (N - 2)) / N, 2) },
          },
        ],
        firelanes: [],
      },
      {
        id: 'south',
        name: '南苑',
        elevators: [{ device: 'EL-2', runs: 3 * (N - 1), doorCycles: EL2_DOORS(N - 1) - EL2_DOORS(0), runningHours: (N / 2) * (600 / 3600), faults: { run_timeout: 1 }, trappings: 0, availabilityPct: 100 }],
        // HY-2's minimum is 0.10: its three readings at 0.12 are above it, the two at 0.09 below.
        hydrants: [{ device: 'HY-2', minPressureMpa: 0.09, meanPressureMpa: r((0.25 * (N - 5) + 0.12 * 3 + 0.09 * 2) / N, 3), minutesBelowMin: 20 }],
        water: [],
        firelanes: [{ device: 'FL-1', occupiedMinutes: lane * 10, incidents: 3 }],
      },
    ],
  };
}
