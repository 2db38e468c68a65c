/**
 * The mz_catalog relations, with Materialize's columns in its order (doc/user/content/sql/
 * system-catalog/mz_catalog.md), so queries and joins written against Materialize run here
 * unchanged, and the view SHOW … reads. Appended to the bootstrap after its functions (the views
 * use them). Owners are the one local role, u1 (materialize); privileges are text in mz_aclitem's
 * format. The views are dropped and recreated, not replaced: their columns changed between
 * versions of the bootstrap (a user view over one of them is dropped with it on such an upgrade).
 */
export const CATALOG_VIEWS_SQL = String.raw`
DROP VIEW IF EXISTS mz_catalog.mz_databases, mz_catalog.mz_schemas, mz_catalog.mz_clusters, mz_catalog.mz_secrets,
  mz_catalog.mz_connections, mz_catalog.mz_sources, mz_catalog.mz_materialized_views, mz_catalog.mz_views,
  mz_catalog.mz_tables, mz_catalog.mz_indexes, mz_catalog.mz_objects, mz_catalog.mz_relations,
  mz_catalog.mz_columns, mz_catalog.mz_cluster_replicas, mz_catalog.mz_roles, mz_local.show_objects CASCADE;

-- An id like u1000000007 as an oid (object ids never collide with relation oids: see item_ids).
CREATE OR REPLACE FUNCTION mz_local.id_oid(id text) RETURNS oid
  LANGUAGE sql IMMUTABLE AS $fn$ SELECT substr(id, 2)::bigint::oid $fn$;

CREATE VIEW mz_catalog.mz_roles AS
  SELECT 'u1'::text AS id, 16384::oid AS oid, 'materialize'::text AS name, true AS inherit, true AS rolcanlogin, true AS rolsuper;

CREATE VIEW mz_catalog.mz_databases AS
  SELECT 'u1'::text AS id, 1::oid AS oid, current_database()::text AS name, 'u1'::text AS owner_id,
         ARRAY['u1=UC/u1']::text[] AS privileges;

-- User schemas belong to the database; Materialize's system schemas have none (and a system owner).
CREATE VIEW mz_catalog.mz_schemas AS
  SELECT 'u' || n.oid AS id, n.oid AS oid,
         CASE WHEN system THEN NULL ELSE 'u1' END::text AS database_id,
         n.nspname::text AS name,
         CASE WHEN system THEN 's1' ELSE 'u1' END::text AS owner_id,
         ARRAY['u1=UC/u1']::text[] AS privileges
    FROM pg_namespace n,
         LATERAL (SELECT n.nspname IN ('mz_catalog', 'mz_internal', 'pg_catalog', 'information_schema') AS system) AS kind
   WHERE (n.nspname NOT LIKE 'pg\_%' OR n.nspname = 'pg_catalog') AND n.nspname <> 'mz_local';

CREATE VIEW mz_catalog.mz_clusters AS
  SELECT id, name, 'u1'::text AS owner_id, ARRAY['u1=UC/u1']::text[] AS privileges, managed, size,
         replication_factor, disk, availability_zones, introspection_debugging, introspection_interval
    FROM mz_local.clusters;

CREATE VIEW mz_catalog.mz_cluster_replicas AS
  SELECT r.id, r.name, r.cluster_id, r.size, r.availability_zone, 'u1'::text AS owner_id, r.disk
    FROM mz_local.cluster_replicas r;

CREATE VIEW mz_catalog.mz_secrets AS
  SELECT s.id, mz_local.id_oid(s.id) AS oid, 'u' || n.oid AS schema_id, s.name, 'u1'::text AS owner_id,
         ARRAY['u1=U/u1']::text[] AS privileges
    FROM mz_local.secrets s JOIN pg_namespace n ON n.nspname = s.schema_name;

CREATE VIEW mz_catalog.mz_connections AS
  SELECT c.id, mz_local.id_oid(c.id) AS oid, 'u' || n.oid AS schema_id, c.name, c.type, 'u1'::text AS owner_id,
         ARRAY['u1=U/u1']::text[] AS privileges, c.create_sql, c.create_sql AS redacted_create_sql
    FROM mz_local.connections c JOIN pg_namespace n ON n.nspname = c.schema_name;

CREATE VIEW mz_catalog.mz_sources AS
  SELECT 'u' || c.oid AS id, c.oid AS oid, 'u' || c.relnamespace AS schema_id, c.relname::text AS name,
         r.source_type AS type, k.connection_id, NULL::text AS size,
         CASE WHEN r.source_type = 'kafka' THEN 'none' END AS envelope_type, NULL::text AS key_format,
         CASE WHEN r.source_type = 'kafka' THEN 'bytes' END AS value_format,
         cl.id AS cluster_id, 'u1'::text AS owner_id, ARRAY['u1=r/u1']::text[] AS privileges,
         r.create_sql, r.create_sql AS redacted_create_sql
    FROM mz_local.relations r
    JOIN pg_class c ON c.oid = r.relid
    LEFT JOIN mz_local.kafka_sources k ON k.relid = r.relid
    LEFT JOIN mz_local.clusters cl ON cl.name = r.cluster_name
   WHERE r.kind = 'source';

CREATE VIEW mz_catalog.mz_materialized_views AS
  SELECT 'u' || c.oid AS id, c.oid AS oid, 'u' || c.relnamespace AS schema_id, c.relname::text AS name,
         cl.id AS cluster_id, mz_local.materialized_definition(c.oid) AS definition, 'u1'::text AS owner_id,
         ARRAY['u1=r/u1']::text[] AS privileges, r.create_sql, r.create_sql AS redacted_create_sql
    FROM mz_local.relations r
    JOIN pg_class c ON c.oid = r.relid
    LEFT JOIN mz_local.clusters cl ON cl.name = r.cluster_name
   WHERE r.kind = 'materialized-view';

CREATE VIEW mz_catalog.mz_views AS
  SELECT 'u' || c.oid AS id, c.oid AS oid, 'u' || c.relnamespace AS schema_id, c.relname::text AS name,
         pg_get_viewdef(c.oid) AS definition, 'u1'::text AS owner_id, ARRAY['u1=r/u1']::text[] AS privileges,
         'CREATE VIEW ' || mz_local.quote_always(current_database()) || '.' || mz_local.quote_always(n.nspname) || '.'
           || mz_local.quote_always(c.relname) || ' AS '
           || regexp_replace(regexp_replace(trim(pg_get_viewdef(c.oid)), '\s+', ' ', 'g'), ';$', '') AS create_sql,
         NULL::text AS redacted_create_sql
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind = 'v'
     AND n.nspname NOT LIKE 'pg\_%' AND n.nspname NOT IN ('information_schema', 'mz_local', 'mz_catalog', 'mz_internal')
     AND NOT EXISTS (SELECT 1 FROM mz_local.relations r WHERE r.relid = c.oid);

CREATE VIEW mz_catalog.mz_tables AS
  SELECT 'u' || c.oid AS id, c.oid AS oid, 'u' || c.relnamespace AS schema_id, c.relname::text AS name,
         'u1'::text AS owner_id, ARRAY['u1=arwd/u1']::text[] AS privileges, NULL::text AS create_sql,
         NULL::text AS redacted_create_sql, NULL::text AS source_id
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p')
     AND n.nspname NOT LIKE 'pg\_%' AND n.nspname NOT IN ('information_schema', 'mz_local', 'mz_catalog', 'mz_internal')
     AND NOT EXISTS (SELECT 1 FROM mz_local.relations r WHERE r.relid = c.oid);

CREATE VIEW mz_catalog.mz_indexes AS
  SELECT i.id, mz_local.id_oid(i.id) AS oid, i.name, 'u' || i.on_relid AS on_id, cl.id AS cluster_id,
         'u1'::text AS owner_id, i.create_sql, i.create_sql AS redacted_create_sql
    FROM mz_local.indexes i
    JOIN pg_class c ON c.oid = i.on_relid
    LEFT JOIN mz_local.clusters cl ON cl.name = i.cluster_name;

CREATE VIEW mz_catalog.mz_relations AS
  SELECT id, oid, schema_id, name, 'table'::text AS type, owner_id, NULL::text AS cluster_id, privileges FROM mz_catalog.mz_tables
  UNION ALL SELECT id, oid, schema_id, name, 'source', owner_id, cluster_id, privileges FROM mz_catalog.mz_sources
  UNION ALL SELECT id, oid, schema_id, name, 'view', owner_id, NULL, privileges FROM mz_catalog.mz_views
  UNION ALL SELECT id, oid, schema_id, name, 'materialized-view', owner_id, cluster_id, privileges FROM mz_catalog.mz_materialized_views;

CREATE VIEW mz_catalog.mz_objects AS
  SELECT id, oid, schema_id, name, type, owner_id, cluster_id, privileges FROM mz_catalog.mz_relations
  UNION ALL SELECT i.id, i.oid, 'u' || c.relnamespace, i.name, 'index', i.owner_id, i.cluster_id, NULL::text[]
    FROM mz_catalog.mz_indexes i JOIN pg_class c ON 'u' || c.oid = i.on_id
  UNION ALL SELECT id, oid, schema_id, name, 'connection', owner_id, NULL, privileges FROM mz_catalog.mz_connections
  UNION ALL SELECT id, oid, schema_id, name, 'secret', owner_id, NULL, privileges FROM mz_catalog.mz_secrets;

CREATE VIEW mz_catalog.mz_columns AS
  SELECT 'u' || a.attrelid AS id, a.attname::text AS name, a.attnum::bigint AS position, NOT a.attnotnull AS nullable,
         mz_local.type_name(a.atttypid, a.atttypmod) AS type, pg_get_expr(d.adbin, d.adrelid) AS "default",
         a.atttypid AS type_oid, a.atttypmod AS type_mod
    FROM pg_attribute a
    JOIN mz_catalog.mz_relations r ON r.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE a.attnum > 0 AND NOT a.attisdropped;

-- The views SHOW … reads, with Materialize's column names.
CREATE VIEW mz_local.show_objects AS
  SELECT 'source' AS object_type, s.name, n.nspname::text AS schema_name, s.type, cl.name AS cluster
    FROM mz_catalog.mz_sources s JOIN pg_namespace n ON 'u' || n.oid = s.schema_id
    LEFT JOIN mz_local.clusters cl ON cl.id = s.cluster_id
  UNION ALL
  SELECT 'view', v.name, n.nspname::text, NULL, NULL
    FROM mz_catalog.mz_views v JOIN pg_namespace n ON 'u' || n.oid = v.schema_id
  UNION ALL
  SELECT 'materialized view', m.name, n.nspname::text, NULL, cl.name
    FROM mz_catalog.mz_materialized_views m JOIN pg_namespace n ON 'u' || n.oid = m.schema_id
    LEFT JOIN mz_local.clusters cl ON cl.id = m.cluster_id
  UNION ALL
  SELECT 'secret', s.name, s.schema_name, NULL, NULL FROM mz_local.secrets s
  UNION ALL
  SELECT 'connection', c.name, c.schema_name, c.type, NULL FROM mz_local.connections c
  UNION ALL
  SELECT 'table', t.name, n.nspname::text, NULL, NULL
    FROM mz_catalog.mz_tables t JOIN pg_namespace n ON 'u' || n.oid = t.schema_id
  UNION ALL
  SELECT 'index', i.name, i.schema_name, NULL, i.cluster_name
    FROM mz_local.indexes i JOIN pg_class c ON c.oid = i.on_relid;

`;
