-- The mz_catalog relations, with Materialize's columns in its order (doc/user/content/sql/
-- system-catalog/mz_catalog.md), so queries and joins written against Materialize run here
-- unchanged, and the view SHOW … reads. Appended to the bootstrap after its functions (the views
-- use them). Owners are the one local role, u1 (materialize); privileges are text in mz_aclitem's
-- format. The views are dropped and recreated, not replaced: their columns changed between
-- versions of the bootstrap (a user view over one of them is dropped with it on such an upgrade).

DROP VIEW IF EXISTS mz_catalog.mz_databases, mz_catalog.mz_schemas, mz_catalog.mz_clusters, mz_catalog.mz_secrets,
  mz_catalog.mz_connections, mz_catalog.mz_sources, mz_catalog.mz_materialized_views, mz_catalog.mz_views,
  mz_catalog.mz_tables, mz_catalog.mz_indexes, mz_catalog.mz_objects, mz_catalog.mz_relations,
  mz_catalog.mz_columns, mz_catalog.mz_cluster_replicas, mz_catalog.mz_roles, mz_local.show_objects,
  mz_local.pg_class, mz_local.pg_index, mz_local.pg_namespace, mz_local.pg_database, mz_local.pg_matviews,
  mz_local.pg_views CASCADE;

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

-- A materialized view's query as written (Materialize's definition: `SELECT 1;`, materialized_views.slt),
-- from its CREATE statement: the text after the AS that starts the query, spaces collapsed.
CREATE OR REPLACE FUNCTION mz_local.written_definition(create_sql text) RETURNS text
  LANGUAGE sql IMMUTABLE AS $fn$
  SELECT regexp_replace(btrim(regexp_replace(
           substring(create_sql FROM '(?is)\mAS\M\s+((?:SELECT|WITH|VALUES|TABLE|\().*)$'), '\s+', ' ', 'g')), ';?$', ';')
$fn$;

CREATE VIEW mz_catalog.mz_materialized_views AS
  SELECT 'u' || c.oid AS id, c.oid AS oid, 'u' || c.relnamespace AS schema_id, c.relname::text AS name,
         cl.id AS cluster_id, coalesce(mz_local.written_definition(r.create_sql), mz_local.materialized_definition(c.oid)) AS definition, 'u1'::text AS owner_id,
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


-- The key columns of an index as names (a DEFAULT index: every column of the relation).
CREATE OR REPLACE FUNCTION mz_local.index_key_columns(relation oid, key_sql text) RETURNS text[]
  LANGUAGE sql STABLE AS $fn$
  SELECT CASE WHEN key_sql IS NULL
    THEN (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = relation AND a.attnum > 0 AND NOT a.attisdropped)
    ELSE (SELECT array_agg(trim(both '"' FROM trim(part)) ORDER BY n)
            FROM unnest(string_to_array(key_sql, ',')) WITH ORDINALITY AS p(part, n))
  END
$fn$;

-- pg_catalog as Materialize shows it to clients (src/catalog/src/builtin.rs, PG_CLASS, PG_INDEX,
-- PG_NAMESPACE, PG_DATABASE, PG_MATVIEWS), for psql's meta-commands and drivers' metadata queries.
-- The wire server reads clients' pg_catalog.<name> as mz_local.<name> (sql/pg-catalog.ts). A materialized view (a view here) has relkind 'm', an index (recorded, not
-- built) a row of relkind 'i' and one in pg_index, relhasoids is there for clients of PostgreSQL
-- before 12 (Materialize claims 9.5), and the server's own schema (mz_local) is not shown.
DO $fn$
DECLARE
  real_columns text;
  index_columns text;
BEGIN
  SELECT string_agg(CASE a.attname
           WHEN 'relkind' THEN $$CASE WHEN EXISTS (SELECT 1 FROM mz_local.relations r WHERE r.relid = c.oid AND r.kind = 'materialized-view') THEN 'm'::"char" ELSE c.relkind END AS relkind$$
           WHEN 'relhasindex' THEN 'c.relhasindex OR EXISTS (SELECT 1 FROM mz_local.indexes i WHERE i.on_relid = c.oid) AS relhasindex'
           ELSE format('c.%I', a.attname) END, ', ' ORDER BY a.attnum),
         string_agg(CASE a.attname
           WHEN 'oid' THEN 'mz_local.id_oid(i.id) AS oid'
           WHEN 'relname' THEN 'i.name::name AS relname'
           WHEN 'relkind' THEN $$'i'::"char" AS relkind$$
           WHEN 'relhasindex' THEN 'false AS relhasindex'
           WHEN 'reltype' THEN '0::oid AS reltype'
           WHEN 'reltoastrelid' THEN '0::oid AS reltoastrelid'
           WHEN 'relam' THEN '0::oid AS relam'
           WHEN 'relchecks' THEN '0::int2 AS relchecks'
           WHEN 'relhastriggers' THEN 'false AS relhastriggers'
           WHEN 'relhasrules' THEN 'false AS relhasrules'
           ELSE format('c.%I', a.attname) END, ', ' ORDER BY a.attnum)
    INTO real_columns, index_columns
    FROM pg_attribute a
   WHERE a.attrelid = 'pg_catalog.pg_class'::regclass AND a.attnum > 0 AND NOT a.attisdropped;
  EXECUTE format($view$
    CREATE VIEW mz_local.pg_class AS
      SELECT %s, false AS relhasoids
        FROM pg_catalog.pg_class c
       WHERE c.relnamespace NOT IN (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname IN ('mz_local', 'pg_toast'))
      UNION ALL
      SELECT %s, false AS relhasoids
        FROM mz_local.indexes i JOIN pg_catalog.pg_class c ON c.oid = i.on_relid$view$, real_columns, index_columns);
END
$fn$;

DO $fn$
DECLARE
  index_columns text;
BEGIN
  SELECT string_agg(CASE a.attname
           WHEN 'indexrelid' THEN 'mz_local.id_oid(i.id) AS indexrelid'
           WHEN 'indrelid' THEN 'i.on_relid AS indrelid'
           WHEN 'indnatts' THEN 'k.count::int2 AS indnatts'
           WHEN 'indnkeyatts' THEN 'k.count::int2 AS indnkeyatts'
           WHEN 'indisvalid' THEN 'true AS indisvalid'
           WHEN 'indisready' THEN 'true AS indisready'
           WHEN 'indislive' THEN 'true AS indislive'
           WHEN 'indkey' THEN 'k.positions::int2vector AS indkey'
           WHEN 'indcollation' THEN $$''::oidvector AS indcollation$$
           WHEN 'indclass' THEN $$''::oidvector AS indclass$$
           WHEN 'indoption' THEN 'k.zeros::int2vector AS indoption'
           ELSE format('NULL::%s AS %I', format_type(a.atttypid, a.atttypmod), a.attname) END, ', ' ORDER BY a.attnum)
    INTO index_columns
    FROM pg_attribute a
   WHERE a.attrelid = 'pg_catalog.pg_index'::regclass AND a.attnum > 0 AND NOT a.attisdropped;
  -- Boolean flags Materialize reports false (no unique, primary, clustered or exclusion indexes).
  index_columns := regexp_replace(index_columns, 'NULL::boolean AS (\w+)', 'false AS \1', 'g');
  EXECUTE format($view$
    CREATE VIEW mz_local.pg_index AS
      SELECT * FROM pg_catalog.pg_index
      UNION ALL
      SELECT %s
        FROM mz_local.indexes i,
             LATERAL (SELECT count(*) AS count, string_agg(coalesce(a.attnum, 0)::text, ' ' ORDER BY o.n) AS positions,
                             string_agg('0', ' ') AS zeros
                        FROM unnest(mz_local.index_key_columns(i.on_relid, i.key_sql)) WITH ORDINALITY AS o(key, n)
                        LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = i.on_relid AND a.attname = o.key AND NOT a.attisdropped) AS k$view$,
    index_columns);
END
$fn$;

CREATE VIEW mz_local.pg_namespace AS
  SELECT * FROM pg_catalog.pg_namespace WHERE nspname <> 'mz_local';

-- Materialize lists one database, the current one (its mz_databases).
CREATE VIEW mz_local.pg_database AS
  SELECT * FROM pg_catalog.pg_database WHERE datname = current_database();

CREATE VIEW mz_local.pg_matviews AS
  SELECT n.nspname AS schemaname, c.relname AS matviewname, pg_catalog.pg_get_userbyid(c.relowner) AS matviewowner,
         NULL::name AS tablespace, EXISTS (SELECT 1 FROM mz_local.indexes i WHERE i.on_relid = c.oid) AS hasindexes,
         true AS ispopulated, mz_local.materialized_definition(c.oid) AS definition
    FROM mz_local.relations r
    JOIN pg_catalog.pg_class c ON c.oid = r.relid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE r.kind = 'materialized-view';

CREATE VIEW mz_local.pg_views AS
  SELECT v.* FROM pg_catalog.pg_views v
   WHERE v.schemaname <> 'mz_local'
     AND NOT EXISTS (SELECT 1 FROM mz_local.relations r JOIN pg_catalog.pg_class c ON c.oid = r.relid
                      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = v.schemaname AND c.relname = v.viewname);

-- Visible: on the search path, as PostgreSQL says for its relations; an index here when its schema
-- is. The catalog schemas (searched for names as Materialize does) are not listed by \d.
CREATE OR REPLACE FUNCTION mz_local.pg_table_is_visible(relation oid) RETURNS boolean
  LANGUAGE sql STABLE AS $fn$
  SELECT CASE
    WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = relation) THEN
      pg_catalog.pg_table_is_visible(relation)
      AND (SELECT n.nspname NOT IN ('mz_catalog', 'mz_internal') FROM pg_catalog.pg_class c
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = relation)
    ELSE (SELECT i.schema_name = ANY (pg_catalog.current_schemas(false)) AND i.schema_name NOT IN ('mz_catalog', 'mz_internal')
            FROM mz_local.indexes i WHERE mz_local.id_oid(i.id) = relation)
  END
$fn$;

-- An index recorded here as Materialize describes one (psql prints what follows USING).
CREATE OR REPLACE FUNCTION mz_local.pg_get_indexdef(index_oid oid, column_number integer DEFAULT 0, pretty boolean DEFAULT false) RETURNS text
  LANGUAGE sql STABLE AS $fn$
  SELECT coalesce(
    (SELECT format('CREATE INDEX %I ON %s USING arrangement (%s)', i.name, i.on_relid::regclass,
                   array_to_string(mz_local.index_key_columns(i.on_relid, i.key_sql), ', '))
       FROM mz_local.indexes i WHERE mz_local.id_oid(i.id) = index_oid),
    pg_catalog.pg_get_indexdef(index_oid, column_number, pretty))
$fn$;
