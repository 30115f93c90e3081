/**
 * De-duplication by (device, seq) (docs/interfaces.md#de-duplication): the same seq again within 24 h is
 * taken once. Per key, the highest seq seen and, for the WINDOW seqs below it, a 32-bit
 * fingerprint of the content each carried (its ts as sent, and its metrics or event).
 *
 * - A seq seen before with the same fingerprint is a duplicate (a QoS 1 redelivery, a replayed
 *   buffer): dropped.
 * - A seq seen before with another fingerprint is a new reading under a reused number: the
 *   device rebooted, or its counter wrapped (an 8-bit counter goes 255 → 0). Taken. Without
 *   this, a device that rebooted after fewer than WINDOW messages would lose that many.
 * - A seq more than WINDOW below the highest: the device counts afresh. Taken.
 * - A key silent for 24 h is forgotten.
 *
 * A device that sends no ts and repeats identical values under a reused seq is the one case
 * that stays ambiguous: such a reading is dropped (docs/ingest.md asks devices to send ts).
 *
 * Remembered across restarts: a turn's accepted seqs are appended to a journal once the turn
 * is in the spool and judged (its alert changes committed), just before it is acknowledged:
 * after it, so a crash between the two can only let a duplicate through (taken again, judged
 * again), never drop a reading or the alert it causes. The journal is folded into a snapshot
 * when it grows and at a clean stop. (Batching the journal over 250 ms instead was tried: the pending text
 * outlived young-generation collections and cost 3 MB/s of old-generation growth at
 * 30,000 msg/s, for no measurable CPU saving.)
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const WINDOW = 256;
const DAY_MS = 24 * 3600_000;

interface KeyState {
  max: number;
  at: number;
  /** fingerprint per seq % WINDOW; 0 = not seen */
  fps: Uint32Array;
}

/** FNV-1a over strings, never 0 (0 marks an empty slot). */
export class Fingerprint {
  private h = 0x811c9dc5;
  add(s: string): this {
    let h = this.h;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    this.h = h;
    return this;
  }
  value(): number {
    return this.h >>> 0 || 1;
  }
}

export class SeqDedup {
  private readonly keys = new Map<string, KeyState>();
  private journalFd = -1;
  private journalBytes = 0;
  /** the size of the last snapshot written: the journal may grow as large before the next */
  private snapshotBytes = 0;
  private pending = '';
  /** slots marked since the last flush and what they held, for `rollback` */
  private marked: [KeyState, number, number][] = [];

  constructor(
    private readonly dir: string | undefined,
    private readonly compactBytes = 4 * 1024 * 1024,
  ) {}

  open(): void {
    if (!this.dir) return;
    mkdirSync(this.dir, { recursive: true });
    const snap = join(this.dir, 'snapshot.json');
    if (existsSync(snap)) {
      const data = JSON.parse(readFileSync(snap, 'utf8')) as Record<string, [number, number, string]>;
      for (const [key, [max, at, fps]] of Object.entries(data)) {
        // Copied into an array of its own: a small Buffer is a view into Node's shared pool, so
        // its `.buffer` is the whole pool, not these bytes.
        const words = new Uint32Array(WINDOW);
        new Uint8Array(words.buffer).set(Buffer.from(fps, 'base64').subarray(0, WINDOW * 4));
        this.keys.set(key, { max, at, fps: words });
      }
    }
    const journal = join(this.dir, 'journal');
    if (existsSync(journal)) {
      const lines = readFileSync(journal, 'utf8').split('\n');
      // The last piece has no newline after it: empty, or a line torn by a crash mid-write.
      lines.pop();
      for (const line of lines) {
        // key \t seq \t fingerprint \t at (a key is a device id, which holds no tab)
        const parts = line.split('\t');
        if (parts.length !== 4) continue;
        const seq = Number(parts[1]);
        const fp = Number(parts[2]);
        const at = Number(parts[3]);
        if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(fp) || !Number.isFinite(at)) continue;
        this.check(parts[0]!, seq, at, fp, false);
      }
    }
    this.compact();
  }

  /**
   * True when (key, seq) is new; records it. `fp` is the content's fingerprint (see
   * `Fingerprint`); callers that know nothing of the content pass 1.
   */
  check(key: string, seq: number, now: number, fp = 1, journal = true): boolean {
    let s = this.keys.get(key);
    const slot = seq % WINDOW;
    if (!s || now - s.at > DAY_MS || seq <= s.max - WINDOW) {
      s = { max: seq, at: now, fps: new Uint32Array(WINDOW) };
      this.keys.set(key, s);
    } else if (seq > s.max) {
      const gap = seq - s.max;
      if (gap >= WINDOW) s.fps.fill(0);
      else for (let q = s.max + 1; q <= seq; q++) s.fps[q % WINDOW] = 0;
      s.max = seq;
    } else if (s.fps[slot] === fp) {
      return false;
    }
    const before = s.fps[slot]!;
    s.fps[slot] = fp;
    s.at = now;
    if (journal) {
      this.marked.push([s, slot, before]);
      if (this.dir) this.pending += `${key}\t${seq}\t${fp}\t${now}\n`;
    }
    return true;
  }

  /** The turn is in the spool and judged: what it marked stays, and goes to the journal. */
  endTurn(): void {
    this.flush();
  }

  /**
   * The turn is in the spool: what it marked stays, and its journal lines are handed over, to
   * be written (`journal`) once the turn is judged.
   */
  takeTurn(): string {
    this.marked.length = 0;
    const text = this.pending;
    this.pending = '';
    return text;
  }

  /** Writes a turn's journal lines (from `takeTurn`). */
  journal(text: string): void {
    if (!text || !this.dir || this.journalFd < 0) return;
    const buf = Buffer.from(text);
    let off = 0;
    while (off < buf.length) off += writeSync(this.journalFd, buf, off, buf.length - off);
    this.journalBytes += buf.length;
    // Folded once the journal is as large as the snapshot (and at least compactBytes), so that
    // writing snapshots costs a bounded share of the journal's bytes at any number of devices:
    // with a fixed 4 MB, 100,000 devices' snapshot (about 140 MB of JSON, a 2–5 s stall) was
    // written every 10 s at 10,000 msg/s (docs/performance.md, "City scale").
    if (this.journalBytes >= Math.max(this.compactBytes, this.snapshotBytes)) this.compact();
  }

  /** Writes what was accepted to the journal now. */
  flush(): void {
    this.journal(this.takeTurn());
  }

  /** Forgets what was marked since the last flush: the turn could not be made durable. */
  rollback(): void {
    for (let i = this.marked.length - 1; i >= 0; i--) {
      const [s, slot, before] = this.marked[i]!;
      s.fps[slot] = before;
    }
    this.marked.length = 0;
    this.pending = '';
  }

  /** Folds the journal into a new snapshot. */
  compact(): void {
    if (!this.dir) return;
    const data: Record<string, [number, number, string]> = {};
    const now = Date.now();
    for (const [key, s] of this.keys) {
      if (now - s.at > DAY_MS) {
        this.keys.delete(key);
        continue;
      }
      data[key] = [s.max, s.at, Buffer.from(s.fps.buffer).toString('base64')];
    }
    const tmp = join(this.dir, 'snapshot.json.tmp');
    const text = JSON.stringify(data);
    this.snapshotBytes = Buffer.byteLength(text);
    writeFileSync(tmp, text);
    renameSync(tmp, join(this.dir, 'snapshot.json'));
    if (this.journalFd >= 0) closeSync(this.journalFd);
    this.journalFd = openSync(join(this.dir, 'journal'), 'w');
    this.journalBytes = 0;
  }

  close(): void {
    this.flush();
    if (this.journalFd >= 0) {
      this.compact();
      closeSync(this.journalFd);
      this.journalFd = -1;
    }
  }

  get size(): number {
    return this.keys.size;
  }
}
