/**
 * What a session per connection costs (scripts/local/wire/connection-state.ts, connection-names.ts):
 * the same load against a server with them and one where every connection shares PGlite's one
 * session (`sharedSession`, as before), alternated ROUNDS times, medians and their ratio.
 * - single-event webhook ingest (32 clients, from another process, as bench/local-server.ts);
 * - one-row SELECTs from 8 wire connections at the server's settings (nothing to switch);
 * - the same with each connection's own application_name and TimeZone (a switch before every
 *   statement: the worst case, which a shared session gets wrong anyway).
 */
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startLocalServer, type LocalServer } from '../scripts/local/local-server.ts';
import { runWebhookLoad } from './run-webhook-load.ts';
import { median } from './stats.ts';

const SECRET = 'bench-secret';
const INGEST_REQUESTS = Number(process.env.BENCH_WEBHOOK_REQUESTS ?? 10_000);
const INGEST_WARM_UP = 3_000;
const CLIENTS = 32;
const CONNECTIONS = 8;
const SELECT_MS = 2_000;
const ROUNDS = 3;


/** Single events/s acknowledged (bench/webhook-load.ts in its own process). */
async function ingestRate(url: string, firstId: number): Promise<number> {
  const result = await runWebhookLoad({ url, secret: SECRET, requests: INGEST_REQUESTS, eventsPerRequest: 1, concurrency: CLIENTS, firstId, warmUp: INGEST_WARM_UP });
  return result.acknowledged / (result.ms / 1000);
}

/** One-row SELECTs per second from CONNECTIONS connections, each looping for SELECT_MS. */
async function selectRate(server: LocalServer, ownSettings: boolean): Promise<number> {
  const clients = await Promise.all(
    Array.from({ length: CONNECTIONS }, async (_, index) => {
      const client = new pg.Client(server.pgUrl);
      await client.connect();
      if (ownSettings) {
        await client.query(`SET application_name = 'bench ${index}'`);
        await client.query(`SET TimeZone = '${index % 2 === 0 ? 'UTC' : 'Asia/Tokyo'}'`);
      }
      return client;
    }),
  );
  try {
    for (const client of clients) await client.query('SELECT 1 AS one');
    let done = 0;
    const started = performance.now();
    const deadline = started + SELECT_MS;
    await Promise.all(
      clients.map(async (client) => {
        while (performance.now() < deadline) {
          await client.query('SELECT 1 AS one');
          done++;
        }
      }),
    );
    return done / ((performance.now() - started) / 1000);
  } finally {
    await Promise.all(clients.map((client) => client.end()));
  }
}

async function webhookSource(server: LocalServer): Promise<string> {
  const client = new pg.Client(server.pgUrl);
  await client.connect();
  try {
    await client.query(`CREATE SECRET bench_secret AS '${SECRET}'`);
    await client.query(`CREATE SOURCE bench_events FROM WEBHOOK BODY FORMAT JSON ARRAY
      INCLUDE HEADER 'event-type' AS event_type INCLUDE HEADERS
      CHECK (WITH (BODY BYTES, HEADERS, SECRET bench_secret BYTES AS validation_secret)
        constant_time_eq(decode(headers->'x-signature', 'hex'), hmac(body, validation_secret, 'sha1')))`);
  } finally {
    await client.end();
  }
  return server.webhookUrl('bench_events');
}

export async function runSessionCostBench(): Promise<void> {
  const perConnection = await startLocalServer({ memory: true, pgPort: 0, httpPort: 0 });
  const shared = await startLocalServer({ memory: true, pgPort: 0, httpPort: 0, sharedSession: true });
  try {
    const urls = new Map<LocalServer, string>([
      [perConnection, await webhookSource(perConnection)],
      [shared, await webhookSource(shared)],
    ]);
    const figures = { ingest: new Map<LocalServer, number[]>(), selects: new Map<LocalServer, number[]>(), ownSettings: new Map<LocalServer, number[]>() };
    for (const map of Object.values(figures)) for (const server of urls.keys()) map.set(server, []);
    // Both warmed first (a fresh PGlite and a fresh load process run at a fraction of their pace).
    for (const server of urls.keys()) {
      await ingestRate(urls.get(server)!, 10_000_000);
      await selectRate(server, false);
    }
    let firstId = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Alternated, and in turn which goes first: this machine's pace drifts between runs.
      const order = round % 2 === 0 ? [perConnection, shared] : [shared, perConnection];
      for (const server of order) {
        figures.ingest.get(server)!.push(await ingestRate(urls.get(server)!, (firstId += INGEST_WARM_UP + INGEST_REQUESTS)));
        figures.selects.get(server)!.push(await selectRate(server, false));
        figures.ownSettings.get(server)!.push(await selectRate(server, true));
      }
    }
    const line = (what: string, unit: string, map: Map<LocalServer, number[]>) => {
      const ours = median(map.get(perConnection)!);
      const before = median(map.get(shared)!);
      console.log(
        `session per connection, ${what}: ${ours.toFixed(0)} ${unit} vs one shared session ${before.toFixed(0)} = ${((ours / before) * 100).toFixed(0)}% (target >= 90%; median of ${ROUNDS}, alternated)`,
      );
    };
    line(`single-event webhook ingest (${CLIENTS} clients)`, 'req/s', figures.ingest);
    line(`one-row SELECTs from ${CONNECTIONS} connections`, 'statements/s', figures.selects);
    const ours = median(figures.ownSettings.get(perConnection)!);
    const before = median(figures.ownSettings.get(shared)!);
    console.log(
      `session per connection, one-row SELECTs from ${CONNECTIONS} connections each with its own application_name and TimeZone (a switch before every statement; a shared session gives them the wrong settings): ${ours.toFixed(0)} statements/s vs ${before.toFixed(0)} = ${((ours / before) * 100).toFixed(0)}%`,
    );
  } finally {
    await perConnection.stop();
    await shared.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runSessionCostBench();
