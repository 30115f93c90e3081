import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { encodePubacks } from './puback.ts';

describe('encodePubacks', () => {
  it('writes what mqtt-packet writes for MQTT 5 PUBACKs, back to back', () => {
    const packets = [
      { messageId: 1, reasonCode: 0 },
      { messageId: 0x1234, reasonCode: 0 },
      { messageId: 65535 },
      { messageId: 300, reasonCode: 0x10 },
      { messageId: 7, reasonCode: 0x87 },
    ];
    const expected = Buffer.concat(packets.map((p) => mqttPacket.generate({ cmd: 'puback', messageId: p.messageId, reasonCode: p.reasonCode ?? 0 }, { protocolVersion: 5 })));
    expect(encodePubacks(packets).equals(expected)).toBe(true);
  });

  it('parses back as the same PUBACKs', () => {
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    const seen: { messageId?: number; reasonCode?: number }[] = [];
    parser.on('packet', (p: { cmd: string; messageId?: number; reasonCode?: number }) => seen.push({ messageId: p.messageId, reasonCode: p.reasonCode }));
    parser.parse(encodePubacks([{ messageId: 42 }, { messageId: 43, reasonCode: 0x80 }]));
    expect(seen).toEqual([
      { messageId: 42, reasonCode: 0 },
      { messageId: 43, reasonCode: 0x80 },
    ]);
  });

  it('is empty for no packets', () => {
    expect(encodePubacks([]).length).toBe(0);
  });
});
