import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    // End-to-end tests start a server and a node process each; two cores, so keep parallelism modest.
    maxWorkers: 2,
  },
});
