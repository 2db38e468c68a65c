/**
 * What models:watch and dev print for each cycle: what changed, each model deployed, errors,
 * timing, and the data tests touching what changed. Between saves, a test that starts or stops
 * failing because of new events is reported as it happens (see TestMonitor).
 */
import pc from 'picocolors';
import type { ProjectCompiler } from '../runner/compile.ts';
import type { Deployer } from '../runner/deploy/deployer.ts';
import { openSession } from '../runner/deploy/sql-session.ts';
import { ProjectWatcher, type WatchCycle } from '../runner/watch/project-watcher.ts';
import { TestMonitor, type FailureChange } from '../runner/tests/test-monitor.ts';
import { storedAndCurrent, testNodes, type TestResult } from '../runner/tests/test-runner.ts';
import type { ActionResult } from '../runner/deploy/deploy-execute.ts';
import { formatMs, type ProjectOptions } from './common.ts';
import { formatOutcome, formatResult, summarize } from './deploy-output.ts';
import { formatTestResult, formatTestSummary, summarizeTests } from './test-output.ts';

export function formatCycleStart(changed: readonly string[]): string | undefined {
  if (changed.length === 0) return undefined;
  const shown = changed.length > 3 ? `${changed.slice(0, 3).join(', ')} and ${changed.length - 3} more` : changed.join(', ');
  return pc.cyan(`changed: ${shown}`);
}

export function formatCycle(cycle: WatchCycle): string[] {
  if (cycle.errors) {
    return [
      ...cycle.errors.map((error) => pc.red(`error: ${error.format()}`)),
      pc.yellow(`not deployed (${formatMs(cycle.totalMs)}); the deployed models are as they were — fix the error and save again`),
    ];
  }
  if (cycle.error) return [pc.red(`error: ${cycle.error.message}`), pc.yellow('still watching; the next save retries')];
  const report = cycle.report!;
  const summary = summarize(report);
  const lines =
    summary.created + summary.replaced + summary.dropped + summary.failed === 0 && cycle.changed.length
      ? [pc.dim(`no model changed (compiled in ${formatMs(cycle.compileMs)})`)]
      : formatOutcome(report).map((line) => line.replace(/ in ([\d.]+ ms)/, ` in ${formatMs(cycle.totalMs)} (compile ${formatMs(cycle.compileMs)})`));
  return [...lines, ...formatCycleTests(cycle)];
}

/** Passing tests as a count; the others one by one, with sample rows. */
function formatCycleTests(cycle: WatchCycle): string[] {
  const tests = cycle.tests ?? [];
  if (tests.length === 0) return [];
  const lines = tests.filter((result) => result.status !== 'pass').flatMap((result) => formatTestResult(result));
  const unit = cycle.unitTestsMs === undefined ? '' : pc.dim(` (unit tests, run beside the deploy: known ${formatMs(cycle.unitTestsMs)} after the save)`);
  return [...lines, `  ${formatTestSummary(summarizeTests(tests, cycle.testsMs ?? 0))}${unit}`];
}

export function formatFailureChange(change: FailureChange): string {
  const { test, after } = change;
  const time = new Date().toISOString().slice(11, 23);
  if (after === 0) return `${pc.dim(time)} ${pc.green('PASS ')} ${test.name} passes again (new events)`;
  const severity = test.test?.severity === 'warn' ? pc.yellow('WARN ') : pc.red('FAIL ');
  return `${pc.dim(time)} ${severity} ${test.name}${test.test?.model ? pc.dim(` on ${test.test.model}`) : ''}: ${after} failing row${after === 1 ? '' : 's'} (new events) — npm run models:test -- --select ${test.name}`;
}

/** How often dev polls the tests on the local server (less often when counting takes long). */
const LOCAL_POLL_MS = 500;

export interface WatchOutputOptions extends ProjectOptions {
  /** false: deploy only, no data tests (`--no-tests`). */
  readonly tests?: boolean;
  /** The target is the local server (the test monitor then polls). */
  readonly localTarget?: boolean;
  /** Told of every cycle, action and test change too (the console's project board). */
  readonly observer?: WatchObserver;
}

export interface WatchObserver {
  onCycleStart(changed: readonly string[]): void;
  onResult(result: ActionResult): void;
  onCycle(cycle: WatchCycle): void;
  onTestFailures(name: string, failures: number, severity: 'warn' | 'error' | undefined): void;
  /** A cycle's unit tests, as soon as their outcome is known (they run beside the deploy). */
  onUnitTests?(results: readonly TestResult[]): void;
}

/** Starts a watcher that prints every cycle; resolves after the first deploy, once watching. */
export async function startWatching(root: string, deployer: Deployer, compiler: ProjectCompiler, options: WatchOutputOptions): Promise<{ close(): Promise<void> }> {
  const withTests = options.tests !== false;
  // The monitor's session runs in the target's cluster, known once a cycle compiled the project.
  let cluster = '';
  // On the local server, `poll` (see TestMonitor): stored tests are followed by one SUBSCRIBE (reads
  // of kept views); the others are polled, as recomputing their queries after every webhook append
  // would slow ingest to that pace.
  const monitor = withTests
    ? new TestMonitor({
        ...(options.localTarget ? { poll: true, pollMs: LOCAL_POLL_MS } : {}),
        open: () => openSession(deployer.connection.config, cluster),
        onChange: (change) => {
          console.log(formatFailureChange(change));
          options.observer?.onTestFailures(change.test.name, change.after, change.test.test?.severity);
        },
        onError: (error) => console.error(pc.dim(`test monitor stopped: ${error.message} (the next save restarts it)`)),
      })
    : undefined;
  const failures = new Map<string, number>();
  const follow = async (cycle: WatchCycle) => {
    if (!monitor || !cycle.project) return;
    cluster = cycle.project.target.cluster;
    for (const result of cycle.tests ?? []) failures.set(result.name, result.failures);
    const tests = testNodes(cycle.project, cycle.selected);
    const current = storedAndCurrent(cycle.project, await deployer.deployedState());
    await monitor.follow(tests, failures, current);
  };
  let following: Promise<void> = Promise.resolve();
  const watcher = new ProjectWatcher(root, deployer, {
    ...options,
    compiler,
    runTests: withTests,
    onUnitTests: (results) => options.observer?.onUnitTests?.(results),
    onCycleStart: (changed) => {
      options.observer?.onCycleStart(changed);
      const line = formatCycleStart(changed);
      if (line) console.log(line);
    },
    onResult: (result) => {
      options.observer?.onResult(result);
      console.log(formatResult(result));
    },
    onCycle: (cycle) => {
      options.observer?.onCycle(cycle);
      for (const line of formatCycle(cycle)) console.log(line);
      following = following.then(() => follow(cycle)).catch((error: Error) => console.error(pc.dim(`test monitor: ${error.message}`)));
    },
  });
  await watcher.start();
  console.log(pc.dim(`watching models/, macros/, tests/ and project.yml${monitor ? '; failing tests are reported as events arrive' : ''} — Ctrl-C to stop`));
  return {
    close: async () => {
      await watcher.close();
      await following;
      await monitor?.close();
    },
  };
}
