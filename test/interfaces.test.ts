/**
 * docs/interfaces.md, the project's reference of its external interfaces, kept true where a
 * machine can tell: every route of /api/openapi.json (with its operationId), every variable of
 * the environment's schema (config/env.ts), every code of the error catalogue
 * (dashboard/errors.ts) and every event a delivery can carry (config/alert.ts) is in it; the
 * headings that code comments cite exist; and nothing cites the contract's sections, a file
 * that is not in the repository, instead of the project's docs.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DeliveryEvent } from '../config/index.ts';
import { ERRORS } from '../dashboard/errors.ts';
import { openApiDocument, operationsOf } from '../dashboard/testing/document.ts';
import { ROOT } from './harness/service.ts';

const DOC = readFileSync(join(ROOT, 'docs/interfaces.md'), 'utf8');

/** The text of one `## heading` section of the page, up to the next one. */
function section(title: string): string {
  const start = DOC.indexOf(`\n## ${title}\n`);
  expect(start, `docs/interfaces.md has a section "## ${title}"`).toBeGreaterThanOrEqual(0);
  const end = DOC.indexOf('\n## ', start + 1);
  return DOC.slice(start, end === -1 ? undefined : end);
}

const quoted = (text: string, name: string) => text.includes(`\`${name}\``);

/** GitHub's anchor of a heading. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

const HEADINGS = [...DOC.matchAll(/^#{2,4} (.+)$/gm)].map((m) => m[1]!.trim());

/** Every event a delivery can carry: the compiler fails here when DeliveryEvent gains one. */
const DELIVERY_EVENTS: Record<DeliveryEvent, true> = {
  'alert.firing': true,
  'alert.acknowledged': true,
  'alert.escalated': true,
  'alert.reminder': true,
  'alert.resolved': true,
  'alert.group': true,
  'report.ready': true,
};

/** The variables of config/env.ts's schema, read from its source (the schema is not exported). */
function envVariables(): string[] {
  const source = readFileSync(join(ROOT, 'config/env.ts'), 'utf8');
  const start = source.indexOf('const envSchema = z.object({');
  const end = source.indexOf('}).superRefine', start);
  expect(start, 'config/env.ts declares envSchema as z.object({…}).superRefine').toBeGreaterThan(0);
  expect(end).toBeGreaterThan(start);
  return [...source.slice(start, end).matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]!);
}

/** Source files of the project (what git would hold, and files not yet added), outside dependencies and builds. */
function sourceFiles(dir = ROOT, ext = /\.ts$/): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (['node_modules', 'dist', 'data', '.git', '.node'].includes(name) || name.startsWith('.vitest')) return [];
    const p = join(dir, name);
    const s = statSync(p, { throwIfNoEntry: false });
    if (!s) return [];
    return s.isDirectory() ? sourceFiles(p, ext) : ext.test(name) ? [p] : [];
  });
}

describe('docs/interfaces.md', () => {
  it('names every route of /api/openapi.json, with its operationId', async () => {
    const doc = await openApiDocument();
    const routes = section('HTTP API');
    const missing: string[] = [];
    for (const { method, path, op } of operationsOf(doc)) {
      const route = `${method} ${path.replace(/\{([^}]+)\}/g, ':$1')}`;
      // As written in the tables: `GET /api/devices/:id/series?metric=…` or `POST /api/silences` {…}.
      const written = new RegExp(`\`${route.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[\`?]`);
      if (!written.test(routes)) missing.push(route);
      if (op.operationId && !quoted(routes, op.operationId)) missing.push(`${route}: operationId ${op.operationId}`);
    }
    expect(operationsOf(doc).length).toBeGreaterThan(25);
    expect(missing).toEqual([]);
  });

  it('names every variable of the environment', () => {
    const names = envVariables();
    expect(names).toEqual(expect.arrayContaining(['CONFIG', 'MQTT_URL', 'TRUST_PROXY', 'OPERATIONAL_DB', 'STORE_MAX_IN_FLIGHT']));
    const environment = section('Environment');
    expect(names.filter((n) => !quoted(environment, n))).toEqual([]);
  });

  it('names every code of the error catalogue, with its status', () => {
    const errors = DOC.slice(DOC.indexOf('\n### Errors\n'), DOC.indexOf('\n## Live updates\n'));
    expect(errors.length).toBeGreaterThan(100);
    const missing = Object.entries(ERRORS).filter(([code, e]) => !new RegExp(`\\| \`${code}\` \\| ${e.status} \\|`).test(errors));
    expect(missing.map(([code]) => code)).toEqual([]);
  });

  it('names every event a delivery can carry', () => {
    const deliveries = section('Deliveries');
    expect(Object.keys(DELIVERY_EVENTS).filter((e) => !quoted(deliveries, e))).toEqual([]);
  });

  it('has the sections that the code cites', () => {
    const anchors = new Set(HEADINGS.map(slug));
    const titles = new Set(HEADINGS);
    const broken: string[] = [];
    for (const file of [...sourceFiles(), ...sourceFiles(ROOT, /\.md$/)]) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/interfaces\.md#([\p{L}\p{N}_-]+)/gu)) if (!anchors.has(m[1]!)) broken.push(`${relative(ROOT, file)}: #${m[1]}`);
      // The quoted form: docs/interfaces.md, "Deliveries" or docs/interfaces.md ("Roles")
      for (const m of text.matchAll(/interfaces\.md,? \(?"([^"]+)"/g)) if (!titles.has(m[1]!)) broken.push(`${relative(ROOT, file)}: "${m[1]}"`);
    }
    expect(broken).toEqual([]);
  });

  it('is what the code cites: no .ts file cites CONTRACT sections, a file not in the repository', () => {
    const citing = sourceFiles().filter((f) => /CONTRACT(\.md)?( v\d+)?,? sections? \d/.test(readFileSync(f, 'utf8')));
    expect(citing.map((f) => relative(ROOT, f))).toEqual([]);
  });

  it('replaces docs/contract-notes.md: no page links to it any more', () => {
    const linking = sourceFiles(ROOT, /\.md$/).filter((f) => readFileSync(f, 'utf8').includes('contract-notes.md'));
    expect(linking.map((f) => relative(ROOT, f))).toEqual([]);
    expect(section('Departures from the contract').length).toBeGreaterThan(500);
  });
});
