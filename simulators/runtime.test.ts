/**
 * The parts around the models: the report schedule (seq and ts), the replay buffer, the
 * clocks and the CLI's option checks.
 */
import { describe, expect, it } from 'vitest';
import { Schedule } from './schedule.ts';
import { ReplayBuffer, MAX_REPLAY_BYTES } from './buffer.ts';
import { ManualClock, scaledClock } from './clock.ts';
import { UsageError, parseCli, parseDuration } from './options.ts';
import { deviceSeed } from './random.ts';

describe('schedule', () => {
  it('puts readings on a fixed grid whose slot number is the seq', () => {
    const s = Schedule.of(deviceSeed(1, 'HY-01'), 333.3333);
    const t0 = Date.parse('2026-11-25T08:00:00Z');
    const k = s.slotAtOrAfter(t0);
    expect(s.timeOf(k)).toBeGreaterThanOrEqual(t0);
    expect(s.timeOf(k - 1)).toBeLessThan(t0);
    const times = Array.from({ length: 1000 }, (_, i) => s.timeOf(k + i));
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(333);
    // A later start continues the same grid with higher seqs (a restart is not a reboot).
    expect(s.slotAtOrAfter(t0 + 60_000)).toBe(k + 180);
  });

  it('spreads devices over the period by their seed', () => {
    const phases = ['HY-01', 'HY-02', 'HY-03', 'EL-1-A'].map((id) => Schedule.of(deviceSeed(1, id), 10_000).phaseMs);
    expect(new Set(phases).size).toBe(4);
    for (const p of phases) {
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(10_000);
    }
  });
});

describe('replay buffer', () => {
  it('keeps the newest readings up to its limit, oldest first', () => {
    const b = new ReplayBuffer(3);
    for (let i = 1; i <= 5; i++) b.push(JSON.stringify({ seq: i }));
    expect(b.size).toBe(3);
    expect(b.dropped).toBe(2);
    expect(b.drain()).toEqual([{ payload: '[{"seq":3},{"seq":4},{"seq":5}]', count: 3 }]);
    expect(b.size).toBe(0);
  });

  it('replays as JSON arrays under the 16 KiB payload limit, in order', () => {
    const b = new ReplayBuffer(10_000);
    const reading = (i: number) => JSON.stringify({ ts: 1764057600000 + i, seq: i, metrics: { pressure_mpa: 0.31, note_pad: 'x'.repeat(200) } });
    for (let i = 0; i < 2000; i++) b.push(reading(i));
    const chunks = b.drain();
    expect(chunks.length).toBeGreaterThan(10);
    const seqs = chunks.flatMap((c) => {
      expect(Buffer.byteLength(c.payload)).toBeLessThanOrEqual(MAX_REPLAY_BYTES);
      const items = JSON.parse(c.payload) as { seq: number }[];
      expect(items).toHaveLength(c.count);
      return items.map((x) => x.seq);
    });
    expect(seqs).toEqual(Array.from({ length: 2000 }, (_, i) => i));
  });
});

describe('clocks', () => {
  it('a manual clock fires timers in time order as it advances', () => {
    const c = new ManualClock(1000);
    const fired: number[] = [];
    c.at(3000, () => fired.push(c.now()));
    c.at(2000, () => {
      fired.push(c.now());
      c.at(2500, () => fired.push(c.now()));
    });
    const cancel = c.at(2200, () => fired.push(-1));
    cancel();
    c.advance(1600);
    expect(fired).toEqual([2000, 2500]);
    c.advance(10_000);
    expect(fired).toEqual([2000, 2500, 3000]);
    expect(c.now()).toBe(12_600);
  });

  it('a scaled clock runs faster than the wall clock from its start', async () => {
    const start = Date.parse('2026-01-01T00:00:00Z');
    const c = scaledClock({ speed: 60, start });
    await new Promise((r) => setTimeout(r, 50));
    expect(c.now() - start).toBeGreaterThanOrEqual(50 * 60 - 60);
    const t = c.now();
    await new Promise<void>((resolve) => c.at(t + 6000, resolve)); // 6 s simulated, 100 ms real
    expect(c.now()).toBeGreaterThanOrEqual(t + 6000);
  });
});

describe('CLI options', () => {
  it('has the documented defaults', () => {
    expect(parseCli([])).toEqual({ config: 'config/estate.yaml', mqtt: 'mqtt://127.0.0.1:1883', seed: 1, qos: 1, help: false });
  });

  it('takes scenarios, files or directories, several times, with the assertion options', () => {
    expect(parseCli(['--scenario', 'a.yaml', '--scenario', 'simulators/scenarios', '--assert'], {})).toMatchObject({
      scenarios: ['a.yaml', 'simulators/scenarios'],
      assert: true,
      api: 'http://127.0.0.1:8080',
      token: 'demo-admin',
      parallel: 1,
    });
    expect(parseCli(['--scenario', 'a.yaml', '--api', 'http://svc:9000/', '--parallel', '4'], { ESTATE_TOKEN: 'ops-token' })).toMatchObject({ api: 'http://svc:9000', token: 'ops-token', parallel: 4, assert: false });
    expect(parseCli(['--scenario', 'a.yaml', '--token', 'x'], { ESTATE_TOKEN: 'ops-token' }).token).toBe('x');
  });

  it('takes every option', () => {
    expect(parseCli(['--config', 'x.yaml', '--mqtt', 'mqtts://b:8883', '--sites', 'a, b', '--rate', '0.5', '--duration', '10m', '--seed=-7', '--qos', '0'])).toEqual({
      config: 'x.yaml',
      mqtt: 'mqtts://b:8883',
      sites: ['a', 'b'],
      rateHz: 0.5,
      durationMs: 600_000,
      seed: -7,
      qos: 0,
      help: false,
    });
  });

  it('reads durations', () => {
    expect([parseDuration('30s'), parseDuration('10m'), parseDuration('2h'), parseDuration('45'), parseDuration('1.5h')]).toEqual([30_000, 600_000, 7_200_000, 45_000, 5_400_000]);
    expect([parseDuration('0s'), parseDuration('ten'), parseDuration('10 m'), parseDuration('-1m')]).toEqual([undefined, undefined, undefined, undefined]);
  });

  it.each([
    [['--rate', 'abc'], /--rate abc: expected readings per second/],
    [['--rate', '0'], /--rate 0/],
    [['--rate', '1000'], /at most 100/],
    [['--duration', 'soon'], /--duration soon: expected a length of time such as 30s, 10m or 2h/],
    [['--qos', '2'], /--qos 2: expected 0 or 1/],
    [['--seed', '1.5'], /--seed 1.5: expected an integer/],
    [['--mqtt', 'http://x'], /expected a broker URL/],
    [['--sites', ','], /--sites/],
    [['--frobnicate'], /unknown option --frobnicate/],
    [['--rate'], /option --rate needs a value/],
    [['extra'], /unexpected argument extra/],
    [['--assert'], /--assert goes with --scenario/],
    [['--scenario', 'x.yaml', '--rate', '1'], /--rate does not go with --scenario: the scenario file sets its own rate/],
    [['--scenario', 'x.yaml', '--api', 'ftp://x'], /--api ftp:\/\/x: expected the service's URL/],
    [['--scenario', 'x.yaml', '--parallel', '0'], /--parallel 0: expected a whole number from 1 to 64/],
  ])('refuses %j', (args, message) => {
    expect(() => parseCli(args)).toThrow(UsageError);
    expect(() => parseCli(args)).toThrow(message);
  });
});
