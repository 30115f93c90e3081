/**
 * SeqDedup (docs/interfaces.md#de-duplication): the same (device, seq) within 24 h is taken once; out of
 * order within the window is fine; a seq far below the highest is a reboot and counts
 * afresh; state survives a restart (snapshot) and a crash (journal); rollback forgets a turn
 * that could not be made durable. The files of the formats before: dedup-formats.test.ts.
 */
import { existsSync, readFileSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Fingerprint, SeqDedup, SNAPSHOT_FILE, WINDOW, journals, readSnapshot } from './dedup.ts';
import { T, opened, tempDir } from './testing/dedup.ts';

const DAY = 24 * 3600_000;

/** The journal being written to (the newest generation). */
const current = (dir: string) => journals(dir).at(-1)!.file;

/** check() over a list of seqs of one key, all at one time. */
const run = (d: SeqDedup, key: string, seqs: number[], now = T) => seqs.map((s) => d.check(key, s, now));

describe('in memory', () => {
  it('the same seq twice: the second is refused; keys are independent', () => {
    const d = opened(undefined);
    expect(d.check('HY-03', 42, T)).toBe(true);
    expect(d.check('HY-03', 42, T + 1000)).toBe(false);
    expect(d.check('HY-04', 42, T)).toBe(true);
    expect(d.check('HY-03#event', 42, T)).toBe(true);
    expect(d.check('HY-03', 0, T)).toBe(true);
    expect(d.check('HY-03', 0, T)).toBe(false);
  });

  it('out of order within the window: each seq is taken once', () => {
    const d = opened(undefined);
    expect(run(d, 'EL-1', [10, 7, 9, 8, 7, 9, 11, 8, 10, 12])).toEqual([true, true, true, true, false, false, true, false, false, true]);
  });

  it(`remembers the ${WINDOW - 1} seqs below the highest`, () => {
    const d = opened(undefined);
    const oldest = 2000 - (WINDOW - 1);
    expect(run(d, 'EL-1', [oldest, 2000, oldest, 2000 - 1])).toEqual([true, true, false, true]);
    // Seqs skipped over when the highest jumped are still new.
    expect(run(d, 'EL-1', [1500, 1500])).toEqual([true, false]);
  });

  it('a seq far below the highest (a reboot) starts a new count', () => {
    const d = opened(undefined);
    expect(run(d, 'FL-01', [5000, 5001, 5002])).toEqual([true, true, true]);
    expect(run(d, 'FL-01', [0, 1, 0, 2])).toEqual([true, true, false, true]);
    // The old count is forgotten: 5001 is new again after the reboot.
    expect(d.check('FL-01', 5001, T)).toBe(true);
  });

  it(`a seq exactly ${WINDOW} below the highest is a reboot; ${WINDOW - 1} below is not`, () => {
    const a = opened(undefined);
    expect(run(a, 'K', [3000, 3000 - WINDOW, 3000])).toEqual([true, true, true]); // reboot: 3000 was forgotten
    const b = opened(undefined);
    expect(run(b, 'K', [3000, 3000 - WINDOW + 1, 3000])).toEqual([true, true, false]); // no reboot: 3000 still known
  });

  it('within 24 h the same seq is refused; after 24 h it is new again', () => {
    const d = opened(undefined);
    expect(d.check('WS-01', 7, T)).toBe(true);
    expect(d.check('WS-01', 7, T + DAY)).toBe(false);
    expect(d.check('WS-01', 7, T + DAY + 1)).toBe(true);
    expect(d.check('WS-01', 7, T + DAY + 2)).toBe(false);
  });

  it('rollback() forgets what was marked since the last flush, and only that', () => {
    const d = opened(undefined);
    expect(run(d, 'HY-03', [1, 2])).toEqual([true, true]);
    d.flush();
    expect(run(d, 'HY-03', [3, 4])).toEqual([true, true]);
    expect(d.check('HY-04', 9, T)).toBe(true);
    d.rollback();
    expect(run(d, 'HY-03', [1, 2, 3, 4])).toEqual([false, false, true, true]);
    expect(d.check('HY-04', 9, T)).toBe(true);
  });
});

describe('across restarts', () => {
  /** Marks every third seq of five keys; what a restarted instance must still know. */
  function mark(d: SeqDedup): void {
    for (let k = 0; k < 5; k++) for (let s = 0; s < 60; s += 3) expect(d.check(`D-${k}`, s, T)).toBe(true);
    d.flush();
  }
  function expectMarked(d: SeqDedup): void {
    for (let k = 0; k < 5; k++) {
      const seqs = Array.from({ length: 60 }, (_, s) => s);
      // Seen ones are refused; the others (never marked) are new.
      expect(run(d, `D-${k}`, seqs, T + 1000), `D-${k}`).toEqual(seqs.map((s) => s % 3 !== 0));
    }
  }

  it('survive close() and open() on the same dir (the snapshot)', () => {
    const dir = tempDir();
    const a = opened(dir);
    mark(a);
    a.close();
    expect(readFileSync(current(dir), 'utf8')).toBe(''); // folded into the snapshot
    expect([...readSnapshot(dir).keys()].sort()).toEqual(['D-0', 'D-1', 'D-2', 'D-3', 'D-4']);
    const b = opened(dir);
    expect(b.size).toBe(5);
    expectMarked(b);
    b.close();
  });

  it('survive a crash after flush(), from the journal alone', () => {
    const dir = tempDir();
    const a = opened(dir);
    mark(a);
    // No close(): the process "dies" here. The snapshot knows nothing; the journal has it all.
    expect(readSnapshot(dir).size).toBe(0);
    expect(readFileSync(current(dir), 'utf8').split('\n')).toHaveLength(5 * 20 + 1);
    const b = opened(dir);
    expectMarked(b);
    b.close();
  });

  it('survive a crash, from a snapshot plus a journal', () => {
    const dir = tempDir();
    const a = opened(dir);
    expect(run(a, 'HY-03', [1, 2])).toEqual([true, true]);
    a.close();
    const b = opened(dir);
    expect(run(b, 'HY-03', [3])).toEqual([true]);
    b.flush(); // crash after this
    const c = opened(dir);
    expect(run(c, 'HY-03', [1, 2, 3, 4])).toEqual([false, false, false, true]);
    c.close();
  });

  it('keep the highest seq, so a reboot is still told from a replay after a restart', () => {
    const dir = tempDir();
    const a = opened(dir);
    expect(run(a, 'EL-1', [5000, 4990])).toEqual([true, true]);
    a.close();
    const b = opened(dir);
    expect(run(b, 'EL-1', [4990, 4995, 3, 3])).toEqual([false, true, true, false]);
    b.close();
  });

  it('do not keep what was never flushed (a crash before the journal write lets it in again)', () => {
    const dir = tempDir();
    const a = opened(dir);
    expect(run(a, 'HY-03', [1])).toEqual([true]);
    a.flush();
    expect(run(a, 'HY-03', [2])).toEqual([true]);
    // crash: 2 was never written
    const b = opened(dir);
    expect(run(b, 'HY-03', [1, 2])).toEqual([false, true]);
    b.close();
  });

  it('do not keep what was rolled back', () => {
    const dir = tempDir();
    const a = opened(dir);
    expect(run(a, 'HY-03', [1])).toEqual([true]);
    a.flush();
    expect(run(a, 'HY-03', [2])).toEqual([true]);
    a.rollback();
    a.flush();
    a.close();
    const b = opened(dir);
    expect(run(b, 'HY-03', [1, 2])).toEqual([false, true]);
    b.close();
  });

  it('skip a journal line torn by a crash mid-write, and keep the whole ones', () => {
    const dir = tempDir();
    const a = opened(dir);
    expect(run(a, 'HY-03', [1, 2])).toEqual([true, true]);
    a.flush();
    appendFileSync(current(dir), `HY-03\t3\t${String(T).slice(0, 6)}`); // no newline: torn
    const b = opened(dir);
    expect(run(b, 'HY-03', [1, 2, 3])).toEqual([false, false, true]);
    b.close();
  });

  it('fold the journal into the snapshot when it passes its size and the snapshot\'s', async () => {
    const dir = tempDir();
    const a = opened(dir, 128);
    for (let s = 0; s < 200; s++) {
      expect(a.check('EL-1', s, T)).toBe(true);
      a.flush();
      await a.folded;
    }
    // The snapshot of one key is about 570 bytes: the journal grows to that before it is folded.
    const snapshot = statSync(join(dir, SNAPSHOT_FILE)).size;
    expect(snapshot).toBeGreaterThan(128);
    expect(statSync(current(dir)).size).toBeLessThan(snapshot);
    expect(statSync(current(dir)).size).toBeGreaterThan(0);
    // Only the journal since the last fold is left.
    expect(journals(dir)).toHaveLength(1);
    const b = opened(dir);
    expect(run(b, 'EL-1', [199 - WINDOW + 1, 150, 199, 200])).toEqual([false, false, false, true]);
    b.close();
  });

  /** A dedup whose next flush starts a fold of `keys` keys, each marked at seq 1 with fingerprint 10. */
  function aboutToFold(dir: string, keys: number): SeqDedup {
    const d = opened(dir, 64 * 1024);
    for (let k = 0; k < keys; k++) expect(d.check(`K-${k}`, 1, T, 10)).toBe(true);
    return d;
  }

  it('a fold in the background is the moment it began; what is marked meanwhile is in the next journal, and a start has both', async () => {
    const dir = tempDir();
    const a = aboutToFold(dir, 9000); // past one chunk of rows, and a journal past 64 KB
    a.flush(); // the fold begins: its first pieces are written while this test goes on
    const folding = a.folded;
    // Meanwhile: a new seq for a key of the first rows and of the last, a reused seq with other content, and a new key.
    expect(a.check('K-0', 2, T, 20)).toBe(true);
    expect(a.check('K-8999', 1, T, 11)).toBe(true);
    expect(a.check('NEW', 5, T, 30)).toBe(true);
    a.flush();
    await folding;
    const snap = readSnapshot(dir);
    expect(snap.size).toBe(9000);
    expect(snap.has('NEW')).toBe(false);
    expect(snap.get('K-0')!.max).toBe(1);
    expect(snap.get('K-8999')!.fps[1]).toBe(10); // as it was when the fold began
    expect(journals(dir)).toHaveLength(1);
    // No close(): a crash. The snapshot and the journal after it give back everything.
    const b = opened(dir);
    expect(b.check('K-0', 2, T, 20)).toBe(false);
    expect(b.check('K-0', 1, T, 10)).toBe(false);
    expect(b.check('K-8999', 1, T, 11)).toBe(false);
    expect(b.check('K-4000', 1, T, 10)).toBe(false);
    expect(b.check('NEW', 5, T, 30)).toBe(false);
    b.close();
  });

  it('a crash while a fold is written loses nothing: the start replays the journals from the snapshot\'s generation on', async () => {
    const dir = tempDir();
    const a = aboutToFold(dir, 9000);
    a.flush();
    expect(a.check('AFTER', 7, T, 70)).toBe(true);
    a.flush();
    // The process dies before the fold is in place: the old snapshot and both journals are there.
    const b = opened(dir);
    expect(b.check('K-123', 1, T, 10)).toBe(false);
    expect(b.check('AFTER', 7, T, 70)).toBe(false);
    expect(b.size).toBe(9001);
    b.close();
    await a.folded; // the first one's fold finishes late, over the second's files
    const c = opened(dir);
    expect(c.check('K-8000', 1, T, 10)).toBe(false);
    expect(c.check('AFTER', 7, T, 70)).toBe(false);
    c.close();
  });

  it('close() while a fold is written: the snapshot of the stop stands', async () => {
    const dir = tempDir();
    const a = aboutToFold(dir, 9000);
    a.flush();
    expect(a.check('LAST', 3, T, 33)).toBe(true);
    a.close();
    await a.folded;
    expect(readSnapshot(dir).get('LAST')?.max).toBe(3);
    expect(journals(dir)).toHaveLength(1);
    const b = opened(dir);
    expect(b.check('LAST', 3, T, 33)).toBe(false);
    expect(b.check('K-1', 1, T, 10)).toBe(false);
    b.close();
  });

  it('forget devices silent for more than 24 h when the snapshot is written', () => {
    const dir = tempDir();
    const a = opened(dir);
    expect(a.check('OLD', 1, T - DAY - 60_000)).toBe(true);
    expect(a.check('NEW', 1, T)).toBe(true);
    a.close();
    const b = opened(dir);
    expect(b.size).toBe(1);
    expect(b.check('NEW', 1, T)).toBe(false);
    b.close();
  });

  it('start empty in a new dir, and create it', () => {
    const dir = join(tempDir(), 'nested', 'dedup');
    const a = opened(dir);
    expect(a.size).toBe(0);
    expect(existsSync(join(dir, SNAPSHOT_FILE))).toBe(true);
    a.close();
  });

  it('a snapshot of the older JSON form, written by hand, is read by key, with each seq\'s fingerprint, and replaced by the binary one', () => {
    const dir = tempDir();
    const fps = new Uint32Array(256); // that form's window
    fps[1] = 1; // seq 1, content unknown
    fps[3] = 77; // seq 3, fingerprint 77
    writeFileSync(join(dir, 'snapshot.json'), JSON.stringify({ 'HY-03': [3, T, Buffer.from(fps.buffer).toString('base64')] }));
    const a = opened(dir);
    expect(run(a, 'HY-03', [0, 1, 2])).toEqual([true, false, true]);
    expect(a.check('HY-03', 3, T, 77)).toBe(false);
    expect(a.check('HY-03', 3, T, 78)).toBe(true);
    a.close();
    expect(existsSync(join(dir, 'snapshot.json'))).toBe(false);
    const b = opened(dir);
    expect(b.check('HY-03', 1, T)).toBe(false);
    expect(b.check('HY-03', 3, T, 78)).toBe(false);
    b.close();
  });
});

describe('SeqDedup: reused numbers with other content', () => {
  const fp = (s: string) => new Fingerprint().add(s).value();

  it('a device that reboots after a few messages keeps its new readings, and its duplicates are still dropped', () => {
    const d = opened(undefined);
    for (let s = 0; s < 500; s++) expect(d.check('EL-1', s, T, fp(`before ${s}`))).toBe(true);
    // Rebooted: counts from 0 again, with new content.
    for (let s = 0; s < 300; s++) expect(d.check('EL-1', s, T, fp(`after ${s}`))).toBe(true);
    // A QoS 1 redelivery of a reading after the reboot is still one reading.
    expect(d.check('EL-1', 299 - WINDOW + 1, T, fp(`after ${299 - WINDOW + 1}`))).toBe(false);
    expect(d.check('EL-1', 299, T, fp('after 299'))).toBe(false);
  });

  it(`a device that reboots after fewer than ${WINDOW} messages: its new seqs are in the window, and taken for their other content`, () => {
    const d = opened(undefined);
    const n = WINDOW - 10;
    for (let s = 0; s < n; s++) expect(d.check('EL-2', s, T, fp(`before ${s}`))).toBe(true);
    for (let s = 0; s < n; s++) expect(d.check('EL-2', s, T, fp(`after ${s}`))).toBe(true);
    expect(d.check('EL-2', 5, T, fp('after 5'))).toBe(false);
    expect(d.check('EL-2', n - 1, T, fp(`after ${n - 1}`))).toBe(false);
  });

  it('an 8-bit counter that wraps from 255 to 0 loses nothing', () => {
    const d = opened(undefined);
    let accepted = 0;
    for (let n = 0; n < 5 * 256; n++) if (d.check('FL-01', n % 256, T + n, fp(`reading ${n}`))) accepted++;
    expect(accepted).toBe(5 * 256);
    // while a replayed reading of the last lap is recognised
    expect(d.check('FL-01', 255, T, fp(`reading ${5 * 256 - 1}`))).toBe(false);
  });

  it('the fingerprints survive a restart through the journal', () => {
    const dir = tempDir();
    const a = opened(dir);
    expect(a.check('K', 5, T, 1234)).toBe(true);
    a.flush();
    const b = opened(dir);
    expect(b.check('K', 5, T, 1234)).toBe(false);
    expect(b.check('K', 5, T, 4321)).toBe(true);
    b.close();
  });

  it('a seq seen before with a ts newer than any sent is new, even where its 16-bit fingerprint matches', () => {
    const d = opened(undefined);
    expect(d.check('EL-3', 5, T, 42, T - 5000)).toBe(true);
    expect(d.check('EL-3', 6, T, 43, T - 4000)).toBe(true);
    // A redelivery carries the ts it had: not newer than the newest, so the fingerprint decides.
    expect(d.check('EL-3', 5, T, 42, T - 5000)).toBe(false);
    // A rebooted device reusing seq 5 with the same 16-bit fingerprint (1 in 65,535) but a newer ts.
    expect(d.check('EL-3', 5, T, 42, T - 1000)).toBe(true);
    expect(d.check('EL-3', 5, T, 42, T - 1000)).toBe(false);
    // Without a ts, the fingerprint alone.
    expect(d.check('EL-3', 6, T, 43)).toBe(false);
  });

  it('the newest ts survives a restart, through the journal and through the snapshot', () => {
    const dir = tempDir();
    const a = opened(dir);
    expect(a.check('K', 5, T, 42, T - 5000)).toBe(true);
    a.flush();
    const b = opened(dir); // from the journal
    expect(b.check('K', 5, T, 42, T - 5000)).toBe(false);
    expect(b.check('K', 5, T, 42, T - 4000)).toBe(true);
    b.close(); // into the snapshot
    const c = opened(dir);
    expect(c.check('K', 5, T, 42, T - 4000)).toBe(false);
    expect(c.check('K', 5, T, 42, T - 3000)).toBe(true);
    c.close();
  });

  it('rollback restores what a slot held before the turn', () => {
    const d = opened(undefined);
    expect(d.check('K', 7, T, 100)).toBe(true);
    d.flush();
    expect(d.check('K', 7, T, 200)).toBe(true);
    d.rollback();
    expect(d.check('K', 7, T, 100)).toBe(false);
    expect(d.check('K', 7, T, 200)).toBe(true);
  });
});
