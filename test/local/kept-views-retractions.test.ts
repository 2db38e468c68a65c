/**
 * Kept views following a change under their NOT EXISTS by key (views/anti-join-plan.ts), and
 * views with HAVING or only filters kept by their changed groups or rows: in Materialize a
 * materialized view is maintained incrementally whatever its shape (docs: sql/create-materialized-view,
 * "results are incrementally updated as new data arrives") — a delete request retracts the
 * deleted user's rows from the marts, a group leaves a HAVING when its sum drops. Each case reads
 * the view right after writes (the keyed catch-up) and after the background refresh, compares it
 * with its SELECT computed fresh, and checks that it was not refreshed whole (its rebuilt_xid, the
 * transaction of its last whole refresh, stays).
 */
import { expect, it } from 'vitest';
import { serverForTests } from '../helpers/local-server.ts';

const t = serverForTests({ refreshQuietMs: 20 });

async function post(source: string, body: unknown): Promise<void> {
  const response = await fetch(t.server.webhookUrl(source), { method: 'POST', body: JSON.stringify(body) });
  expect(response.status, await response.text()).toBe(200);
}

async function sorted(sql: string): Promise<string[]> {
  return (await t.sql.query(sql)).rows.map((row) => JSON.stringify(row)).sort();
}

async function expectCurrent(view: string, select: string, step: string): Promise<void> {
  expect(await sorted(`SELECT * FROM ${view}`), `${view} ${step}`).toEqual(await sorted(select));
}

async function about(view: string): Promise<{ id: string; kind: string | null; rebuilt: string | null; snapshots: boolean; folds: boolean }> {
  return (
    await t.query<{ id: string; kind: string | null; rebuilt: string | null; snapshots: boolean; folds: boolean }>(
      `SELECT id::text AS id, refresh_kind AS kind, rebuilt_xid::text AS rebuilt, snapshots, refresh_function_sql IS NOT NULL AS folds
         FROM mz_local.maintained_views WHERE view_oid = $1::regclass`,
      [view],
    )
  )[0]!;
}

/** A source of events, its dedup (kept) and, as the seed has stg_segment_deletes, a plain view of the users to delete over it. */
async function pipeline(prefix: string): Promise<void> {
  await t.query(`CREATE SOURCE ${prefix}_src FROM WEBHOOK BODY FORMAT JSON ARRAY`);
  await t.query(`CREATE MATERIALIZED VIEW ${prefix}_events AS SELECT DISTINCT ON (body->>'id')
    body->>'id' AS id, body->>'user' AS u, body->>'kind' AS kind, (body->>'n')::int AS n, body->>'day' AS day
    FROM ${prefix}_src ORDER BY body->>'id', body::text`);
  await t.query(`CREATE VIEW ${prefix}_deletes AS SELECT DISTINCT ON (u) u, id FROM ${prefix}_events WHERE kind = 'delete' ORDER BY u, id DESC`);
}

it('a delete request is taken out of folded groups: counts and sums subtract, distinct values leave, min and max recomputed, emptied groups gone', async () => {
  await pipeline('ra');
  const select = `SELECT e.day, count(*) AS events, count(e.n) AS with_n, sum(e.n) AS total, min(e.n) AS least_n, max(e.id) AS last_id, count(DISTINCT e.u) AS people
    FROM ra_events e WHERE e.kind <> 'delete' AND NOT EXISTS (SELECT 1 FROM ra_deletes d WHERE d.u = e.u) GROUP BY e.day`;
  await t.query(`CREATE MATERIALIZED VIEW ra_daily AS ${select}`);
  await post('ra_src', [
    { id: 'e1', user: 'ann', kind: 'page', n: 1, day: 'mon' },
    { id: 'e2', user: 'bob', kind: 'page', n: 5, day: 'mon' },
    { id: 'e3', user: 'bob', kind: 'page', n: 7, day: 'mon' },
    { id: 'e4', user: 'cid', kind: 'page', n: 2, day: 'tue' },
    { id: 'e5', user: 'ann', kind: 'page', day: 'wed' },
  ]);
  await t.server.maintainedViews.settled();
  await expectCurrent('ra_daily', select, 'after the first events');
  const before = await about('ra_daily');
  expect(before).toMatchObject({ kind: 'view', snapshots: true, folds: true });

  // ann holds mon's least n (1) and all of wed; bob's rows stay. Then cid, whose day empties.
  await post('ra_src', [{ id: 'e6', user: 'dee', kind: 'page', n: 3, day: 'mon' }, { id: 'x1', user: 'ann', kind: 'delete' }]);
  await expectCurrent('ra_daily', select, 'right after a delete request (a keyed catch-up)');
  await post('ra_src', [{ id: 'x2', user: 'cid', kind: 'delete' }]);
  await expectCurrent('ra_daily', select, 'right after a second delete request');
  expect(await sorted(`SELECT day FROM ra_daily`)).toEqual(['{"day":"mon"}']);
  await t.server.maintainedViews.settled();
  await expectCurrent('ra_daily', select, 'after the background refresh');
  // A new event of a deleted user stays out; a retried delete request changes nothing.
  await post('ra_src', [{ id: 'e7', user: 'ann', kind: 'page', n: 9, day: 'mon' }, { id: 'x1', user: 'ann', kind: 'delete' }]);
  await expectCurrent('ra_daily', select, 'after a deleted user came back');
  expect((await about('ra_daily')).rebuilt).toBe(before.rebuilt);

  // An earlier delete request for ann replaces the deletes' row for her (a row of the snapshot is
  // gone: rows may come back, which a retraction does not do): refreshed whole, and right.
  await post('ra_src', [{ id: 'x9', user: 'ann', kind: 'delete' }]);
  await expectCurrent('ra_daily', select, 'after the deletes lost a row');
  await t.server.maintainedViews.settled();
  await expectCurrent('ra_daily', select, 'after the background refresh of a whole refresh');
});

it('a view without count(*) recomputes the groups a delete request touched (whether they are empty is not known otherwise)', async () => {
  await pipeline('rb');
  const select = `SELECT e.u, sum(e.n) AS total, max(e.day) AS last_day FROM rb_events e WHERE NOT EXISTS (SELECT 1 FROM rb_deletes d WHERE d.u = e.u) GROUP BY e.u`;
  await t.query(`CREATE MATERIALIZED VIEW rb_users AS ${select}`);
  await post('rb_src', [{ id: 'e1', user: 'ann', n: 1, day: 'mon' }, { id: 'e2', user: 'bob', day: 'tue' }, { id: 'e3', user: null, n: 4 }]);
  await t.server.maintainedViews.settled();
  const before = await about('rb_users');
  await post('rb_src', [{ id: 'x1', user: 'ann', kind: 'delete' }, { id: 'e4', user: 'bob', n: 2 }]);
  await expectCurrent('rb_users', select, 'right after a delete request');
  await t.server.maintainedViews.settled();
  await expectCurrent('rb_users', select, 'after the background refresh');
  expect((await about('rb_users')).rebuilt).toBe(before.rebuilt);
});

it('GROUP BY … HAVING is kept by its changed groups: groups enter and leave the HAVING, a delete request takes a group out', async () => {
  await pipeline('rc');
  // The activation's high_value_customers: net revenue over a line, deleted users left out.
  const select = `SELECT e.u, sum(CASE WHEN e.kind = 'order' THEN e.n ELSE -e.n END) AS revenue, count(*) FILTER (WHERE e.kind = 'order') AS orders
    FROM rc_events e WHERE e.kind IN ('order', 'refund') AND NOT EXISTS (SELECT 1 FROM rc_deletes d WHERE d.u = e.u)
    GROUP BY e.u HAVING sum(CASE WHEN e.kind = 'order' THEN e.n ELSE -e.n END) >= 100`;
  await t.query(`CREATE MATERIALIZED VIEW rc_high_value AS ${select}`);
  await post('rc_src', [{ id: 'o1', user: 'ann', kind: 'order', n: 80 }, { id: 'o2', user: 'bob', kind: 'order', n: 150 }]);
  await t.server.maintainedViews.settled();
  const before = await about('rc_high_value');
  expect(before).toMatchObject({ kind: 'view', snapshots: true });
  await post('rc_src', [{ id: 'o3', user: 'ann', kind: 'order', n: 30 }]);
  await expectCurrent('rc_high_value', select, 'right after ann entered');
  expect(await sorted(`SELECT u FROM rc_high_value`)).toEqual(['{"u":"ann"}', '{"u":"bob"}']);
  await post('rc_src', [{ id: 'r1', user: 'bob', kind: 'refund', n: 60 }]);
  await expectCurrent('rc_high_value', select, 'right after bob left by a refund');
  await post('rc_src', [{ id: 'x1', user: 'ann', kind: 'delete' }]);
  await expectCurrent('rc_high_value', select, 'right after a delete request for ann');
  expect(await sorted(`SELECT u FROM rc_high_value`)).toEqual([]);
  await t.server.maintainedViews.settled();
  await expectCurrent('rc_high_value', select, 'after the background refresh');
  expect((await about('rc_high_value')).rebuilt).toBe(before.rebuilt);
});

it("data tests' stored failures are kept by key: unique (GROUP BY … HAVING count(*) > 1) and not_null (a filter)", async () => {
  await pipeline('rd');
  const unique = `SELECT u, count(*) AS n FROM rd_events GROUP BY u HAVING count(*) > 1`;
  const notNull = `SELECT * FROM rd_events WHERE n IS NULL`;
  await t.query(`CREATE MATERIALIZED VIEW rd_unique AS ${unique}`);
  await t.query(`CREATE MATERIALIZED VIEW rd_not_null AS ${notNull}`);
  await post('rd_src', [{ id: 'e1', user: 'ann', n: 1 }, { id: 'e2', user: 'bob' }]);
  await t.server.maintainedViews.settled();
  const before = { unique: await about('rd_unique'), notNull: await about('rd_not_null') };
  expect([before.unique.kind, before.notNull.kind]).toEqual(['view', 'view']);
  await post('rd_src', [{ id: 'e3', user: 'ann', n: 2 }, { id: 'e4', user: 'cid' }]);
  await expectCurrent('rd_unique', unique, 'right after a second row of ann');
  await expectCurrent('rd_not_null', notNull, 'right after a row without n');
  // A later delivery of e2 with n replaces the dedup's row: it leaves the not_null failures.
  await post('rd_src', [{ id: 'e2', user: 'bob', n: 5, a: 'sorts first' }]);
  await expectCurrent('rd_not_null', notNull, 'right after a row got its n');
  await t.server.maintainedViews.settled();
  await expectCurrent('rd_unique', unique, 'after the background refresh');
  await expectCurrent('rd_not_null', notNull, 'after the background refresh');
  // (Seen refreshed whole once in ~10 runs under load: a pass refreshed the view before planning
  // it — the race the last test in this file pins down.)
  expect((await about('rd_unique')).rebuilt).toBe(before.unique.rebuilt);
  expect((await about('rd_not_null')).rebuilt).toBe(before.notNull.rebuilt);
});

it('a view that only filters logs its changes as a multiset: one of two identical rows going is a change for what reads it', async () => {
  await pipeline('re');
  const kinds = `SELECT u, kind FROM re_events WHERE kind IS NOT NULL`;
  const perUser = `SELECT u, count(*) AS n FROM re_kinds GROUP BY u`;
  await t.query(`CREATE MATERIALIZED VIEW re_kinds AS ${kinds}`);
  await t.query(`CREATE MATERIALIZED VIEW re_per_user AS ${perUser}`);
  await post('re_src', [{ id: 'e1', user: 'ann', kind: 'page' }, { id: 'e2', user: 'ann', kind: 'page' }]);
  await t.server.maintainedViews.settled();
  expect((await about('re_kinds')).kind).toBe('view');
  expect((await about('re_per_user')).folds).toBe(true);
  // A later copy of e2 (sorting first) turns one of ann's two identical rows into another.
  await post('re_src', [{ id: 'e2', user: 'ann', kind: 'buy', a: 'sorts first' }]);
  await expectCurrent('re_kinds', kinds, 'right after one of two identical rows changed');
  await expectCurrent('re_per_user', perUser, 'right after one of two identical rows under it changed');
  await t.server.maintainedViews.settled();
  await expectCurrent('re_per_user', perUser, 'after the background refresh');
});

it('one refresh of new keys and of keys whose kept rows change: new rows are logged as gained, changed ones as lost and gained, an exact retry as nothing', async () => {
  await pipeline('rf');
  // What the dedup is, computed fresh; a view folding its groups and one kept by its groups (HAVING) over it.
  const events = `SELECT DISTINCT ON (body->>'id') body->>'id' AS id, body->>'user' AS u, body->>'kind' AS kind, (body->>'n')::int AS n, body->>'day' AS day
    FROM rf_src ORDER BY body->>'id', body::text`;
  const totals = `SELECT e.u, count(*) AS events, sum(e.n) AS total FROM rf_events e GROUP BY e.u`;
  const big = `SELECT e.u, sum(e.n) AS total FROM rf_events e GROUP BY e.u HAVING sum(e.n) >= 10`;
  await t.query(`CREATE MATERIALIZED VIEW rf_totals AS ${totals}`);
  await t.query(`CREATE MATERIALIZED VIEW rf_big AS ${big}`);
  await post('rf_src', [{ id: 'e1', user: 'ann', n: 3 }, { id: 'e2', user: 'bob', n: 4 }]);
  await t.server.maintainedViews.settled();
  const before = { totals: await about('rf_totals'), big: await about('rf_big') };
  expect(before.totals.folds).toBe(true);
  expect(before.big.kind).toBe('view');
  // One delivery: two new ids, a later copy of e1 whose body sorts first (the dedup's row for e1
  // becomes it: n 3 → 9) and an exact retry of e2 (its row stays the same).
  await post('rf_src', [
    { id: 'e3', user: 'ann', n: 5 },
    { id: 'e1', user: 'ann', n: 9, a: 'sorts first' },
    { id: 'e2', user: 'bob', n: 4 },
    { id: 'e4', user: 'cid', n: 11 },
  ]);
  await expectCurrent('rf_events', events, 'right after new keys and a changed key (a keyed catch-up)');
  await expectCurrent('rf_totals', totals, 'right after new keys and a changed key under it');
  await expectCurrent('rf_big', big, 'right after new keys and a changed key under it');
  expect(await sorted(`SELECT u, total FROM rf_big`)).toEqual(['{"u":"ann","total":"14"}', '{"u":"cid","total":"11"}']);
  await t.server.maintainedViews.settled();
  await expectCurrent('rf_totals', totals, 'after the background refresh');
  await expectCurrent('rf_big', big, 'after the background refresh');
  expect((await about('rf_totals')).rebuilt).toBe(before.totals.rebuilt);
  expect((await about('rf_big')).rebuilt).toBe(before.big.rebuilt);
});

it('a view planned after a refresh of it raced ahead (or planned again, as after an upgrade) is refreshed by the same pass, and the next write is caught up by key', async () => {
  // In a whole run a background pass once refreshed a HAVING view between its CREATE and its
  // planning; planning then forgot where its keyed refreshes start without marking it stale, so
  // the next write's catch-up could not key it (a read computed it) and the pass refreshed it whole.
  await pipeline('rp');
  const big = `SELECT e.u, sum(e.n) AS total FROM rp_events e GROUP BY e.u HAVING sum(e.n) >= 10`;
  const totals = `SELECT e.u, count(*) AS events, sum(e.n) AS total FROM rp_events e GROUP BY e.u`;
  await t.query(`CREATE MATERIALIZED VIEW rp_big AS ${big}`);
  await t.query(`CREATE MATERIALIZED VIEW rp_totals AS ${totals}`);
  await post('rp_src', [{ id: 'e1', user: 'ann', n: 3 }, { id: 'e2', user: 'bob', n: 12 }]);
  await t.server.maintainedViews.settled();
  // Planned again, as a server with a newer planner does at start (kept-views.sql, plan_version).
  await t.query(`UPDATE mz_local.maintained_views SET planned = false WHERE view_oid IN ('rp_big'::regclass, 'rp_totals'::regclass, 'rp_events'::regclass)`);
  t.server.maintainedViews.noteCatalogChange();
  await t.server.maintainedViews.settled();
  const before = { big: await about('rp_big'), totals: await about('rp_totals'), events: await about('rp_events') };
  expect([before.big.kind, before.totals.kind, before.events.kind]).toEqual(['view', 'view', 'source']);
  await expectCurrent('rp_big', big, 'after planning again');
  await post('rp_src', [{ id: 'e3', user: 'ann', n: 8 }, { id: 'e4', user: 'cid', n: 1 }]);
  await expectCurrent('rp_big', big, 'right after the first write since (a keyed catch-up)');
  await expectCurrent('rp_totals', totals, 'right after the first write since (a keyed catch-up)');
  await t.server.maintainedViews.settled();
  await expectCurrent('rp_big', big, 'after the background refresh');
  for (const view of ['rp_big', 'rp_totals', 'rp_events'] as const) {
    expect((await about(view)).rebuilt, `${view} refreshed whole after the first write since planning`).toBe(before[view.slice(3) as 'big' | 'totals' | 'events'].rebuilt);
  }
});
