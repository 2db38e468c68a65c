/**
 * Session settings, system functions and statement shapes taken from Materialize's documentation
 * that clients and tools send early: isolation level, version and environment functions, Kafka
 * connection options written without `=` or quotes, and materialized views with a column list and
 * a parenthesised query. Own cases.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { post, startTestServer, type TestServer } from '../helpers/local-server.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

it('SHOW TRANSACTION ISOLATION LEVEL is strict serializable, as in Materialize', async () => {
  expect(await t.query('SHOW TRANSACTION ISOLATION LEVEL')).toEqual([{ transaction_isolation: 'strict serializable' }]);
  expect(await t.query('SHOW transaction_isolation')).toEqual([{ transaction_isolation: 'strict serializable' }]);
});

it('mz_version() and mz_environment_id() answer', async () => {
  const [row] = await t.query<{ version: string; environment: string }>('SELECT mz_version() AS version, mz_environment_id() AS environment');
  expect(row!.version).toMatch(/^v\d+\.\d+\.\d+/);
  expect(row!.environment).toMatch(/^local-/);
});

it('Kafka connection options without `=` or quotes, and WITH (VALIDATE = false)', async () => {
  await t.sql.query(`CREATE CONNECTION plain_kafka TO KAFKA (BROKER 'broker:9092', SECURITY PROTOCOL PLAINTEXT) WITH (VALIDATE = false)`);
  expect(await t.query(`SELECT name, type FROM mz_connections`)).toEqual([{ name: 'plain_kafka', type: 'kafka' }]);
  await expect(t.sql.query(`CREATE CONNECTION odd TO KAFKA (BROKER 'b', SPEED FAST)`)).rejects.toThrow(/^Expected one of .*BROKER.*SECURITY PROTOCOL/);
});

it('a materialized view with a column list and a parenthesised query, over a batch source', async () => {
  await t.sql.query(`CREATE CLUSTER compute REPLICAS (r1 (SIZE '1'))`);
  await t.sql.query(`CREATE SOURCE batches IN CLUSTER compute FROM WEBHOOK BODY FORMAT JSON`);
  await t.sql.query(`CREATE MATERIALIZED VIEW flattened (item) IN CLUSTER compute AS (SELECT jsonb_array_elements(body) AS item FROM batches)`);
  expect((await post(t.server.webhookUrl('batches'), '[{"n": 1}, {"n": 2}]')).status).toBe(200);
  expect(await t.query(`SELECT count(*)::int AS n FROM flattened`)).toEqual([{ n: 2 }]);
  expect(await t.query(`SHOW COLUMNS FROM flattened`)).toEqual([{ name: 'item', nullable: true, type: 'jsonb', comment: '' }]);
});
