/**
 * The mz_catalog relations carry Materialize's columns in Materialize's order, as its system
 * catalog reference documents them (doc/user/content/sql/system-catalog/mz_catalog.md), so queries
 * and joins written against Materialize run unchanged. Own cases.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/local-server.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
  await t.sql.query(`CREATE CLUSTER cat (SIZE '25cc')`);
  await t.sql.query(`CREATE SECRET cat_secret AS 'x'`);
  await t.sql.query(`CREATE SOURCE cat_source IN CLUSTER cat FROM WEBHOOK BODY FORMAT JSON`);
  await t.sql.query(`CREATE MATERIALIZED VIEW cat_mv IN CLUSTER cat AS SELECT body FROM cat_source`);
  await t.sql.query(`CREATE VIEW cat_view AS SELECT body FROM cat_mv`);
  await t.sql.query(`CREATE DEFAULT INDEX IN CLUSTER cat ON cat_view`);
  await t.sql.query(`CREATE TABLE cat_table (a int)`);
});
afterAll(async () => {
  await t?.close();
});

const DOCUMENTED: Record<string, string[]> = {
  mz_clusters: ['id', 'name', 'owner_id', 'privileges', 'managed', 'size', 'replication_factor', 'disk', 'availability_zones', 'introspection_debugging', 'introspection_interval'],
  mz_cluster_replicas: ['id', 'name', 'cluster_id', 'size', 'availability_zone', 'owner_id', 'disk'],
  mz_databases: ['id', 'oid', 'name', 'owner_id', 'privileges'],
  mz_schemas: ['id', 'oid', 'database_id', 'name', 'owner_id', 'privileges'],
  mz_secrets: ['id', 'oid', 'schema_id', 'name', 'owner_id', 'privileges'],
  mz_connections: ['id', 'oid', 'schema_id', 'name', 'type', 'owner_id', 'privileges', 'create_sql', 'redacted_create_sql'],
  mz_sources: ['id', 'oid', 'schema_id', 'name', 'type', 'connection_id', 'size', 'envelope_type', 'key_format', 'value_format', 'cluster_id', 'owner_id', 'privileges', 'create_sql', 'redacted_create_sql'],
  mz_materialized_views: ['id', 'oid', 'schema_id', 'name', 'cluster_id', 'definition', 'owner_id', 'privileges', 'create_sql', 'redacted_create_sql'],
  mz_views: ['id', 'oid', 'schema_id', 'name', 'definition', 'owner_id', 'privileges', 'create_sql', 'redacted_create_sql'],
  mz_tables: ['id', 'oid', 'schema_id', 'name', 'owner_id', 'privileges', 'create_sql', 'redacted_create_sql', 'source_id'],
  mz_indexes: ['id', 'oid', 'name', 'on_id', 'cluster_id', 'owner_id', 'create_sql', 'redacted_create_sql'],
  mz_relations: ['id', 'oid', 'schema_id', 'name', 'type', 'owner_id', 'cluster_id', 'privileges'],
  mz_objects: ['id', 'oid', 'schema_id', 'name', 'type', 'owner_id', 'cluster_id', 'privileges'],
  mz_columns: ['id', 'name', 'position', 'nullable', 'type', 'default', 'type_oid', 'type_mod'],
  mz_roles: ['id', 'oid', 'name', 'inherit', 'rolcanlogin', 'rolsuper'],
};

it.each(Object.entries(DOCUMENTED))('%s has the documented columns, in order', async (relation, columns) => {
  const result = await t.sql.query(`SELECT * FROM ${relation} LIMIT 0`);
  expect(result.fields.map((field) => field.name)).toEqual(columns);
});

it('ids join across relations as in Materialize', async () => {
  const rows = await t.query(
    `SELECT o.name, o.type, s.name AS schema, c.name AS cluster
       FROM mz_objects o JOIN mz_schemas s ON s.id = o.schema_id LEFT JOIN mz_clusters c ON c.id = o.cluster_id
      WHERE o.name LIKE 'cat%' ORDER BY o.name`,
  );
  expect(rows).toEqual([
    { name: 'cat_mv', type: 'materialized-view', schema: 'public', cluster: 'cat' },
    { name: 'cat_secret', type: 'secret', schema: 'public', cluster: null },
    { name: 'cat_source', type: 'source', schema: 'public', cluster: 'cat' },
    { name: 'cat_table', type: 'table', schema: 'public', cluster: null },
    { name: 'cat_view', type: 'view', schema: 'public', cluster: null },
    { name: 'cat_view_primary_idx', type: 'index', schema: 'public', cluster: 'cat' },
  ]);
  expect(await t.query(`SELECT c.name, c.type, c.nullable FROM mz_columns c JOIN mz_sources s ON s.id = c.id WHERE s.name = 'cat_source'`)).toEqual([
    { name: 'body', type: 'jsonb', nullable: false },
  ]);
  expect(await t.query(`SELECT i.name FROM mz_indexes i JOIN mz_views v ON v.id = i.on_id WHERE v.name = 'cat_view'`)).toEqual([{ name: 'cat_view_primary_idx' }]);
  expect(await t.query(`SELECT name, database_id FROM mz_schemas WHERE name IN ('public', 'mz_catalog') ORDER BY name`)).toEqual([
    { name: 'mz_catalog', database_id: null },
    { name: 'public', database_id: 'u1' },
  ]);
});
