/**
 * For tests: writes what a test receiver captured to docs/examples/, the examples that
 * docs/alerts-delivery.md shows. Ids and times in them are fixed, so a rerun writes the same
 * bytes; a file is rewritten only when its content changed.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { IncomingHttpHeaders } from 'node:http';

export const EXAMPLES_DIR = resolve(import.meta.dirname, '../../../docs/examples');

export function writeExample(name: string, content: string): void {
  const file = join(EXAMPLES_DIR, name);
  let old: string | undefined;
  try {
    old = readFileSync(file, 'utf8');
  } catch {
    old = undefined;
  }
  if (old === content) return;
  mkdirSync(EXAMPLES_DIR, { recursive: true });
  writeFileSync(file, content);
}

/** The headers worth showing (not Host: its port changes every run), in a fixed order. */
export function pickHeaders(headers: IncomingHttpHeaders, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = headers[n.toLowerCase()];
    if (v !== undefined) out[n] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/** A URL with the test receiver's port replaced by the contract's example port. */
export function stablePort(url: string, port: number): string {
  return url.replaceAll(`127.0.0.1:${port}`, '127.0.0.1:9100');
}
