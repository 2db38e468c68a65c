import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The bootstrapped database template, built once before the workers start (clean clones).
    globalSetup: ['test/bootstrap-template.global-setup.ts'],
    testTimeout: 20_000,
    // The first local server on a clean machine builds its bootstrapped template (~10 s, more when
    // several test files start at once): setup hooks need room for that.
    hookTimeout: 60_000,
    // Two files at a time on this 2-core machine: most suites wait on a local server or a
    // browser rather than compute, and one at a time took ~280 s of the 5-minute budget.
    maxWorkers: 2,
  },
});
