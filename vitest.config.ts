import { defineConfig } from 'vitest/config';

/**
 * Tests that measure the service under load (a rate and an answer time): they run last, one
 * file at a time with nothing else on the machine, so that what they measure is the service
 * and not the other tests' brokers and influxds sharing the two cores.
 */
const LOAD = ['test/adapters/push-latency.test.ts'];

/**
 * Files to leave out of a run, on top of each project's own (globs, separated by spaces or
 * commas): .ci/run's passes set it. vitest's `--exclude` would not do: a project's `exclude`
 * replaces it.
 */
const LEFT_OUT = (process.env.ESTATE_TEST_EXCLUDE ?? '').split(/[\s,]+/).filter(Boolean);

export default defineConfig({
  test: {
    // The browser tests need the web UI built (a service would build it at start, each on its own).
    globalSetup: ['test/browser/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['test/**/*.test.ts', 'config/**/*.test.ts', 'ingest/**/*.test.ts', 'storage/**/*.test.ts', 'alerts/**/*.test.ts', 'dashboard/**/*.test.ts', 'reports/**/*.test.ts', 'simulators/**/*.test.ts'],
          exclude: [...LOAD, ...LEFT_OUT],
          // Integration tests start their own influxd and brokers; two cores, so two files at a time.
          maxWorkers: 2,
          fileParallelism: true,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'load', include: LOAD, exclude: LEFT_OUT, maxWorkers: 1, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
