/**
 * Micro-benchmark of the ingest pipeline alone (decode, dedup, encode, spool write), without
 * MQTT or a store: CPU per message for the service's own code. `npx tsx bench/pipeline-micro.ts`
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from '../config/index.ts';
import { Bus } from '../bus.ts';
import { INGEST_SCHEMA, IngestPipeline, RejectLog, RejectStore, SeqDedup } from '../ingest/index.ts';
import { InfluxStore, Spool, openOperationalStore, type Chunk } from '../storage/index.ts';
import { hydrantEstate, hydrantId } from '../test/harness/estates.ts';

const N = Number(process.argv[2] ?? 300_000);
const TURN = Number(process.argv[3] ?? 50);
const dir = mkdtempSync(join(tmpdir(), 'pipeline-micro-'));
const registry = new Registry(hydrantEstate(1000, 'bench'));
const spool = new Spool({ dir: join(dir, 'spool'), maxBytes: 1e10 });
spool.open();
const dedup = new SeqDedup(join(dir, 'dedup'));
dedup.open();
const ops = await openOperationalStore(join(dir, 'ops.db'), [INGEST_SCHEMA]);
let bytes = 0;
const writer = { push: (c: Chunk) => (bytes += c.body.length, spool.ack(c.seg, c.end - c.start)) };
const pipeline = new IngestPipeline({
  registry,
  store: new InfluxStore({ url: 'http://127.0.0.1:1', db: 'x' }),
  spool,
  writer: writer as never,
  dedup,
  rejects: new RejectLog(new RejectStore(ops), () => undefined),
  bus: new Bus(() => undefined),
  log: { error: console.error, warn: console.warn },
});
const topics = Array.from({ length: 1000 }, (_, d) => `estate/bench/hydrant/${hydrantId(d)}/telemetry`);
const base = Date.now() - 60_000;
const payloads: Buffer[] = [];
for (let i = 0; i < N + 20_000; i++) {
  const d = i % 1000, s = Math.floor(i / 1000);
  payloads.push(Buffer.from(`{"ts":${base + s * 33},"seq":${s},"metrics":{"pressure_mpa":${(0.3 + (s % 100) / 1000).toFixed(3)},"flow_lps":0,"temp_c":${(15 + (d % 10) / 10).toFixed(1)},"battery_pct":${90 - (d % 20)}}}`));
}
let next = 0;
async function run(n: number): Promise<number> {
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; ) {
    for (let k = 0; k < TURN && i < n; k++, i++, next++) pipeline.handle(topics[next % 1000]!, payloads[next]!);
    await Promise.resolve(); // end of turn: the pipeline's flush runs as a microtask
  }
  const u = process.cpuUsage(t0);
  return (u.user + u.system) / n;
}
await run(20_000); // warm up
console.log(`pipeline: ${(await run(N)).toFixed(2)} µs per message (turns of ${TURN})`);
console.log(`accepted ${pipeline.counters.accepted}, duplicates ${pipeline.counters.duplicates}, spooled ${(bytes / 1e6).toFixed(1)} MB`);
spool.close();
dedup.close();
await ops.close();
rmSync(dir, { recursive: true, force: true });
