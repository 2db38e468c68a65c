/**
 * Materialize's HTTP SQL API (doc: integrations/http-api) on the local server's HTTP port: the
 * simple and extended request forms, typed JSON values, tags, column descriptions, notices, errors
 * that stop processing (and roll back a simple request's implicit transaction), and the statements
 * the API refuses. Own cases.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/local-server.ts';

let t: TestServer;
let url: string;
beforeAll(async () => {
  t = await startTestServer();
  url = `http://${t.server.host}:${t.server.httpPort}/api/sql`;
});
afterAll(async () => {
  await t?.close();
});

async function sql(body: unknown): Promise<{ status: number; json: { results: Array<Record<string, unknown>> } | undefined; text: string }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, json: response.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : undefined, text };
}

describe('simple requests', () => {
  it('several statements in one string: one result each, rows as typed JSON', async () => {
    const { status, json } = await sql({ query: `SELECT 1 AS one, 'two' AS two, true AS yes, 2.50::numeric AS n, '{"b": 1, "a": [1.0]}'::jsonb AS j; SELECT 2 AS x` });
    expect(status).toBe(200);
    expect(json!.results).toEqual([
      {
        tag: 'SELECT 1',
        rows: [[1, 'two', true, '2.5', { a: [1], b: 1 }]],
        desc: {
          columns: [
            { name: 'one', type_oid: 23, type_len: 4, type_mod: -1 },
            { name: 'two', type_oid: 25, type_len: -1, type_mod: -1 },
            { name: 'yes', type_oid: 16, type_len: 1, type_mod: -1 },
            { name: 'n', type_oid: 1700, type_len: -1, type_mod: -1 },
            { name: 'j', type_oid: 3802, type_len: -1, type_mod: -1 },
          ],
        },
        notices: [],
      },
      { tag: 'SELECT 1', rows: [[2]], desc: { columns: [{ name: 'x', type_oid: 23, type_len: 4, type_mod: -1 }] }, notices: [] },
    ]);
  });

  it('DDL and DML answer ok with Materialize tags; an error stops the request and rolls it back', async () => {
    const created = await sql({ query: `CREATE TABLE api_t (a int); INSERT INTO api_t VALUES (1), (2)` });
    expect(created.json!.results).toEqual([
      { ok: 'CREATE TABLE', notices: [] },
      { ok: 'INSERT 0 2', notices: [] },
    ]);
    const failed = await sql({ query: `INSERT INTO api_t VALUES (3); SELECT * FROM no_such_thing; INSERT INTO api_t VALUES (4)` });
    expect(failed.json!.results).toEqual([
      { ok: 'INSERT 0 1', notices: [] },
      { error: { message: "unknown catalog item 'no_such_thing'", code: '42P01' }, notices: [] },
    ]);
    expect(await t.query(`SELECT a FROM api_t ORDER BY a`)).toEqual([{ a: 1 }, { a: 2 }]);
  });

  it('Materialize statements work as over the wire', async () => {
    const { json } = await sql({ query: `CREATE CLUSTER api_cluster (SIZE '25cc'); SHOW CLUSTER REPLICAS WHERE cluster = 'api_cluster'` });
    expect(json!.results[0]).toEqual({ ok: 'CREATE CLUSTER', notices: [] });
    expect(json!.results[1]!.rows).toEqual([['api_cluster', 'r1', '25cc', true, '']]);
  });
});

describe('extended requests', () => {
  it('one statement per query, text parameters (null included), an explicit transaction', async () => {
    const { json } = await sql({
      queries: [
        { query: 'BEGIN' },
        { query: 'INSERT INTO api_t VALUES ($1), ($2)', params: ['10', null] },
        { query: 'COMMIT' },
        { query: 'SELECT count(*) AS n, count(a) AS with_values FROM api_t WHERE a IS NULL OR a >= $1', params: ['10'] },
      ],
    });
    expect(json!.results).toEqual([
      { ok: 'BEGIN', notices: [] },
      { ok: 'INSERT 0 2', notices: [] },
      { ok: 'COMMIT', notices: [] },
      { tag: 'SELECT 1', rows: [[2, 1]], desc: expect.any(Object), notices: [] },
    ]);
  });

  it('a transaction left open does not outlive its request', async () => {
    await sql({ queries: [{ query: 'BEGIN' }, { query: `INSERT INTO api_t VALUES ('99')` }] });
    expect(await t.query(`SELECT count(*)::int AS n FROM api_t WHERE a = 99`)).toEqual([{ n: 0 }]);
    // And the server is not left waiting on it: a webhook-free write goes through at once.
    expect((await sql({ query: `INSERT INTO api_t VALUES (100)` })).json!.results).toEqual([{ ok: 'INSERT 0 1', notices: [] }]);
  });

  it('notices come back with their severity', async () => {
    const { json } = await sql({ queries: [{ query: 'DROP TABLE IF EXISTS never_existed' }] });
    expect(json!.results).toEqual([{ ok: 'DROP TABLE', notices: [{ severity: 'notice', message: 'table "never_existed" does not exist, skipping' }] }]);
  });
});

describe('refusals', () => {
  it.each([
    [{ query: 'SUBSCRIBE TO api_t' }, 'unsupported via this API: SUBSCRIBE'],
    [{ query: 'COPY api_t TO STDOUT' }, 'unsupported via this API: COPY'],
    [{ queries: [{ query: 'SELECT 1; SELECT 2' }] }, 'queries[0] must contain exactly one statement, not 2'],
    [{ queries: [{ query: 'SELECT $1', params: [1] }] }, 'queries[0].params must be an array of strings and nulls (the API does not accept JSON numbers)'],
    [{ nothing: true }, 'request body must have "query" (a string) or "queries" (an array)'],
  ])('%j → 400 %s', async (body, message) => {
    expect(await sql(body)).toMatchObject({ status: 400, text: message });
  });

  it('a body that is not JSON is a 400', async () => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'SELECT 1' });
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/^request body is not JSON/);
  });
});
