/**
 * The crash-point sweep of the trapped-passenger alert (crash-sweep.ts): the service SIGKILLed
 * after each of 100+ trapping events, at random delays after the broker's PUBACK and at the
 * named crash points; every trapping must end as one firing alert, announced to both
 * receivers under one delivery id each. The counting itself is checked first, on receiver
 * logs made by hand, so a lost or doubled alert cannot pass unseen.
 *
 * CRASH_SWEEP_ROUNDS     random-delay rounds, delays 0–CRASH_SWEEP_MAX_MS (default 100, 50 ms)
 * CRASH_SWEEP_POINTS     crash points to visit, comma-separated; 0 for none (default all five)
 * CRASH_SWEEP_POINT_ROUNDS  rounds per crash point (default 4)
 * CRASH_SWEEP_SEED       replays a run's delays and order
 * CRASH_SWEEP_LANES      lanes at once (default 2)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInfluxd, type Influxd } from '../harness/influxd.ts';
import { buildOnce } from '../harness/service.ts';
import { CRASH_POINTS, crashSweep, judge, stopEverything, tally, type AlertRow, type CrashPoint, type ReceiverLog, type RoundReport } from './crash-sweep.ts';

const num = (name: string, d: number) => (process.env[name] ? Number(process.env[name]) : d);

function points(): CrashPoint[] {
  const v = process.env.CRASH_SWEEP_POINTS;
  if (v === undefined || v === '') return [...CRASH_POINTS];
  if (v === '0') return [];
  const named = v.split(',').map((p) => p.trim());
  for (const p of named) if (!(CRASH_POINTS as readonly string[]).includes(p)) throw new Error(`CRASH_SWEEP_POINTS: unknown point ${p} (known: ${CRASH_POINTS.join(', ')})`);
  return named as CrashPoint[];
}

describe('the sweep counts what it must', () => {
  const alert = (id: string, device = 'EL-001', state = 'firing'): AlertRow => ({ id, device, rule: 'trapped', state });
  const firing = (delivery: string, alertId: string, device = 'EL-001') => ({
    status: 204,
    headers: { 'x-estate-delivery': delivery },
    json: { event: 'alert.firing', alert: { id: alertId, rule: 'trapped', device } },
  });
  const logs = (a: ReceiverLog['received'], b: ReceiverLog['received']): ReceiverLog[] => [
    { name: 'property', received: a },
    { name: 'market-supervision', received: b },
  ];

  it('one alert, each receiver one delivery id (repeated or not): ok', () => {
    expect(judge('EL-001', [alert('A1')], logs([firing('d1', 'A1'), firing('d1', 'A1')], [firing('d2', 'A1')]))).toEqual({ lost: [], doubled: [] });
  });

  it('no alert, no delivery to one receiver, a refused delivery, or an alert not firing: lost', () => {
    expect(judge('EL-001', [], logs([firing('d1', 'A1')], [firing('d2', 'A1')])).lost).toEqual(['no trapped alert in /api/alerts']);
    expect(judge('EL-001', [alert('A1')], logs([firing('d1', 'A1')], [firing('d9', 'A1', 'EL-002')])).lost).toEqual(['market-supervision got no alert.firing']);
    expect(judge('EL-001', [alert('A1')], logs([firing('d1', 'A1')], [{ ...firing('d2', 'A1'), status: 503 }])).lost).toEqual(['market-supervision got no alert.firing']);
    expect(judge('EL-001', [alert('A1', 'EL-001', 'resolved')], logs([firing('d1', 'A1')], [firing('d2', 'A1')])).lost).toEqual(['alert A1 is resolved, not firing']);
  });

  it('two delivery ids at one receiver, or two alert ids for one device: doubled', () => {
    expect(judge('EL-001', [alert('A1')], logs([firing('d1', 'A1'), firing('d3', 'A1')], [firing('d2', 'A1')])).doubled).toEqual(['property got alert.firing under 2 delivery ids (d1, d3)']);
    expect(judge('EL-001', [alert('A1'), alert('A2')], logs([firing('d1', 'A1')], [firing('d2', 'A1')])).doubled).toEqual(['2 alert ids (A1, A2)']);
    expect(judge('EL-001', [alert('A2')], logs([firing('d1', 'A1')], [firing('d2', 'A2')])).doubled).toEqual(['2 alert ids (A2, A1)']);
  });

  it('the tally counts lost and doubled rounds, in all and per bucket', () => {
    const r = (bucket: string, outcome: RoundReport['outcome']): RoundReport => ({ round: 0, device: 'EL-000', lane: 0, kill: bucket, bucket, outcome, why: [] });
    const t = tally([r('delay  5–10 ms', 'ok'), r('delay  5–10 ms', 'lost'), r('point after-spool', 'doubled'), r('point after-spool', 'lost+doubled')]);
    expect(t.all).toEqual({ rounds: 4, ok: 1, lost: 2, doubled: 2 });
    expect(t.perPoint['delay  5–10 ms']).toEqual({ rounds: 2, ok: 1, lost: 1, doubled: 0 });
    expect(t.perPoint['point after-spool']).toEqual({ rounds: 2, ok: 0, lost: 1, doubled: 2 });
  });
});

describe('crash sweep of the trapped alert', () => {
  let influx: Influxd;
  beforeAll(async () => {
    // The service as npm start runs it (dist/main.js): each of the ~140 starts takes half the time of tsx's.
    buildOnce();
    influx = await startInfluxd();
  }, 300_000);
  afterAll(async () => {
    await stopEverything();
    await influx?.destroy();
  });

  it('SIGKILL after a trapping, at random delays and at the crash points: each alert once, firing, delivered to both receivers under one id', async () => {
    const s = await crashSweep({
      influx,
      delays: [{ rounds: num('CRASH_SWEEP_ROUNDS', 100), maxMs: num('CRASH_SWEEP_MAX_MS', 50) }],
      points: points(),
      pointRounds: num('CRASH_SWEEP_POINT_ROUNDS', 4),
      lanes: num('CRASH_SWEEP_LANES', 2),
      ...(process.env.CRASH_SWEEP_SEED ? { seed: Number(process.env.CRASH_SWEEP_SEED) } : {}),
    });
    expect(s.rounds).toBeGreaterThanOrEqual(1);
    expect({ lost: s.lost, doubled: s.doubled, failures: s.failures.map((f) => `round ${f.round} ${f.device} ${f.kill}: ${f.outcome}: ${f.why.join('; ')}`) }).toEqual({ lost: 0, doubled: 0, failures: [] });
  }, 480_000);
});
