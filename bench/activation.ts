/**
 * The activation worker (docs/activation.md), on the local server with the seed deployed and the
 * Tracking API stand-in as Segment:
 *
 *   - webhook event in → Segment call out: a signed order that makes a new person a high-value
 *     customer, from the POST to the identify the stand-in receives (the seed's
 *     high_value_customers activation; goal p50 ≤ 250 ms);
 *   - 10,000 changed rows delivered: one UPDATE changes every row of a 10,000-row activated
 *     materialized view, until the stand-in has all 10,000 identifies (goal ≤ 5 s);
 *   - the worker's cost on ingest: signed single-event webhook requests per second into the seed,
 *     without a worker and with the seed's activation running, in adjacent pairs of runs (goal ≤ 10% slower).
 */
import { createHmac } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { bindActivations, loadActivations, parseActivation, selectActivations, type BoundActivation } from '../scripts/activation/declarations.ts';
import { startTrackingStandIn, type TrackingStandIn } from '../scripts/activation/tracking-stand-in.ts';
import { ActivationWorker, type ActivationEvent } from '../scripts/activation/worker.ts';
import { startLocalServer, type LocalServer } from '../scripts/local/local-server.ts';
import { LOCAL_DATABASE, LOCAL_USER } from '../scripts/local/engine/engine.ts';
import { sampleTraffic } from '../functions/samples/traffic.ts';
import { deploySeed, REPO_ROOT } from './deploy-seed.ts';
import { median, percentile } from './stats.ts';

const SECRET = 'local-development-secret';
const LATENCY_EVENTS = Number(process.env.BENCH_ACTIVATION_EVENTS ?? 30);
const CHANGED_ROWS = 10_000;
const INGEST_EVENTS = Number(process.env.BENCH_ACTIVATION_INGEST_EVENTS ?? 1_500);
const INGEST_ROUNDS = Number(process.env.BENCH_ACTIVATION_INGEST_ROUNDS ?? 5);

export async function runActivationBench(): Promise<void> {
  const server = await startLocalServer({ memory: true, pgPort: 0, httpPort: 0 });
  const standIn = await startTrackingStandIn();
  try {
    const project = await deploySeed(server);
    const seedActivation = bindActivations(selectActivations(loadActivations(REPO_ROOT), ['high_value_customers'], undefined), project);
    await latency(server, standIn, seedActivation);
    await changedRows(server, standIn);
    await ingestCost(server, standIn, seedActivation);
  } finally {
    await standIn.close();
    await server.stop();
  }
}

function startWorker(server: LocalServer, standIn: TrackingStandIn, bound: BoundActivation[], onEvent?: (event: ActivationEvent) => void): { stop(): Promise<void> } {
  const worker = new ActivationWorker(bound, {
    connection: { host: server.host, port: server.pgPort, user: LOCAL_USER, database: LOCAL_DATABASE },
    segment: { trackingUrl: standIn.url, writeKey: 'bench' },
    onEvent: (event) => {
      onEvent?.(event);
      if (event.type === 'error' || event.type === 'failed') console.log(`  (activation ${event.activation}: ${event.type === 'error' ? event.message : event.failure.reason})`);
    },
  });
  const running = worker.run();
  return {
    async stop() {
      await worker.stop();
      await running;
    },
  };
}

async function post(server: LocalServer, events: readonly object[]): Promise<void> {
  const body = JSON.stringify(events);
  const response = await fetch(server.webhookUrl('segment_source', 'segment'), { method: 'POST', body, headers: { 'x-signature': createHmac('sha1', SECRET).update(body).digest('hex') } });
  if (response.status !== 200) throw new Error(`webhook answered ${response.status}: ${await response.text()}`);
}

/** Waits until `check` holds, polling. */
async function until(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

async function latency(server: LocalServer, standIn: TrackingStandIn, bound: BoundActivation[]): Promise<void> {
  const arrivals = new Map<string, number>();
  standIn.onCall = (recorded) => {
    if (recorded.call.userId && !arrivals.has(recorded.call.userId)) arrivals.set(recorded.call.userId, performance.now());
  };
  const worker = startWorker(server, standIn, bound);
  const latencies: number[] = [];
  try {
    // The worker is following once its (empty) snapshot is through: one warm-up customer.
    for (let index = -1; index < LATENCY_EVENTS; index++) {
      const userId = `bench-hv-${index}`;
      const sent = performance.now();
      await post(server, [{ type: 'track', messageId: `bench-order-${index}`, userId, event: 'Order Completed', timestamp: new Date().toISOString(), properties: { order_id: `o${index}`, revenue: 300, currency: 'USD' } }]);
      await until(() => arrivals.has(userId), `the identify of ${userId}`, 30_000);
      if (index >= 0) latencies.push(arrivals.get(userId)! - sent);
      // Apart, as single customers arrive (not a batch).
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await worker.stop();
    standIn.onCall = undefined;
  }
  console.log(
    `activation latency, webhook event in → Segment call out (an order makes a high-value customer; high_value_customers → identify at the Tracking API stand-in): ` +
      `p50 ${median(latencies).toFixed(0)} ms, p95 ${percentile(latencies, 95).toFixed(0)} ms over ${latencies.length} events (goal p50 ≤ 250 ms)`,
  );
}

async function changedRows(server: LocalServer, standIn: TrackingStandIn): Promise<void> {
  const client = new pg.Client(server.pgUrl);
  await client.connect();
  try {
    await client.query(`CREATE TABLE bench_people (user_id text, plan text, spend integer)`);
    await client.query(`INSERT INTO bench_people SELECT 'p' || n, 'free', n FROM generate_series(1, ${CHANGED_ROWS}) AS n`);
    await client.query(`CREATE MATERIALIZED VIEW bench_audience AS SELECT user_id, plan, spend FROM bench_people`);
    await client.query(`CREATE INDEX bench_audience_idx ON bench_audience (user_id)`);
    const activation = parseActivation('activations/bench_audience.yml', 'model: bench_audience\nkey: [user_id]\ndestination: segment\nsegment:\n  call: identify\n  user_id: user_id\n  traits: [plan, spend]\n');
    const bound: BoundActivation = { activation, database: LOCAL_DATABASE, schema: 'public', relation: 'bench_audience', cluster: 'quickstart' };
    const proPlans = new Set<string>();
    let initial = 0;
    let firstCall = 0;
    standIn.onCall = (recorded) => {
      if ((recorded.call.context as { materialize?: { activation?: string } }).materialize?.activation !== 'bench_audience') return;
      if (recorded.call.traits?.plan === 'pro') {
        if (proPlans.size === 0) firstCall = performance.now();
        proPlans.add(recorded.call.userId!);
      } else initial++;
    };
    // Where the time goes: the batch's delivery (intent, calls, commit) ends at its event, `ms` after it began.
    let batch: { began: number } | null = null;
    const worker = startWorker(server, standIn, [bound], (event) => {
      if (event.type === 'delivered' && !event.snapshot && event.changes >= CHANGED_ROWS) batch = { began: performance.now() - event.ms };
    });
    try {
      const snapshotStarted = performance.now();
      await until(() => initial >= CHANGED_ROWS, 'the snapshot', 120_000);
      const snapshotMs = performance.now() - snapshotStarted;
      const started = performance.now();
      await client.query(`UPDATE bench_people SET plan = 'pro'`);
      await until(() => proPlans.size >= CHANGED_ROWS, `${CHANGED_ROWS} changed rows at the stand-in`, 120_000);
      const ms = performance.now() - started;
      await until(() => batch !== null, 'the batch to be committed', 30_000).catch(() => {});
      const began = (batch as { began: number } | null)?.began;
      const stages =
        began === undefined
          ? ''
          : `: the SUBSCRIBE handed the worker the changes after ${((began - started) / 1000).toFixed(2)} s, ` +
            `intent written and first call received ${((firstCall - began) / 1000).toFixed(2)} s later, the last ${((started + ms - firstCall) / 1000).toFixed(2)} s after that`;
      console.log(
        `activation throughput: ${CHANGED_ROWS.toLocaleString('en-US')} changed rows (one UPDATE under an activated materialized view) delivered as identifies in ${(ms / 1000).toFixed(2)} s ` +
          `(${Math.round((CHANGED_ROWS / ms) * 1000).toLocaleString('en-US')} rows/s${stages}; the first snapshot of the same rows ${(snapshotMs / 1000).toFixed(2)} s; goal ≤ 5 s)`,
      );
    } finally {
      await worker.stop();
      standIn.onCall = undefined;
    }
  } finally {
    await client.end();
  }
}

async function ingestCost(server: LocalServer, standIn: TrackingStandIn, bound: BoundActivation[]): Promise<void> {
  // Realistic traffic (orders among it, so the activation has work), sent one event a request, 8 in flight.
  const rate = async (round: number): Promise<number> => {
    const events = sampleTraffic(INGEST_EVENTS, { runId: `bench-ingest-${round}`, seed: 100 + round, days: 2 });
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < events.length) await post(server, [events[next++]!]);
      }),
    );
    return (events.length / (performance.now() - started)) * 1000;
  };
  const without: number[] = [];
  const withWorker: number[] = [];
  await rate(-1); // warm-up
  let calls = 0;
  standIn.onCall = () => calls++;
  const followedRun = async (run: number): Promise<number> => {
    const worker = startWorker(server, standIn, bound);
    try {
      // Its catch-up (the snapshot) first: the figure is the steady cost of following.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const eventsPerSecond = await rate(run);
      // Let it deliver what the run changed, so the next run without it starts from the same place.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      return eventsPerSecond;
    } finally {
      await worker.stop();
    }
  };
  // Pairs of adjacent runs, which goes first alternating (the data grows with every run, and the
  // machine's load drifts): each pair's slowdown, and the median of those.
  const slowdowns: number[] = [];
  for (let round = 0; round < INGEST_ROUNDS; round++) {
    if (round % 2 === 0) {
      without.push(await rate(round * 2));
      withWorker.push(await followedRun(round * 2 + 1));
    } else {
      withWorker.push(await followedRun(round * 2));
      without.push(await rate(round * 2 + 1));
    }
    slowdowns.push(1 - withWorker.at(-1)! / without.at(-1)!);
  }
  standIn.onCall = undefined;
  const percent = (value: number) => `${(value * 100).toFixed(1)}%`;
  console.log(
    `activation cost on ingest: ${median(without).toFixed(0)} events/s without a worker, ${median(withWorker).toFixed(0)} events/s with one activation (high_value_customers) followed — ` +
      `${percent(median(slowdowns))} slower (median of ${INGEST_ROUNDS} adjacent pairs of runs, ${slowdowns.map(percent).join(', ')}; ${INGEST_EVENTS} single-event requests a run, 8 in flight; ${calls} calls sent; goal ≤ 10%)`,
  );
}

// Alone: `npx tsx --single-threaded-gc bench/activation.ts` (the flags npm run bench runs with).
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) await runActivationBench();
