/**
 * The drivers of Materialize's client-library pages against one local server:
 * - node-postgres (pg): parameters (the extended protocol), SUBSCRIBE through DECLARE/FETCH and as a
 *   statement of its own over the extended protocol, the catalog as Materialize shows it, and a
 *   refused statement (a regex pattern too large to compile) leaving the connection in step.
 * - Python (Debian's python3-psycopg2 and python3-psycopg), the patterns of Materialize's Python
 *   guide: parameters, binary results, DECLARE/FETCH, and psycopg 3's `cur.stream("SUBSCRIBE …")`
 *   over the extended protocol in single-row mode. The scripts (scripts/*.py) print JSON.
 * - PgJDBC (Debian's libpgjava), a driver that uses server-side prepared statements by default:
 *   scripts/JdbcExample.java, run with java's single-file launcher, reads the version it is told,
 *   runs a PreparedStatement past the driver's prepareThreshold (a named statement on the server),
 *   reads a SUBSCRIBE with DECLARE/FETCH with autocommit off (the driver sends BEGIN in the same
 *   batch as DECLARE) and goes on after a refused statement.
 * A driver not installed here skips its tests and says which package brings it (.ci/run installs them).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/local-server.ts';
import { missing, PGJDBC_JAR, PYTHON, reportSkip, run } from './clients.ts';

const scripts = path.join(path.dirname(fileURLToPath(import.meta.url)), 'scripts');
const skipPsycopg2 = reportSkip('psycopg2', missing.psycopg2());
const skipPsycopg = reportSkip('psycopg 3', missing.psycopg());
const skipJdbc = reportSkip('JDBC', missing.jdbc());
let t: TestServer;
let client: pg.Client;

beforeAll(async () => {
  t = await startTestServer();
  await t.sql.query(`CREATE TABLE js_items (id int, name text)`);
  await t.sql.query(`INSERT INTO js_items VALUES (1, 'one')`);
  await t.sql.query(`CREATE MATERIALIZED VIEW js_names AS SELECT DISTINCT name FROM js_items`);
  await t.sql.query(`CREATE TABLE py_items (id int, name text)`);
  await t.sql.query(`CREATE TABLE java_items (id int, name text)`);
  await t.sql.query(`INSERT INTO java_items VALUES (1, 'one')`);
  client = new pg.Client(t.server.pgUrl);
  await client.connect();
});

afterAll(async () => {
  await client?.end().catch(() => {});
  await t?.close();
});

describe('node-postgres', () => {
  it('is told server_version 9.5.0 at startup (ParameterStatus)', async () => {
    const other = new pg.Client(t.server.pgUrl);
    const reported: Record<string, string> = {};
    const connection = (other as unknown as { connection: { on(event: string, listener: (message: { parameterName: string; parameterValue: string }) => void): void } }).connection;
    connection.on('parameterStatus', (message) => (reported[message.parameterName] = message.parameterValue));
    await other.connect();
    await other.end();
    expect(reported.server_version).toBe('9.5.0');
  });

  it('parameters and the catalog as Materialize shows it, over the extended protocol', async () => {
    const result = await client.query(
      `SELECT c.relname, c.relkind FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname LIKE $2 ORDER BY 1`,
      ['public', 'js_%'],
    );
    expect(result.rows).toEqual([
      { relname: 'js_items', relkind: 'r' },
      { relname: 'js_names', relkind: 'm' },
    ]);
    const matviews = await client.query(`SELECT matviewname FROM pg_catalog.pg_matviews WHERE schemaname = $1`, ['public']);
    expect(matviews.rows).toEqual([{ matviewname: 'js_names' }]);
  });

  it('SUBSCRIBE through DECLARE/FETCH, and as a statement of its own over the extended protocol', async () => {
    await client.query('BEGIN');
    await client.query('DECLARE c CURSOR FOR SUBSCRIBE js_items');
    const fetched = await client.query({ text: `FETCH ALL c WITH (timeout = '1s')`, queryMode: 'extended' } as pg.QueryConfig);
    expect(fetched.rows.map((row) => [row.mz_diff, row.id, row.name])).toEqual([['1', 1, 'one']]);
    await client.query('COMMIT');

    const upTo = Date.now() + 300;
    const streamed = await client.query({ text: `SUBSCRIBE js_items UP TO ${upTo}`, queryMode: 'extended' } as pg.QueryConfig);
    expect(streamed.command).toBe('SUBSCRIBE');
    expect(streamed.fields.map((field) => field.name)).toEqual(['mz_timestamp', 'mz_diff', 'id', 'name']);
    expect(streamed.rows.map((row) => [row.mz_diff, row.id, row.name])).toEqual([['1', 1, 'one']]);
    // The connection is in step: the next statement is answered.
    expect((await client.query('SELECT $1::int AS n', [5])).rows).toEqual([{ n: 5 }]);
  });

  it('a regex pattern too large to compile is refused, as a literal or a parameter, and the next statements run', async () => {
    const pattern = 'a'.repeat(200_000);
    const literal = await client.query(`SELECT 'abc' ~ '${pattern}' AS m`).then(
      () => null,
      (error: Error) => error.message,
    );
    expect(literal).toMatch(/^regex pattern too large \(200000 bytes, max 32768 bytes\)/);
    const parameter = await client.query(`SELECT 'abc' ~ $1 AS m`, [pattern]).then(
      () => null,
      (error: Error) => error.message,
    );
    expect(parameter).toMatch(/^regex pattern too large \(200000 bytes, max 32768 bytes\)/);
    const similar = await client.query(`SELECT regexp_replace('abc', $1, 'x') AS r`, [pattern]).then(
      () => null,
      (error: Error) => error.message,
    );
    expect(similar).toMatch(/^regex pattern too large/);
    // Small patterns, as parameters, still work; and the unnamed statement of the next query exists.
    expect((await client.query(`SELECT 'abc' ~ $1 AS m, regexp_replace('abc', $2, 'x') AS r`, ['b', 'c'])).rows).toEqual([{ m: true, r: 'abx' }]);
    expect((await client.query('SELECT $1::text AS still', ['here'])).rows).toEqual([{ still: 'here' }]);
  });
});

async function script(name: string): Promise<Record<string, unknown>> {
  const result = await run(PYTHON, [path.join(scripts, name), t.server.pgUrl], { timeoutMs: 15_000 });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

describe('python drivers', () => {
  it.skipIf(skipPsycopg2)('psycopg2: parameters, then DECLARE … CURSOR FOR SUBSCRIBE and FETCH in a transaction', async () => {
    await t.sql.query(`DELETE FROM py_items`);
    expect(await script('psycopg2_example.py')).toEqual({
      parameters: [[7, 'seven']],
      columns: ['mz_timestamp', 'mz_diff', 'id', 'name'],
      fetch: [[1, 7, 'seven']],
    });
  });

  it.skipIf(skipPsycopg)('psycopg 3: server-side parameters, binary results, DECLARE/FETCH and cur.stream("SUBSCRIBE …")', async () => {
    await t.sql.query(`DELETE FROM py_items`);
    await t.sql.query(`INSERT INTO py_items VALUES (7, 'seven')`);
    expect(await script('psycopg3_example.py')).toEqual({
      server_version: 90500,
      parameters: [42, 'x'],
      // Every column in binary format (1).
      binary: { values: [7, 'seven', 2.5, true, { a: 1, b: 2 }], formats: [1, 1, 1, 1, 1] },
      fetch: [[1, 7, 'seven']],
      // The snapshot, then the row another connection inserted while the stream was open.
      stream: [
        [1, 7, 'seven'],
        [1, 8, 'eight'],
      ],
    });
  });
});

describe.skipIf(skipJdbc)('PgJDBC', () => {
  it('prepared statements, DECLARE/FETCH of SUBSCRIBE in a transaction, and a refused statement', async () => {
    const url = `jdbc:postgresql://${t.server.host}:${t.server.pgPort}/materialize`;
    const result = await run('java', ['-cp', PGJDBC_JAR, path.join(scripts, 'JdbcExample.java'), url], { timeoutMs: 30_000 });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual([
      'version 9.5.0',
      'prepared 2n1 4n2 6n3 8n4 10n5 12n6 14n7',
      'fetched 1 1 one',
      'refused ERROR: regex pattern too large (100000 bytes, max 32768 bytes): the local server\'s regular expression engine cannot compile longer patterns (Materialize allows 1048576 bytes)',
      'after here',
    ]);
  });
});
