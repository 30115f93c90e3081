import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'config/**/*.test.ts', 'ingest/**/*.test.ts', 'storage/**/*.test.ts', 'alerts/**/*.test.ts', 'dashboard/**/*.test.ts', 'reports/**/*.test.ts', 'simulators/**/*.test.ts'],
    // The browser tests need the web UI built (a service would build it at start, each on its own).
    globalSetup: ['test/browser/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Integration tests start their own influxd and brokers; two cores, so two files at a time.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
