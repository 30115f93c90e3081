/**
 * De-duplication by (device, seq) (docs/interfaces.md#de-duplication): the same seq again within 24 h is
 * taken once. Per key, the highest seq seen, the newest ts a reading was sent with, and, for
 * the WINDOW seqs below the highest, a 16-bit fingerprint of the content each carried (its ts
 * as sent, and its metrics or event).
 *
 * The keys' state lives in four typed arrays shared by all keys (the highest seq, when last
 * heard, the newest ts sent, WINDOW fingerprints), a key holding one row: 280 bytes a key, and
 * no object, Map or array buffer of its own (docs/performance.md, "City scale"). WINDOW is 128: what comes twice
 * is a QoS 1 message in flight when a connection or the service dropped, or a device's buffer sent
 * again from a point up to 128 readings back.
 *
 * - A seq seen before with the same fingerprint is a duplicate (a QoS 1 redelivery, a replayed
 *   buffer): dropped.
 * - A seq seen before with another fingerprint is a new reading under a reused number: the
 *   device rebooted, or its counter wrapped (an 8-bit counter goes 255 → 0). Taken. Without
 *   this, a device that rebooted after fewer than WINDOW messages would lose that many.
 * - A seq seen before with a ts newer than any the key was sent with is new too, whatever its
 *   fingerprint: a duplicate carries the ts of a reading already taken. So a 16-bit fingerprint
 *   that happens to match (1 in 65,535) costs a rebooted device with a clock nothing; only a
 *   reading without ts, or with a clock set back, relies on the fingerprint alone.
 * - A seq more than WINDOW below the highest: the device counts afresh. Taken.
 * - A key silent for 24 h is forgotten.
 *
 * A device that sends no ts and repeats identical values under a reused seq is the one case
 * that stays ambiguous: such a reading is dropped (docs/ingest.md asks devices to send ts).
 *
 * Remembered across restarts: a turn's accepted seqs are appended to a journal once the turn
 * is in the spool and judged (its alert changes committed), just before it is acknowledged:
 * after it, so a crash between the two can only let a duplicate through (taken again, judged
 * again), never drop a reading or the alert it causes. (Batching the journal over 250 ms
 * instead was tried: the pending text outlived young-generation collections and cost 3 MB/s
 * of old-generation growth at 30,000 msg/s, for no measurable CPU saving.)
 *
 * The journal is folded into a snapshot when it has grown as large as the last snapshot, and
 * at a clean stop. Journals and snapshots carry a generation: snapshot g holds everything
 * before journal g. A fold starts journal g+1 and writes snapshot g+1 from the rows as they
 * were at that moment, in chunks between which ingest goes on: a row changed before its chunk
 * is written keeps its earlier values aside for the snapshot (copy on write). Once snapshot
 * g+1 is in place, journal g goes. A start reads the snapshot and replays the journals from
 * its generation on, so a crash at any point loses nothing and replays nothing twice
 * (docs/ingest.md#de-duplication).
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OLD_JOURNAL_FILE, OLD_SNAPSHOT_FILE, SNAPSHOT_FILE, WINDOW, fold16, journalFile, journals, readSnapshotWithGen, snapshotPieces, type SavedRows } from './dedup-files.ts';

export { SNAPSHOT_FILE, WINDOW, fold16, journalFile, journals, readSnapshot, type KeyState } from './dedup-files.ts';

const DAY_MS = 24 * 3600_000;

/** FNV-1a over strings, folded to 16 bits (fold16), never 0 (0 marks an empty slot). */
export class Fingerprint {
  private h = 0x811c9dc5;
  add(s: string): this {
    let h = this.h;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    this.h = h;
    return this;
  }
  value(): number {
    return fold16(this.h >>> 0);
  }
}

/** A snapshot being written: the rows below `n` whose windows are not written yet keep their values at its start in `saved`. */
interface Snapshotting {
  n: number;
  /** rows below this are written whole */
  done: number;
  saved: SavedRows;
}

/** The keys' rows: key → row, and per row its highest seq, last time, newest ts sent and window, in arrays that grow by half. */
class Rows {
  readonly index = new Map<string, number>();
  max = new Float64Array(0);
  at = new Float64Array(0);
  /** the newest ts a reading was sent with (0: none; a ts that old is refused as bad_timestamp) */
  newest = new Float64Array(0);
  fps = new Uint16Array(0);
  private free: number[] = [];
  /** rows handed out so far (the arrays' first `used` rows) */
  used = 0;
  snapshotting: Snapshotting | undefined;

  constructor(capacity: number) {
    this.grow(Math.max(16, capacity));
  }

  private grow(capacity: number): void {
    const max = new Float64Array(capacity);
    const at = new Float64Array(capacity);
    const newest = new Float64Array(capacity);
    const fps = new Uint16Array(capacity * WINDOW);
    max.set(this.max);
    at.set(this.at);
    newest.set(this.newest);
    fps.set(this.fps);
    this.max = max;
    this.at = at;
    this.newest = newest;
    this.fps = fps;
  }

  /** Row r is about to change: while a snapshot is written and r's window is not yet, its values go aside first. */
  touch(r: number): void {
    const s = this.snapshotting;
    if (!s || r >= s.n || r < s.done || s.saved.has(r)) return;
    s.saved.set(r, { max: this.max[r]!, at: this.at[r]!, newest: this.newest[r]!, fps: this.fps.slice(r * WINDOW, (r + 1) * WINDOW) });
  }

  /** A key's row, made (empty) if it has none. */
  row(key: string): number {
    let r = this.index.get(key);
    if (r !== undefined) return r;
    r = this.free.pop();
    if (r === undefined) {
      if (this.used === this.max.length) this.grow(Math.ceil(this.max.length * 1.5));
      r = this.used++;
    }
    this.index.set(key, r);
    this.reset(r, 0, 0);
    return r;
  }

  reset(r: number, max: number, at: number): void {
    this.touch(r);
    this.max[r] = max;
    this.at[r] = at;
    this.newest[r] = 0;
    this.fps.fill(0, r * WINDOW, (r + 1) * WINDOW);
  }

  drop(key: string): void {
    const r = this.index.get(key);
    if (r === undefined) return;
    this.index.delete(key);
    this.reset(r, 0, 0);
    this.free.push(r);
  }
}

export class SeqDedup {
  private readonly rows: Rows;
  private journalFd = -1;
  private journalBytes = 0;
  /** the current journal's generation */
  private gen = 0;
  /** the size of the last snapshot written: the journal may grow as large before the next */
  private snapshotBytes = 0;
  private pending = '';
  /** the time of the last journal line, and its text (a tab before it) */
  private pendingAt = NaN;
  private pendingAtText = '';
  /** slots marked since the last flush (index into the fingerprints) and what each held, for `rollback` */
  private marked: number[] = [];
  /** the snapshot being written while ingest goes on, if any */
  private folding: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly dir: string | undefined,
    private readonly compactBytes = 4 * 1024 * 1024,
    /** how many keys to make room for at once (the registry's devices) */
    expectedKeys = 0,
    /** a fold in the background that failed (the journals keep everything; the next fold tries again) */
    private readonly onFoldError: (err: Error) => void = () => undefined,
  ) {
    this.rows = new Rows(expectedKeys);
  }

  open(): void {
    if (!this.dir) return;
    mkdirSync(this.dir, { recursive: true });
    const snap = readSnapshotWithGen(this.dir);
    for (const [key, state] of snap.keys) {
      const r = this.rows.row(key);
      this.rows.max[r] = state.max;
      this.rows.at[r] = state.at;
      this.rows.newest[r] = state.newest;
      this.rows.fps.set(state.fps, r * WINDOW);
    }
    // The journal of the formats before belongs to a snapshot without a generation; then every journal from the snapshot's on.
    const replay = [...(snap.gen === 0 && existsSync(join(this.dir, OLD_JOURNAL_FILE)) ? [join(this.dir, OLD_JOURNAL_FILE)] : []), ...journals(this.dir).filter((j) => j.gen >= snap.gen).map((j) => j.file)];
    for (const file of replay) this.replay(file);
    this.gen = Math.max(snap.gen, ...journals(this.dir).map((j) => j.gen));
    for (const name of readdirSync(this.dir)) if (name.startsWith(`${SNAPSHOT_FILE}.tmp`)) rmSync(join(this.dir, name), { force: true });
    this.compact();
  }

  private replay(file: string): void {
    const lines = readFileSync(file, 'utf8').split('\n');
    // The last piece has no newline after it: empty, or a line torn by a crash mid-write.
    lines.pop();
    for (const line of lines) {
      // key \t seq \t fingerprint \t at [\t ts sent] (a key is a device id, which holds no tab).
      // The lines of the format before have no ts sent and 32-bit fingerprints, folded here.
      const parts = line.split('\t');
      if (parts.length !== 4 && parts.length !== 5) continue;
      const seq = Number(parts[1]);
      const fp = Number(parts[2]);
      const at = Number(parts[3]);
      const sent = parts.length === 5 ? Number(parts[4]) : NaN;
      if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(fp) || !Number.isFinite(at)) continue;
      this.check(parts[0]!, seq, at, fp === 0 ? 0 : fold16(fp), sent, false);
    }
  }

  /**
   * True when (key, seq) is new; records it. `fp` is the content's 16-bit fingerprint (see
   * `Fingerprint`); callers that know nothing of the content pass 1. `sent` is the ts the
   * reading was sent with (NaN without one).
   */
  check(key: string, seq: number, now: number, fp = 1, sent = NaN, journal = true): boolean {
    const rows = this.rows;
    let r = rows.index.get(key);
    const known = r !== undefined;
    if (r === undefined) r = rows.row(key);
    const base = r * WINDOW;
    const max = rows.max[r]!;
    const slot = base + (seq % WINDOW);
    if (!known || now - rows.at[r]! > DAY_MS || seq <= max - WINDOW) {
      rows.reset(r, seq, now);
    } else if (seq > max) {
      rows.touch(r);
      const gap = seq - max;
      if (gap >= WINDOW) rows.fps.fill(0, base, base + WINDOW);
      else for (let q = max + 1; q <= seq; q++) rows.fps[base + (q % WINDOW)] = 0;
      rows.max[r] = seq;
    } else if (rows.fps[slot] === fp && !(sent > rows.newest[r]!)) {
      return false;
    } else rows.touch(r);
    const before = rows.fps[slot]!;
    rows.fps[slot] = fp;
    rows.at[r] = now;
    // A ts newer than the newest is recorded even if the turn is rolled back: it only makes
    // the guard above decide less often, leaving the fingerprint to decide.
    if (sent > rows.newest[r]!) rows.newest[r] = sent;
    if (journal) {
      this.marked.push(slot, before);
      if (this.dir) {
        // A turn's lines share their time: its text is made once per millisecond, not per line.
        if (now !== this.pendingAt) {
          this.pendingAt = now;
          this.pendingAtText = `\t${now}`;
        }
        this.pending += Number.isNaN(sent) ? `${key}\t${seq}\t${fp}${this.pendingAtText}\n` : `${key}\t${seq}\t${fp}${this.pendingAtText}\t${sent}\n`;
      }
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
    // writing snapshots costs a bounded share of the journal's bytes at any number of devices
    // (100,000 devices' snapshot is about 29 MB; docs/performance.md, "City scale").
    if (!this.folding && this.journalBytes >= Math.max(this.compactBytes, this.snapshotBytes)) this.fold();
  }

  /** Writes what was accepted to the journal now. */
  flush(): void {
    this.journal(this.takeTurn());
  }

  /** Forgets what was marked since the last flush: the turn could not be made durable. */
  rollback(): void {
    for (let i = this.marked.length - 2; i >= 0; i -= 2) {
      const slot = this.marked[i]!;
      this.rows.touch((slot / WINDOW) | 0);
      this.rows.fps[slot] = this.marked[i + 1]!;
    }
    this.marked.length = 0;
    this.pending = '';
  }

  /** A fold in the background, if one is being written (tests wait for it). */
  get folded(): Promise<void> {
    return this.folding ?? Promise.resolve();
  }

  /** The keys by row, the rows of keys silent for 24 h freed first. */
  private keysByRow(): string[] {
    const rows = this.rows;
    const now = Date.now();
    for (const [key, r] of rows.index) if (now - rows.at[r]! > DAY_MS) rows.drop(key);
    const keys: string[] = new Array(rows.used).fill('');
    for (const [key, r] of rows.index) keys[r] = key;
    return keys;
  }

  /** Starts the next journal; returns the generation of the snapshot that is to hold everything before it. */
  private nextJournal(): number {
    if (this.journalFd >= 0) closeSync(this.journalFd);
    this.gen++;
    this.journalFd = openSync(journalFile(this.dir!, this.gen), 'w');
    this.journalBytes = 0;
    return this.gen;
  }

  /** Snapshot `gen` is in place: the journals before it, and the files of the formats before, go. */
  private installed(gen: number): void {
    const dir = this.dir!;
    for (const j of journals(dir)) if (j.gen < gen) rmSync(j.file, { force: true });
    rmSync(join(dir, OLD_JOURNAL_FILE), { force: true });
    rmSync(join(dir, OLD_SNAPSHOT_FILE), { force: true });
  }

  /** Folds in the background: a new journal now, the snapshot of this moment written in chunks. */
  private fold(): void {
    const dir = this.dir!;
    const keys = this.keysByRow();
    const gen = this.nextJournal();
    const snapshotting: Snapshotting = { n: keys.length, done: 0, saved: new Map() };
    this.rows.snapshotting = snapshotting;
    const tmp = join(dir, `${SNAPSHOT_FILE}.tmp-${gen}`);
    const write = async () => {
      const fh = await openFile(tmp, 'w');
      let bytes = 0;
      try {
        for (const piece of snapshotPieces(this.rows, keys, gen, snapshotting.saved, (from) => {
          snapshotting.done = from;
          for (const r of snapshotting.saved.keys()) if (r < from) snapshotting.saved.delete(r);
        })) {
          let at = 0;
          while (at < piece.length) at += (await fh.write(piece, at, piece.length - at)).bytesWritten;
          bytes += piece.length;
          if (this.closed) return;
        }
      } finally {
        await fh.close();
      }
      this.snapshotBytes = bytes;
      renameSync(tmp, join(dir, SNAPSHOT_FILE));
      this.installed(gen);
    };
    this.folding = write()
      // The journals stay: the next fold, or the next start, has everything.
      .catch((err: unknown) => this.onFoldError(err as Error))
      .finally(() => {
        if (this.rows.snapshotting === snapshotting) this.rows.snapshotting = undefined;
        rmSync(tmp, { force: true });
        this.folding = undefined;
      });
  }

  /**
   * Folds the journal into a new snapshot now, at a start and a clean stop (`fold` does it
   * while ingest goes on): the keys (u16 length, UTF-8; an empty key for a free row), then the
   * rows' highest seqs, times and newest ts sent (f64 each) and their windows (u16 × WINDOW
   * each), the layout the rows are kept in (docs/ingest.md#de-duplication).
   */
  compact(): void {
    if (!this.dir) return;
    this.rows.snapshotting = undefined;
    const keys = this.keysByRow();
    const gen = this.nextJournal();
    const tmp = join(this.dir, `${SNAPSHOT_FILE}.tmp`);
    const fd = openSync(tmp, 'w');
    let bytes = 0;
    try {
      for (const piece of snapshotPieces(this.rows, keys, gen, undefined)) {
        let at = 0;
        while (at < piece.length) at += writeSync(fd, piece, at, piece.length - at);
        bytes += piece.length;
      }
    } finally {
      closeSync(fd);
    }
    this.snapshotBytes = bytes;
    renameSync(tmp, join(this.dir, SNAPSHOT_FILE));
    this.installed(gen);
  }

  close(): void {
    this.flush();
    if (this.journalFd >= 0) {
      // A fold still being written is left: this one supersedes it.
      this.closed = true;
      this.compact();
      closeSync(this.journalFd);
      this.journalFd = -1;
    }
  }

  get size(): number {
    return this.rows.index.size;
  }
}
