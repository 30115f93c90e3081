/**
 * The PUBACKs a turn held, as the bytes of one socket write (MQTT 5, section 3.4): a fixed
 * header 0x40, the remaining length, the packet identifier, and, only when the reason code is
 * not 0 (Success, all the service ever sends back), the reason code and an empty property
 * length, as mqtt.js's own writer does. Written by hand rather than
 * through mqtt.js's packet writer, which writes three buffers per PUBACK and one writev of
 * all of them per turn: 7 % of the service's CPU at 10,000 msg/s (docs/performance.md,
 * "City scale").
 */
export interface HeldPuback {
  messageId: number;
  reasonCode?: number;
}

export function encodePubacks(packets: readonly HeldPuback[]): Buffer {
  let size = 0;
  for (const p of packets) size += p.reasonCode ? 6 : 4;
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  for (const p of packets) {
    const rc = p.reasonCode ?? 0;
    out[o++] = 0x40;
    out[o++] = rc ? 4 : 2;
    out[o++] = p.messageId >>> 8;
    out[o++] = p.messageId & 0xff;
    if (rc) {
      out[o++] = rc;
      out[o++] = 0;
    }
  }
  return out;
}
