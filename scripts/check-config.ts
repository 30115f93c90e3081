/**
 * `npm run check-config -- FILE`: checks an estate file as the service would at start (every
 * problem at once, with its path in the file; exit 2) and prints the routing table it gives:
 * for each site, kind and rule, who receives a warning and a critical, who after escalation,
 * what can hold it back (docs/configuration.md, "Checking an estate file"). FILE is read
 * relative to where npm was run from.
 */
import { resolve } from 'node:path';
import { ConfigError, checkWarnings, loadEstate } from '../config/index.ts';
import { formatRoutingTable, routingTable } from '../alerts/index.ts';

export function checkConfig(argv: readonly string[], cwd: string, out: (s: string) => void, err: (s: string) => void): number {
  const file = argv[0];
  if (!file || argv.length > 1) {
    err('usage: npm run check-config -- <estate file>');
    return 2;
  }
  const path = resolve(cwd, file);
  let estate;
  try {
    estate = loadEstate(path);
  } catch (e) {
    if (e instanceof ConfigError) {
      err(e.message);
      return 2;
    }
    throw e;
  }
  const devices = estate.sites.reduce((n, s) => n + s.devices.length, 0);
  out(`${path}: valid — ${estate.sites.length} sites, ${devices} devices, ${estate.departments.length} departments, ${estate.routes.length} routes, ${estate.inhibit.length} inhibitions of its own`);
  for (const w of checkWarnings(estate)) out(`warning: ${w}`);
  out('');
  out(formatRoutingTable(routingTable(estate), estate));
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/check-config.ts')) {
  process.exitCode = checkConfig(process.argv.slice(2), process.env.INIT_CWD ?? process.cwd(), (s) => process.stdout.write(`${s}\n`), (s) => process.stderr.write(`${s}\n`));
}
