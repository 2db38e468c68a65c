/**
 * A client that goes away at any point — inside a transaction, while its statement runs, in the
 * middle of an extended query before its Sync, after an error there — leaves nothing behind: the
 * one database session is free for everyone else at once, and what it did in a transaction it
 * never committed is rolled back, as PostgreSQL does when a client disconnects.
 *
 * Found by deploy-kill.test.ts hanging once in a whole run: a connection that went away while its
 * message was still running left the session owned by nobody alive, and every client, webhook
 * append and refresh after it waited forever (the idle-in-transaction timeout found no connection
 * to end).
 */
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/local-server.ts';
import { RawWireClient } from '../helpers/raw-wire.ts';
import { cString, frame, int16, int32 } from '../../scripts/local/engine/protocol-bytes.ts';

let t: TestServer;

beforeAll(async () => {
  // An idle transaction ends after a minute here: every case must free the session far sooner.
  t = await startTestServer({ idleInTransactionTimeoutMs: 60_000 });
  await t.query('CREATE TABLE gone_rows (n int)');
});

afterAll(async () => {
  await t?.close();
});

const parse = (sql: string) => frame('P', [cString(''), cString(sql), int16(0)]);
const bind = frame('B', [cString(''), cString(''), int16(0), int16(0), int16(0)]);
const execute = frame('E', [cString(''), int32(0)]);
const sync = frame('S', []);
const query = (sql: string) => frame('Q', [cString(sql)]);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A new connection's answer to a simple query and to an extended one, failing if either waits past 3 s. */
async function othersAreAnswered(): Promise<void> {
  const client = new pg.Client({ connectionString: t.server.pgUrl, query_timeout: 3_000, connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    expect((await client.query('SELECT $1::int AS two', [2])).rows).toEqual([{ two: 2 }]);
  } finally {
    await client.end();
  }
}

async function rowsKept(): Promise<number> {
  return (await t.query<{ n: number }>('SELECT count(*)::int AS n FROM gone_rows'))[0]!.n;
}

async function connectRaw(): Promise<RawWireClient> {
  return RawWireClient.connect(t.server.host, t.server.pgPort);
}

/** A statement that fails after holding the database 0.4 s (the client is gone by then). */
const FAILS_LATE = 'SELECT 1/(n - n) FROM (SELECT 1 AS n FROM pg_sleep(0.4)) AS late';

/** Sends `bytes`, goes away `ms` later (while they run), and checks the session is free for others. */
async function sendAndLeave(raw: RawWireClient, bytes: Uint8Array, ms: number): Promise<void> {
  raw.send(bytes);
  await pause(ms);
  raw.close();
  await othersAreAnswered();
}

it('gone while its statement runs inside a transaction: the session is free at once and its write rolled back', async () => {
  await sendAndLeave(await connectRaw(), query('BEGIN; INSERT INTO gone_rows VALUES (1); SELECT pg_sleep(1)'), 200);
  expect(await rowsKept()).toBe(0);
});

it('gone while its extended query runs, before its Sync: its write is not committed', async () => {
  await sendAndLeave(await connectRaw(), Buffer.concat([parse('INSERT INTO gone_rows SELECT 2 FROM pg_sleep(0.4)'), bind, execute]), 100);
  expect(await rowsKept()).toBe(0);
});

it('gone while an extended query runs into an error (the database skips everything until a Sync): others are answered', async () => {
  await sendAndLeave(await connectRaw(), Buffer.concat([parse(FAILS_LATE), bind, execute]), 100);
});

it('gone after an error inside a transaction, with an extended query in flight: others are answered, nothing kept', async () => {
  const raw = await connectRaw();
  raw.send(query('BEGIN; INSERT INTO gone_rows VALUES (3)'));
  await raw.until('Z');
  await sendAndLeave(raw, Buffer.concat([parse(FAILS_LATE), bind, execute]), 100);
  expect(await rowsKept()).toBe(0);
});

it('gone at any point of a transaction, forty times over at random moments: the session is free after each, and nothing uncommitted kept', async () => {
  // Seeded: the same cut points every run (a mulberry32 stream).
  let seed = 20261207;
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const steps = [
    query('BEGIN'),
    query('INSERT INTO gone_rows SELECT 4; SELECT pg_sleep(0.02)'),
    Buffer.concat([parse('INSERT INTO gone_rows VALUES (5)'), bind, execute, sync]),
    Buffer.concat([parse('SELECT pg_sleep(0.02)'), bind, execute]),
    Buffer.concat([parse('SELECT 1/0'), bind, execute]),
  ];
  for (let round = 0; round < 40; round++) {
    const raw = await connectRaw();
    // BEGIN first, then a random run of the other steps, cut after a random pause.
    const sent = [steps[0]!, ...Array.from({ length: 1 + Math.floor(random() * 4) }, () => steps[1 + Math.floor(random() * 4)]!)];
    for (const bytes of sent) raw.send(bytes);
    await pause(Math.floor(random() * 40));
    raw.close();
    if (round % 8 === 7) await othersAreAnswered();
  }
  await othersAreAnswered();
  expect(await rowsKept()).toBe(0);
});
