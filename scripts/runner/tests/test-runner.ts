/**
 * Running data tests against a target: each test's failing rows are counted, and a few kept as a
 * sample. A test whose failures are stored and deployed as they are compiled now is read from
 * its materialized view (the target keeps it current: reading it is a read, not the test's
 * query) — all of them counted in one query, then samples read for the failing ones only; any
 * other test runs its query.
 */
import type { CompiledNode, CompiledProject, TestInfo } from '../compile.ts';
import type { SourceLocation } from '../errors.ts';
import { describeFailure } from '../deploy/deploy-errors.ts';
import { stateChecksums } from '../deploy/deploy-plan.ts';
import type { DeployedState } from '../deploy/deploy-state.ts';
import type { SqlSession } from '../deploy/sql-session.ts';
import type { UnitTestRunner } from './unit-test-run.ts';
import { failingRows, readCounts } from './failure-counts.ts';

export type TestStatus = 'pass' | 'warn' | 'fail' | 'error';

export interface TestResult {
  readonly name: string;
  /** The model a generic test is declared on (null for singular tests). */
  readonly model: string | null;
  readonly kind: TestInfo['kind'];
  readonly severity: TestInfo['severity'];
  readonly status: TestStatus;
  /** Failing rows (0 when the test passes or could not run). */
  readonly failures: number;
  /** Up to `sampleSize` failing rows. */
  readonly sample: readonly Record<string, unknown>[];
  /** Read from the stored-failures view, or the query run now. */
  readonly source: 'stored' | 'query';
  /** Milliseconds: stored tests are counted together, and each is given an equal share of that query (plus its sample's read). */
  readonly ms: number;
  readonly location: SourceLocation;
  /** Why the test could not run (status 'error'): the database's words, at the test's line. */
  readonly error?: { readonly message: string; readonly location: SourceLocation | undefined; readonly hint: string | undefined };
  /** Unit tests: mz-deploy's outcome (a broken definition is 'validation_failed', not a failing test). */
  readonly outcome?: 'passed' | 'failed' | 'validation_failed';
  /** Unit tests: expected rows the view did not produce ('MISSING' in mz-deploy's assertion). */
  readonly missing?: readonly Record<string, unknown>[];
  /** Unit tests: rows the view produced that were not expected ('UNEXPECTED'). */
  readonly unexpected?: readonly Record<string, unknown>[];
}

export interface RunTestsOptions {
  /** The deployed state, to know which stored-failure views are current. */
  readonly state?: DeployedState;
  readonly sampleSize?: number;
  /** Stop after the first error-severity failure (or test that cannot run). */
  readonly failFast?: boolean;
  readonly onResult?: (result: TestResult) => void;
  /** Runs the unit tests among them (on the local server); without it they report an error. */
  readonly unit?: UnitTestRunner;
}

/** Test nodes among `names`, in the project's order. */
export function testNodes(project: CompiledProject, names?: ReadonlySet<string>): CompiledNode[] {
  return project.order.map((name) => project.nodes.get(name)!).filter((node) => node.kind === 'test' && (!names || names.has(node.name)));
}

/** Whether a test node is a unit test (EXECUTE UNIT TEST) rather than a data test. */
export function isUnitTest(node: CompiledNode): boolean {
  return node.test?.kind === 'unit';
}

/**
 * Data tests on `session` (the target) — the stored ones counted together in one query first,
 * each other one after another — then unit tests in parallel through `options.unit` (the local
 * server). Results come in the order of `tests`.
 */
export async function runTests(session: SqlSession | undefined, project: CompiledProject, tests: readonly CompiledNode[], options: RunTestsOptions = {}): Promise<TestResult[]> {
  const current = options.state ? storedAndCurrent(project, options.state) : new Set<string>();
  const results: TestResult[] = [];
  const unit = tests.filter(isUnitTest);
  const data = tests.filter((node) => !isUnitTest(node));
  if (data.length && !session) throw new Error('data tests need a session on the target');
  const counted = session ? await countStored(session, data.filter((node) => current.has(node.name)), current) : undefined;
  for (const node of data) {
    const known = counted?.counts.get(node.name);
    const result =
      known === undefined
        ? await runTest(session!, project.root, node, current.has(node.name), options.sampleSize ?? 5)
        : await readStored(session!, project.root, node, known, counted!.msEach, options.sampleSize ?? 5);
    results.push(result);
    options.onResult?.(result);
    if (options.failFast && isFailure(result)) return results;
  }
  if (unit.length === 0) return results;
  if (!options.unit) {
    for (const node of unit) {
      const result: TestResult = {
        name: node.name,
        model: node.test!.model ?? null,
        kind: 'unit',
        severity: 'error',
        status: 'error',
        failures: 0,
        sample: [],
        source: 'query',
        ms: 0,
        location: node.test!.location,
        error: { message: 'unit tests run on the local server, and none was given', location: node.test!.location, hint: undefined },
      };
      results.push(result);
      options.onResult?.(result);
    }
    return results;
  }
  results.push(...(await options.unit.run(project, unit, { ...(options.failFast ? { failFast: true } : {}), ...(options.onResult ? { onResult: options.onResult } : {}) })));
  return results;
}

/** Whether a result fails the run (exit 1): an error-severity failure, or a test that could not run. */
export function isFailure(result: TestResult): boolean {
  return result.status === 'fail' || result.status === 'error';
}

/** Stored tests whose deployed view matches what is compiled now (same state checksum). */
export function storedAndCurrent(project: CompiledProject, state: DeployedState): Set<string> {
  const checksums = stateChecksums(project);
  const current = new Set<string>();
  for (const node of project.nodes.values()) {
    if (node.kind !== 'test' || !node.test?.storeFailures) continue;
    const deployed = state.get(node.name);
    if (deployed && deployed.kind === 'test' && deployed.stateChecksum === checksums.get(node.name)) current.add(node.name);
  }
  return current;
}

/**
 * Every stored test counted in one query (one round trip, however many). When that query fails —
 * a view dropped behind the deploy's back — undefined: each test is then read on its own, so the
 * error is reported on the test it belongs to.
 */
async function countStored(session: SqlSession, stored: readonly CompiledNode[], current: ReadonlySet<string>): Promise<{ counts: Map<string, number>; msEach: number } | undefined> {
  if (stored.length === 0) return undefined;
  const started = performance.now();
  try {
    const counts = await readCounts(session, stored, current);
    return { counts, msEach: (performance.now() - started) / stored.length };
  } catch {
    return undefined;
  }
}

/** A stored test already counted: its sample read when it fails. */
async function readStored(session: SqlSession, root: string, node: CompiledNode, failures: number, msShare: number, sampleSize: number): Promise<TestResult> {
  const started = performance.now();
  try {
    const sample = failures > 0 && sampleSize > 0 ? (await session.query(`SELECT * FROM ${failingRows(node, true)} AS failing LIMIT ${sampleSize}`)).rows : [];
    return { ...testBase(node, true), status: statusOf(node, failures), failures, sample, ms: msShare + performance.now() - started };
  } catch {
    // Gone between the count and the sample: read it again on its own, which reports why.
    return runTest(session, root, node, true, sampleSize);
  }
}

function testBase(node: CompiledNode, stored: boolean) {
  const test = node.test!;
  return { name: node.name, model: test.model ?? null, kind: test.kind, severity: test.severity, source: stored ? ('stored' as const) : ('query' as const), location: test.location };
}

function statusOf(node: CompiledNode, failures: number): TestStatus {
  return failures === 0 ? 'pass' : node.test!.severity === 'warn' ? 'warn' : 'fail';
}

async function runTest(session: SqlSession, root: string, node: CompiledNode, stored: boolean, sampleSize: number): Promise<TestResult> {
  const test = node.test!;
  const started = performance.now();
  const relation = failingRows(node, stored);
  const countSql = `SELECT count(*) AS failures FROM ${relation} AS failing`;
  const base = testBase(node, stored);
  try {
    const counted = await session.query<{ failures: string | number }>(countSql);
    const failures = Number(counted.rows[0]?.failures ?? 0);
    const sample = failures > 0 && sampleSize > 0 ? (await session.query(`SELECT * FROM ${relation} AS failing LIMIT ${sampleSize}`)).rows : [];
    return { ...base, status: statusOf(node, failures), failures, sample, ms: performance.now() - started };
  } catch (error) {
    // Singular tests map the error's line into their file; generic ones point at their entry.
    const lineNode = { ...node, bodyLine: { sqlLine: 2, fileLine: node.bodyLine.fileLine } };
    const failure = describeFailure(root, node.name, test.kind === 'singular' ? lineNode : undefined, stored ? undefined : countSql, error);
    return {
      ...base,
      status: 'error',
      failures: 0,
      sample: [],
      ms: performance.now() - started,
      error: { message: failure.message, location: test.kind === 'singular' ? (failure.location ?? test.location) : test.location, hint: failure.hint },
    };
  }
}
