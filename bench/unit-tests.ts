/**
 * Unit-test figures on the seed project (EXECUTE UNIT TEST): 100 unit tests of the seed models —
 * the seed's own, repeated under other names in a tests/ file of a copy of the project — compiled
 * and run on the local server as models:test runs them (a fresh runner: its connections and the
 * real columns of every mocked model are part of the time); and the time from saving a model in
 * watch mode to its unit tests' outcome (they run beside the deploy), and to the cycle's end.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalServer } from '../scripts/local/local-server.ts';
import { compileProject } from '../scripts/runner/compile.ts';
import { Deployer } from '../scripts/runner/deploy/deployer.ts';
import { localServerConnection } from '../scripts/runner/deploy/target-connection.ts';
import { isUnitTest, testNodes } from '../scripts/runner/tests/test-runner.ts';
import type { TestResult } from '../scripts/runner/tests/test-runner.ts';
import { UnitTestRunner } from '../scripts/runner/tests/unit-test-run.ts';
import { ProjectWatcher, type WatchCycle } from '../scripts/runner/watch/project-watcher.ts';
import { median, percentile } from './stats.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** What the bench measures: 100 unit tests, 15 saves. The bench's own test runs a smaller one. */
export interface UnitTestsBenchSize {
  tests: number;
  saves: number;
}

function copyOfSeed(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'segmat-bench-unit-'));
  for (const entry of ['project.yml', 'models', 'macros', 'tests']) cpSync(path.join(REPO_ROOT, entry), path.join(root, entry), { recursive: true });
  return root;
}

export async function runUnitTestsBench(size: UnitTestsBenchSize = { tests: 100, saves: 15 }): Promise<void> {
  const server = await startLocalServer({ memory: true, pgPort: 0, httpPort: 0 });
  const root = copyOfSeed();
  try {
    const connection = localServerConnection(server.host, server.pgPort, 'bench server');
    // size.tests unit tests: the seed's, each repeated under another name until there are that many.
    const seed = testNodes(compileProject(root, { env: {} })).filter(isUnitTest);
    const statements: string[] = [];
    for (let index = seed.length; index < size.tests; index++) {
      const test = seed[index % seed.length]!;
      statements.push(`${test.test!.query.replace(/^(EXECUTE\s+UNIT\s+TEST\s+)\S+/i, `$1${test.name}_copy_${index}`)};`);
    }
    writeFileSync(path.join(root, 'tests/bench_unit_tests.sql'), `${statements.join('\n\n')}\n`);

    const runs: number[] = [];
    let outcome = '';
    for (let run = 0; run < 3; run++) {
      const started = performance.now();
      const project = compileProject(root, { env: {} });
      const tests = testNodes(project).filter(isUnitTest);
      const runner = new UnitTestRunner(connection.config);
      try {
        const results = await runner.run(project, tests);
        runs.push(performance.now() - started);
        outcome = `${results.filter((result) => result.status === 'pass').length} of ${results.length} passed`;
      } finally {
        await runner.close();
      }
    }
    console.log(`unit tests: ${size.tests} unit tests of the seed models (the seed's ${seed.length}, repeated) compiled and run on the local server: ${median(runs).toFixed(0)} ms (median of 3, fresh runner each; ${outcome}) — goal ≤ 2 s`);

    // Watch, on the seed as it is: save user_profiles (its SQL changes each time), time until the
    // outcome of its unit tests (those of user_profiles and of the views that mock it).
    rmSync(path.join(root, 'tests/bench_unit_tests.sql'));
    const deployer = await Deployer.open(compileProject(root, { env: {} }), { connection });
    const cycles: Array<(cycle: WatchCycle) => void> = [];
    let told: ((results: readonly TestResult[]) => void) | undefined;
    const watcher = new ProjectWatcher(root, deployer, { env: {}, runTests: true, onCycle: (cycle) => cycles.shift()?.(cycle), onUnitTests: (results) => told?.(results) });
    try {
      await watcher.start();
      await watcher.idle();
      const file = path.join(root, 'models/marts/user_profiles.sql');
      const original = readFileSync(file, 'utf8');
      const toOutcome: number[] = [];
      const toCycle: number[] = [];
      let ran = 0;
      for (let save = 0; save < size.saves; save++) {
        const outcome = new Promise<readonly TestResult[]>((resolve) => (told = resolve));
        const cycle = new Promise<WatchCycle>((resolve) => cycles.push(resolve));
        const saved = performance.now();
        writeFileSync(file, original.replace('  e.user_id,\n', `  e.user_id, -- save ${save}\n`));
        const results = await outcome;
        toOutcome.push(performance.now() - saved);
        await cycle;
        toCycle.push(performance.now() - saved);
        ran = results.length;
        await watcher.idle();
      }
      console.log(
        `unit tests: save a model in watch → its ${ran} unit tests' outcome: p50 ${median(toOutcome).toFixed(0)} ms / p95 ${percentile(toOutcome, 95).toFixed(0)} ms (run beside the deploy; the file watcher's latency included) — goal p50 ≤ 300 ms; → the cycle printed (deploy, data tests, unit tests): p50 ${median(toCycle).toFixed(0)} ms`,
      );
    } finally {
      await watcher.close();
      await deployer.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
    await server.stop();
  }
}

// Alone: npx tsx bench/unit-tests.ts
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await runUnitTestsBench();
