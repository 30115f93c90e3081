/**
 * OneNET's push as its receiver SDK (github.com/cm-heclouds/data-push, JAVA/…/Util.java) checks
 * and opens it: the signature over token + nonce + msg text, a `+` arriving as a space, the raw
 * text of an object `msg` (never re-serialised), safe mode's AES-256-CBC with the 16 + 4 byte
 * prefix, and the translation of classic and Studio messages.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Registry, parseEstate } from '../../config/index.ts';
import { OnenetError, decrypt, onenetSignature, openPush, rawValue, translateOnenet, verifyUrl, type OnenetDef } from './onenet.ts';
import { SourceIndex } from './sources.ts';

const TOKEN = 'abcdefghijkmlnopqrstuvwxyz';
/** The SDK's example EncodingAESKey (ReceiverDemo.java). */
const AES_KEY = 'whBx2ZwAU5LOHVimPj1MPx56QRe3OsGGWRe4dr17crV';
const def: OnenetDef = { id: 'cmcc', type: 'onenet', token: TOKEN, aesKey: AES_KEY };

/** As OneNET encrypts (the inverse of Util.decryptMsg): 16 random bytes, a 4-byte length, the message. */
function encrypt(msg: string): string {
  const key = Buffer.from(`${AES_KEY}=`, 'base64');
  const body = Buffer.from(msg, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  const c = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  return Buffer.concat([c.update(Buffer.concat([Buffer.alloc(16, 7), len, body, Buffer.from('appid')])), c.final()]).toString('base64');
}

const ESTATE = parseEstate(
  `
adapters:
  - { id: cmcc, type: onenet, token: "${TOKEN}" }
profiles:
  nb-hydrant-x:
    kind: hydrant
    metrics: { pressure: { metric: pressure_mpa, scale: 0.001 }, bat: battery_pct }
    events: { leakAlarm: leak }
sites:
  - id: s
    name: S
    property: { name: P }
    devices:
      - { id: HY-07, kind: hydrant, building: "7栋", source: { adapter: cmcc, id: "592310945" }, profile: nb-hydrant-x }
      - { id: HY-08, kind: hydrant, building: "8栋", source: { adapter: cmcc, id: "hydrant-08" }, profile: nb-hydrant-x }
`,
  'onenet.yaml',
  {},
);
const sources = new SourceIndex(ESTATE, new Registry(ESTATE));

describe('OneNET signatures', () => {
  it('is Base64(MD5(token + nonce + msg)), and the URL verification takes a + that arrived as a space', () => {
    const sig = onenetSignature(TOKEN, 'abcdefgh', 'hello');
    expect(sig).toBe(createHash('md5').update(`${TOKEN}abcdefghhello`).digest('base64'));
    const withPlus = ['aaaaaaaa', 'bbbbbbbb', 'cccccccc', 'dddddddd', 'eeeeeeee', 'ffffffff', 'gggggggg', 'hhhhhhhh'].map((n) => [n, onenetSignature(TOKEN, n, 'm')] as const).find(([, s]) => s.includes('+'));
    expect(withPlus).toBeDefined();
    expect(verifyUrl(def, 'm', withPlus![0], withPlus![1].replace(/\+/g, ' '))).toBe(true);
    expect(verifyUrl(def, 'm', withPlus![0], 'forged')).toBe(false);
  });

  it('checks a push over the raw text of an object msg, under either name of the signature field', () => {
    const msg = '{"type":1,"dev_id":592310945,"ds_id":"pressure","at":1764057600000,"value":280}';
    const sig = onenetSignature(TOKEN, 'n0nce123', msg);
    expect(openPush(def, `{"msg":${msg},"nonce":"n0nce123","msg_signature":"${sig}"}`).text).toBe(msg);
    expect(openPush(def, JSON.stringify({ msg, nonce: 'n0nce123', signature: sig })).text).toBe(msg);
    // Re-serialising (other spacing) would change the text: the raw text is what counts.
    expect(() => openPush(def, `{"msg": ${msg.replace(/,/g, ', ')}, "nonce":"n0nce123","msg_signature":"${sig}"}`)).toThrow(OnenetError);
    expect(() => openPush(def, `{"msg":${msg},"nonce":"n0nce123","msg_signature":"x${sig.slice(1)}"}`)).toThrow(/signature/);
  });

  it('finds a value\'s raw text among others, strings with braces and escapes included', () => {
    const raw = '{"a":"}{\\"","msg":[{"x":"]"},{"y":{"z":[1,2]}}] ,"nonce":"12345678"}';
    expect(rawValue(raw, 'msg')).toBe('[{"x":"]"},{"y":{"z":[1,2]}}]');
    expect(rawValue(raw, 'nonce')).toBe('"12345678"');
    expect(rawValue(raw, 'none')).toBeUndefined();
  });

  it("opens safe mode's enc_msg: the key from EncodingAESKey + '=', IV its first 16 bytes, after the 16 + 4 byte prefix", () => {
    const msg = '{"type":2,"dev_id":592310945,"status":1,"at":1764057600000}';
    expect(decrypt(AES_KEY, encrypt(msg))).toBe(msg);
    const enc = encrypt(msg);
    const push = JSON.stringify({ enc_msg: enc, nonce: 'abcdefgh', msg_signature: onenetSignature(TOKEN, 'abcdefgh', enc) });
    expect(openPush(def, push).text).toBe(msg);
    expect(() => openPush({ ...def, aesKey: 'A'.repeat(43) }, push)).toThrow(/decrypt/);
  });
});

describe('OneNET messages', () => {
  it('classic data points (type 1) become readings, scaled by the profile, grouped per device, each at its own time', () => {
    const t = translateOnenet(def, JSON.stringify([
      { type: 1, dev_id: 592310945, ds_id: 'pressure', at: 1764057600000, value: 280 },
      { type: 1, dev_id: 592310945, ds_id: 'bat', at: 1764057600000, value: 87 },
      { type: 1, dev_id: 592310945, ds_id: 'pressure', at: 1764057660000, value: 90 },
    ]), sources);
    expect(t.rejects).toEqual([]);
    expect(t.messages).toEqual([
      { device: expect.objectContaining({ id: 'HY-07' }), channel: 'telemetry', body: [{ ts: 1764057600000, metrics: { pressure_mpa: 0.28 } }, { ts: 1764057600000, metrics: { battery_pct: 87 } }, { ts: 1764057660000, metrics: { pressure_mpa: 0.09 } }] },
    ]);
  });

  it('online and offline (type 2, Studio lifeCycle), Studio properties and events', () => {
    const t = translateOnenet(def, JSON.stringify([
      { type: 2, dev_id: 592310945, status: 0, at: 1764057600000 },
      { messageType: 'lifeCycle', deviceName: 'hydrant-08', productId: 'p', data: { status: 'online', time: 1764057600100 } },
      { messageType: 'notify', notifyType: 'property', deviceName: 'hydrant-08', productId: 'p', data: { params: { pressure: { value: 150, time: 1764057601000 }, bat: { value: 55, time: 1764057601000 } } } },
      { messageType: 'notify', notifyType: 'event', deviceName: 'hydrant-08', productId: 'p', data: { params: { leakAlarm: { value: { level: 2 }, time: 1764057602000 } } } },
    ]), sources);
    expect(t.rejects).toEqual([]);
    expect(t.messages.map((m) => [m.device.id, m.channel, m.body])).toEqual([
      ['HY-07', 'status', { online: false, ts: 1764057600000 }],
      ['HY-08', 'status', { online: true, ts: 1764057600100 }],
      ['HY-08', 'event', { code: 'leak', active: true, ts: 1764057602000 }],
      ['HY-08', 'telemetry', { ts: 1764057601000, metrics: { pressure_mpa: 0.15, battery_pct: 55 } }],
    ]);
  });

  it('refuses, naming the adapter, what it cannot take, and keeps the rest', () => {
    const t = translateOnenet(def, JSON.stringify([
      { type: 1, dev_id: 1, ds_id: 'pressure', at: 1764057600000, value: 1 },
      { type: 1, dev_id: 592310945, ds_id: 'humidity', at: 1764057600000, value: 40 },
      { type: 1, dev_id: 592310945, ds_id: 'pressure', at: 1764057600000, value: 300 },
    ]), sources);
    expect(t.rejects.map((r) => [r.reason, r.detail])).toEqual([
      ['unknown_device', 'adapter cmcc: no device has source id 1 on this adapter'],
      ['bad_metric', 'adapter cmcc: field humidity of HY-07 is not mapped by its profile'],
    ]);
    expect(t.messages).toHaveLength(1);
  });
});
