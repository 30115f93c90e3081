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
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const WINDOW = 256;
const DAY_MS = 24 * 3600_000;
/** The snapshot's file and its first bytes (a format of its own: magic, then one record per key). */
export const SNAPSHOT_FILE = 'snapshot.bin';
const MAGIC = Buffer.from('estate-dedup 1\n');
/** The format before it: JSON of key → [max, at, base64 of the window]; read when no SNAPSHOT_FILE is there. */
const OLD_SNAPSHOT_FILE = 'snapshot.json';

export interface KeyState {
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
    for (const [key, state] of readSnapshot(this.dir)) this.keys.set(key, state);
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

  /**
   * Folds the journal into a new snapshot: each key's record copied into one buffer (key
   * length u16, key UTF-8, max and at f64, the window's 1 KiB), written at once. At 100,000
   * keys that is about 110 MB in a few hundred ms; as JSON with base64 windows it was 140 MB
   * and a 2–5 s stall.
   */
  compact(): void {
    if (!this.dir) return;
    const now = Date.now();
    const live: [Buffer, KeyState][] = [];
    let size = MAGIC.length;
    for (const [key, s] of this.keys) {
      if (now - s.at > DAY_MS) {
        this.keys.delete(key);
        continue;
      }
      const k = Buffer.from(key);
      live.push([k, s]);
      size += 2 + k.length + 16 + WINDOW * 4;
    }
    const buf = Buffer.allocUnsafe(size);
    let off = MAGIC.copy(buf, 0);
    for (const [k, s] of live) {
      off = buf.writeUInt16LE(k.length, off);
      off += k.copy(buf, off);
      off = buf.writeDoubleLE(s.max, off);
      off = buf.writeDoubleLE(s.at, off);
      buf.set(new Uint8Array(s.fps.buffer, s.fps.byteOffset, WINDOW * 4), off);
      off += WINDOW * 4;
    }
    const tmp = join(this.dir, `${SNAPSHOT_FILE}.tmp`);
    this.snapshotBytes = size;
    writeFileSync(tmp, buf);
    renameSync(tmp, join(this.dir, SNAPSHOT_FILE));
    rmSync(join(this.dir, OLD_SNAPSHOT_FILE), { force: true });
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

/** The keys of a directory's snapshot (SNAPSHOT_FILE, else the older JSON one), each with its own window. */
export function readSnapshot(dir: string): Map<string, KeyState> {
  const out = new Map<string, KeyState>();
  const file = join(dir, SNAPSHOT_FILE);
  if (existsSync(file)) {
    const buf = readFileSync(file);
    if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error(`${file} is not a de-duplication snapshot`);
    let off = MAGIC.length;
    // A torn snapshot cannot happen (written aside, then renamed); a short record ends the read all the same.
    while (off + 2 <= buf.length) {
      const len = buf.readUInt16LE(off);
      const end = off + 2 + len + 16 + WINDOW * 4;
      if (end > buf.length) break;
      const key = buf.toString('utf8', off + 2, off + 2 + len);
      off += 2 + len;
      const max = buf.readDoubleLE(off);
      const at = buf.readDoubleLE(off + 8);
      off += 16;
      // Copied into an array of its own, not a view of the file's buffer, which would stay alive whole.
      const fps = new Uint32Array(WINDOW);
      new Uint8Array(fps.buffer).set(buf.subarray(off, off + WINDOW * 4));
      off += WINDOW * 4;
      out.set(key, { max, at, fps });
    }
    return out;
  }
  const old = join(dir, OLD_SNAPSHOT_FILE);
  if (existsSync(old)) {
    const data = JSON.parse(readFileSync(old, 'utf8')) as Record<string, [number, number, string]>;
    for (const [key, [max, at, fps]] of Object.entries(data)) {
      // Copied into an array of its own: a small Buffer is a view into Node's shared pool, so
      // its `.buffer` is the whole pool, not these bytes.
      const words = new Uint32Array(WINDOW);
      new Uint8Array(words.buffer).set(Buffer.from(fps, 'base64').subarray(0, WINDOW * 4));
      out.set(key, { max, at, fps: words });
    }
  }
  return out;
}
