/**
 * The console's unit tests (EXECUTE UNIT TEST, issue 33): each one's last outcome as the page
 * shows it — pass; fail with the rows the view did not produce (missing) and those it produced
 * unexpectedly; invalid (mz-deploy's validation failure: a missing mock, a wrong type…) with the
 * reason and file:line; error when it could not run. The outcomes ride on the test nodes of the
 * project board (ProjectBoard.unitTestsRan), so open pages get them with the `nodes` events.
 *
 * Where they come from: under `dev`, the watcher's results as soon as they are known (the
 * observer's onUnitTests: the first deploy runs them all, each save those it touches); under
 * `local`, one run of the project's unit tests when the console starts (runUnitTestsOnce).
 */
import type { CompiledProject } from '../runner/compile.ts';
import { formatLocation } from '../runner/errors.ts';
import type { SessionConfig } from '../runner/deploy/sql-session.ts';
import { isUnitTest, runTests, testNodes, type TestResult } from '../runner/tests/test-runner.ts';
import { openUnitTestServer, UnitTestRunner } from '../runner/tests/unit-test-run.ts';

export type UnitTestOutcome = 'pass' | 'fail' | 'invalid' | 'error';

export interface UnitTestView {
  readonly name: string;
  /** The view under test (null: the test names none the project has). */
  readonly model: string | null;
  readonly outcome: UnitTestOutcome;
  /** Where the test is written (file:line). */
  readonly location: string;
  readonly ms: number;
  /** When the outcome was known (epoch ms). */
  readonly ranAt: number;
  /** Expected rows the view did not produce, at most ROWS_SHOWN of missingCount. */
  readonly missing: readonly Record<string, unknown>[];
  readonly missingCount: number;
  /** Rows the view produced that were not expected, at most ROWS_SHOWN of unexpectedCount. */
  readonly unexpected: readonly Record<string, unknown>[];
  readonly unexpectedCount: number;
  /** invalid / error: why, and where (file:line). */
  readonly error?: { readonly message: string; readonly location: string | null; readonly hint: string | null };
}

/** Rows of each kind sent to the page (a test with thousands of mismatches is not a table to read). */
export const ROWS_SHOWN = 50;

export function unitTestView(result: TestResult, ranAt: number): UnitTestView {
  const missing = result.missing ?? [];
  const unexpected = result.unexpected ?? [];
  const outcome: UnitTestOutcome = result.outcome === 'validation_failed' ? 'invalid' : result.status === 'pass' ? 'pass' : result.status === 'error' ? 'error' : 'fail';
  return {
    name: result.name,
    model: result.model,
    outcome,
    location: formatLocation(result.location),
    ms: Math.round(result.ms),
    ranAt,
    missing: missing.slice(0, ROWS_SHOWN),
    missingCount: missing.length,
    unexpected: unexpected.slice(0, ROWS_SHOWN),
    unexpectedCount: unexpected.length,
    ...(result.error
      ? { error: { message: result.error.message, location: result.error.location ? formatLocation(result.error.location) : null, hint: result.error.hint ?? null } }
      : {}),
  };
}

/** The unit tests among a cycle's results, as the page shows them. */
export function unitTestViews(results: readonly TestResult[], now: number = Date.now()): UnitTestView[] {
  return results.filter((result) => result.kind === 'unit').map((result) => unitTestView(result, now));
}

/**
 * `local`: runs the project's unit tests once on the local server (they read mocks only, never
 * the deployed objects) and hands their outcomes to `report`. Resolves when done; never throws
 * (`onError` hears why it could not run).
 */
export async function runUnitTestsOnce(
  project: CompiledProject,
  config: SessionConfig,
  report: (views: UnitTestView[]) => void,
  onError: (error: Error) => void = () => {},
): Promise<void> {
  const tests = testNodes(project).filter(isUnitTest);
  if (tests.length === 0) return;
  let runner: UnitTestRunner | undefined;
  try {
    const server = await openUnitTestServer(project, config);
    runner = new UnitTestRunner(server.config);
    // Each outcome as it is known: a slow test does not hold the others back.
    await runTests(undefined, project, tests, { unit: runner, onResult: (result) => report(unitTestViews([result])) });
    await server.close();
  } catch (error) {
    onError(error instanceof Error ? error : new Error(String(error)));
  } finally {
    await runner?.close();
  }
}
