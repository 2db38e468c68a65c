/**
 * Local server figures: signed webhook ingestion (single events with 32 concurrent clients, and
 * 100-event JSON ARRAY batches) beside the ceiling of bare PGlite inserts of the same rows, measured
 * in the same run on the same database. Every run ends by checking the row count against what was
 * acknowledged.
 */
import http from 'node:http';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startLocalServer, type LocalServer } from '../scripts/local/local-server.ts';
import { PreparedStatement } from '../scripts/local/prepared-statement.ts';

const SECRET = 'bench-secret';
const SINGLE_REQUESTS = Number(process.env.BENCH_WEBHOOK_REQUESTS ?? 3_000);
const BATCH_REQUESTS = Number(process.env.BENCH_WEBHOOK_BATCHES ?? 100);
const BATCH_SIZE = 100;
const CLIENTS = 32;

const here = path.dirname(fileURLToPath(import.meta.url));
const template = JSON.parse(readFileSync(path.join(here, '..', 'test', 'fixtures', 'events', 'track.json'), 'utf8')) as Record<string, unknown>;

function event(id: number): Record<string, unknown> {
  return { ...template, messageId: `bench-${id}` };
}

async function postAll(bodies: string[], url: string, concurrency: number): Promise<{ ms: number; acknowledged: number; failures: Map<number, number> }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  let acknowledged = 0;
  const failures = new Map<number, number>();
  const send = (body: string) =>
    new Promise<number>((resolve, reject) => {
      const request = http.request(url, {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'event-type': 'track',
          'x-signature': createHmac('sha1', SECRET).update(body).digest('hex'),
        },
      });
      request.on('response', (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode!));
      });
      request.on('error', reject);
      request.end(body);
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        const status = await send(bodies[next++]!);
        if (status === 200) acknowledged++;
        else failures.set(status, (failures.get(status) ?? 0) + 1);
      }
    }),
  );
  const ms = performance.now() - started;
  agent.destroy();
  return { ms, acknowledged, failures };
}

async function rowCount(server: LocalServer, table: string): Promise<number> {
  const result = await server.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return result.rows[0]!.n;
}

export async function runLocalServerBench(): Promise<void> {
  const server = await startLocalServer({ memory: true, pgPort: 0, httpPort: 0 });
  try {
    const db = server.db;
    await db.exec(`
      CREATE TABLE bare_single (body jsonb NOT NULL, headers hstore NOT NULL, event_type text);
      CREATE TABLE bare_batched (body jsonb NOT NULL, headers hstore NOT NULL, event_type text);`);
    const headers = '"content-type"=>"application/json","event-type"=>"track","x-signature"=>"0123456789abcdef0123456789abcdef01234567"';

    // Ceilings: the same rows inserted straight into PGlite with a prepared statement (the fastest
    // direct way found here; PGlite's query() re-plans every call and is printed for reference).
    const singles = Array.from({ length: SINGLE_REQUESTS }, (_, index) => JSON.stringify(event(index)));
    const insertOne = new PreparedStatement(db, `INSERT INTO bare_single (body, headers, event_type) VALUES ($1::text::jsonb, $2::text::hstore, $3::text)`);
    let started = performance.now();
    for (const body of singles) await insertOne.run([body, headers, 'track']);
    const bareSingleRate = SINGLE_REQUESTS / ((performance.now() - started) / 1000);
    started = performance.now();
    for (const body of singles.slice(0, 1_000)) {
      await db.query(`INSERT INTO bare_single (body, headers, event_type) VALUES ($1::text::jsonb, $2::text::hstore, $3)`, [body, headers, 'track']);
    }
    const queryRate = 1_000 / ((performance.now() - started) / 1000);

    const batches = Array.from({ length: BATCH_REQUESTS }, (_, batch) =>
      JSON.stringify(Array.from({ length: BATCH_SIZE }, (_, index) => event(1_000_000 + batch * BATCH_SIZE + index))),
    );
    const insertBatch = new PreparedStatement(
      db,
      `INSERT INTO bare_batched (body, headers, event_type) SELECT value, $2::text::hstore, $3::text FROM jsonb_array_elements($1::text::jsonb)`,
    );
    started = performance.now();
    for (const body of batches) await insertBatch.run([body, headers, 'track']);
    const bareBatchedRate = (BATCH_REQUESTS * BATCH_SIZE) / ((performance.now() - started) / 1000);
    console.log(
      `bare PGlite ceilings: ${bareSingleRate.toFixed(0)} single-row inserts/s (prepared; query() ${queryRate.toFixed(0)}/s), ${bareBatchedRate.toFixed(0)} rows/s in ${BATCH_SIZE}-row inserts`,
    );

    // The seed's webhook source: JSON ARRAY, HMAC-SHA1 CHECK, INCLUDE HEADER and INCLUDE HEADERS.
    const client = new pg.Client(server.pgUrl);
    await client.connect();
    await client.query(`CREATE SECRET bench_secret AS '${SECRET}'`);
    for (const name of ['single_source', 'batch_source']) {
      await client.query(`CREATE SOURCE ${name} FROM WEBHOOK BODY FORMAT JSON ARRAY
        INCLUDE HEADER 'event-type' AS event_type INCLUDE HEADERS
        CHECK (WITH (BODY BYTES, HEADERS, SECRET bench_secret BYTES AS validation_secret)
          constant_time_eq(decode(headers->'x-signature', 'hex'), hmac(body, validation_secret, 'sha1')))`);
    }
    await client.end();

    const single = await postAll(singles, server.webhookUrl('single_source'), CLIENTS);
    const singleRate = single.acknowledged / (single.ms / 1000);
    const singleRows = await rowCount(server, 'single_source');
    console.log(
      `webhook single events: ${singleRate.toFixed(0)} req/s with ${CLIENTS} clients (signed, CHECK verified) vs bare PGlite single inserts ${bareSingleRate.toFixed(0)}/s = ` +
        `${((singleRate / bareSingleRate) * 100).toFixed(0)}% (target >= 40%); rows ${singleRows} = acknowledged ${single.acknowledged}: ${singleRows === single.acknowledged ? 'ok' : 'MISMATCH'}${describeFailures(single.failures)}`,
    );

    const batched = await postAll(batches, server.webhookUrl('batch_source'), 8);
    const batchedRate = (batched.acknowledged * BATCH_SIZE) / (batched.ms / 1000);
    const batchRows = await rowCount(server, 'batch_source');
    console.log(
      `webhook ${BATCH_SIZE}-event batches: ${batchedRate.toFixed(0)} events/s vs bare PGlite ${BATCH_SIZE}-row inserts ${bareBatchedRate.toFixed(0)} rows/s = ` +
        `${((batchedRate / bareBatchedRate) * 100).toFixed(0)}% (target >= 70%); rows ${batchRows} = acknowledged ${batched.acknowledged * BATCH_SIZE}: ${batchRows === batched.acknowledged * BATCH_SIZE ? 'ok' : 'MISMATCH'}${describeFailures(batched.failures)}`,
    );
  } finally {
    await server.stop();
  }
}

function describeFailures(failures: Map<number, number>): string {
  if (failures.size === 0) return '';
  return `; non-200: ${[...failures].map(([status, count]) => `${count}×${status}`).join(', ')}`;
}
