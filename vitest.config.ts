import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // No test waits in real time for long: a test still running after this is stuck, not slow.
    testTimeout: 30_000,
    // These machines have two cores, and many end-to-end tests start a node process beside the test's own.
    maxWorkers: 2,
    // The files share no global state (each test starts its own servers and clocks), so a worker reuses the
    // modules it loaded instead of importing src/ and sim/ again for every file.
    isolate: false,
    // Line numbers in each test's location, for Test Engine when this repository's pipeline uploads its results.
    includeTaskLocation: true,
  },
});
