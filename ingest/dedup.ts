/**
 * De-duplication by (device, seq) (CONTRACT section 2): the same seq again within 24 h is
 * taken once. Per key, the highest seq seen and a bitmap of the WINDOW seqs below it. A seq
 * more than WINDOW below the highest means the device rebooted and counts afresh.
 *
 * Remembered across restarts: every accepted seq is appended to a journal in the same turn
 * as the spool (after it, so a crash between the two can only let a duplicate through, never
 * drop a reading); the journal is folded into a snapshot when it grows.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const WINDOW = 1024;
const DAY_MS = 24 * 3600_000;
const WORDS = WINDOW / 32;

interface KeyState {
  max: number;
  at: number;
  bits: Uint32Array;
}

export class SeqDedup {
  private readonly keys = new Map<string, KeyState>();
  private journalFd = -1;
  private journalBytes = 0;
  private pending = '';
  /** keys and seqs marked since the last flush, for `rollback` */
  private marked: [KeyState, number][] = [];

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
      for (const [key, [max, at, bits]] of Object.entries(data)) {
        // Copied into an array of its own: a small Buffer is a view into Node's shared pool, so
        // its `.buffer` is the whole pool, not these bytes (reading it gave another key's bits).
        const words = new Uint32Array(WORDS);
        new Uint8Array(words.buffer).set(Buffer.from(bits, 'base64').subarray(0, WORDS * 4));
        this.keys.set(key, { max, at, bits: words });
      }
    }
    const journal = join(this.dir, 'journal');
    if (existsSync(journal)) {
      const lines = readFileSync(journal, 'utf8').split('\n');
      // The last piece has no newline after it: empty, or a line torn by a crash mid-write.
      lines.pop();
      for (const line of lines) {
        const tab = line.lastIndexOf('\t');
        const tab2 = tab > 0 ? line.lastIndexOf('\t', tab - 1) : -1;
        if (tab2 <= 0) continue;
        const seq = Number(line.slice(tab2 + 1, tab));
        const at = Number(line.slice(tab + 1));
        if (!Number.isSafeInteger(seq) || !Number.isFinite(at)) continue;
        this.check(line.slice(0, tab2), seq, at, false);
      }
    }
    this.compact();
  }

  /** True when (key, seq) is new; records it. */
  check(key: string, seq: number, now: number, journal = true): boolean {
    let s = this.keys.get(key);
    if (!s || now - s.at > DAY_MS || seq <= s.max - WINDOW) {
      s = { max: seq, at: now, bits: new Uint32Array(WORDS) };
      this.keys.set(key, s);
    } else if (seq > s.max) {
      const gap = seq - s.max;
      if (gap >= WINDOW) s.bits.fill(0);
      else for (let q = s.max + 1; q <= seq; q++) s.bits[(q % WINDOW) >>> 5]! &= ~(1 << (q & 31));
      s.max = seq;
    } else {
      const w = (seq % WINDOW) >>> 5;
      const b = 1 << (seq & 31);
      if (s.bits[w]! & b) return false;
    }
    s.bits[(seq % WINDOW) >>> 5]! |= 1 << (seq & 31);
    s.at = now;
    if (journal) {
      this.marked.push([s, seq]);
      if (this.dir) this.pending += `${key}\t${seq}\t${now}\n`;
    }
    return true;
  }

  /** Writes what was accepted this turn; called right after the spool append. */
  flush(): void {
    this.marked.length = 0;
    if (!this.pending || !this.dir) return;
    const buf = Buffer.from(this.pending);
    this.pending = '';
    let off = 0;
    while (off < buf.length) off += writeSync(this.journalFd, buf, off, buf.length - off);
    this.journalBytes += buf.length;
    if (this.journalBytes >= this.compactBytes) this.compact();
  }

  /** Forgets what was marked since the last flush: the turn could not be made durable. */
  rollback(): void {
    for (const [s, seq] of this.marked) s.bits[(seq % WINDOW) >>> 5]! &= ~(1 << (seq & 31));
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
      data[key] = [s.max, s.at, Buffer.from(s.bits.buffer).toString('base64')];
    }
    const tmp = join(this.dir, 'snapshot.json.tmp');
    writeFileSync(tmp, JSON.stringify(data));
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
