/**
 * What a device's firmware packs into its binary frame, for the decoders a profile may name
 * (`codec`; the layouts are config/adapters.ts `CODECS`, the decoders ingest/adapters/codecs.ts):
 * the inverse of each, from the vendor's fields (`vendorFields`), values rounded and clamped to
 * what the frame's integers can carry, as the firmware would.
 */
import type { CodecName } from '../../config/index.ts';

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const u8 = (v: number) => Math.min(255, Math.max(0, Math.round(v)));
const u16 = (v: number) => Math.min(65_535, Math.max(0, Math.round(v)));

export const ENCODERS: Record<CodecName, (fields: Record<string, unknown>) => Buffer> = {
  // u8 version 1, u16 pressure kPa, u8 battery %, u8 flags (bit0 tamper, bit1 leak)
  'hydrant-pressure-v1': (f) => {
    const b = Buffer.alloc(5);
    b.writeUInt8(1, 0);
    b.writeUInt16BE(u16(num(f.pressure_kpa)), 1);
    b.writeUInt8(u8(num(f.battery)), 3);
    b.writeUInt8((f.tamper === true ? 1 : 0) | (f.leak === true ? 2 : 0), 4);
    return b;
  },
  // u8 version 1, u16 turbidity × 0.01 NTU, u16 free chlorine × 0.01 mg/L, u16 pH × 0.01, u8 battery %
  'water-quality-v1': (f) => {
    const b = Buffer.alloc(8);
    b.writeUInt8(1, 0);
    b.writeUInt16BE(u16(num(f.turbidity) * 100), 1);
    b.writeUInt16BE(u16(num(f.chlorine) * 100), 3);
    b.writeUInt16BE(u16(num(f.ph) * 100), 5);
    b.writeUInt8(u8(num(f.battery)), 7);
    return b;
  },
};

export function encodeFrame(codec: CodecName, fields: Record<string, unknown>): Buffer {
  return ENCODERS[codec](fields);
}
