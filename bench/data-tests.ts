/**
 * Data-test figures on the seed project (issue 30's goals beside each):
 *
 * - `models:test --store-failures` of the seed's data tests (unit tests excluded: they read mocks,
 *   not the data) at 100,000 realistic events, as the CLI runs it once the views are deployed:
 *   compile, read the deployed state, run — each test read from its stored-failures view (a kept
 *   view on the local server), all counted in one query. Goal ≤ 1 s. Then the same tests with
 *   every query run instead (`models:test` without stored failures, the seed's default).
 * - The time from a webhook 200 for an event that breaks a test to dev's monitor reporting it, at
 *   a dev-sized database and at the full one. Each sample breaks another test (an unknown event
 *   type, a track without a name, an event naming no one, …), so no sample waits for the last
 *   one's violation to be removed, and each after a quiet second (QUIET_MS). Goal ≤ 100 ms at
 *   100,000.
 */
import { startLocalServer, type LocalServer } from '../scripts/local/local-server.ts';
import { compileProject, type CompiledProject } from '../scripts/runner/compile.ts';
import { Deployer } from '../scripts/runner/deploy/deployer.ts';
import { openSession } from '../scripts/runner/deploy/sql-session.ts';
import { localServerConnection } from '../scripts/runner/deploy/target-connection.ts';
import { TestMonitor } from '../scripts/runner/tests/test-monitor.ts';
import { isFailure, isUnitTest, runTests, storedAndCurrent, testNodes } from '../scripts/runner/tests/test-runner.ts';
import { sampleTraffic } from '../functions/samples/traffic.ts';
import { REPO_ROOT } from './deploy-seed.ts';
import { median } from './stats.ts';
import { loadSigned, sendSigned } from './signed-load.ts';

const EVENTS = Number(process.env.BENCH_TEST_EVENTS ?? 100_000);
const DEV_EVENTS = 2_000;
const RUN_GOAL_MS = 1_000;
const REPORT_GOAL_MS = 100;
/**
 * The pause before each violation. The local server spaces SUBSCRIBE rounds while writes stream in
 * (each within 4 rounds' time of the last: the next round then waits 9 rounds' time, so ingest keeps
 * 90% of the database — subscribe/subscription-hub.ts); back-to-back samples would measure that
 * spacing, not how soon one violating event is told.
 */
const QUIET_MS = 1_000;

/** The seed compiled as `--store-failures` compiles it: every data test kept as a view of its failing rows. */
export const compileStored = () => compileProject(REPO_ROOT, { env: {}, storeFailures: true });

/** One event breaking one seed test each (the test it breaks, and a function of a fresh id). */
const VIOLATIONS: ReadonlyArray<{ test: string; event: (id: string) => Record<string, unknown> }> = [
  { test: 'known_event_types', event: (id) => ({ type: 'not_a_spec_type', messageId: id, userId: 'bench-user' }) },
  { test: 'not_null_stg_segment_tracks_event', event: (id) => ({ type: 'track', messageId: id, userId: 'bench-user' }) },
  { test: 'events_name_someone', event: (id) => ({ type: 'page', messageId: id, name: 'Home' }) },
  { test: 'not_null_stg_segment_groups_group_id', event: (id) => ({ type: 'group', messageId: id, userId: 'bench-user' }) },
  { test: 'not_null_stg_segment_aliases_previous_id', event: (id) => ({ type: 'alias', messageId: id, userId: 'bench-user' }) },
];

function load(server: LocalServer, events: readonly Record<string, unknown>[]): Promise<number> {
  return loadSigned(server.webhookUrl('segment_source', 'segment'), events);
}

const dataTests = (project: CompiledProject) => testNodes(project).filter((node) => !isUnitTest(node));

/** Webhook 200 → dev's monitor reporting the failure, once per violation (`round` keeps ids fresh). */
async function reportLatency(server: LocalServer, deployer: Deployer, round: string): Promise<{ latencies: number[]; subscribed: number; polled: number }> {
  const project = compileStored();
  const tests = dataTests(project);
  const waiting = new Map<string, () => void>();
  // As `dev --store-failures` runs it on the local server (scripts/cli/watch-output.ts): `poll` set.
  const monitor = new TestMonitor({
    poll: true,
    pollMs: 500,
    open: () => openSession(deployer.connection.config, 'quickstart'),
    onChange: (change) => {
      if (change.after > 0) waiting.get(change.test.name)?.();
    },
  });
  const latencies: number[] = [];
  try {
    const session = await deployer.session();
    const state = await deployer.deployedState();
    // The baseline: what fails before the samples (a monitor only tells changes after it).
    const known = new Map((await runTests(session, project, tests, { state, sampleSize: 0 })).map((result) => [result.name, result.failures]));
    await monitor.follow(tests, known, storedAndCurrent(project, state));
    for (const [index, violation] of VIOLATIONS.entries()) {
      if ((known.get(violation.test) ?? 0) > 0) throw new Error(`${violation.test} already fails before the bench breaks it`);
      await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
      const told = new Promise<void>((resolve) => waiting.set(violation.test, resolve));
      const event = { ...violation.event(`bench-violation-${round}-${index}`), receivedAt: new Date().toISOString() };
      const sent = performance.now();
      await sendSigned(server.webhookUrl('segment_source', 'segment'), JSON.stringify(event));
      await told;
      latencies.push(performance.now() - sent);
    }
    return { latencies, subscribed: monitor.subscribedTests.length, polled: monitor.polledTests.length };
  } finally {
    await monitor.close();
  }
}

/** Removes the samples' violations (around the server: sources are append-only) and lets the kept views catch up. */
async function removeViolations(server: LocalServer): Promise<void> {
  await server.db.query(`DELETE FROM segment.segment_source WHERE body->>'messageId' LIKE 'bench-violation-%'`);
  server.maintainedViews.noteWrite();
  await server.maintainedViews.settled();
}

/** models:test of the data tests, as the CLI runs it: compile, the deployed state, run (median of `runs`). */
export async function timeRun(deployer: Deployer, stored: boolean, runs: number): Promise<{ ms: number; count: number; failing: number; storedCount: number }> {
  const times: number[] = [];
  let outcome = { count: 0, failing: 0, storedCount: 0 };
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    const project = compileStored();
    const tests = dataTests(project);
    // Without the deployed state every test runs its query (what not storing failures costs).
    const state = stored ? await deployer.deployedState() : undefined;
    const results = await runTests(await deployer.session(), project, tests, state ? { state } : {});
    times.push(performance.now() - started);
    outcome = { count: results.length, failing: results.filter(isFailure).length, storedCount: results.filter((result) => result.source === 'stored').length };
  }
  return { ms: median(times), ...outcome };
}

const size = (events: number) => events.toLocaleString('en-US');
const each = (latencies: readonly number[]) => latencies.map((ms, index) => `${VIOLATIONS[index]!.test} ${ms.toFixed(0)}`).join(', ');
const verdict = (ms: number, goal: number) => (ms <= goal ? 'meets' : 'misses');

export async function runDataTestsBench(): Promise<void> {
  const server = await startLocalServer({ memory: true, pgPort: 0, httpPort: 0 });
  try {
    const project = compileStored();
    const storedTests = dataTests(project).filter((node) => node.test!.storeFailures).length;
    const connection = localServerConnection(server.host, server.pgPort, 'bench server');
    const deployer = await Deployer.open(project, { connection });
    try {
      await deployer.deploy({ project });
      const traffic = sampleTraffic(EVENTS, { seed: 7, days: 7 });
      await load(server, traffic.slice(0, DEV_EVENTS));
      await server.maintainedViews.settled();
      const dev = await reportLatency(server, deployer, 'dev');
      console.log(
        `data tests: violating webhook event sent → failure reported by dev's monitor (--store-failures): p50 ${median(dev.latencies).toFixed(0)} ms at ${size(DEV_EVENTS)} events (${dev.latencies.length} violations, each of another test after ${QUIET_MS / 1000} s without events, in ms: ${each(dev.latencies)}; ${dev.subscribed} stored tests followed by SUBSCRIBE, ${dev.polled} polled)`,
      );
      await removeViolations(server);

      const loadMs = await load(server, traffic.slice(DEV_EVENTS));
      await server.maintainedViews.settled();
      const kept = await timeRun(deployer, true, 3);
      console.log(
        `data tests: models:test --store-failures of the seed's ${kept.count} data tests at ${size(EVENTS)} events: ${kept.ms.toFixed(0)} ms (median of 3, compile + run, the views deployed; ${kept.storedCount} read from stored failures in one count query; ${kept.failing} failing) — target ≤ ${RUN_GOAL_MS} ms: ${verdict(kept.ms, RUN_GOAL_MS)}; loaded at ${Math.round((EVENTS - DEV_EVENTS) / (loadMs / 1000)).toLocaleString('en-US')} events/s`,
      );
      const queried = await timeRun(deployer, false, 2);
      console.log(`data tests: models:test of the same ${queried.count} tests without stored failures (each test's query run): ${queried.ms.toFixed(0)} ms (median of 2, compile + run)`);

      const full = await reportLatency(server, deployer, 'full');
      const p50 = median(full.latencies);
      console.log(
        `data tests: violating webhook event sent → failure reported by dev's monitor (--store-failures): p50 ${p50.toFixed(0)} ms at ${size(EVENTS)} events (${full.latencies.length} violations, each after ${QUIET_MS / 1000} s without events, in ms: ${each(full.latencies)}; ${full.subscribed} of the seed's ${storedTests === 0 ? 'tests (none stored)' : `${storedTests} stored tests followed by SUBSCRIBE`}, ${full.polled} polled) — target ≤ ${REPORT_GOAL_MS} ms: ${verdict(p50, REPORT_GOAL_MS)}`,
      );
    } finally {
      await deployer.close();
    }
  } finally {
    await server.stop();
  }
}
