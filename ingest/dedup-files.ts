/**
 * The de-duplication state's files (docs/ingest.md#de-duplication): journals by generation,
 * and the snapshot in the rows' own layout: a head (magic, rows, window, generation), each
 * row's key (u16 length, UTF-8; empty for a free row), then the rows' highest seqs, times and
 * newest ts sent (f64 each) and their windows (u16 × WINDOW each). The older formats are read
 * here too, their 32-bit fingerprints folded to 16 bits as `fold16` folds new ones: the same
 * columns without the newest ts and with u32 windows (`estate-dedup 2`), a record of 256
 * fingerprints per key (`estate-dedup 1`), and `snapshot.json`.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const WINDOW = 128;
/** The snapshot's file and its first bytes (a format of its own: magic, then the keys and the rows' columns). */
export const SNAPSHOT_FILE = 'snapshot.bin';
export const MAGIC = Buffer.from('estate-dedup 3\n');
/** The format before: the same columns without the newest ts, and 32-bit fingerprints. */
export const MAGIC_32 = Buffer.from('estate-dedup 2\n');
/** The formats before: one record per key with a window of 256 (MAGIC_256), and JSON of key → [max, at, base64 of a 256 window]. */
export const MAGIC_256 = Buffer.from('estate-dedup 1\n');
export const OLD_SNAPSHOT_FILE = 'snapshot.json';
export const OLD_WINDOW = 256;
/** The journal of the formats before, without a generation: replayed first. */
export const OLD_JOURNAL_FILE = 'journal';
/** Rows per chunk of a snapshot written while ingest goes on (1 MB of windows). */
export const CHUNK_ROWS = 4096;

/** The journal of generation `gen`. */
export function journalFile(dir: string, gen: number): string {
  return join(dir, `journal.${gen}`);
}

/** The journals in a directory, by generation, oldest first. */
export function journals(dir: string): { gen: number; file: string }[] {
  const out: { gen: number; file: string }[] = [];
  for (const name of readdirSync(dir)) {
    const m = /^journal\.(\d+)$/.exec(name);
    if (m) out.push({ gen: Number(m[1]), file: join(dir, name) });
  }
  return out.sort((a, b) => a.gen - b.gen);
}

/**
 * A 32-bit hash as a 16-bit fingerprint, never 0 (0 marks an empty slot): the halves xor-ed.
 * Identity on values below 65,536, so a fingerprint already folded stays as it is.
 */
export function fold16(h: number): number {
  return ((h ^ (h >>> 16)) & 0xffff) || 1;
}

export interface KeyState {
  max: number;
  at: number;
  /** the newest ts a reading of the key was sent with (0: none) */
  newest: number;
  /** fingerprint per seq % WINDOW; 0 = not seen */
  fps: Uint16Array;
}

/** The rows' columns as the snapshot copies them (ingest/dedup.ts keeps them). */
export interface RowArrays {
  max: Float64Array;
  at: Float64Array;
  newest: Float64Array;
  fps: Uint16Array;
}

/** Rows whose values at a snapshot's start were set aside before they changed, by row. */
export type SavedRows = Map<number, { max: number; at: number; newest: number; fps: Uint16Array }>;

/** 32-bit fingerprints of the formats before as 16-bit ones, empty slots kept empty. */
function folded(fps: Uint32Array): Uint16Array {
  const out = new Uint16Array(fps.length);
  for (let i = 0; i < fps.length; i++) out[i] = fps[i] === 0 ? 0 : fold16(fps[i]!);
  return out;
}

/**
 * The snapshot of `rows` as they are (or, for rows saved aside, as they were), in the pieces
 * it is written in: the head with the keys, then each column in chunks of CHUNK_ROWS. Each
 * chunk is copied into one scratch buffer, so that it can be written while the rows change;
 * the caller writes a piece before it asks for the next (one 2 MB buffer a fold, instead of a
 * new one per chunk that the heap takes back only later). `onChunk(b)` runs before the
 * windows of rows b… are copied.
 */
export function* snapshotPieces(rows: RowArrays, keys: readonly string[], gen: number, saved: SavedRows | undefined, onChunk?: (from: number) => void): Generator<Uint8Array> {
  const scratch = new ArrayBuffer(CHUNK_ROWS * WINDOW * 2);
  const n = keys.length;
  let keyBytes = 0;
  for (const k of keys) keyBytes += Buffer.byteLength(k);
  const head = Buffer.allocUnsafe(MAGIC.length + 12 + 2 * n + keyBytes);
  let off = MAGIC.copy(head, 0);
  off = head.writeUInt32LE(n, off);
  off = head.writeUInt32LE(WINDOW, off);
  off = head.writeUInt32LE(gen, off);
  for (const key of keys) {
    const len = head.write(key, off + 2, 'utf8');
    head.writeUInt16LE(len, off);
    off += 2 + len;
  }
  yield head;
  for (const column of ['max', 'at', 'newest'] as const) {
    for (let a = 0; a < n; a += CHUNK_ROWS) {
      const b = Math.min(n, a + CHUNK_ROWS);
      const part = new Float64Array(scratch, 0, b - a);
      part.set(rows[column].subarray(a, b));
      for (const [r, v] of saved ?? []) if (r >= a && r < b) part[r - a] = v[column];
      yield new Uint8Array(scratch, 0, part.byteLength);
    }
  }
  for (let a = 0; a < n; a += CHUNK_ROWS) {
    onChunk?.(a);
    const b = Math.min(n, a + CHUNK_ROWS);
    const part = new Uint16Array(scratch, 0, (b - a) * WINDOW);
    part.set(rows.fps.subarray(a * WINDOW, b * WINDOW));
    for (const [r, v] of saved ?? []) if (r >= a && r < b) part.set(v.fps, (r - a) * WINDOW);
    yield new Uint8Array(scratch, 0, part.byteLength);
  }
}


/**
 * A window of the older formats (256 fingerprints) as a window of WINDOW: the WINDOW seqs up
 * to `max`, each at its place in the smaller window.
 */
function narrowed(max: number, old: Uint32Array): Uint32Array {
  const fps = new Uint32Array(WINDOW);
  for (let q = Math.max(0, max - WINDOW + 1); q <= max; q++) fps[q % WINDOW] = old[q % OLD_WINDOW]!;
  return fps;
}

/** The keys of a directory's snapshot (SNAPSHOT_FILE, of this format or the one before, else the older JSON one). */
export function readSnapshot(dir: string): Map<string, KeyState> {
  return readSnapshotWithGen(dir).keys;
}

/** The snapshot's keys and its generation (0 for the formats before, and for none). */
export function readSnapshotWithGen(dir: string): { keys: Map<string, KeyState>; gen: number } {
  const out = new Map<string, KeyState>();
  const file = join(dir, SNAPSHOT_FILE);
  if (existsSync(file)) {
    const buf = readFileSync(file);
    const head = buf.subarray(0, MAGIC.length);
    if (head.equals(MAGIC)) return readColumns(buf, file, 3);
    if (head.equals(MAGIC_32)) return readColumns(buf, file, 2);
    if (!head.equals(MAGIC_256)) throw new Error(`${file} is not a de-duplication snapshot`);
    // The format before: one record per key, each with a window of 256.
    let off = MAGIC_256.length;
    // A torn snapshot cannot happen (written aside, then renamed); a short record ends the read all the same.
    while (off + 2 <= buf.length) {
      const len = buf.readUInt16LE(off);
      const end = off + 2 + len + 16 + OLD_WINDOW * 4;
      if (end > buf.length) break;
      const key = buf.toString('utf8', off + 2, off + 2 + len);
      off += 2 + len;
      const max = buf.readDoubleLE(off);
      const at = buf.readDoubleLE(off + 8);
      off += 16;
      // Copied into an array of its own, not a view of the file's buffer, which would stay alive whole.
      const fps = new Uint32Array(OLD_WINDOW);
      new Uint8Array(fps.buffer).set(buf.subarray(off, off + OLD_WINDOW * 4));
      off += OLD_WINDOW * 4;
      out.set(key, { max, at, newest: 0, fps: folded(narrowed(max, fps)) });
    }
    return { keys: out, gen: 0 };
  }
  const old = join(dir, OLD_SNAPSHOT_FILE);
  if (existsSync(old)) {
    const data = JSON.parse(readFileSync(old, 'utf8')) as Record<string, [number, number, string]>;
    for (const [key, [max, at, fps]] of Object.entries(data)) {
      // Copied into an array of its own: a small Buffer is a view into Node's shared pool, so
      // its `.buffer` is the whole pool, not these bytes.
      const words = new Uint32Array(OLD_WINDOW);
      new Uint8Array(words.buffer).set(Buffer.from(fps, 'base64').subarray(0, OLD_WINDOW * 4));
      out.set(key, { max, at, newest: 0, fps: folded(narrowed(max, words)) });
    }
  }
  return { keys: out, gen: 0 };
}

/** A snapshot of this format (`compact`, version 3) or the one before (2): its generation, the keys, then the rows' columns. */
function readColumns(buf: Buffer, file: string, version: 2 | 3): { keys: Map<string, KeyState>; gen: number } {
  const out = new Map<string, KeyState>();
  let off = MAGIC.length;
  const n = buf.readUInt32LE(off);
  const window = buf.readUInt32LE(off + 4);
  const gen = buf.readUInt32LE(off + 8);
  off += 12;
  if (version === 3 && window !== WINDOW) throw new Error(`${file} has windows of ${window}, not ${WINDOW}`);
  const keys: string[] = [];
  for (let r = 0; r < n; r++) {
    const len = buf.readUInt16LE(off);
    keys.push(buf.toString('utf8', off + 2, off + 2 + len));
    off += 2 + len;
  }
  const columns = version === 3 ? 3 : 2;
  const width = version === 3 ? 2 : 4;
  if (off + n * (8 * columns + window * width) > buf.length) throw new Error(`${file} is shorter than its ${n} rows`);
  for (let r = 0; r < n; r++) {
    if (!keys[r]) continue;
    const max = buf.readDoubleLE(off + r * 8);
    const at = buf.readDoubleLE(off + n * 8 + r * 8);
    const newest = version === 3 ? buf.readDoubleLE(off + n * 16 + r * 8) : 0;
    const start = off + n * 8 * columns + r * window * width;
    // Copied into an array of its own, not a view of the file's buffer, which would stay alive whole.
    if (version === 3) {
      const fps = new Uint16Array(window);
      new Uint8Array(fps.buffer).set(buf.subarray(start, start + window * 2));
      out.set(keys[r]!, { max, at, newest, fps });
    } else {
      const fps = new Uint32Array(window);
      new Uint8Array(fps.buffer).set(buf.subarray(start, start + window * 4));
      out.set(keys[r]!, { max, at, newest, fps: folded(window === WINDOW ? fps : narrowed(max, fps)) });
    }
  }
  return { keys: out, gen };
}
