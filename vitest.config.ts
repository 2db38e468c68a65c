import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    // The first local server on a clean machine builds its bootstrapped template (~10 s, more when
    // several test files start at once): setup hooks need room for that.
    hookTimeout: 60_000,
  },
});
