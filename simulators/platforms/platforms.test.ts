/**
 * The platform senders without the service: what they put on the wire (OneNET's signature and
 * safe mode as its receiver SDK github.com/cm-heclouds/data-push checks and opens them; a
 * profile's inverse; a codec's frame as ingest decodes it) and how they retry (OneNET until a
 * 200, CTWing 3 more times, then given up), against a real HTTP receiver on 127.0.0.1.
 */
import { createDecipheriv, createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEstate } from '../../config/index.ts';
import { decodeFrame } from '../../ingest/adapters/codecs.ts';
import { Receiver } from '../../alerts/delivery/testing/receiver.ts';
import { realClock } from '../clock.ts';
import type { SimDeviceSpec } from '../model.ts';
import { encodeFrame } from './codecs.ts';
import { HttpPusher } from './http.ts';
import { PlatformDevice, Platforms, deviceSources, onenetBody } from './index.ts';
import { vendorEventCode, vendorFields } from './profile.ts';

/** ReceiverDemo.java's example token and EncodingAESKey. */
const TOKEN = 'abcdefghijkmlnopqrstuvwxyz';
const AES_KEY = 'whBx2ZwAU5LOHVimPj1MPx56QRe3OsGGWRe4dr17crV';

describe("OneNET's push body", () => {
  it('is signed Base64(MD5(token + nonce + msg)) over the msg text as sent (Util.java checkSignature)', () => {
    const body = onenetBody({ token: TOKEN }, [{ at: 1, type: 1, ds_id: 'pressure', value: 320, dev_id: 592310945 }]);
    const o = JSON.parse(body) as { msg: unknown; nonce: string; msg_signature: string };
    expect(o.nonce).toMatch(/^[A-Za-z0-9]{8}$/);
    const text = body.slice('{"msg":'.length, body.indexOf(',"nonce"'));
    expect(JSON.parse(text)).toEqual(o.msg);
    expect(o.msg_signature).toBe(createHash('md5').update(TOKEN + o.nonce + text).digest('base64'));
  });

  it('in safe mode is enc_msg that the SDK decrypts: key Base64(aesKey + "="), IV its first 16 bytes, 16 + 4 bytes before the message', () => {
    const msg = { at: 1, login_type: 7, type: 2, dev_id: 592310945, status: 1 };
    const o = JSON.parse(onenetBody({ token: TOKEN, aesKey: AES_KEY }, msg)) as { enc_msg: string; nonce: string; msg_signature: string };
    expect(o.msg_signature).toBe(createHash('md5').update(TOKEN + o.nonce + o.enc_msg).digest('base64'));
    const key = Buffer.from(`${AES_KEY}=`, 'base64');
    const d = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
    const plain = Buffer.concat([d.update(Buffer.from(o.enc_msg, 'base64')), d.final()]);
    const len = plain.readUInt32BE(16);
    expect(JSON.parse(plain.subarray(20, 20 + len).toString('utf8'))).toEqual(msg);
  });
});

describe("a profile's inverse", () => {
  const estate = parseEstate(
    `
adapters:
  - { id: gw, type: mqtt-json, topic: "lift/+id/report" }
  - { id: cm, type: onenet, token: t }
profiles:
  lift:
    kind: elevator
    metrics: { car.floor: floor, car.speed: { metric: speed_mps, scale: 0.01 }, car.door: door_open, temp: { metric: motor_temp_c, scale: 0.1, offset: -40 } }
    eventField: fault.code
    events: { "02": trapped }
sites:
  - id: s
    name: S
    property: { name: P }
    devices:
      - { id: EL-1, kind: elevator, building: "1栋", source: { adapter: gw, id: "LX-1" }, profile: lift }
      - { id: HY-1, kind: hydrant, building: "1栋", source: { adapter: cm, id: "1" } }
      - { id: HY-2, kind: hydrant, building: "1栋" }
`,
    'inverse.yaml',
    {},
  );
  const lift = estate.profiles.lift!;

  it('(metric − offset) / scale under the vendor field, dotted paths nested, unmapped metrics left out', () => {
    expect(vendorFields({ floor: 5, speed_mps: 1.75, door_open: false, motor_temp_c: 45.5, load_pct: 30 }, 'elevator', lift)).toEqual({ car: { floor: 5, speed: 175, door: false }, temp: 855 });
    expect(vendorEventCode(lift, 'trapped')).toBe('02');
    expect(vendorEventCode(lift, 'overspeed')).toBeUndefined();
  });

  it("without a profile, the catalog's names", () => {
    expect(vendorFields({ pressure_mpa: 0.3, battery_pct: 80, floor: 3 }, 'hydrant', undefined)).toEqual({ pressure_mpa: 0.3, battery_pct: 80 });
  });

  it('finds which devices are behind which adapter', () => {
    const s = deviceSources(estate);
    expect([...s].map(([d, v]) => [d, v.adapter.id, v.id, v.profile === lift])).toEqual([
      ['EL-1', 'gw', 'LX-1', true],
      ['HY-1', 'cm', '1', false],
    ]);
  });
});

describe('codec frames', () => {
  it('are what ingest decodes, within the integers of the frame', () => {
    expect(decodeFrame('hydrant-pressure-v1', encodeFrame('hydrant-pressure-v1', { pressure_kpa: 312.6, battery: 87.4, tamper: false, leak: true }))).toEqual({ pressure_kpa: 313, battery: 87, tamper: false, leak: true });
    expect(decodeFrame('water-quality-v1', encodeFrame('water-quality-v1', { turbidity: 0.234, chlorine: 0.655, ph: 7.314, battery: 61 }))).toEqual({ turbidity: 0.23, chlorine: 0.66, ph: 7.31, battery: 61 });
    // Out of what the integers carry: clamped, as firmware would.
    expect(decodeFrame('hydrant-pressure-v1', encodeFrame('hydrant-pressure-v1', { pressure_kpa: -5, battery: 300 }))).toEqual({ pressure_kpa: 0, battery: 255, tamper: false, leak: false });
  });
});

describe('retries', () => {
  const rx = new Receiver();
  afterEach(async () => {
    await rx.close();
    rx.received.length = 0;
  });

  it('OneNET: the same bytes again, until a 200', async () => {
    rx.respond = (_r, i) => ({ status: i < 3 ? 503 : 200 });
    await rx.listen(0);
    const errors: string[] = [];
    const p = new HttpPusher({ base: `http://127.0.0.1:${rx.port}`, retries: Infinity, limit: 10, retryMs: 20, label: 'OneNET pushes', onError: (m) => errors.push(m) });
    p.push('/ingest/onenet/cm', '{"msg":{"type":1},"nonce":"abcdefgh","msg_signature":"x"}', 1);
    p.push('/ingest/onenet/cm', '{"msg":{"type":1,"n":2},"nonce":"bcdefghi","msg_signature":"y"}', 1);
    await waitUntil(() => rx.received.length === 5);
    await p.close(1000);
    expect(rx.received.map((r) => [r.status, r.raw.toString()])).toEqual([
      [503, '{"msg":{"type":1},"nonce":"abcdefgh","msg_signature":"x"}'],
      [503, '{"msg":{"type":1},"nonce":"abcdefgh","msg_signature":"x"}'],
      [503, '{"msg":{"type":1},"nonce":"abcdefgh","msg_signature":"x"}'],
      [200, '{"msg":{"type":1},"nonce":"abcdefgh","msg_signature":"x"}'],
      [200, '{"msg":{"type":1,"n":2},"nonce":"bcdefghi","msg_signature":"y"}'],
    ]);
    expect(p.stats).toEqual({ sent: 2, replayed: 1, messages: 2, buffered: 0, dropped: 0 });
    expect(errors).toEqual(['OneNET pushes: HTTP 503 (retrying)', 'OneNET pushes: HTTP 503 (retrying)', 'OneNET pushes: HTTP 503 (retrying)']);
  });

  it('CTWing: 3 more tries, then given up; the next push goes on', async () => {
    rx.respond = (r) => ({ status: r.raw.toString() === 'second' ? 200 : 500 });
    await rx.listen(0);
    const errors: string[] = [];
    const p = new HttpPusher({ base: `http://127.0.0.1:${rx.port}`, retries: 3, limit: 10, retryMs: 10, label: 'CTWing pushes', onError: (m) => errors.push(m) });
    p.push('/ingest/ctwing/c/s', 'first', 1);
    p.push('/ingest/ctwing/c/s', 'second', 1);
    await waitUntil(() => rx.received.length === 5);
    await p.close(1000);
    expect(rx.received.map((r) => r.raw.toString())).toEqual(['first', 'first', 'first', 'first', 'second']);
    expect(p.stats).toMatchObject({ sent: 1, dropped: 1, buffered: 0 });
    expect(errors.at(-1)).toBe('CTWing pushes: HTTP 500 (given up)');
  });

  it('a full queue gives up its oldest readings', async () => {
    rx.respond = () => ({ status: 200, delayMs: 100 });
    await rx.listen(0);
    const p = new HttpPusher({ base: `http://127.0.0.1:${rx.port}`, retries: Infinity, limit: 3, label: 'pushes', onError: () => undefined });
    for (const b of ['a', 'b', 'c', 'd', 'e']) p.push('/x', b, 1);
    await p.close(5000);
    // 'a' was in flight; 'b' and 'c' were the oldest waiting.
    expect(rx.received.map((r) => r.raw.toString())).toEqual(['a', 'd', 'e']);
    expect(p.stats).toMatchObject({ sent: 3, dropped: 2 });
  });
});

describe('a device behind OneNET', () => {
  it('says it is online, pushes its readings as data points, says it is offline as it stops', async () => {
    const rx = new Receiver(() => ({ status: 200 }));
    await rx.listen(0);
    try {
      const estate = parseEstate(
        `
adapters: [{ id: cm, type: onenet, token: "${TOKEN}" }]
profiles: { nb: { kind: hydrant, metrics: { pressure: { metric: pressure_mpa, scale: 0.001 } } } }
sites: [{ id: s, name: S, property: { name: P }, devices: [{ id: HY-1, kind: hydrant, building: "1栋", source: { adapter: cm, id: "592310945" }, profile: nb }] }]
`,
        'one.yaml',
        {},
      );
      const spec: SimDeviceSpec = { id: 'HY-1', kind: 'hydrant', site: 's', building: '1栋', intervalSec: 60, attributes: {} };
      const platforms = new Platforms({ http: `http://127.0.0.1:${rx.port}/`, mqttUrl: 'mqtt://127.0.0.1:1', onError: () => undefined });
      const d = new PlatformDevice(spec, platforms.link(spec, deviceSources(estate).get('HY-1')!), { seed: 1, clock: realClock, rateHz: 20 });
      d.start();
      await waitUntil(() => rx.received.length >= 4);
      await d.stop();
      const msgs = rx.received.map((r) => (JSON.parse(r.raw.toString()) as { msg: Record<string, unknown> }).msg);
      expect(rx.received.every((r) => r.url === '/ingest/onenet/cm')).toBe(true);
      expect(msgs[0]).toMatchObject({ type: 2, status: 1, dev_id: 592310945 });
      expect(msgs[1]).toMatchObject({ type: 1, ds_id: 'pressure', dev_id: 592310945 });
      expect(msgs[1]!.value as number).toBeGreaterThan(200);
      expect(msgs.at(-1)).toMatchObject({ type: 2, status: 0 });
      expect(d.stats.sent).toBe(d.stats.generated);
    } finally {
      await rx.close();
    }
  });
});

async function waitUntil(fn: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
