/**
 * What a device keeps while it cannot reach the broker: its serialised readings, oldest
 * first, up to a limit (then the oldest go, as on a real device with a ring buffer). On
 * reconnect they are sent again as JSON arrays (docs/interfaces.md#payloads), in order, each array
 * under the 16 KiB payload limit.
 */

/** The payload limit (docs/interfaces.md#payloads) is 16 KiB; leave room for the brackets and commas. */
export const MAX_REPLAY_BYTES = 15 * 1024;

export class ReplayBuffer {
  private items: string[] = [];
  private head = 0;
  dropped = 0;

  constructor(readonly limit: number) {
    if (!(limit >= 1)) throw new RangeError('buffer limit must be at least 1');
  }

  get size(): number {
    return this.items.length - this.head;
  }

  push(json: string): void {
    this.items.push(json);
    if (this.size > this.limit) {
      this.head++;
      this.dropped++;
    }
    // Compact now and then, so a long outage does not keep a growing array of holes.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  /** Takes everything out as JSON array payloads, each at most `maxBytes` (one item may exceed it alone). */
  drain(maxBytes = MAX_REPLAY_BYTES): { payload: string; count: number }[] {
    const out: { payload: string; count: number }[] = [];
    let chunk: string[] = [];
    let bytes = 2;
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i]!;
      const n = Buffer.byteLength(item) + 1;
      if (chunk.length > 0 && bytes + n > maxBytes) {
        out.push({ payload: `[${chunk.join(',')}]`, count: chunk.length });
        chunk = [];
        bytes = 2;
      }
      chunk.push(item);
      bytes += n;
    }
    if (chunk.length > 0) out.push({ payload: `[${chunk.join(',')}]`, count: chunk.length });
    this.items = [];
    this.head = 0;
    return out;
  }
}
