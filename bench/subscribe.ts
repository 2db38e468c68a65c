/**
 * SUBSCRIBE latency: the time from a webhook's 200 to the diff arriving at every subscriber
 * (DECLARE … CURSOR FOR SUBSCRIBE and a waiting FETCH, as drivers do), with 1 and with 100
 * subscribers of one materialized view over 1,000 events already ingested.
 */
import pg from 'pg';
import { startLocalServer } from '../scripts/local/local-server.ts';
import { median, percentile } from './stats.ts';

const EVENTS = 20;

export async function runSubscribeBench(): Promise<void> {
  const server = await startLocalServer({ memory: true, pgPort: 0, httpPort: 0 });
  try {
    const admin = new pg.Client(server.pgUrl);
    await admin.connect();
    await admin.query(`CREATE SOURCE events FROM WEBHOOK BODY FORMAT JSON ARRAY`);
    await admin.query(`CREATE MATERIALIZED VIEW per_user AS SELECT body->>'userId' AS user_id, count(*) AS events FROM events GROUP BY 1`);
    const seed = JSON.stringify(Array.from({ length: 1_000 }, (_, index) => ({ userId: `user-${index % 50}`, n: index })));
    await fetch(server.webhookUrl('events'), { method: 'POST', body: seed });
    await admin.end();
    for (const subscribers of [1, 100]) {
      const latencies = await measure(server.pgUrl, server.webhookUrl('events'), subscribers);
      console.log(
        `SUBSCRIBE latency, webhook 200 → diff at the subscriber: p50 ${median(latencies).toFixed(1)} ms, p95 ${percentile(latencies, 95).toFixed(1)} ms ` +
          `with ${subscribers} subscriber${subscribers === 1 ? '' : 's'} of one view (${EVENTS} events, ${latencies.length} deliveries)`,
      );
    }
    const storm = await measureSubscribeStorm(server.pgUrl, server.webhookUrl('events'));
    console.log(
      `Appends while ${STORM} SUBSCRIBEs of distinct queries open at once: ${storm.appends} single-event appends, max ${storm.maxMs.toFixed(0)} ms, ` +
        `p50 ${storm.p50Ms.toFixed(1)} ms, ${storm.refused} refused (503), subscriptions set up in ${(storm.setupMs / 1000).toFixed(1)} s ` +
        `(goal: no append waits past its 5 s bound; each snapshot yields to a waiting append)`,
    );
  } finally {
    await server.stop();
  }
}

async function measure(pgUrl: string, webhookUrl: string, subscribers: number): Promise<number[]> {
  const clients = await Promise.all(
    Array.from({ length: subscribers }, async (_, index) => {
      const client = new pg.Client(pgUrl);
      await client.connect();
      await client.query('BEGIN');
      await client.query(`DECLARE feed${index} CURSOR FOR SUBSCRIBE per_user WITH (SNAPSHOT = false)`);
      return client;
    }),
  );
  const latencies: number[] = [];
  try {
    for (let event = 0; event < EVENTS; event++) {
      const arrivals = clients.map((client, index) =>
        client.query(`FETCH ALL feed${index}`).then((result) => {
          if (result.rows.length === 0) throw new Error('a FETCH returned no rows');
          return performance.now();
        }),
      );
      const response = await fetch(webhookUrl, { method: 'POST', body: JSON.stringify({ userId: `user-${event % 50}` }) });
      const acknowledged = performance.now();
      if (response.status !== 200) throw new Error(`webhook answered ${response.status}`);
      // A diff can reach a subscriber before the 200 reaches the sender (both follow the commit):
      // that delivery counts as 0 ms.
      for (const arrived of await Promise.all(arrivals)) latencies.push(Math.max(0, arrived - acknowledged));
    }
  } finally {
    await Promise.all(clients.map((client) => client.end()));
  }
  return latencies;
}

const STORM = 200;

/**
 * Issue 28: 200 SUBSCRIBEs opened at once used to hold the database for their snapshots while
 * every append waited (~50 s). Appends are sent one after another while the subscriptions are
 * being set up; their latency is what a sender sees.
 */
async function measureSubscribeStorm(pgUrl: string, webhookUrl: string): Promise<{ appends: number; maxMs: number; p50Ms: number; refused: number; setupMs: number }> {
  const clients = await Promise.all(
    Array.from({ length: STORM }, async () => {
      const client = new pg.Client(pgUrl);
      await client.connect();
      return client;
    }),
  );
  const latencies: number[] = [];
  let refused = 0;
  try {
    const started = performance.now();
    let settingUp = true;
    const setup = Promise.all(
      clients.map(async (client, index) => {
        await client.query('BEGIN');
        // Distinct queries: nothing is shared between them, each has a snapshot of its own to compute.
        await client.query(`DECLARE storm${index} CURSOR FOR SUBSCRIBE (SELECT body->>'userId' AS user_id, count(*) AS events FROM events WHERE (body->>'n')::int % ${STORM} <> ${index} GROUP BY 1)`);
      }),
    ).finally(() => {
      settingUp = false;
    });
    let n = 0;
    while (settingUp) {
      const sent = performance.now();
      const response = await fetch(webhookUrl, { method: 'POST', body: JSON.stringify({ userId: 'storm', n: n++ }) });
      latencies.push(performance.now() - sent);
      if (response.status === 503) refused++;
      else if (response.status !== 200) throw new Error(`webhook answered ${response.status}`);
    }
    await setup;
    const setupMs = performance.now() - started;
    return { appends: latencies.length, maxMs: Math.max(...latencies), p50Ms: median(latencies), refused, setupMs };
  } finally {
    await Promise.all(clients.map((client) => client.end()));
  }
}
