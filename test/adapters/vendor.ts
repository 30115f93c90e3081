/**
 * What each platform sends, built here as the platform builds it (not with the service's
 * code), each builder citing the vendor source it follows. The end-to-end tests of
 * test/adapters/ post and publish these to the real service.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';

// ---------------------------------------------------------------------------------------------
// OneNET (China Mobile) data push, as its receiver SDK github.com/cm-heclouds/data-push checks
// and opens it: JAVA/src/main/java/com/onenet/datapush/receiver/Util.java and ReceiverDemo.java.

/** ReceiverDemo.java's example token and EncodingAESKey (43 characters). */
export const ONENET_TOKEN = 'abcdefghijkmlnopqrstuvwxyz';
export const ONENET_AES_KEY = 'whBx2ZwAU5LOHVimPj1MPx56QRe3OsGGWRe4dr17crV';

/**
 * Util.java `checkToken` / `checkSignature`: MD5 over the bytes of token, then the 8 bytes of
 * the nonce, then the message; Base64 of the digest.
 */
export function onenetSignature(token: string, nonce: string, msg: string): string {
  return createHash('md5').update(Buffer.concat([Buffer.from(token), Buffer.from(nonce).subarray(0, 8), Buffer.from(msg)])).digest('base64');
}

/** An 8-character nonce, as OneNET sends (`nonce`: "8B随机字符串", Util.java). */
export function onenetNonce(): string {
  return randomBytes(6).toString('base64').replace(/[+/]/g, 'x');
}

/**
 * Safe mode (加密), the inverse of Util.java `decryptMsg` and NodeJS/data_push_demo.js: key =
 * Base64-decode(EncodingAESKey + "="), AES-256-CBC, PKCS#7, IV = the key's first 16 bytes; the
 * plain text is 16 random bytes, a 4-byte big-endian length, the message, then the platform's
 * own id (data_push_demo.js: "dec 的前20字节是于推送数据本身无关的").
 */
export function onenetEncrypt(aesKey: string, msg: string): string {
  const key = Buffer.from(`${aesKey}=`, 'base64');
  const body = Buffer.from(msg, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  const c = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  return Buffer.concat([c.update(Buffer.concat([randomBytes(16), len, body, Buffer.from('onenet-appid')])), c.final()]).toString('base64');
}

export interface OnenetPushOptions {
  token?: string;
  nonce?: string;
  /** safe mode: enc_msg, encrypted with this EncodingAESKey */
  aesKey?: string;
  /** the SDK reads `msg_signature` (ReceiverDemo's body); older pushes and CONTRACT name it `signature` */
  signatureField?: 'msg_signature' | 'signature';
}

/**
 * A push body as OneNET POSTs it: `{"msg": <the message>, "nonce", "msg_signature"}`, `msg` the
 * message's JSON inline (the SDK's `jsonMsg.get("msg")`), signed over exactly that text; in safe
 * mode `{"enc_msg": "<Base64>", …}` signed over the `enc_msg` text.
 */
export function onenetPush(msg: unknown, o: OnenetPushOptions = {}): string {
  const token = o.token ?? ONENET_TOKEN;
  const nonce = o.nonce ?? onenetNonce();
  const field = o.signatureField ?? 'msg_signature';
  const text = JSON.stringify(msg);
  if (o.aesKey) {
    const enc = onenetEncrypt(o.aesKey, text);
    return `{"enc_msg":${JSON.stringify(enc)},"nonce":"${nonce}","${field}":"${onenetSignature(token, nonce, enc)}"}`;
  }
  return `{"msg":${text},"nonce":"${nonce}","${field}":"${onenetSignature(token, nonce, text)}"}`;
}

/**
 * OneNET's classic messages (数据推送, "消息类型"): type 1 a data point of data stream `ds_id`
 * (`at` epoch ms), type 2 a device's login or logout (`status` 1 online, 0 offline; `login_type`
 * 7 is LwM2M, an NB-IoT device).
 */
export const onenetPoint = (devId: number | string, dsId: string, value: unknown, at: number) => ({ at, type: 1, ds_id: dsId, value, dev_id: devId });
export const onenetLogin = (devId: number | string, online: boolean, at: number) => ({ at, login_type: 7, type: 2, dev_id: devId, status: online ? 1 : 0 });

// ---------------------------------------------------------------------------------------------
// CTWing (China Telecom AEP) subscription push (订阅推送, "消息推送格式"): one JSON object per
// message, POSTed as it happens; CTWing signs nothing (the push URL carries our secret). It
// retries a failed push at most 3 times, and stops pushing for a minute to a receiver that
// fails 10 % of its pushes in 10 s.

const CTWING_COMMON = { tenantId: '2000123456', productId: '15012345', protocol: 'lwm2m' };

/** `dataReport`: `payload` the thing model's fields, or `{"APPdata": <Base64>}` for a transparent (透传) product. */
export function ctwingDataReport(deviceId: string, imei: string, timestamp: number, payload: Record<string, unknown>) {
  return { upPacketSN: -1, upDataSN: -1, topic: 'v1/up/ad', timestamp, ...CTWING_COMMON, serviceId: '', payload, messageType: 'dataReport', deviceType: '', deviceId, assocAssetId: '', IMSI: 'undefined', IMEI: imei };
}

/** `deviceOnlineOfflineReport`: `eventType` 1 online, 0 offline. */
export function ctwingOnlineOffline(deviceId: string, imei: string, timestamp: number, online: boolean) {
  return { timestamp, ...CTWING_COMMON, messageType: 'deviceOnlineOfflineReport', eventType: online ? 1 : 0, deviceId, IMEI: imei };
}

/** `eventReport`: `serviceId`, `eventType`, `eventContent`. */
export function ctwingEventReport(deviceId: string, imei: string, timestamp: number, serviceId: string, eventContent: Record<string, unknown>) {
  return { timestamp, ...CTWING_COMMON, serviceId, eventType: 1, eventContent, messageType: 'eventReport', deviceId, IMEI: imei };
}

// ---------------------------------------------------------------------------------------------
// ChirpStack v4's MQTT integration, JSON marshaler: the protobuf messages of
// github.com/chirpstack/chirpstack api/proto/integration/integration.proto in protobuf's JSON
// mapping (lowerCamelCase fields, bytes as Base64, google.protobuf.Timestamp as RFC 3339), on
// `application/{application_id}/device/{dev_eui}/event/{up|status|join|…}`.

export function chirpstackDeviceInfo(applicationId: string, devEui: string) {
  return { tenantId: '52f14cd4-c6f1-4fbd-8f87-4025e1d49242', tenantName: 'ChirpStack', applicationId, applicationName: 'estate', deviceProfileId: 'cf2aec2f-03e1-4a60-a32c-0faeef5730d8', deviceProfileName: 'LoRa sensor', deviceName: `dev-${devEui.slice(-4)}`, devEui, tags: {} };
}

/** UplinkEvent: `time`, `deviceInfo`, `fCnt`, `fPort`, `data` (FRMPayload), `object` (only with a codec in the device profile). */
export function chirpstackUp(applicationId: string, devEui: string, o: { time: number; fCnt: number; object?: Record<string, unknown>; data?: Buffer }) {
  return {
    deduplicationId: '3ac7e3c4-4401-4b8d-9386-a5c902f9202d',
    time: new Date(o.time).toISOString(),
    deviceInfo: chirpstackDeviceInfo(applicationId, devEui),
    devAddr: '01fb17e9',
    adr: true,
    dr: 5,
    fCnt: o.fCnt,
    fPort: 2,
    confirmed: false,
    data: (o.data ?? Buffer.from([0x01])).toString('base64'),
    ...(o.object ? { object: o.object } : {}),
    rxInfo: [{ gatewayId: '0016c001ff10a235', uplinkId: 4217106255, rssi: -36, snr: 10.5, channel: 2, location: {}, context: 'EFwMtA==', metadata: {}, crcStatus: 'CRC_OK' }],
    txInfo: { frequency: 868500000, modulation: { lora: { bandwidth: 125000, spreadingFactor: 7, codeRate: 'CR_4_5' } } },
  };
}

/** StatusEvent: `margin`, `externalPowerSource`, `batteryLevelUnavailable`, `batteryLevel` (a percentage, float). */
export function chirpstackStatus(applicationId: string, devEui: string, o: { time: number; batteryLevel?: number; externalPowerSource?: boolean; batteryLevelUnavailable?: boolean }) {
  return {
    deduplicationId: 'b1c7f1a0-1f0d-4b31-9f1e-0d1c2a3b4c5d',
    time: new Date(o.time).toISOString(),
    deviceInfo: chirpstackDeviceInfo(applicationId, devEui),
    margin: 7,
    externalPowerSource: o.externalPowerSource ?? false,
    batteryLevelUnavailable: o.batteryLevelUnavailable ?? false,
    batteryLevel: o.batteryLevel ?? 0,
  };
}

export const chirpstackTopic = (applicationId: string, devEui: string, event: string) => `application/${applicationId}/device/${devEui}/event/${event}`;
