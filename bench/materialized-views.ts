/**
 * Materialized views at realistic sizes, on the seed pipeline: realistic Segment traffic loaded
 * through the webhook (signed, 500-event batches), then
 * - reading each mart whole and looking one user up in user_profiles through its index, p50 over
 *   repeated reads (the views are kept: a read between writes is a table scan), beside the same
 *   reads with maintenance off (the definition computed on every read, as the local server did
 *   before — mz_local.mv_q_<id>);
 * - a read right after a new event (the views it reads caught up by key first), p50 over single
 *   new events: a mart whole, a user_profiles lookup after an identify, the day mart;
 * - ingest with the whole pipeline deployed beside ingest into a lone webhook source.
 * Goals from the issue: whole mart p50 ≤ 100 ms and lookup p50 ≤ 10 ms at 100k events, within 3×
 * at 1M (BENCH_MV_EVENTS=1000000), ingest ≥ 50% of a lone source's.
 */
import pg from 'pg';
import { startLocalServer, type LocalServer } from '../scripts/local/local-server.ts';
import { deploySeed } from './deploy-seed.ts';
import { median } from './stats.ts';
import { loadBatches, sendSigned, sliceBatches, type EventBatches } from './signed-load.ts';
import { sampleBatches } from './sample-batches.ts';

const EVENTS = Number(process.env.BENCH_MV_EVENTS ?? 100_000);
const MARTS = ['daily_active_users', 'events_per_minute', 'page_views_by_url', 'track_event_counts', 'user_profiles'];

/** Events per second. */
async function load(url: string, batches: EventBatches): Promise<number> {
  return (batches.events / (await loadBatches(url, batches))) * 1000;
}

async function timed(client: pg.Client, sql: string, params: unknown[] = [], runs = 7): Promise<number> {
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    await client.query(sql, params);
    times.push(performance.now() - started);
  }
  return median(times);
}

async function withServer<T>(work: (server: LocalServer, client: pg.Client) => Promise<T>, keepMaterializedViews = true): Promise<T> {
  const server = await startLocalServer({ memory: true, pgPort: 0, httpPort: 0, keepMaterializedViews });
  const client = new pg.Client(server.pgUrl);
  await client.connect();
  try {
    return await work(server, client);
  } finally {
    await client.end();
    await server.stop();
  }
}

export async function runMaterializedViewsBench(): Promise<void> {
  // Held as its batches' JSON, not as event objects: this process is also the server's, and a
  // million objects held here made every garbage collection on the server's thread trace them —
  // ingest of the first 50,000 events ran at ~12–22k events/s with them held, ~36k without. Built
  // on a thread of its own, so that they are not left here to collect either (sample-batches.ts).
  const traffic = await sampleBatches(EVENTS, { seed: 11, days: 7 });
  const first = sliceBatches(traffic, 0, Math.min(EVENTS, 50_000));
  const lone = await withServer(async (server) => {
    await deploySeed(server, 'segment_source');
    return load(server.webhookUrl('segment_source', 'segment'), first);
  });
  await withServer(async (server, client) => {
    await deploySeed(server);
    // The same events as the lone source got first (the rate is per event), then the rest.
    const withPipeline = await load(server.webhookUrl('segment_source', 'segment'), first);
    if (EVENTS > 50_000) await load(server.webhookUrl('segment_source', 'segment'), sliceBatches(traffic, 50_000));
    const size = EVENTS.toLocaleString('en-US');
    console.log(`materialized views: ingest with the seed pipeline deployed ${Math.round(withPipeline).toLocaleString('en-US')} events/s vs a lone source ${Math.round(lone).toLocaleString('en-US')} events/s = ${Math.round((withPipeline / lone) * 100)}% (goal ≥ 50%)`);

    await server.maintainedViews.settled();
    console.log(`materialized views: kept results refreshed in the background once loading ${size} events paused: ${Math.round(server.maintainedViews.lastRefreshDurationMs)} ms (one queue job per view)`);

    const kept: number[] = [];
    for (const mart of MARTS) kept.push(await timed(client, `SELECT * FROM analytics.${mart}`));
    const user = (await client.query<{ user_id: string }>(`SELECT user_id FROM analytics.user_profiles LIMIT 1 OFFSET 7`)).rows[0]!.user_id;
    const lookup = await timed(client, `SELECT * FROM analytics.user_profiles WHERE user_id = $1`, [user], 15);
    const notKept = (await client.query<{ name: string }>(`SELECT c.relname AS name FROM mz_local.relations r JOIN pg_class c ON c.oid = r.relid WHERE r.not_maintained IS NOT NULL`)).rows.map((row) => row.name);
    // The baseline: the same events in a server computing every materialized view on each read.
    const { recomputed, lookupRecomputed } = await withServer(async (baseline, baselineClient) => {
      await deploySeed(baseline);
      await load(baseline.webhookUrl('segment_source', 'segment'), traffic);
      const times: number[] = [];
      for (const mart of MARTS) times.push(await timed(baselineClient, `SELECT * FROM analytics.${mart}`, [], 3));
      return { recomputed: times, lookupRecomputed: await timed(baselineClient, `SELECT * FROM analytics.user_profiles WHERE user_id = $1`, [user], 3) };
    }, false);
    console.log(
      `materialized views at ${size} events: whole-mart read p50 ${MARTS.map((mart, index) => `${mart} ${kept[index]!.toFixed(1)} ms`).join(', ')} (goal ≤ 100 ms); ` +
        `computed on every read (--no-keep-materialized-views): ${MARTS.map((mart, index) => `${mart} ${recomputed[index]!.toFixed(0)} ms`).join(', ')}` +
        (notKept.length ? ` (not kept, computed on read in both: ${notKept.join(', ')})` : ''),
    );
    console.log(`materialized views at ${size} events: user_profiles lookup by user_id p50 ${lookup.toFixed(1)} ms (goal ≤ 10 ms); computed on every read ${lookupRecomputed.toFixed(0)} ms`);

    // A read right after a webhook's 200: the views it reads are caught up by key first.
    const afterTrack: number[] = [];
    const afterIdentify: number[] = [];
    const dayAfterWrite: number[] = [];
    const refreshes: number[] = [];
    const url = server.webhookUrl('segment_source', 'segment');
    for (let sample = 0; sample < 7; sample++) {
      const receivedAt = new Date().toISOString();
      await sendSigned(url, JSON.stringify([{ type: 'track', event: 'Bench Event', messageId: `bench-track-${sample}`, userId: user, receivedAt }]));
      let started = performance.now();
      await client.query(`SELECT * FROM analytics.track_event_counts`);
      afterTrack.push(performance.now() - started);
      await sendSigned(url, JSON.stringify([{ type: 'identify', messageId: `bench-identify-${sample}`, userId: user, traits: { email: `bench-${sample}@example.com` }, receivedAt }]));
      started = performance.now();
      const profile = await client.query<{ email: string }>(`SELECT * FROM analytics.user_profiles WHERE user_id = $1`, [user]);
      afterIdentify.push(performance.now() - started);
      if (profile.rows[0]?.email !== `bench-${sample}@example.com`) throw new Error(`user_profiles did not show the identify just sent: ${JSON.stringify(profile.rows)}`);
      started = performance.now();
      await client.query(`SELECT * FROM analytics.daily_active_users`);
      dayAfterWrite.push(performance.now() - started);
      await server.maintainedViews.settled();
      refreshes.push(server.maintainedViews.lastRefreshDurationMs);
    }
    console.log(
      `materialized views at ${size} events: a read right after a new event's 200 (the views it reads caught up by key first): ` +
        `track_event_counts whole p50 ${median(afterTrack).toFixed(1)} ms (goal ≤ 100 ms), user_profiles lookup after an identify p50 ${median(afterIdentify).toFixed(1)} ms (goal ≤ 10 ms), ` +
        `daily_active_users whole p50 ${median(dayAfterWrite).toFixed(1)} ms; computed on read before: ${recomputed[MARTS.indexOf('track_event_counts')]!.toFixed(0)} ms, ${lookupRecomputed.toFixed(0)} ms; ` +
        `the background pass that follows once writes pause p50 ${median(refreshes).toFixed(0)} ms`,
    );
  });
}
