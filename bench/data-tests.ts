/**
 * Data-test figures on the seed project: `models:test` of every seed test with 100,000 realistic
 * events loaded (wall time: compile, connect, run), and the time from a webhook 200 for an event
 * that breaks a test to the failure being reported by the monitor dev runs (a poll, on the local server) — at a
 * dev-sized database and at the full one.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalServer, type LocalServer } from '../scripts/local/local-server.ts';
import { compileProject } from '../scripts/runner/compile.ts';
import { Deployer } from '../scripts/runner/deploy/deployer.ts';
import { openSession } from '../scripts/runner/deploy/sql-session.ts';
import { localServerConnection } from '../scripts/runner/deploy/target-connection.ts';
import { TestMonitor } from '../scripts/runner/tests/test-monitor.ts';
import { isFailure, runTests, storedAndCurrent, testNodes } from '../scripts/runner/tests/test-runner.ts';
import { sampleTraffic } from '../functions/samples/traffic.ts';
import { median } from './stats.ts';
import { loadSigned, sendSigned } from './signed-load.ts';

const EVENTS = Number(process.env.BENCH_TEST_EVENTS ?? 100_000);
const DEV_EVENTS = 2_000;
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function load(server: LocalServer, events: readonly Record<string, unknown>[]): Promise<number> {
  return loadSigned(server.webhookUrl('segment_source', 'segment'), events);
}

/** Webhook 200 → the monitor reporting the failure, `samples` times (each a new unknown event type). */
async function reportLatency(server: LocalServer, deployer: Deployer, samples: number): Promise<number[]> {
  const project = compileProject(REPO_ROOT, { env: {} });
  const tests = testNodes(project);
  let reported: (() => void) | undefined;
  // As dev runs it on the local server: polling (see TestMonitor).
  const monitor = new TestMonitor({
    poll: true,
    pollMs: 500,
    open: () => openSession(deployer.connection.config, 'quickstart'),
    onChange: (change) => {
      if (change.test.name === 'known_event_types') reported?.();
    },
  });
  const latencies: number[] = [];
  try {
    for (let sample = 0; sample < samples; sample++) {
      // Each sample starts from a passing test: the last sample's violation is removed first.
      await server.db.query(`DELETE FROM segment.segment_source WHERE body->>'type' = 'not_a_spec_type'`);
      // That delete went around the server (sources are append-only in Materialize): tell it, and
      // let the whole refresh a rewritten source needs finish before timing the next event.
      server.maintainedViews.noteWrite();
      await server.maintainedViews.settled();
      await monitor.follow(tests, new Map([['known_event_types', 0]]), storedAndCurrent(project, await deployer.deployedState()));
      const told = new Promise<void>((resolve) => (reported = resolve));
      const event = { type: 'not_a_spec_type', messageId: `bench-violation-${sample}`, userId: 'bench-user', receivedAt: new Date().toISOString() };
      // From the request leaving: the local server brings subscriptions up to date before it answers.
      const sent = performance.now();
      await sendSigned(server.webhookUrl('segment_source', 'segment'), JSON.stringify(event));
      await told;
      latencies.push(performance.now() - sent);
    }
    await server.db.query(`DELETE FROM segment.segment_source WHERE body->>'type' = 'not_a_spec_type'`);
  } finally {
    await monitor.close();
  }
  return latencies;
}

export async function runDataTestsBench(): Promise<void> {
  const server = await startLocalServer({ memory: true, pgPort: 0, httpPort: 0 });
  try {
    const project = compileProject(REPO_ROOT, { env: {} });
    const connection = localServerConnection(server.host, server.pgPort, 'bench server');
    const deployer = await Deployer.open(project, { connection });
    try {
      await deployer.deploy({ project });
      const traffic = sampleTraffic(EVENTS, { seed: 7, days: 7 });
      await load(server, traffic.slice(0, DEV_EVENTS));
      const devLatency = await reportLatency(server, deployer, 5);
      console.log(`data tests: violating webhook event sent → failure reported by dev's monitor: p50 ${median(devLatency).toFixed(0)} ms at ${DEV_EVENTS.toLocaleString('en-US')} events (polling every seed test's count as dev does locally)`);

      const loadMs = await load(server, traffic.slice(DEV_EVENTS));
      const runs: number[] = [];
      let failing = 0;
      let count = 0;
      for (let run = 0; run < 2; run++) {
        const started = performance.now();
        const compiled = compileProject(REPO_ROOT, { env: {} });
        const results = await runTests(await deployer.session(), compiled, testNodes(compiled), { state: await deployer.deployedState() });
        runs.push(performance.now() - started);
        failing = results.filter(isFailure).length;
        count = results.length;
      }
      console.log(
        `data tests: models:test of the seed's ${count} tests at ${EVENTS.toLocaleString('en-US')} events: ${median(runs).toFixed(0)} ms (median of 2, compile + run; ${failing} failing) — loaded at ${Math.round((EVENTS - DEV_EVENTS) / (loadMs / 1000)).toLocaleString('en-US')} events/s`,
      );
      const fullLatency = await reportLatency(server, deployer, 1);
      console.log(`data tests: violating webhook event sent → failure reported by dev's monitor: p50 ${median(fullLatency).toFixed(0)} ms at ${EVENTS.toLocaleString('en-US')} events (the views the tests read caught up by key before each poll reads them)`);
    } finally {
      await deployer.close();
    }
  } finally {
    await server.stop();
  }
}
