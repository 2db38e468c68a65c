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
