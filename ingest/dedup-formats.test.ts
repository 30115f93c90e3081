/**
 * The de-duplication files of the formats before (ingest/dedup-files.ts, docs/ingest.md#de-duplication):
 * a snapshot with windows of 256, one with 32-bit fingerprints and no newest ts, and the
 * journal lines of four fields are read, folded to the format now, and replaced by it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Fingerprint, SNAPSHOT_FILE, WINDOW, fold16, journalFile } from './dedup.ts';
import { T, opened, tempDir } from './testing/dedup.ts';

describe('snapshots of the format before (a window of 256)', () => {
  it('are read, each key keeping the fingerprints of its last WINDOW seqs, and replaced', () => {
    const dir = tempDir();
    const key = Buffer.from('HY-03');
    const rec = Buffer.alloc(2 + key.length + 16 + 256 * 4);
    let off = rec.writeUInt16LE(key.length, 0);
    off += key.copy(rec, off);
    off = rec.writeDoubleLE(1000, off);
    off = rec.writeDoubleLE(T, off);
    const fps = new Uint32Array(256);
    for (let q = 1000 - 255; q <= 1000; q++) fps[q % 256] = q; // seq q carried fingerprint q
    Buffer.from(fps.buffer).copy(rec, off);
    writeFileSync(join(dir, SNAPSHOT_FILE), Buffer.concat([Buffer.from('estate-dedup 1\n'), rec]));
    const a = opened(dir);
    expect(a.check('HY-03', 1000, T, 1000)).toBe(false);
    expect(a.check('HY-03', 1000 - WINDOW + 1, T, 1000 - WINDOW + 1)).toBe(false);
    expect(a.check('HY-03', 990, T, 12345)).toBe(true); // the same seq, other content
    a.close();
    expect(readFileSync(join(dir, SNAPSHOT_FILE)).subarray(0, 15).toString()).toBe('estate-dedup 3\n');
    const b = opened(dir);
    expect(b.check('HY-03', 999, T, 999)).toBe(false);
    b.close();
  });
});

describe('the format before (32-bit fingerprints, no newest ts)', () => {
  /** A snapshot as the format before wrote it: head, keys, highest seqs, times, windows of u32. */
  function snapshot32(rows: { key: string; max: number; at: number; fps: [seq: number, fp: number][] }[], gen: number): Buffer {
    const keys = rows.map((r) => Buffer.from(r.key));
    const head = Buffer.alloc(15 + 12);
    head.write('estate-dedup 2\n', 0);
    head.writeUInt32LE(rows.length, 15);
    head.writeUInt32LE(WINDOW, 19);
    head.writeUInt32LE(gen, 23);
    const keyPart = Buffer.concat(keys.map((k) => Buffer.concat([Buffer.from([k.length & 0xff, k.length >> 8]), k])));
    const max = new Float64Array(rows.map((r) => r.max));
    const at = new Float64Array(rows.map((r) => r.at));
    const windows = new Uint32Array(rows.length * WINDOW);
    rows.forEach((r, i) => r.fps.forEach(([q, f]) => (windows[i * WINDOW + (q % WINDOW)] = f)));
    return Buffer.concat([head, keyPart, Buffer.from(max.buffer), Buffer.from(at.buffer), Buffer.from(windows.buffer)]);
  }
  /** What the format before computed for a content: FNV-1a, 32 bits. */
  const fp32 = (s: string) => {
    let h = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    return h >>> 0 || 1;
  };

  it('a snapshot of it is read with its fingerprints folded to 16 bits: what it held is still a duplicate, and it is replaced', () => {
    const dir = tempDir();
    writeFileSync(join(dir, SNAPSHOT_FILE), snapshot32([{ key: 'EL-1', max: 40, at: T, fps: [[40, fp32('reading 40')], [39, fp32('reading 39')]] }], 3));
    const d = opened(dir);
    // The content fingerprinted now, as the pipeline does, matches the folded one.
    expect(new Fingerprint().add('reading 40').value()).toBe(fold16(fp32('reading 40')));
    expect(d.check('EL-1', 40, T, new Fingerprint().add('reading 40').value())).toBe(false);
    expect(d.check('EL-1', 39, T, new Fingerprint().add('reading 39').value())).toBe(false);
    expect(d.check('EL-1', 38, T, new Fingerprint().add('reading 38').value())).toBe(true);
    d.close();
    expect(readFileSync(join(dir, SNAPSHOT_FILE)).subarray(0, 15).toString()).toBe('estate-dedup 3\n');
    const again = opened(dir);
    expect(again.check('EL-1', 40, T, new Fingerprint().add('reading 40').value())).toBe(false);
    again.close();
  });

  it("its journal's lines (four fields, 32-bit fingerprints) are replayed, folded", () => {
    const dir = tempDir();
    writeFileSync(join(dir, SNAPSHOT_FILE), snapshot32([], 5));
    writeFileSync(journalFile(dir, 5), `HY-1\t7\t${fp32('seven')}\t${T}\nHY-1\t8\t${fp32('eight')}\t${T}\n`);
    const d = opened(dir);
    expect(d.check('HY-1', 7, T, new Fingerprint().add('seven').value())).toBe(false);
    expect(d.check('HY-1', 8, T, new Fingerprint().add('eight').value())).toBe(false);
    expect(d.check('HY-1', 8, T, new Fingerprint().add('other').value())).toBe(true);
    d.close();
  });
});
