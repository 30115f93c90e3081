/**
 * The binary payload decoders a profile may name (`codec`; the list is config/adapters.ts
 * `CODECS`): each turns one model's frame into fields, which the profile then maps like any
 * vendor's JSON. Small, named and tested (codecs.test.ts); no code comes from the estate file.
 * A frame that does not fit its decoder is an error with a reason (refused as `bad_payload`).
 */
import type { CodecName } from '../../config/index.ts';

export type Codec = (frame: Buffer) => Record<string, number | boolean>;

export class CodecError extends Error {}

function need(frame: Buffer, bytes: number, name: string): void {
  if (frame.length < bytes) throw new CodecError(`${name}: a frame of ${frame.length} bytes, expected ${bytes}`);
}

export const CODEC_IMPLEMENTATIONS: Record<CodecName, Codec> = {
  'hydrant-pressure-v1': (f) => {
    need(f, 5, 'hydrant-pressure-v1');
    if (f[0] !== 1) throw new CodecError(`hydrant-pressure-v1: version ${f[0]}, expected 1`);
    const flags = f.readUInt8(4);
    return { pressure_kpa: f.readUInt16BE(1), battery: f.readUInt8(3), tamper: (flags & 1) === 1, leak: (flags & 2) === 2 };
  },
  'water-quality-v1': (f) => {
    need(f, 8, 'water-quality-v1');
    if (f[0] !== 1) throw new CodecError(`water-quality-v1: version ${f[0]}, expected 1`);
    return { turbidity: f.readUInt16BE(1) / 100, chlorine: f.readUInt16BE(3) / 100, ph: f.readUInt16BE(5) / 100, battery: f.readUInt8(7) };
  },
};

export function decodeFrame(codec: CodecName, frame: Buffer): Record<string, number | boolean> {
  return CODEC_IMPLEMENTATIONS[codec](frame);
}
