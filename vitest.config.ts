import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration suites start real OPA, simulator and gateway processes on
    // port 0; two cores cannot run many of them at once without timeouts.
    maxWorkers: 2,
    globalSetup: ['test/global-setup.ts'],
  },
});
