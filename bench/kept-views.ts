/**
 * Kept-view figures of issue 30 on the seed pipeline (realistic traffic through the webhook, signed
 * 500-event batches; 15% of it in the last half hour, so inside events_per_minute's 60-minute window):
 * - events_per_minute (a temporal filter, mz_now(), kept with a time-ordered expiry) read whole,
 *   p50, at half the events and at all of them (goal ≤ 10 ms, flat as history grows), beside the
 *   definition computed on every read (what the server did before);
 * - a read of it right after one of its rows left the window (the groups due recomputed by key);
 * - daily_active_users (count(DISTINCT), folded through per-group value counts) read right after
 *   a 500-event batch with retries and delete requests lands (goal ≤ 100 ms): the deleted users'
 *   rows are taken out of the folded groups (retractions), not refreshed whole;
 * - high_value_customers (GROUP BY … HAVING, kept by its changed groups) read right after the same
 *   batches.
 * Sizes: BENCH_KEPT_EVENTS, comma-separated (default 100000; 1000000 takes ~10 minutes to load
 * here, so it is not in the default run: BENCH_KEPT_EVENTS=100000,1000000 npm run bench).
 * Ingest with the pipeline vs a lone source is in the Materialized views section.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startLocalServer } from '../scripts/local/local-server.ts';
import { deploySeed } from './deploy-seed.ts';
import { median } from './stats.ts';
import { loadBatches, sendSigned, sliceBatches } from './signed-load.ts';
import { sampleBatches } from './sample-batches.ts';

const SIZES = (process.env.BENCH_KEPT_EVENTS ?? '100000').split(',').map(Number);
const WINDOW_MINUTES = 60;

async function times(client: pg.Client, sql: string, runs: number): Promise<number> {
  const taken: number[] = [];
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    await client.query(sql);
    taken.push(performance.now() - started);
  }
  return median(taken);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function benchSize(events: number): Promise<void> {
  const size = events.toLocaleString('en-US');
  const traffic = await sampleBatches(events, { seed: 23, days: 7 });
  const half = Math.floor(events / 2 / 500) * 500;
  const server = await startLocalServer({ memory: true, pgPort: 0, httpPort: 0 });
  const client = new pg.Client(server.pgUrl);
  await client.connect();
  try {
    await deploySeed(server);
    const url = server.webhookUrl('segment_source', 'segment');
    const kept = await client.query<{ kind: string | null; temporal: boolean }>(
      `SELECT m.refresh_kind AS kind, m.temporal FROM mz_local.maintained_views m WHERE m.view_oid = 'analytics.events_per_minute'::regclass`,
    );
    const epm: string[] = [];
    for (const [from, to] of [[0, half], [half, events]] as const) {
      await loadBatches(url, sliceBatches(traffic, from, to));
      await server.maintainedViews.settled();
      await client.query(`SELECT * FROM analytics.events_per_minute`);
      epm.push(`${(await times(client, `SELECT * FROM analytics.events_per_minute`, 21)).toFixed(1)} ms at ${to.toLocaleString('en-US')}`);
    }
    const definition = (await client.query<{ id: string }>(`SELECT m.id::text AS id FROM mz_local.maintained_views m WHERE m.view_oid = 'analytics.events_per_minute'::regclass`)).rows[0];
    const computed = definition ? await times(client, `SELECT * FROM mz_local.mv_q_${definition.id}`, 3) : NaN;
    const rows = (await client.query(`SELECT count(*)::int AS n FROM analytics.events_per_minute`)).rows[0].n;
    console.log(
      `kept views at ${size} events: events_per_minute (temporal filter, ${rows} rows in its ${WINDOW_MINUTES}-minute window; kept: ${kept.rows[0]?.temporal ? 'yes, with a time-ordered expiry' : `no (${kept.rows[0]?.kind ?? 'computed on every read'})`}) ` +
        `whole read p50 ${epm.join(', ')} (goal ≤ 10 ms, flat); its definition computed on every read ${computed.toFixed(0)} ms`,
    );

    // Rows that leave the window during the run: received just under an hour ago.
    const leaving = 5;
    const base = Date.now();
    const leaveAt = Array.from({ length: leaving }, (_, index) => base + 1500 + index * 700);
    await sendSigned(
      url,
      JSON.stringify(
        leaveAt.map((at, index) => ({
          type: 'track',
          event: 'Bench Leaving',
          messageId: `bench-leaving-${index}`,
          userId: `bench-leaver-${index}`,
          receivedAt: new Date(at - WINDOW_MINUTES * 60_000).toISOString(),
          timestamp: new Date(at - WINDOW_MINUTES * 60_000).toISOString(),
        })),
      ),
    );
    await client.query(`SELECT 1 FROM analytics.events_per_minute LIMIT 0`);
    const afterLeaving: number[] = [];
    for (const at of leaveAt) {
      await sleep(Math.max(0, at - Date.now()) + 20);
      const started = performance.now();
      await client.query(`SELECT * FROM analytics.events_per_minute`);
      afterLeaving.push(performance.now() - started);
    }
    console.log(`kept views at ${size} events: events_per_minute read right after one of its rows left the window (its group recomputed by key first) p50 ${median(afterLeaving).toFixed(1)} ms`);

    // daily_active_users and high_value_customers right after a batch lands: five 500-event batches,
    // each with its retried deliveries and two Segment delete requests for people of the loaded
    // traffic (their rows, across every day, leave both marts: retractions, not whole refreshes).
    const extra = await sampleBatches(2_500, { seed: 29, days: 2, runId: 'bench-extra' });
    const afterBatch = { dau: [] as number[], hvc: [] as number[] };
    const userCount = Math.min(800, Math.max(20, Math.round(events / 6)));
    await server.maintainedViews.settled();
    for (const [index, body] of extra.bodies.entries()) {
      const batch = JSON.parse(body) as Array<Record<string, unknown>>;
      for (const person of [3 + index * 7, 40 + index * 13].map((number) => number % userCount)) {
        const at = new Date().toISOString();
        batch.push({ type: 'delete', messageId: `bench-delete-${index}-${person}`, userId: `user_${person}`, timestamp: at, receivedAt: at, context: { library: { name: 'segment-gdpr', version: '1.0.0' } } });
      }
      await sendSigned(url, JSON.stringify(batch));
      let started = performance.now();
      await client.query(`SELECT * FROM analytics.daily_active_users`);
      afterBatch.dau.push(performance.now() - started);
      started = performance.now();
      await client.query(`SELECT * FROM analytics.high_value_customers`);
      afterBatch.hvc.push(performance.now() - started);
      await server.maintainedViews.settled();
    }
    const ids = Object.fromEntries(
      (await client.query<{ name: string; id: string }>(`SELECT m.view_oid::regclass::text AS name, m.id::text AS id FROM mz_local.maintained_views m WHERE m.view_oid::regclass::text IN ('analytics.daily_active_users', 'analytics.high_value_customers')`)).rows.map((row) => [row.name, row.id]),
    );
    const computedWhole = async (name: string) => (ids[name] ? (await times(client, `SELECT * FROM mz_local.mv_q_${ids[name]}`, 3)).toFixed(0) : 'n/a');
    const format = (taken: number[]) => `p50 ${median(taken).toFixed(1)} ms (max ${Math.max(...taken).toFixed(1)})`;
    console.log(
      `kept views at ${size} events: daily_active_users (count(DISTINCT), deleted users left out) read right after a 500-event batch with retries and 2 delete requests ${format(afterBatch.dau)} (goal ≤ 100 ms); computed whole ${await computedWhole('analytics.daily_active_users')} ms`,
    );
    console.log(
      `kept views at ${size} events: high_value_customers (GROUP BY … HAVING, deleted users left out) read right after the same batches ${format(afterBatch.hvc)}; computed whole ${await computedWhole('analytics.high_value_customers')} ms`,
    );
  } finally {
    await client.end();
    await server.stop();
  }
}

export async function runKeptViewsBench(): Promise<void> {
  for (const size of SIZES) await benchSize(size);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await runKeptViewsBench();
