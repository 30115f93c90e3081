/**
 * `npm run grafana`: writes the Grafana provisioning (data source, dashboard provider,
 * dashboards) into dashboard/grafana/provisioning/, and removes dashboard files that are no
 * longer generated. Commit what it writes; test/grafana.test.ts fails when they differ.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { DASHBOARD_DIR, renderProvisioning } from './render.ts';

export const PROVISIONING_DIR = join(import.meta.dirname, 'provisioning');

export function generate(dir = PROVISIONING_DIR): { written: string[]; unchanged: string[]; removed: string[] } {
  const files = renderProvisioning();
  const result = { written: [] as string[], unchanged: [] as string[], removed: [] as string[] };
  for (const [path, text] of files) {
    const file = join(dir, path);
    let old: string | undefined;
    try {
      old = readFileSync(file, 'utf8');
    } catch {
      old = undefined;
    }
    if (old === text) {
      result.unchanged.push(path);
      continue;
    }
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    result.written.push(path);
  }
  let existing: string[] = [];
  try {
    existing = readdirSync(join(dir, DASHBOARD_DIR));
  } catch {
    existing = [];
  }
  for (const name of existing) {
    const path = `${DASHBOARD_DIR}/${name}`;
    if (name.endsWith('.json') && !files.has(path)) {
      rmSync(join(dir, path));
      result.removed.push(path);
    }
  }
  return result;
}

if (process.argv[1] && import.meta.filename === resolve(process.argv[1])) {
  const r = generate();
  const where = relative(process.cwd(), PROVISIONING_DIR) || '.';
  for (const p of r.written) process.stdout.write(`wrote   ${where}/${p}\n`);
  for (const p of r.removed) process.stdout.write(`removed ${where}/${p}\n`);
  process.stdout.write(`grafana: ${r.written.length} written, ${r.unchanged.length} unchanged, ${r.removed.length} removed\n`);
}
