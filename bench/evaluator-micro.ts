/** Micro-benchmark of the alert rules alone: `npx tsx bench/evaluator-micro.ts` */
import { Registry } from '../config/index.ts';
import { DeviceEvaluator, effectiveRules, type Signal } from '../alerts/index.ts';
import { hydrantEstate, hydrantId } from '../test/harness/estates.ts';

const registry = new Registry(hydrantEstate(1000, 'bench'));
const evs = Array.from({ length: 1000 }, (_, i) => new DeviceEvaluator(effectiveRules(registry.device(hydrantId(i))!, [])));
const N = Number(process.argv[2] ?? 1_000_000);
const out: Signal[] = [];
const base = Date.now();
const t0 = process.cpuUsage();
for (let i = 0; i < N; i++) {
  const d = i % 1000;
  out.length = 0;
  evs[d]!.onReading({ site: 'bench', kind: 'hydrant', device: hydrantId(d), building: '1栋', ts: base + i, metrics: { pressure_mpa: 0.3 + (i % 100) / 1000, flow_lps: 0, temp_c: 15.5, battery_pct: 80 } }, out);
}
const u = process.cpuUsage(t0);
console.log(`rules: ${((u.user + u.system) / N).toFixed(3)} µs per reading (${N} readings, 1,000 hydrants)`);
