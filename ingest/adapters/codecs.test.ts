/**
 * The named decoders of binary frames (codecs.ts; their layouts are config/adapters.ts `CODECS`),
 * on frames written out byte by byte here, and what the adapters make of a frame that does not
 * fit: `bad_payload` naming the adapter, the platform's raw body kept.
 */
import { describe, expect, it } from 'vitest';
import { Registry, parseEstate } from '../../config/index.ts';
import { CodecError, decodeFrame } from './codecs.ts';
import { translateChirpstack } from './chirpstack.ts';
import { translateCtwing } from './ctwing.ts';
import { SourceIndex } from './sources.ts';

const frame = (...bytes: number[]) => Buffer.from(bytes);

describe('hydrant-pressure-v1', () => {
  it('reads u8 version, u16 kPa, u8 battery %, u8 flags, big-endian', () => {
    // 0x01 | 0x0118 = 280 kPa | 0x57 = 87 % | 0b00 no flags
    expect(decodeFrame('hydrant-pressure-v1', frame(0x01, 0x01, 0x18, 0x57, 0x00))).toEqual({ pressure_kpa: 280, battery: 87, tamper: false, leak: false });
    // 0x0050 = 80 kPa, 0x0a = 10 %, flags bit0 tamper and bit1 leak
    expect(decodeFrame('hydrant-pressure-v1', frame(0x01, 0x00, 0x50, 0x0a, 0x01))).toEqual({ pressure_kpa: 80, battery: 10, tamper: true, leak: false });
    expect(decodeFrame('hydrant-pressure-v1', frame(0x01, 0x00, 0x50, 0x0a, 0x02))).toEqual({ pressure_kpa: 80, battery: 10, tamper: false, leak: true });
    expect(decodeFrame('hydrant-pressure-v1', frame(0x01, 0xff, 0xff, 0x64, 0x03))).toEqual({ pressure_kpa: 65535, battery: 100, tamper: true, leak: true });
  });

  it('refuses a frame too short, or of another version, saying which and why', () => {
    expect(() => decodeFrame('hydrant-pressure-v1', frame(0x01, 0x01, 0x18, 0x57))).toThrow(new CodecError('hydrant-pressure-v1: a frame of 4 bytes, expected 5'));
    expect(() => decodeFrame('hydrant-pressure-v1', frame())).toThrow(/a frame of 0 bytes/);
    expect(() => decodeFrame('hydrant-pressure-v1', frame(0x02, 0x01, 0x18, 0x57, 0x00))).toThrow(new CodecError('hydrant-pressure-v1: version 2, expected 1'));
  });
});

describe('water-quality-v1', () => {
  it('reads u8 version, u16 turbidity × 0.01 NTU, u16 chlorine × 0.01 mg/L, u16 pH × 0.01, u8 battery %', () => {
    // 0x001e = 30 → 0.3 NTU | 0x0041 = 65 → 0.65 mg/L | 0x02d5 = 725 → pH 7.25 | 0x5a = 90 %
    expect(decodeFrame('water-quality-v1', frame(0x01, 0x00, 0x1e, 0x00, 0x41, 0x02, 0xd5, 0x5a))).toEqual({ turbidity: 0.3, chlorine: 0.65, ph: 7.25, battery: 90 });
    expect(decodeFrame('water-quality-v1', frame(0x01, 0x01, 0x2c, 0x00, 0x03, 0x03, 0x84, 0x00))).toEqual({ turbidity: 3, chlorine: 0.03, ph: 9, battery: 0 });
  });

  it('refuses a frame too short, or of another version', () => {
    expect(() => decodeFrame('water-quality-v1', frame(0x01, 0x00, 0x1e, 0x00, 0x41, 0x02, 0xd5))).toThrow(new CodecError('water-quality-v1: a frame of 7 bytes, expected 8'));
    expect(() => decodeFrame('water-quality-v1', frame(0x00, 0x00, 0x1e, 0x00, 0x41, 0x02, 0xd5, 0x5a))).toThrow(new CodecError('water-quality-v1: version 0, expected 1'));
  });
});

const ESTATE = parseEstate(
  `
adapters:
  - { id: ctw, type: ctwing, secret: "0123456789abcdef" }
  - { id: lora, type: chirpstack, application: "app-1" }
profiles:
  water-analyser:
    kind: water
    codec: water-quality-v1
    metrics: { turbidity: turbidity_ntu, chlorine: chlorine_mgl, ph: ph, battery: battery_pct }
  nb-hydrant-binary:
    kind: hydrant
    codec: hydrant-pressure-v1
    metrics: { pressure_kpa: { metric: pressure_mpa, scale: 0.001 }, battery: battery_pct, tamper: tamper, leak: leak }
sites:
  - id: s
    name: S
    property: { name: P }
    devices:
      - { id: WQ-1, kind: water, building: "泵房", source: { adapter: ctw, id: "dev-wq-1" }, profile: water-analyser }
      - { id: HY-L, kind: hydrant, building: "1栋", source: { adapter: lora, id: "a840414b71846c1f" }, profile: nb-hydrant-binary }
`,
  'codecs.yaml',
  {},
);
const sources = new SourceIndex(ESTATE, new Registry(ESTATE));
const ctwingDef = ESTATE.adapters.find((a) => a.id === 'ctw')! as Parameters<typeof translateCtwing>[0];
const loraDef = ESTATE.adapters.find((a) => a.id === 'lora')! as Parameters<typeof translateChirpstack>[0];
const b64 = (...bytes: number[]) => Buffer.from(bytes).toString('base64');

describe('frames through the adapters', () => {
  it('CTWing APPdata: decoded, then mapped by the profile', () => {
    const raw = JSON.stringify({ messageType: 'dataReport', deviceId: 'dev-wq-1', timestamp: 1764057600000, payload: { APPdata: b64(0x01, 0x00, 0x1e, 0x00, 0x41, 0x02, 0xd5, 0x5a) } });
    const t = translateCtwing(ctwingDef, raw, sources);
    expect(t.rejects).toEqual([]);
    expect(t.messages.map((m) => [m.device.id, m.channel, m.body])).toEqual([['WQ-1', 'telemetry', { ts: 1764057600000, metrics: { turbidity_ntu: 0.3, chlorine_mgl: 0.65, ph: 7.25, battery_pct: 90 } }]]);
  });

  it.each([
    ['too short', b64(0x01, 0x00, 0x1e), /^adapter ctw: water-quality-v1: a frame of 3 bytes, expected 8$/],
    ['of another version', b64(0x07, 0x00, 0x1e, 0x00, 0x41, 0x02, 0xd5, 0x5a), /^adapter ctw: water-quality-v1: version 7, expected 1$/],
  ])('CTWing APPdata %s: bad_payload naming the adapter, the body kept, nothing taken', (_what, appdata, detail) => {
    const raw = JSON.stringify({ messageType: 'dataReport', deviceId: 'dev-wq-1', timestamp: 1764057600000, payload: { APPdata: appdata } });
    const t = translateCtwing(ctwingDef, raw, sources);
    expect(t.messages).toEqual([]);
    expect(t.rejects).toHaveLength(1);
    expect(t.rejects[0]).toMatchObject({ reason: 'bad_payload', topic: 'ctwing/ctw', payload: raw });
    expect(t.rejects[0]!.detail).toMatch(detail);
  });

  it('ChirpStack data without object: decoded by the profile\'s codec; a short frame refused naming the adapter', () => {
    const topic = 'application/app-1/device/a840414b71846c1f/event/up';
    const up = (data: string) => JSON.stringify({ time: '2026-11-25T08:00:00.123Z', deviceInfo: { devEui: 'a840414b71846c1f' }, fCnt: 7, fPort: 2, data });
    const good = translateChirpstack(loraDef, topic, up(b64(0x01, 0x00, 0x50, 0x0a, 0x02)), sources);
    expect(good.rejects).toEqual([]);
    expect(good.messages.map((m) => m.body)).toEqual([{ ts: Date.parse('2026-11-25T08:00:00.123Z'), seq: 7, metrics: { pressure_mpa: 0.08, battery_pct: 10, tamper: false, leak: true } }]);
    const raw = up(b64(0x01, 0x00));
    const bad = translateChirpstack(loraDef, topic, raw, sources);
    expect(bad.messages).toEqual([]);
    expect(bad.rejects).toEqual([{ reason: 'bad_payload', topic, detail: 'adapter lora: hydrant-pressure-v1: a frame of 2 bytes, expected 5', payload: raw }]);
  });
});
