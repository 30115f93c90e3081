/**
 * A socket.io-client parser for the fan-out benchmark's 200 clients, which all live in one
 * process: it hands `reading` events over as their raw JSON text instead of parsing them, and
 * the client finds the probe's item by searching that text. Every other packet (the connect,
 * the snapshot that answers `subscribe`, statuses, alerts) is decoded as usual.
 *
 * Why: 200 full parses of a 124 KB batch four times a second are about 100 MB/s of JSON, most
 * of a core, in the bench's one thread; the clients' queue would be measured instead of the
 * service. A browser parses only its own batch (about 1 ms). `BENCH_FANOUT_PARSE=full` uses
 * the default parser, to compare.
 */
import { Decoder, Encoder, PacketType } from 'socket.io-parser';

/** An EVENT packet to the main namespace, without an ack id: `2["reading",{…}]`. */
const READING = '2["reading",';

class LazyDecoder extends Decoder {
  override add(obj: unknown): void {
    if (typeof obj === 'string' && obj.startsWith(READING)) {
      this.emitReserved('decoded', { type: PacketType.EVENT, nsp: '/', data: ['reading', obj.slice(READING.length, -1)] });
      return;
    }
    super.add(obj);
  }
}

export const lazyParser = { Encoder, Decoder: LazyDecoder };

/**
 * The value of `metric` in the item of `device` in a batch, raw JSON text or parsed; undefined
 * when the batch has no item for it. The text search relies on the server's key order
 * (`{"device", "ts", "values"}`), which JSON.stringify keeps.
 */
export function valueIn(batch: string | { items: { device: string; values: Record<string, unknown> }[] }, device: string, metric: string): number | undefined {
  if (typeof batch !== 'string') {
    const v = batch.items.find((i) => i.device === device)?.values[metric];
    return typeof v === 'number' ? v : undefined;
  }
  const at = batch.indexOf(`{"device":"${device}",`);
  if (at < 0) return undefined;
  const end = batch.indexOf('}}', at);
  const key = batch.indexOf(`"${metric}":`, at);
  if (key < 0 || key > end) return undefined;
  const from = key + metric.length + 3;
  let to = from;
  while (to < batch.length && batch[to] !== ',' && batch[to] !== '}') to++;
  const v = Number(batch.slice(from, to));
  return Number.isFinite(v) ? v : undefined;
}

/** Devices in a batch and its size in bytes. */
export function batchSize(batch: string | { items: unknown[] }): { items: number; bytes: number } {
  if (typeof batch !== 'string') return { items: batch.items.length, bytes: Buffer.byteLength(JSON.stringify(batch)) };
  return { items: batch.split('{"device":').length - 1, bytes: Buffer.byteLength(batch) };
}
