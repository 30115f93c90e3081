/**
 * The part boundaries of DESIGN.md: which folder may import which. Parts talk through the
 * root `bus.ts` and each other's `index.ts`, never by reaching into another part's files.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './harness/service.ts';

const PARTS = ['config', 'storage', 'ingest', 'alerts', 'dashboard', 'reports', 'simulators'] as const;
type Part = (typeof PARTS)[number];
/** root files every part may use: the typed event bus, the metrics registry and the fault tests' crash points */
const SHARED = new Set(['bus.ts', 'metrics.ts', 'crash-points.ts']);

const ALLOWED: Record<Part, readonly string[]> = {
  config: [],
  storage: ['config'],
  ingest: ['config', 'storage'],
  alerts: ['config', 'storage'],
  dashboard: ['config', 'storage', 'alerts'],
  reports: ['config', 'storage', 'alerts'],
  simulators: ['config'],
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (f === 'node_modules' || f === 'grafana' || f === 'ui') return [];
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

describe('part boundaries', () => {
  for (const part of PARTS) {
    it(`${part} imports only what DESIGN.md allows, through index.ts`, () => {
      let dir: string;
      try {
        dir = join(ROOT, part);
        statSync(dir);
      } catch {
        return;
      }
      const problems: string[] = [];
      for (const file of files(dir)) {
        const text = readFileSync(file, 'utf8');
        for (const m of text.matchAll(/^(?:import|export)[^'"]*from\s+'(\.[^']+)'/gm)) {
          const target = relative(ROOT, resolve(dirname(file), m[1]!));
          const top = target.split('/')[0]!;
          if (top === part) continue;
          if (SHARED.has(target)) {
            if (part === 'simulators') problems.push(`${relative(ROOT, file)} imports ${target}`);
            continue;
          }
          if (!(ALLOWED[part] as readonly string[]).includes(top)) problems.push(`${relative(ROOT, file)} imports ${target}`);
          else if (target !== `${top}/index.ts`) problems.push(`${relative(ROOT, file)} reaches into ${target} instead of ${top}/index.ts`);
        }
      }
      expect(problems).toEqual([]);
    });
  }
});
