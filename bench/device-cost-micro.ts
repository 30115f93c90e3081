/**
 * Micro-benchmark of two per-device costs of docs/performance.md, "City scale": the registry's
 * heap per device (100,000 hydrants), and the line encoder with ingest's tags made per message.
 * `node --expose-gc --import tsx bench/device-cost-micro.ts`
 */
import { Registry } from '../config/index.ts';
import { toLine } from '../storage/index.ts';
import { hydrantEstate } from '../test/harness/estates.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc --import tsx bench/device-cost-micro.ts');

const DEVICES = 100_000;
const estate = hydrantEstate(DEVICES, 'bench');
gc();
gc();
const h0 = process.memoryUsage().heapUsed;
const registry = new Registry(estate);
gc();
gc();
console.log(`registry: ${((process.memoryUsage().heapUsed - h0) / DEVICES).toFixed(0)} bytes a device (${registry.count.toLocaleString('en')} hydrants)`);

const devices = registry.all.slice(0, 1000);
const CALLS = 2_000_000;
let bytes = 0;
for (let round = 0; round < 3; round++) {
  const t0 = performance.now();
  for (let i = 0; i < CALLS; i++) {
    const d = devices[i % devices.length]!;
    bytes += toLine({ measurement: 'hydrant', tags: { building: d.building, device: d.id, site: d.site }, fields: { pressure_mpa: 0.3, flow_lps: 0 }, ts: 1_700_000_000_000 + i }).length;
  }
  console.log(`toLine: ${(((performance.now() - t0) * 1000) / CALLS).toFixed(3)} µs a reading, its tags made per message (${CALLS.toLocaleString('en')} calls)`);
}
if (bytes === 0) throw new Error('nothing encoded');
