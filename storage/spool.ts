/**
 * The write-ahead spool (DESIGN.md): every accepted reading, encoded for the store, is
 * appended to a segment file in the event-loop turn it arrived in, before its QoS 1 ack.
 * The writer acknowledges byte ranges once the store has them; a closed segment whose bytes
 * are all acknowledged is deleted. Whatever is left at start is replayed, in order.
 *
 * Files: `<dir>/<16-digit segment number>.seg`, one encoded record per line. A killed
 * process loses nothing that was appended (the OS has the bytes); fdatasync at a short
 * interval bounds what a power cut can lose.
 */
import { closeSync, fdatasync, fstatSync, mkdirSync, openSync, readdirSync, readSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface SpoolOptions {
  dir: string;
  /** size cap over all segments; at the cap `full` is true and ingest holds back acks */
  maxBytes: number;
  segmentBytes?: number;
  /** a non-empty segment older than this is closed, so it can be deleted once written */
  segmentMs?: number;
  fsyncMs?: number;
}

/**
 * Records appended or read together: where they are on disk, and their bytes (each record
 * followed by a newline), which go to the store as they are, without another copy to text.
 */
export interface Chunk {
  seg: number;
  start: number;
  end: number;
  body: Buffer;
  count: number;
}

interface Segment {
  id: number;
  size: number;
  acked: number;
  closed: boolean;
}

const NAME = /^(\d{16})\.seg$/;
const name = (id: number) => `${String(id).padStart(16, '0')}.seg`;

export class Spool {
  private readonly segments = new Map<number, Segment>();
  private current!: Segment;
  private fd = -1;
  private openedAt = 0;
  private dirty = false;
  private totalBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly segmentBytes: number;
  private readonly segmentMs: number;
  /** segments present at open, before this process appended anything */
  readonly leftover: number[] = [];

  constructor(readonly opts: SpoolOptions) {
    this.segmentBytes = opts.segmentBytes ?? 8 * 1024 * 1024;
    this.segmentMs = opts.segmentMs ?? 5000;
  }

  open(): void {
    mkdirSync(this.opts.dir, { recursive: true });
    const ids = readdirSync(this.opts.dir)
      .map((f) => NAME.exec(f)?.[1])
      .filter((m): m is string => m !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    for (const id of ids) {
      const size = statSync(join(this.opts.dir, name(id))).size;
      if (size === 0) {
        unlinkSync(join(this.opts.dir, name(id)));
        continue;
      }
      this.segments.set(id, { id, size, acked: 0, closed: true });
      this.totalBytes += size;
      this.leftover.push(id);
    }
    this.rotate((ids.at(-1) ?? 0) + 1);
    const fsyncMs = this.opts.fsyncMs ?? 1000;
    this.timer = setInterval(() => this.tick(), Math.min(fsyncMs, this.segmentMs));
    this.timer.unref();
  }

  private rotate(nextId: number): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.current.closed = true;
      this.maybeDelete(this.current);
    }
    this.current = { id: nextId, size: 0, acked: 0, closed: false };
    this.segments.set(nextId, this.current);
    // a+: the writer reads the live segment back when it falls behind.
    this.fd = openSync(join(this.opts.dir, name(nextId)), 'a+');
    this.openedAt = Date.now();
  }

  private tick(): void {
    if (this.dirty && this.fd >= 0) {
      this.dirty = false;
      fdatasync(this.fd, () => undefined);
    }
    if (this.current.size > 0 && Date.now() - this.openedAt >= this.segmentMs) this.rotate(this.current.id + 1);
  }

  get full(): boolean {
    return this.totalBytes >= this.opts.maxBytes;
  }

  /** Appends records synchronously; they are in the OS when this returns. */
  append(lines: string[]): Chunk {
    if (this.current.size >= this.segmentBytes) this.rotate(this.current.id + 1);
    const buf = Buffer.from(lines.join('\n') + '\n', 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
    const start = this.current.size;
    this.current.size += buf.length;
    this.totalBytes += buf.length;
    this.dirty = true;
    return { seg: this.current.id, start, end: this.current.size, body: buf, count: lines.length };
  }

  /** The store has the records in [start, end) of segment `seg`. */
  ack(seg: number, bytes: number): void {
    const s = this.segments.get(seg);
    if (!s) return;
    s.acked += bytes;
    this.maybeDelete(s);
  }

  private maybeDelete(s: Segment): void {
    if (!s.closed || s.acked < s.size) return;
    try {
      unlinkSync(join(this.opts.dir, name(s.id)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.segments.delete(s.id);
    this.totalBytes -= s.size;
  }

  /** Where the next append goes. */
  position(): { seg: number; offset: number } {
    return { seg: this.current.id, offset: this.current.size };
  }

  /** The oldest segment still on disk, if any. */
  oldest(): number | undefined {
    let min: number | undefined;
    for (const id of this.segments.keys()) if (min === undefined || id < min) min = id;
    return min;
  }

  /** The segment after `seg` that is still on disk. */
  next(seg: number): number | undefined {
    let best: number | undefined;
    for (const id of this.segments.keys()) if (id > seg && (best === undefined || id < best)) best = id;
    return best;
  }

  /**
   * Reads whole records from `seg` starting at byte `offset` into `into`: at most `maxLines`
   * of them and at most `into.length` bytes. Returns them, and where they end.
   */
  read(seg: number, offset: number, maxLines: number, into: Buffer): Chunk {
    const s = this.segments.get(seg);
    const empty = { seg, start: offset, end: offset, body: into.subarray(0, 0), count: 0 };
    if (!s) return empty;
    const available = s.size - offset;
    if (available <= 0) return empty;
    const fd = s === this.current ? this.fd : openSync(join(this.opts.dir, name(seg)), 'r');
    try {
      const want = Math.min(available, into.length);
      let got = 0;
      while (got < want) {
        const n = readSync(fd, into, got, want - got, offset + got);
        if (n === 0) break;
        got += n;
      }
      let count = 0;
      let pos = 0;
      while (count < maxLines) {
        const nl = into.indexOf(10, pos);
        if (nl < 0 || nl >= got) break;
        count++;
        pos = nl + 1;
      }
      if (count === 0 && got === into.length) {
        throw new Error(`spool segment ${seg} has a record longer than ${into.length} bytes at ${offset}`);
      }
      return { seg, start: offset, end: offset + pos, body: into.subarray(0, pos), count };
    } finally {
      if (s !== this.current) closeSync(fd);
    }
  }

  /** Size of a segment on disk, or undefined once deleted. */
  sizeOf(seg: number): number | undefined {
    return this.segments.get(seg)?.size;
  }

  isCurrent(seg: number): boolean {
    return seg === this.current.id;
  }

  stats(): { segments: number; bytes: number } {
    return { segments: this.segments.size, bytes: this.totalBytes };
  }

  /** Whether the spool directory can take a write (for /readyz). */
  writable(): boolean {
    try {
      fstatSync(this.fd);
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
      this.current.closed = true;
      this.maybeDelete(this.current);
    }
  }
}
