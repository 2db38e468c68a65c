import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { WASM_BASELINE_ONLY } from './test/helpers/wasm-baseline.ts';

/**
 * Seconds each of the slowest files took on a 2-core machine (a clean clone's `CI=true bash
 * .ci/run`, 2026-12-07, test servers on pooled databases), rounded. Without vitest's results cache
 * (a clean clone, as in CI) files run largest first, which left a minute-long file like
 * deploy-kill to start last, with the other worker idle; starting the longest first keeps the two
 * workers busy to the end. A file missing here only loses that: it runs after these, as vitest
 * would order it.
 */
const KNOWN_SECONDS: Record<string, number> = {
  'test/local/maintained-views.test.ts': 26,
  'test/adversarial/deploy-kill.test.ts': 23,
  'test/cli.test.ts': 18,
  'test/deploy/deploy.test.ts': 18,
  'test/blue-green/blue-green-deploy.test.ts': 17,
  'test/local/kept-views-fuzz.test.ts': 14,
  'test/function/function-connect.test.ts': 14,
  'test/function/function-deploy.test.ts': 12,
  'test/console/activations-view.test.ts': 12,
  'test/local/durability.test.ts': 12,
  'test/console/console.test.ts': 11,
  'test/adversarial/deploy-convergence.test.ts': 11,
  'test/local/kept-views-temporal.test.ts': 11,
  'test/local/kept-views-regressions.test.ts': 10,
  'test/adversarial/server-lifecycle.test.ts': 10,
  'test/deploy/dry-run-running-server.test.ts': 10,
  'test/data-tests/models-test.test.ts': 10,
  'test/deploy/watch.test.ts': 9,
  'test/adversarial/browser-attacks.test.ts': 9,
  'test/local/maintained-views-upgrade.test.ts': 8,
  'test/local/worker-database.test.ts': 8,
  'test/function/end-to-end.test.ts': 8,
  'test/docs/bench-markdown.test.ts': 7,
  'test/adversarial/blue-green-connection-lost.test.ts': 7,
};

/** Longest first: the cached duration of the last run when there is one, else the figure above. */
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const ordered = await super.sort(files);
    const root = this.ctx.config.root;
    const seconds = (spec: TestSpecification): number => {
      const name = relative(root, spec.moduleId);
      const cached = this.ctx.cache.getFileTestResults(`${spec.project.name}:${name}`);
      return cached ? cached.duration / 1000 : (KNOWN_SECONDS[name] ?? 0);
    };
    // Stable: files with nothing known keep the order vitest gave them.
    return ordered.map((spec, index) => ({ spec, index, seconds: seconds(spec) })).sort((a, b) => b.seconds - a.seconds || a.index - b.index).map(({ spec }) => spec);
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    // The first local server on a clean machine builds its bootstrapped template (~10 s, more when
    // several test files start at once): setup hooks need room for that.
    hookTimeout: 60_000,
    // Two files at a time on this 2-core machine: most suites wait on a local server or a
    // browser rather than compute, and one at a time took ~280 s of the 5-minute budget.
    maxWorkers: 2,
    // WebAssembly compiled by V8's baseline compiler only (test workers and, through
    // test/helpers/run-script.ts, the scripts they start). By default V8 also recompiles PGlite's
    // hot functions with its optimising compiler on background threads: worth it in a server that
    // lives for hours, wasted in a test server that lives for seconds. Measured here: a server
    // start 2.3-3.3 s -> 1.6-2.2 s of CPU; three server-heavy files 32-45 s -> 26-28 s of CPU; the
    // heaviest kept-view file (a 30-step differential run) 74 s -> 71 s.
    execArgv: [WASM_BASELINE_ONLY],
    // Every local server the tests start, in a test worker or in a script it runs (npm run local, a
    // deploy to an embedded target), with 16MB of shared buffers: PGlite writes over all of them
    // when it starts (~0.4 s of CPU more at the default 128MB) and a test server holds little data.
    env: { LOCAL_SERVER_SHARED_BUFFERS: '16MB' },
    // Files share their worker's modules instead of each loading vitest, the helpers and the
    // scripts afresh (~0.7 s of CPU per file, ~100 files). Nothing in the tests mocks modules;
    // what a file starts it stops, and the per-file cleanup is registered for every file here.
    isolate: false,
    setupFiles: ['test/helpers/per-file-cleanup.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    sequence: { sequencer: LongestFirst },
  },
});
