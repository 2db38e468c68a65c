/**
 * Temporal filters kept (issue 30, item 2): a materialized view keyed by its groups whose WHERE
 * compares mz_now() with an expression of its rows keeps its rows, and they enter and leave at the
 * times the filter names (Materialize: sql/functions/now_and_mz_now, "mz_now() clause";
 * transform-data/patterns/temporal-filters). Each check compares the view with its own SELECT run
 * at the same time (one transaction: now() and so mz_now() do not move within it), and checks the
 * read came from the kept rows (is_fresh) rather than from computing the definition. The tests run
 * at once, each on objects of its own (tw1…tw6): most of their time is waiting for rows' times to
 * pass, and one after the other they kept a test worker idle for ~30 s.
 */
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/local-server.ts';

let t: TestServer;
const log: string[] = [];
beforeAll(async () => {
  t = await startTestServer({ refreshQuietMs: 20, log: (line) => log.push(line) });
});
afterAll(async () => {
  await t?.close();
});

async function post(source: string, body: unknown): Promise<void> {
  const response = await fetch(t.server.webhookUrl(source), { method: 'POST', body: JSON.stringify(body) });
  await response.text();
  expect(response.status).toBe(200);
}

/**
 * A timestamp `offsetMs` after `from` (now by default), as the events carry it (UTC, no zone). The
 * tests pass the instant their waits count from, so a slow request cannot shift a row past a read.
 */
function at(offsetMs: number, from = Date.now()): string {
  return new Date(from + offsetMs).toISOString().replace('T', ' ').replace('Z', '');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Read {
  readonly kept: string[];
  readonly fresh: string[];
  /** Whether the kept rows answered (not the definition computed by the read). */
  readonly fromKept: boolean;
}

/**
 * The view and its SELECT at one time: one message, so the server catches the view up and then
 * runs the whole transaction in one turn (the tests run at once: another test's write between a
 * catch-up and the read would leave the view a write behind, read computed).
 */
async function read(view: string, select: string): Promise<Read> {
  return (await timedRead(view, select)).read;
}

/** read(), and the time the read's transaction ran at (ms since the epoch: mz_now() in it). */
async function timedRead(view: string, select: string): Promise<{ read: Read; at: number }> {
  const results = (await t.sql.query(
    `BEGIN; SELECT * FROM ${view}; ${select}; SELECT mz_local.is_fresh(m.id) AS fresh, extract(epoch FROM now()) * 1000 AS at FROM mz_local.maintained_views m WHERE m.view_oid = '${view}'::regclass; COMMIT`,
  )) as unknown as pg.QueryResult[];
  const rows = (result: pg.QueryResult) => result.rows.map((row) => JSON.stringify(row)).sort();
  const state = results[3]!.rows[0];
  return { read: { kept: rows(results[1]!), fresh: rows(results[2]!), fromKept: state?.fresh === true }, at: Number(state?.at) };
}

async function plan(view: string): Promise<{ kind: string | null; temporal: boolean; next: string | null; reason: string | null }> {
  const rows = await t.query<{ kind: string | null; temporal: boolean; next: string | null; reason: string | null }>(
    `SELECT m.refresh_kind AS kind, m.temporal, m.next_change::text AS next, m.not_keyed_reason AS reason FROM mz_local.maintained_views m WHERE m.view_oid = $1::regclass`,
    [view],
  );
  return rows[0]!;
}

/** Sleeps until `deadline` (ms since the epoch) and a little past it. */
async function until(deadline: number): Promise<void> {
  await sleep(Math.max(0, deadline - Date.now()) + 150);
}

it.concurrent('a sliding window per group: kept, rows leave when their time passes, reads keep answering from kept rows', async () => {
  await t.query(`CREATE SOURCE tw1 FROM WEBHOOK BODY FORMAT JSON`);
  await t.query(`CREATE MATERIALIZED VIEW tw1_events AS SELECT DISTINCT ON (body->>'id') body->>'id' AS id, body->>'kind' AS kind, (body->>'ts')::timestamp AS ts FROM tw1 ORDER BY body->>'id'`);
  const select = `SELECT date_trunc('second', e.ts) AS second, e.kind, count(*) AS n FROM tw1_events e WHERE mz_now() <= e.ts + INTERVAL '1500 milliseconds' GROUP BY 1, 2`;
  await t.query(`CREATE MATERIALIZED VIEW tw1_window AS ${select}`);
  // Each row is in the window until its ts + 1.5 s: b leaves first, then a; c never enters.
  const base = Date.now();
  await post('tw1', { id: 'a', kind: 'click', ts: at(6000, base) });
  await post('tw1', { id: 'b', kind: 'tap', ts: at(2500, base) });
  await post('tw1', { id: 'c', kind: 'view', ts: at(-5000, base) });
  await t.server.maintainedViews.settled();
  expect(await plan('tw1_window')).toMatchObject({ kind: 'view', temporal: true });

  const first = await read('tw1_window', select);
  expect(first.kept).toEqual(first.fresh);
  expect(first.fromKept).toBe(true);
  expect(first.kept.join()).toContain('click');
  expect(first.kept.join()).not.toContain('view');

  // Read right after each leaves, without writes between.
  await until(base + 4000);
  const afterB = await read('tw1_window', select);
  expect(afterB.kept).toEqual(afterB.fresh);
  expect(afterB.fromKept).toBe(true);
  expect(afterB.kept.join()).toContain('click');
  expect(afterB.kept.join()).not.toContain('tap');
  await until(base + 7500);
  const afterA = await read('tw1_window', select);
  expect(afterA).toEqual({ kept: [], fresh: [], fromKept: true });
  // Nothing left to leave.
  expect((await plan('tw1_window')).next).toBe('infinity');
});

it.concurrent('rows dated in the future enter when their time comes, and a window of both bounds (BETWEEN) leaves', async () => {
  await t.query(`CREATE SOURCE tw2 FROM WEBHOOK BODY FORMAT JSON ARRAY`);
  await t.query(`CREATE MATERIALIZED VIEW tw2_events AS SELECT DISTINCT ON (body->>'id') body->>'id' AS id, body->>'user' AS u, (body->>'ts')::timestamp AS ts FROM tw2 ORDER BY body->>'id'`);
  const select = `SELECT u, count(*) AS n, max(ts) AS latest FROM tw2_events WHERE mz_now() BETWEEN ts AND ts + INTERVAL '2 seconds' GROUP BY u`;
  await t.query(`CREATE MATERIALIZED VIEW tw2_window AS ${select}`);
  await t.server.maintainedViews.settled();
  // Appended after the view's first refresh: found by key, the future rows' entries recorded then.
  // Rows are in the window from ts to ts + 2 s: 1 over [3, 5] s from now, 2 over [4, 6], 3 over [7, 9].
  const base = Date.now();
  await post('tw2', [
    { id: '1', user: 'u1', ts: at(3000, base) },
    { id: '2', user: 'u1', ts: at(4000, base) },
    { id: '3', user: 'u2', ts: at(7000, base) },
    { id: '4', user: 'u3', ts: at(-3000, base) },
  ]);
  const now = await read('tw2_window', select);
  expect(now).toEqual({ kept: [], fresh: [], fromKept: true });
  expect(await plan('tw2_window')).toMatchObject({ kind: 'view', temporal: true });
  // Read between boundaries (a boundary passing between the catch-up and the read would make the
  // read compute the view: correct, but not what is checked here).
  // Each read 400 ms after a boundary, with the next boundary after it.
  const expected: Array<[number, string, number]> = [
    [3400, '"n":"1"', 4000], // 1 entered
    [4400, '"n":"2"', 5000], // 2 entered
    [5400, '"n":"1"', 6000], // 1 left
    [6400, '', 7000], // 2 left
    [7400, '"u":"u2"', 9000], // 3 entered
    [9400, '', Infinity], // 3 left
  ];
  for (const [offset, contains, nextBoundary] of expected) {
    await until(base + offset);
    const { read: later, at } = await timedRead('tw2_window', select);
    const when = `at ${offset} ms (the read ran at ${Math.round(at - base)} ms)`;
    expect(later.kept, when).toEqual(later.fresh);
    // A read held up past the next boundary (a loaded machine: the six tests share one session)
    // computes the view, rightly, and sees the rows of after it: only its equality is checked.
    if (at >= base + nextBoundary) continue;
    expect(later.fromKept, when).toBe(true);
    if (contains) expect(later.kept.join(), when).toContain(contains);
    else expect(later.kept, when).toEqual([]);
  }
});

it.concurrent('a delete request retracts a row of a kept temporal view at once; time retracts the rest (NOT EXISTS, as the seed)', async () => {
  await t.query(`CREATE SOURCE tw3 FROM WEBHOOK BODY FORMAT JSON ARRAY`);
  await t.query(`CREATE MATERIALIZED VIEW tw3_events AS SELECT DISTINCT ON (body->>'id') body->>'id' AS id, body->>'type' AS type, body->>'user' AS u, (body->>'ts')::timestamp AS ts FROM tw3 ORDER BY body->>'id'`);
  await t.query(`CREATE VIEW tw3_deletes AS SELECT DISTINCT ON (u) u FROM tw3_events WHERE type = 'delete' ORDER BY u`);
  const select = `SELECT date_trunc('minute', e.ts) AS minute, e.type, count(*) AS n FROM tw3_events e
    WHERE mz_now() <= e.ts + INTERVAL '2 seconds' AND e.type <> 'delete' AND NOT EXISTS (SELECT 1 FROM tw3_deletes d WHERE d.u = e.u) GROUP BY 1, 2`;
  await t.query(`CREATE MATERIALIZED VIEW tw3_window AS ${select}`);
  const base = Date.now();
  const ts = at(5000, base);
  await post('tw3', [
    { id: '1', type: 'track', user: 'a', ts },
    { id: '2', type: 'track', user: 'b', ts },
  ]);
  await t.server.maintainedViews.settled();
  const before = await read('tw3_window', select);
  expect(before.kept).toEqual(before.fresh);
  expect(before.kept.join()).toContain('"n":"2"');
  await post('tw3', { id: '3', type: 'delete', user: 'a', ts: at(0) });
  const deleted = await read('tw3_window', select);
  expect(deleted.kept).toEqual(deleted.fresh);
  expect(deleted.kept.join()).toContain('"n":"1"');
  await until(base + 7000);
  const expired = await read('tw3_window', select);
  expect(expired).toEqual({ kept: [], fresh: [], fromKept: true });
});

it.concurrent('SUBSCRIBE to a kept temporal view shows the retraction when the row leaves, without writes', async () => {
  await t.query(`CREATE SOURCE tw4 FROM WEBHOOK BODY FORMAT JSON`);
  await t.query(`CREATE MATERIALIZED VIEW tw4_events AS SELECT DISTINCT ON (body->>'id') body->>'id' AS id, (body->>'ts')::timestamp AS ts FROM tw4 ORDER BY body->>'id'`);
  await t.query(`CREATE MATERIALIZED VIEW tw4_window AS SELECT id, count(*) AS n FROM tw4_events WHERE mz_now() < ts + INTERVAL '1 second' GROUP BY id`);
  const base = Date.now();
  const leaves = base + 4000;
  await post('tw4', { id: 'x', ts: at(3000, base) });
  await t.server.maintainedViews.settled();
  const client = new pg.Client(t.server.pgUrl);
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query('DECLARE feed CURSOR FOR SUBSCRIBE tw4_window');
    const snapshot = await client.query(`FETCH ALL feed WITH (timeout = '0s')`);
    expect(snapshot.rows.map((row) => [row.mz_diff, row.id])).toEqual([['1', 'x']]);
    const retraction = await client.query(`FETCH ALL feed WITH (timeout = '10s')`);
    expect(retraction.rows.map((row) => [row.mz_diff, row.id])).toEqual([['-1', 'x']]);
    // Not before the row's time; the batch's timestamp says when (Materialize's mz_timestamp).
    expect(Number(retraction.rows[0].mz_timestamp)).toBeGreaterThanOrEqual(leaves - 50);
    await client.query('COMMIT');
  } finally {
    await client.end();
  }
});

it.concurrent('shapes whose use of the time cannot be kept are computed on every read, and the log says so once', async () => {
  await t.query(`CREATE SOURCE tw5 FROM WEBHOOK BODY FORMAT JSON`);
  await t.query(`CREATE MATERIALIZED VIEW tw5_events AS SELECT DISTINCT ON (body->>'id') body->>'id' AS id, (body->>'ts')::timestamp AS ts FROM tw5 ORDER BY body->>'id'`);
  const shapes = {
    // Not keyed by group (reads a source directly, no GROUP BY).
    tw5_plain: `SELECT body->>'id' AS id FROM tw5 WHERE mz_now() <= (body->>'ts')::timestamp + INTERVAL '1 second'`,
    // mz_now() under OR.
    tw5_or: `SELECT id, count(*) AS n FROM tw5_events WHERE mz_now() <= ts + INTERVAL '1 second' OR id = 'z' GROUP BY id`,
    // mz_now() in the SELECT list.
    tw5_select: `SELECT id, max(ts) < mz_now() AS past FROM tw5_events GROUP BY id`,
  };
  for (const [name, select] of Object.entries(shapes)) await t.query(`CREATE MATERIALIZED VIEW ${name} AS ${select}`);
  const base = Date.now();
  await post('tw5', { id: 'y', ts: at(2000) });
  await t.server.maintainedViews.settled();
  for (const [name, select] of Object.entries(shapes)) {
    const result = await read(name, select);
    expect(result.kept, name).toEqual(result.fresh);
    expect(result.fromKept, name).toBe(false);
    expect((await plan(name)).next, name).toBe('-infinity');
    expect(log.filter((line) => line.includes(`public.${name} is computed on every read`)), name).toHaveLength(1);
  }
  await until(base + 3000);
  for (const [name, select] of Object.entries(shapes)) {
    const result = await read(name, select);
    expect(result.kept, `${name} later`).toEqual(result.fresh);
  }
});

it.concurrent('a view under a kept view replaced by one using mz_now(): the kept view is computed on every read from then on', async () => {
  await t.query(`CREATE SOURCE tw6 FROM WEBHOOK BODY FORMAT JSON`);
  await t.query(`CREATE MATERIALIZED VIEW tw6_events AS SELECT DISTINCT ON (body->>'id') body->>'id' AS id, (body->>'ts')::timestamp AS ts FROM tw6 ORDER BY body->>'id'`);
  await t.query(`CREATE VIEW tw6_recent AS SELECT id, ts FROM tw6_events`);
  const select = `SELECT id, count(*) AS n FROM tw6_recent GROUP BY id`;
  await t.query(`CREATE MATERIALIZED VIEW tw6_counts AS ${select}`);
  await post('tw6', { id: 'p', ts: at(0) });
  await t.server.maintainedViews.settled();
  expect((await plan('tw6_counts')).kind).toBe('view');
  await t.query(`CREATE OR REPLACE VIEW tw6_recent AS SELECT id, ts FROM tw6_events WHERE mz_now() <= ts + INTERVAL '700 milliseconds'`);
  await t.server.maintainedViews.settled();
  expect(await plan('tw6_counts')).toMatchObject({ kind: null, next: '-infinity' });
  await sleep(800);
  const result = await read('tw6_counts', select);
  expect(result).toEqual({ kept: [], fresh: [], fromKept: false });
});
