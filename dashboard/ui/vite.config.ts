/**
 * Vite builds the web UI into dist/ui (`npm run build:ui`; the server builds it at start when
 * it is missing, see dashboard/ui-serve.ts). No CDN: every byte, fonts included, is served
 * by the service itself.
 */
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

/**
 * The UI shares the metric catalog (config/catalog.ts) and the rule names (alerts/summary.ts)
 * with the service. summary.ts takes METRICS from config/index.ts, which also holds the
 * file loader (node:fs, yaml, zod); in the browser bundle it resolves to the catalog alone.
 * Anything else taken from config/index.ts fails the build loudly ("not exported").
 */
function catalogOnly(): Plugin {
  const index = resolve(root, 'config/index.ts');
  return {
    name: 'estate-catalog-only',
    enforce: 'pre',
    resolveId(source, importer) {
      if (importer && source.startsWith('.') && resolve(dirname(importer), source) === index) return resolve(root, 'config/catalog.ts');
      return null;
    },
  };
}

export default defineConfig({
  root: here,
  base: '/',
  publicDir: false,
  plugins: [catalogOnly()],
  build: {
    outDir: resolve(root, 'dist/ui'),
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: false,
  },
  // `npx vite --config dashboard/ui/vite.config.ts` for work on the UI, against `npm start` on 8080.
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8080',
      '/socket.io': { target: 'http://127.0.0.1:8080', ws: true },
    },
  },
});
