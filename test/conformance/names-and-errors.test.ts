/**
 * Name resolution and error texts as in Materialize: catalog relations found without a schema
 * (mz_catalog before the search path, mz_internal never implicitly), and a missing relation,
 * schema or database reported as `unknown catalog item / schema / database 'x'` from any statement,
 * over the simple and the extended protocol. Own cases.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/local-server.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
  await t.sql.query(`CREATE SOURCE named_hook FROM WEBHOOK BODY FORMAT TEXT`);
});
afterAll(async () => {
  await t?.close();
});

it('mz_catalog relations resolve unqualified; mz_internal only qualified; objects are still created in public', async () => {
  expect(await t.query(`SELECT name FROM mz_sources`)).toEqual([{ name: 'named_hook' }]);
  expect(await t.query(`SELECT name FROM mz_clusters WHERE name = 'quickstart'`)).toEqual([{ name: 'quickstart' }]);
  await expect(t.sql.query(`SELECT * FROM mz_webhook_sources`)).rejects.toThrow("unknown catalog item 'mz_webhook_sources'");
  expect(await t.query(`SELECT name FROM mz_internal.mz_webhook_sources`)).toEqual([{ name: 'named_hook' }]);
  await t.sql.query(`CREATE VIEW where_am_i AS SELECT 1 AS one`);
  expect(await t.query(`SELECT s.name FROM mz_views v JOIN mz_schemas s ON s.id = v.schema_id WHERE v.name = 'where_am_i'`)).toEqual([{ name: 'public' }]);
});

it('SET search_path keeps the catalog reachable', async () => {
  await t.sql.query(`CREATE SCHEMA other`);
  await t.sql.query(`SET search_path = other`);
  try {
    expect(await t.query(`SHOW search_path`)).toEqual([{ search_path: 'other' }]);
    expect(await t.query(`SELECT count(*)::int AS n FROM mz_sources`)).toEqual([{ n: 1 }]);
  } finally {
    await t.sql.query(`SET search_path = public`);
  }
});

it.each([
  [`SELECT * FROM missing_thing`, "unknown catalog item 'missing_thing'", '42P01'],
  [`INSERT INTO missing_thing VALUES (1)`, "unknown catalog item 'missing_thing'", '42P01'],
  [`CREATE VIEW nowhere.v AS SELECT 1 AS one`, "unknown schema 'nowhere'", '3F000'],
  [`SELECT * FROM public.missing_thing`, "unknown catalog item 'public.missing_thing'", '42P01'],
  [`CREATE VIEW v_missing AS SELECT * FROM missing_thing`, "unknown catalog item 'missing_thing'", '42P01'],
  [`SELECT * FROM otherdb.public.thing`, "unknown database 'otherdb'", '0A000'],
])('%s → %s', async (sql, message, code) => {
  const error = (await t.sql.query(sql).catch((caught: Error) => caught)) as Error & { code?: string };
  expect([error.message, error.code]).toEqual([message, code]);
});

it('over the extended protocol too', async () => {
  const error = (await t.sql.query(`SELECT * FROM missing_thing WHERE 1 = $1`, [1]).catch((caught: Error) => caught)) as Error;
  expect(error.message).toBe("unknown catalog item 'missing_thing'");
});
