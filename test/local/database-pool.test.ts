/**
 * The test suite's pool of databases (test/helpers/database-pool.ts, database-reset.ts): a server
 * started on a database another server used sees what a server on a newly opened database sees,
 * and a change the reset cannot undo keeps the database from being lent again.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WorkerDatabase } from '../../scripts/local/engine/worker-database.ts';
import { startLocalServer, type LocalServer } from '../../scripts/local/local-server.ts';
import { borrowDatabase, poolCounts, TEST_SHARED_BUFFERS } from '../helpers/database-pool.ts';
import { resetToFresh, snapshotFresh, type FreshState } from '../helpers/database-reset.ts';
import { hmacHex, post, startTestServer } from '../helpers/local-server.ts';

/** What a client can see of a server's state: catalog, settings, the next object's id. */
async function observed(url: string): Promise<Record<string, unknown>> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    const rows = async (sql: string) => (await client.query(sql)).rows;
    const seen: Record<string, unknown> = {
      schemas: await rows('SHOW SCHEMAS'),
      objects: await rows(`SELECT id, name, type FROM mz_catalog.mz_objects WHERE id LIKE 'u%' ORDER BY id`),
      clusters: await rows('SHOW CLUSTERS'),
      secrets: await rows('SHOW SECRETS'),
      sources: await rows('SHOW SOURCES'),
      cluster: await rows('SHOW cluster'),
      timeZone: await rows('SHOW TimeZone'),
      statementTimeout: await rows('SHOW statement_timeout'),
      maxResultSize: await rows('SHOW max_result_size'),
    };
    // A new object's id: user ids follow PostgreSQL's object ids, a counter no reset moves back (as
    // Materialize never hands out an id twice either), so only its form is compared.
    await client.query('CREATE TABLE pool_probe (n int)');
    const [probe] = await rows(`SELECT id FROM mz_catalog.mz_tables WHERE name = 'pool_probe'`);
    seen.nextIdForm = /^u\d+$/.test(String(probe?.id));
    await client.query('DROP TABLE pool_probe');
    return seen;
  } finally {
    await client.end();
  }
}

/** Leaves behind as much as a test could: objects of every kind, data, kept views, settings, session state. */
async function useHard(server: LocalServer): Promise<void> {
  const client = new pg.Client(server.pgUrl);
  await client.connect();
  const run = (sql: string) => client.query(sql);
  await run(`CREATE SCHEMA scratch`);
  await run(`CREATE TABLE scratch.orders (id int, plan text)`);
  await run(`INSERT INTO scratch.orders VALUES (1, 'pro'), (2, 'free'), (3, 'pro')`);
  await run(`CREATE TABLE plain (id int PRIMARY KEY, note text)`);
  await run(`CREATE MATERIALIZED VIEW plans AS SELECT plan, count(*) AS n FROM scratch.orders GROUP BY plan`);
  await run(`CREATE VIEW pro_plans AS SELECT * FROM plans WHERE plan = 'pro'`);
  await run(`CREATE DEFAULT INDEX ON pro_plans`);
  await run(`CREATE SECRET hook_secret AS 'not for the next test'`);
  await run(`CREATE CLUSTER side (SIZE = '50cc')`);
  await run(`CREATE SOURCE hooks FROM WEBHOOK BODY FORMAT JSON CHECK (WITH (BODY BYTES, HEADERS, SECRET hook_secret BYTES AS key) constant_time_eq(decode(headers->'x-signature', 'hex'), hmac(body, key, 'sha1')))`);
  const body = JSON.stringify({ event: 'Signed Up' });
  expect((await post(server.webhookUrl('hooks'), body, { 'x-signature': hmacHex('not for the next test', body) })).status).toBe(200);
  expect((await run(`SELECT * FROM pro_plans`)).rows).toEqual([{ plan: 'pro', n: '2' }]);
  await run(`SET cluster = side`);
  await run(`SET TimeZone = 'America/New_York'`);
  await run(`SET statement_timeout = '750ms'`);
  await run(`SET max_result_size = '1MB'`);
  await run(`PREPARE named_plan AS SELECT 1`);
  await run(`BEGIN`);
  await run(`DECLARE open_cursor CURSOR FOR SELECT * FROM scratch.orders`);
  // Left in a transaction, with a cursor open: the server's stop ends the connection.
  await client.end();
}

/**
 * A database of this file's own, opened (not from the pool): the reference a reset database is
 * compared with, then the one the reset's own tests dirty for good.
 */
let own: WorkerDatabase;
let fresh: FreshState;
beforeAll(async () => {
  own = await WorkerDatabase.open({ sharedBuffers: TEST_SHARED_BUFFERS });
  fresh = await snapshotFresh(own);
});
afterAll(async () => {
  await own?.close();
});

describe('the test database pool', () => {
  it('lends a database another server used back as a newly opened one would be seen', async () => {
    // A server on the newly opened database, lent for once with nothing to give back to.
    const reference = await startLocalServer({ memory: true, pgPort: 0, httpPort: 0, database: { db: own, onLost: () => {}, giveBack: async () => {} } });
    let expected: Record<string, unknown>;
    try {
      expected = await observed(reference.pgUrl);
    } finally {
      await reference.stop();
    }

    const first = await startLocalServer({ memory: true, pgPort: 0, httpPort: 0, database: await borrowDatabase() });
    await useHard(first);
    const resetsBefore = poolCounts.reset;
    const openedBefore = poolCounts.opened;
    await first.stop();
    expect(poolCounts.reset).toBe(resetsBefore + 1);

    const second = await startLocalServer({ memory: true, pgPort: 0, httpPort: 0, database: await borrowDatabase() });
    try {
      expect(poolCounts.opened).toBe(openedBefore);
      expect(await observed(second.pgUrl)).toEqual(expected);
      // The webhook source is gone with its rows, not merely hidden.
      const hooks = await post(second.webhookUrl('hooks'), '{}');
      expect(hooks.status).toBe(404);
    } finally {
      await second.stop();
    }
  });

  it('refuses calls through a loan once its server stopped, as a closed database would', async () => {
    const server = await startLocalServer({ memory: true, pgPort: 0, httpPort: 0, database: await borrowDatabase() });
    const db = server.db;
    await server.stop();
    await expect(db.query('SELECT 1')).rejects.toThrow('its database was given back to the test pool');
    // Nor can it close the database, which another server may hold by then.
    await expect(db.close()).rejects.toThrow('its database was given back to the test pool');
    const next = await startTestServer();
    try {
      expect(await next.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      await next.close();
    }
  });

  it('closes a database whose reset leaves a difference, saying what differs, and lends it no more', async () => {
    const said = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const server = await startLocalServer({ memory: true, pgPort: 0, httpPort: 0, database: await borrowDatabase() });
      // Behind the server's back: a comment on an object of the fresh database, which no reset drops.
      await server.db.query(`COMMENT ON SCHEMA mz_local IS 'touched by a test'`);
      const closedBefore = poolCounts.closed;
      await server.stop();
      expect(poolCounts.closed).toBe(closedBefore + 1);
      expect(said.mock.calls.map(([text]) => String(text)).join('')).toContain('a reset left pg_description unlike a fresh database');
    } finally {
      said.mockRestore();
    }
    // Whichever database the next server gets (an idle one, or one opened now), it is not that one.
    const next = await startTestServer();
    try {
      expect(await next.query(`SELECT obj_description('mz_local'::regnamespace) AS comment`)).toEqual([{ comment: null }]);
    } finally {
      await next.close();
    }
  });
});

describe('a reset', () => {
  it("finds nothing left after a server's work it undoes", async () => {
    // The reference server above ran on this database: its settings, a table made and dropped.
    expect(await resetToFresh(own, fresh)).toEqual([]);
    expect(await resetToFresh(own, fresh)).toEqual([]);
  });

  it('undoes what it knows how to: objects of every kind created, rows written, sequences moved, session state', async () => {
    await own.exec(`
      CREATE ROLE pool_probe_owner;
      CREATE TABLE mz_local.pool_probe_rows (id serial PRIMARY KEY, note text);
      CREATE TABLE public.pool_probe_identity (id bigint GENERATED ALWAYS AS IDENTITY, note text);
      CREATE TYPE public.pool_probe_span AS RANGE (subtype = bigint);
      CREATE TYPE public.pool_probe_pair AS (a int, b text);
      ALTER TABLE mz_local.pool_probe_rows OWNER TO pool_probe_owner;
      CREATE TYPE mz_local.pool_probe_mood AS ENUM ('calm', 'busy');
      CREATE DOMAIN public.pool_probe_positive AS int CHECK (VALUE > 0);
      CREATE FUNCTION mz_local.pool_probe_fn() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
      CREATE TRIGGER pool_probe_trigger BEFORE INSERT ON mz_local.settings FOR EACH ROW EXECUTE FUNCTION mz_local.pool_probe_fn();
      CREATE INDEX pool_probe_index ON mz_local.settings (value);
      INSERT INTO mz_local.settings (key, value) VALUES ('pool_probe', 'x');
      UPDATE mz_local.clusters SET name = name || '_renamed';
      SELECT nextval('mz_local.item_ids');
      CREATE TEMP TABLE pool_probe_temp (n int);
      SET TimeZone = 'Asia/Tokyo';
      PREPARE pool_probe_plan AS SELECT 1;
    `);
    // A message of its own: a BEGIN in the one above would take the statements before it into its
    // transaction, and the reset's ROLLBACK would undo them without any drop.
    await own.exec(`BEGIN; DECLARE pool_probe_cursor CURSOR WITH HOLD FOR SELECT 1`);
    expect(own.isInTransaction()).toBe(true);
    expect(await resetToFresh(own, fresh)).toEqual([]);
    expect(own.isInTransaction()).toBe(false);
  });

  it('puts back a table of the local catalog written and emptied again: rows as before, pages not', async () => {
    const size = async () => (await own.query<{ bytes: string }>(`SELECT pg_relation_size('mz_local.settings') AS bytes`)).rows[0]!.bytes;
    const before = await size();
    await own.exec(`INSERT INTO mz_local.settings (key, value) SELECT 'pool_probe_' || g, 'x' FROM generate_series(1, 3000) AS g; DELETE FROM mz_local.settings WHERE key LIKE 'pool\\_probe\\_%'`);
    expect(Number(await size())).toBeGreaterThan(Number(before));
    expect(await resetToFresh(own, fresh)).toEqual([]);
    expect(await size()).toBe(before);
  });

  // Each a change to something the fresh database had, which the reset does not know to undo:
  // the fingerprint must see it whatever the reset did. (They add up: each case checks its own part.)
  it.each([
    ['a column added to a table of the local catalog', `ALTER TABLE mz_local.settings ADD COLUMN note text`, 'pg_attribute'],
    ['a privilege granted on a schema', `GRANT USAGE ON SCHEMA mz_local TO PUBLIC`, 'pg_namespace'],
    ['a setting given to the database', `ALTER DATABASE materialize SET work_mem = '8MB'`, 'pg_db_role_setting'],
    ['a comment on a view of the catalog', `COMMENT ON VIEW mz_catalog.mz_objects IS 'touched'`, 'pg_description'],
  ])('sees %s', async (_what, sql, part) => {
    await own.exec(sql);
    expect(await resetToFresh(own, fresh)).toContain(part);
  });

  it('sees a function of the local catalog altered', async () => {
    const { rows } = await own.query<{ fn: string }>(`SELECT oid::regprocedure::text AS fn FROM pg_proc WHERE pronamespace = 'mz_local'::regnamespace AND prokind = 'f' ORDER BY oid LIMIT 1`);
    await own.exec(`ALTER FUNCTION ${rows[0]!.fn} COST 7`);
    expect(await resetToFresh(own, fresh)).toContain('pg_proc');
  });
});
