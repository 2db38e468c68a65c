/**
 * Issue 28 (2): one long statement must not freeze ingestion, and a cancel, a disconnect and
 * statement_timeout end it. Each case runs a statement that would hold the database for 30 s.
 */
import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { post, startTestServer, type TestServer } from '../helpers/local-server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ maxQueueWaitMs: 700 });
  await server.query(`CREATE SOURCE long_ev FROM WEBHOOK BODY FORMAT JSON`);
});

afterAll(async () => {
  await server?.close();
});

async function connect(): Promise<pg.Client> {
  const client = new pg.Client(server.server.pgUrl);
  await client.connect();
  return client;
}

/** Sends a CancelRequest for `client` as libpq does; resolves when the server closes that connection. */
function sendCancel(client: pg.Client): Promise<number> {
  const { processID, secretKey } = client as unknown as { processID: number; secretKey: number };
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = net.connect(server.server.pgPort, server.server.host, () => {
      const request = Buffer.alloc(16);
      request.writeInt32BE(16, 0);
      request.writeInt32BE(80877102, 4);
      request.writeInt32BE(processID, 8);
      request.writeInt32BE(secretKey, 12);
      socket.write(request);
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(performance.now() - started));
    setTimeout(() => reject(new Error('the server kept the cancel connection open for 3 s (libpq would hang)')), 3000).unref();
  });
}

/** How long a trivial query takes on a fresh connection (the database is free again). */
async function timeToAnswer(): Promise<number> {
  const client = await connect();
  const started = performance.now();
  await client.query('SELECT 1');
  await client.end();
  return performance.now() - started;
}

it('statement_timeout ends a running statement with PostgreSQL\'s words, and the session goes on', async () => {
  const client = await connect();
  await client.query(`SET statement_timeout = '300ms'`);
  const started = performance.now();
  const error = await client.query('SELECT pg_sleep(30)').then(() => null, (failure: pg.DatabaseError) => failure);
  const took = performance.now() - started;
  expect(error?.message).toBe('canceling statement due to statement timeout');
  expect(error?.code).toBe('57014');
  expect(took).toBeLessThan(10_000);
  await client.query('SET statement_timeout = 0');
  expect((await client.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
  await client.end();
});

it('a CancelRequest ends the running statement, and the cancel connection is closed at once', async () => {
  const client = await connect();
  const sleeping = client.query('SELECT pg_sleep(30)').then(() => null, (failure: pg.DatabaseError) => failure);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const closedAfter = await sendCancel(client);
  expect(closedAfter).toBeLessThan(3000);
  const error = await sleeping;
  expect(error?.message).toBe('canceling statement due to user request');
  expect(error?.code).toBe('57014');
  expect((await client.query('SELECT 3 AS three')).rows).toEqual([{ three: 3 }]);
  await client.end();
});

it('a client that disconnects mid-statement frees the database for everyone else', async () => {
  const client = await connect();
  client.on('error', () => {});
  void client.query('SELECT pg_sleep(30)').catch(() => {});
  await new Promise((resolve) => setTimeout(resolve, 300));
  (client as unknown as { connection: { stream: net.Socket } }).connection.stream.destroy();
  expect(await timeToAnswer()).toBeLessThan(10_000);
});

it('a webhook append that waits past its bound behind a running statement gets 503 with Retry-After, and nothing half-written', async () => {
  const client = await connect();
  const sleeping = client.query('SELECT pg_sleep(30)').then(() => null, (failure: pg.DatabaseError) => failure);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const started = performance.now();
  const response = await fetch(server.server.webhookUrl('long_ev'), { method: 'POST', body: '{"n":1}', headers: { 'content-type': 'application/json' } });
  const waited = performance.now() - started;
  expect(response.status).toBe(503);
  expect(response.headers.get('retry-after')).toBe('1');
  expect(await response.text()).toMatch(/a statement is still running/);
  expect(waited).toBeLessThan(5000);
  await sendCancel(client);
  expect((await sleeping)?.code).toBe('57014');
  expect(await server.query('SELECT count(*)::int AS n FROM long_ev')).toEqual([{ n: 0 }]);
  // Retried, it lands.
  expect((await post(server.server.webhookUrl('long_ev'), '{"n":1}', { 'content-type': 'application/json' })).status).toBe(200);
  expect(await server.query('SELECT count(*)::int AS n FROM long_ev')).toEqual([{ n: 1 }]);
  await client.end();
});

it('max_result_size refuses a result past it with Materialize\'s words; SET, SHOW and RESET work', async () => {
  const client = await connect();
  expect((await client.query('SHOW max_result_size')).rows).toEqual([{ max_result_size: '1GB' }]);
  await client.query(`SET max_result_size = '1MB'`);
  expect((await client.query('SHOW max_result_size')).rows).toEqual([{ max_result_size: '1MB' }]);
  const error = await client.query(`SELECT repeat('x', 1000) FROM generate_series(1, 5000)`).then(() => null, (failure: pg.DatabaseError) => failure);
  expect(error?.message).toBe('result exceeds max size of 1.0 MiB');
  // Under the limit, the same session answers.
  expect((await client.query(`SELECT repeat('x', 1000) AS x FROM generate_series(1, 500)`)).rows).toHaveLength(500);
  const invalid = await client.query(`SET max_result_size = 'lots'`).then(() => null, (failure: pg.DatabaseError) => failure);
  expect(invalid?.message).toMatch(/invalid value for parameter "max_result_size": "lots"/);
  await client.query('RESET max_result_size');
  expect((await client.query('SHOW max_result_size')).rows).toEqual([{ max_result_size: '1GB' }]);
  await client.end();
});

it('over the HTTP SQL API: a client that gives up stops its statement, and a result past max_result_size is an error result', async () => {
  const url = `http://${server.server.host}:${server.server.httpPort}/api/sql`;
  const giveUp = new AbortController();
  const abandoned = fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'SELECT pg_sleep(30)' }), signal: giveUp.signal }).catch((error: Error) => error);
  await new Promise((resolve) => setTimeout(resolve, 300));
  giveUp.abort();
  await abandoned;
  expect(await timeToAnswer()).toBeLessThan(10_000);

  const big = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: `SET max_result_size = '1MB'; SELECT repeat('x', 1000) FROM generate_series(1, 5000)` }) });
  expect(big.status).toBe(200);
  const answer = (await big.json()) as { results: Array<{ error?: { message: string } }> };
  expect(answer.results.at(-1)?.error?.message).toBe('result exceeds max size of 1.0 MiB');

  // A large answer under the limit arrives whole, written in pieces.
  const large = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: `SELECT g AS n, repeat('y', 200) AS pad FROM generate_series(1, 20000) AS g` }) });
  const rows = ((await large.json()) as { results: Array<{ rows: unknown[][] }> }).results[0]!.rows;
  expect(rows).toHaveLength(20_000);
  expect(rows[19_999]).toEqual([20_000, 'y'.repeat(200)]);
});

it('a subscribed query that holds the database past its bound fails its SUBSCRIBE, and appends go on meanwhile', async () => {
  const bounded = await startTestServer({ subscribedQueryTimeoutMs: 400, maxQueueWaitMs: 5000 });
  try {
    await bounded.query(`CREATE SOURCE sub_ev FROM WEBHOOK BODY FORMAT JSON`);
    const client = new pg.Client(bounded.server.pgUrl);
    await client.connect();
    const started = performance.now();
    const error = await client.query(`COPY (SUBSCRIBE (SELECT pg_sleep(30) AS slept)) TO STDOUT`).then(() => null, (failure: pg.DatabaseError) => failure);
    expect(error?.message).toMatch(/canceling statement due to statement timeout/);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect((await post(bounded.server.webhookUrl('sub_ev'), '{"n":1}', { 'content-type': 'application/json' })).status).toBe(200);
    await client.end();
  } finally {
    await bounded.close();
  }
});
