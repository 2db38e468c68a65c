/**
 * A session per connection (issue 29, part 2): several connections interleave SET/RESET/SHOW,
 * transactions, prepared statements and cursors, and each sees what a separate session would —
 * as on Materialize, whatever PGlite's one session underneath. The server's own work (webhook
 * appends, kept-view refreshes) runs under the server's settings, never a client's.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/local-server.ts';

let t: TestServer;
const opened: pg.Client[] = [];

beforeAll(async () => {
  t = await startTestServer({ refreshQuietMs: 20, idleInTransactionTimeoutMs: 10_000 });
}, 60_000);

afterEach(async () => {
  await Promise.all(opened.splice(0).map((client) => client.end().catch(() => {})));
});

afterAll(async () => {
  await t?.close();
});

async function connect(options: Partial<pg.ClientConfig> = {}): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: t.server.pgUrl, ...options });
  await client.connect();
  opened.push(client);
  return client;
}

async function show(client: pg.Client, name: string): Promise<string> {
  const result = await client.query(`SHOW ${name}`);
  return String(Object.values(result.rows[0] as Record<string, unknown>)[0]);
}

async function errorOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the statement to fail');
}

/** Every setting a client sets in these tests, as a fresh session shows it. */
const SETTINGS: Array<[name: string, value: string, shown: string]> = [
  ['search_path', 'mz_internal', 'mz_internal'],
  ['cluster', 'other_cluster', 'other_cluster'],
  ['database', 'other_db', 'other_db'],
  ['TimeZone', `'Asia/Tokyo'`, 'Asia/Tokyo'],
  ['DateStyle', `'SQL, DMY'`, 'SQL, DMY'],
  ['IntervalStyle', 'iso_8601', 'iso_8601'],
  ['application_name', `'first app'`, 'first app'],
  ['statement_timeout', `'5s'`, '5s'],
  ['transaction_isolation', `'serializable'`, 'serializable'],
  ['extra_float_digits', '1', '1'],
  ['max_result_size', `'2MB'`, '2MB'],
];

describe('settings', () => {
  it('what one connection SETs, another does not see; a third setting one does not change the first', async () => {
    const [a, b, c] = [await connect(), await connect(), await connect()];
    const defaults = new Map<string, string>();
    for (const [name] of SETTINGS) defaults.set(name, await show(b, name));
    expect(Object.fromEntries(defaults)).toMatchObject({ search_path: 'public', cluster: 'quickstart', database: 'materialize', TimeZone: 'UTC', transaction_isolation: 'strict serializable' });

    for (const [name, value] of SETTINGS) await a.query(`SET ${name} = ${value}`);
    for (const [name, , shown] of SETTINGS) {
      expect(await show(a, name), name).toBe(shown);
      expect(await show(b, name), name).toBe(defaults.get(name));
    }
    await c.query(`SET TimeZone = 'UTC'`);
    await c.query(`SET search_path = public`);
    expect(await show(a, 'TimeZone')).toBe('Asia/Tokyo');
    expect(await show(a, 'search_path')).toBe('mz_internal');
    // What a setting does follows it: Tokyo's time on a, UTC on b; mz_internal's names resolve on a only.
    const noon = `SELECT '2026-01-01 12:00:00+00'::timestamptz::text AS at`;
    expect((await a.query(noon)).rows[0].at).toBe('01/01/2026 21:00:00 JST');
    expect((await b.query(noon)).rows[0].at).toBe('2026-01-01 12:00:00+00');
    await a.query(`SELECT count(*) FROM mz_hydration_statuses`);
    expect(await errorOf(b.query(`SELECT count(*) FROM mz_hydration_statuses`))).toMatch(/mz_hydration_statuses/);
    // Materialize's catalog still resolves unqualified on a (mz_catalog stays on its path).
    await a.query(`SELECT count(*) FROM mz_clusters`);
  });

  it('RESET (each setting, cluster and every Materialize variable, RESET ALL, SET … TO DEFAULT) goes back to the defaults of its own connection only', async () => {
    const [a, b] = [await connect(), await connect()];
    for (const [name, value] of SETTINGS) {
      await a.query(`SET ${name} = ${value}`);
      await b.query(`SET ${name} = ${value}`);
    }
    const fresh = await connect();
    for (const [name] of SETTINGS) {
      await a.query(`RESET ${name}`);
      expect(await show(a, name), `RESET ${name}`).toBe(await show(fresh, name));
    }
    for (const [name, , shown] of SETTINGS) expect(await show(b, name), name).toBe(shown);
    await b.query(`SET cluster TO DEFAULT`);
    expect(await show(b, 'cluster')).toBe('quickstart');
    await b.query(`RESET ALL`);
    for (const [name] of SETTINGS) expect(await show(b, name), `RESET ALL: ${name}`).toBe(await show(fresh, name));
    // The session's role and Materialize's catalog survive RESET ALL.
    expect((await b.query(`SELECT current_user AS who`)).rows[0].who).toBe('materialize');
    await b.query(`SELECT count(*) FROM mz_clusters`);
    expect(await errorOf(a.query(`SET transaction_isolation = 'read uncommitted'`))).toMatch(/invalid value for parameter "transaction_isolation"/);
  });

  it('a transaction: only its connection runs inside it, SET LOCAL ends with it, a rolled-back SET is undone', async () => {
    const [a, b] = [await connect(), await connect()];
    await a.query(`SET TimeZone = 'Europe/Paris'`);
    await a.query(`BEGIN`);
    await a.query(`SET LOCAL TimeZone = 'Asia/Tokyo'`);
    const bShows = show(b, 'TimeZone');
    expect(await show(a, 'TimeZone')).toBe('Asia/Tokyo');
    await a.query(`COMMIT`);
    expect(await bShows).toBe('UTC');
    expect(await show(a, 'TimeZone')).toBe('Europe/Paris');
    await a.query(`BEGIN`);
    await a.query(`SET search_path = mz_internal`);
    await a.query(`ROLLBACK`);
    expect(await show(a, 'search_path')).toBe('public');
    await b.query(`BEGIN; SET application_name = 'b in a transaction'; COMMIT`);
    expect(await show(b, 'application_name')).toBe('b in a transaction');
    expect(await show(a, 'application_name')).toBe('');
  });

  it("a connection's statement_timeout stops its own statements only", async () => {
    const [a, b] = [await connect(), await connect()];
    await a.query(`SET statement_timeout = 300`);
    await b.query(`SELECT pg_sleep(0.6)`);
    expect(await errorOf(a.query(`SELECT pg_sleep(0.6)`))).toMatch(/statement timeout/);
    await b.query(`SELECT pg_sleep(0.6)`);
  });

  it("the server's own work runs under its settings: a client's search_path does not break webhook appends", async () => {
    const a = await connect();
    await t.query(`CREATE SOURCE iso_events FROM WEBHOOK BODY FORMAT JSON`);
    await a.query(`SET search_path = mz_internal`);
    await a.query(`SET TimeZone = 'Asia/Tokyo'`);
    await a.query(`SELECT 1`);
    const response = await fetch(t.server.webhookUrl('iso_events'), { method: 'POST', body: '{"n": 1}' });
    expect(response.status).toBe(200);
    expect(await t.query(`SELECT count(*)::int AS n FROM iso_events`)).toEqual([{ n: 1 }]);
  });

  it("a connection's cluster survives the server's work between its statements (left in place there), and never reaches another connection", async () => {
    const [a, b] = [await connect(), await connect()];
    await t.query(`CREATE CLUSTER iso_cluster (SIZE = '25cc')`);
    await t.query(`CREATE SOURCE iso_cluster_events FROM WEBHOOK BODY FORMAT JSON`);
    await a.query(`SET cluster = iso_cluster`);
    // Server work between a's statements (an append, its refresh), then b's, then a's again.
    expect((await fetch(t.server.webhookUrl('iso_cluster_events'), { method: 'POST', body: '{"n": 1}' })).status).toBe(200);
    await a.query(`CREATE MATERIALIZED VIEW iso_on_a AS SELECT count(*) AS n FROM iso_cluster_events`);
    await b.query(`CREATE MATERIALIZED VIEW iso_on_b AS SELECT count(*) AS n FROM iso_cluster_events`);
    expect((await fetch(t.server.webhookUrl('iso_cluster_events'), { method: 'POST', body: '{"n": 2}' })).status).toBe(200);
    await t.server.maintainedViews.settled();
    await a.query(`CREATE INDEX iso_on_a_index ON iso_on_a (n)`);
    expect([await show(a, 'cluster'), await show(b, 'cluster')]).toEqual(['iso_cluster', 'quickstart']);
    const placed = await t.query<{ name: string; cluster: string }>(
      `SELECT o.name, c.name AS cluster FROM (SELECT name, cluster_id FROM mz_catalog.mz_materialized_views UNION ALL SELECT name, cluster_id FROM mz_catalog.mz_indexes) o
         JOIN mz_catalog.mz_clusters c ON c.id = o.cluster_id WHERE o.name LIKE 'iso_on_%' ORDER BY 1`,
    );
    expect(placed).toEqual([
      { name: 'iso_on_a', cluster: 'iso_cluster' },
      { name: 'iso_on_a_index', cluster: 'iso_cluster' },
      { name: 'iso_on_b', cluster: 'quickstart' },
    ]);
    expect((await a.query(`SELECT n FROM iso_on_a`)).rows).toEqual([{ n: '2' }]);
  });
});

describe('prepared statements, portals and cursors', () => {
  it('two connections prepare statements of the same names (protocol and PREPARE) and each runs its own', async () => {
    const [a, b] = [await connect(), await connect()];
    const first = await a.query({ name: 's1', text: 'SELECT $1::int + 1 AS n', values: [1] });
    const second = await b.query({ name: 's1', text: `SELECT 'b' || $1::text AS n`, values: ['x'] });
    expect(first.rows).toEqual([{ n: 2 }]);
    expect(second.rows).toEqual([{ n: 'bx' }]);
    expect((await a.query({ name: 's1', text: 'SELECT $1::int + 1 AS n', values: [41] })).rows).toEqual([{ n: 42 }]);
    await a.query(`PREPARE q AS SELECT 'a' AS who`);
    await b.query(`PREPARE q AS SELECT 'b' AS who`);
    expect((await a.query(`EXECUTE q`)).rows).toEqual([{ who: 'a' }]);
    expect((await b.query(`EXECUTE q`)).rows).toEqual([{ who: 'b' }]);
    // DEALLOCATE ALL and DISCARD ALL reach their own connection's statements only.
    expect((await a.query(`DEALLOCATE ALL`)).command).toBe('DEALLOCATE');
    expect(await errorOf(a.query(`EXECUTE q`))).toBe('prepared statement "q" does not exist');
    expect((await b.query(`EXECUTE q`)).rows).toEqual([{ who: 'b' }]);
    expect((await b.query({ name: 's1', text: `SELECT 'b' || $1::text AS n`, values: ['y'] })).rows).toEqual([{ n: 'by' }]);
    await a.query(`PREPARE q AS SELECT 'a again' AS who`);
    await b.query(`DISCARD ALL`);
    expect(await errorOf(b.query(`EXECUTE q`))).toBe('prepared statement "q" does not exist');
    expect((await a.query(`EXECUTE q`)).rows).toEqual([{ who: 'a again' }]);
    await b.query(`PREPARE q AS SELECT 'b again' AS who`);
    await b.query(`DEALLOCATE q`);
    expect((await a.query(`EXECUTE q`)).rows).toEqual([{ who: 'a again' }]);
  });

  it('two connections hold cursors of the same name; FETCH, MOVE and CLOSE reach their own', async () => {
    const [a, b] = [await connect(), await connect()];
    await a.query(`BEGIN; DECLARE c CURSOR WITH HOLD FOR SELECT n FROM generate_series(1, 5) AS n; COMMIT`);
    await b.query(`BEGIN; DECLARE c CURSOR WITH HOLD FOR SELECT n FROM generate_series(101, 105) AS n; COMMIT`);
    expect((await a.query(`FETCH 2 FROM c`)).rows).toEqual([{ n: 1 }, { n: 2 }]);
    expect((await b.query(`FETCH NEXT c`)).rows).toEqual([{ n: 101 }]);
    await b.query(`MOVE FORWARD 2 IN c`);
    expect((await b.query(`FETCH c`)).rows).toEqual([{ n: 104 }]);
    expect((await a.query(`FETCH c`)).rows).toEqual([{ n: 3 }]);
    await a.query(`CLOSE ALL`);
    expect(await errorOf(a.query(`FETCH c`))).toBe('cursor "c" does not exist');
    expect((await b.query(`FETCH c`)).rows).toEqual([{ n: 105 }]);
    await b.query(`CLOSE c`);
    // Inside a transaction, and WHERE CURRENT OF.
    await t.query(`CREATE TABLE iso_rows (n int)`);
    await t.query(`INSERT INTO iso_rows VALUES (1), (2)`);
    await a.query(`BEGIN`);
    await a.query(`DECLARE c CURSOR FOR SELECT n FROM iso_rows ORDER BY n FOR UPDATE`);
    await a.query(`FETCH c`);
    await a.query(`UPDATE iso_rows SET n = 10 WHERE CURRENT OF c`);
    await a.query(`COMMIT`);
    expect(await t.query(`SELECT n FROM iso_rows ORDER BY n`)).toEqual([{ n: 2 }, { n: 10 }]);
  });
});

describe("the server's own work", () => {
  it("a client's TimeZone does not change what a kept view computes (issue 30)", async () => {
    await t.query(`CREATE SOURCE iso_tz FROM WEBHOOK BODY FORMAT JSON ARRAY`);
    const select = `SELECT body->>'kind' AS kind, count(DISTINCT date_trunc('day', (body->>'at')::timestamptz)) AS days, count(*) AS n FROM iso_tz GROUP BY 1`;
    await t.query(`CREATE MATERIALIZED VIEW iso_tz_days AS ${select}`);
    const post = async (body: unknown) => {
      const response = await fetch(t.server.webhookUrl('iso_tz'), { method: 'POST', body: JSON.stringify(body) });
      expect(response.status).toBe(200);
    };
    const utc = await connect();
    await post([{ kind: 'k', at: '2026-01-01T10:00:00Z' }]);
    await t.server.maintainedViews.settled();
    const tokyo = await connect();
    await tokyo.query(`SET TimeZone = 'Asia/Tokyo'`);
    // 20:00 UTC is the next day in Tokyo, the same day in UTC.
    await post([{ kind: 'k', at: '2026-01-01T20:00:00Z' }]);
    // Tokyo reads right after the write (its catch-up folds the new row), then the background refresh.
    await tokyo.query(`SELECT days FROM iso_tz_days`);
    await post([{ kind: 'k', at: '2026-01-01T22:00:00Z' }]);
    await tokyo.query(`SELECT 1`);
    await t.server.maintainedViews.settled();
    expect((await utc.query(`SELECT days::int AS days, n::int AS n FROM iso_tz_days`)).rows).toEqual([{ days: 1, n: 3 }]);
    expect((await utc.query(`SELECT days::int AS days, n::int AS n FROM (${select}) AS fresh`)).rows).toEqual([{ days: 1, n: 3 }]);
  });
});
