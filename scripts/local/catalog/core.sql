-- The SQL that turns a fresh PGlite database into the local stand-in for Materialize: its functions,
-- its catalog relations and the bookkeeping behind the Materialize DDL the wire server translates.
--
-- Every statement is idempotent (IF NOT EXISTS / OR REPLACE), so the bootstrap runs again whenever
-- BOOTSTRAP_VERSION changes and upgrades an existing data directory in place. Catalog state lives in
-- the database itself (schema mz_local), so it survives restarts and follows every transaction.
--
-- Materialize facts relied on (../shared/DESIGN.md, "Facts to build on"):
-- - constant_time_eq(bytea|text, same), try_parse_monotonic_iso8601_timestamp(text) (exactly
--   YYYY-MM-DDThh:mm:ss.sssZ, NULL otherwise) and mz_now() exist only in Materialize; hmac, decode
--   and encode come from PostgreSQL/pgcrypto.
-- - map[text=>text] `->` returns text, which hstore does too. A HEADERS … BYTES binding is a
--   map[text=>bytea]; the composite type mz_local.bytes_map gives it the same `->`.
-- - Materialize sessions run in UTC, so mz_now() (a timestamptz here) compares with timestamp
--   columns as it does there.

CREATE SCHEMA IF NOT EXISTS mz_local;
CREATE SCHEMA IF NOT EXISTS mz_catalog;
CREATE SCHEMA IF NOT EXISTS mz_internal;
-- As every session has it (finish.sql): the extensions' types and functions are in mz_catalog.
SET search_path = public, mz_catalog;

-- The server's extensions (pgcrypto's hmac and digest, hstore for map[text=>text]) live in
-- mz_catalog, which is searched for names as Materialize's catalog is and which no user statement
-- may drop or change (sql/pg-catalog.ts): in public, DROP SCHEMA public CASCADE took them, and
-- every function and column built on them, along. Data directories made before are moved.
DO $fn$
DECLARE
  extension text;
  installed_in text;
BEGIN
  FOREACH extension IN ARRAY ARRAY['pgcrypto', 'hstore'] LOOP
    SELECT n.nspname INTO installed_in
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = extension;
    IF installed_in IS NULL THEN
      EXECUTE format('CREATE EXTENSION %I SCHEMA mz_catalog', extension);
    ELSIF installed_in <> 'mz_catalog' THEN
      EXECUTE format('ALTER EXTENSION %I SET SCHEMA mz_catalog', extension);
    END IF;
  END LOOP;
END
$fn$;

-- ids of objects that are not PostgreSQL relations; far above any oid a relation will get
CREATE SEQUENCE IF NOT EXISTS mz_local.item_ids START 1000000000;

CREATE TABLE IF NOT EXISTS mz_local.settings (key text PRIMARY KEY, value text NOT NULL);

CREATE TABLE IF NOT EXISTS mz_local.clusters (
  id text PRIMARY KEY,
  name text NOT NULL UNIQUE,
  size text,
  replication_factor integer,
  managed boolean NOT NULL DEFAULT true
);
INSERT INTO mz_local.clusters (id, name, size, replication_factor)
VALUES ('u1', 'quickstart', '25cc', 1) ON CONFLICT DO NOTHING;
-- Materialize's cluster options (CREATE CLUSTER … (SCHEDULE …, INTROSPECTION …, DISK …)).
ALTER TABLE mz_local.clusters ADD COLUMN IF NOT EXISTS schedule text NOT NULL DEFAULT 'manual';
ALTER TABLE mz_local.clusters ADD COLUMN IF NOT EXISTS introspection_interval interval DEFAULT '1 second';
ALTER TABLE mz_local.clusters ADD COLUMN IF NOT EXISTS introspection_debugging boolean NOT NULL DEFAULT false;
ALTER TABLE mz_local.clusters ADD COLUMN IF NOT EXISTS disk boolean DEFAULT true;
ALTER TABLE mz_local.clusters ADD COLUMN IF NOT EXISTS availability_zones text[] DEFAULT '{}';

-- Replicas: a managed cluster's are r1…rN of its size (kept in step by sync_managed_replicas);
-- an unmanaged cluster's are created and dropped by hand.
CREATE TABLE IF NOT EXISTS mz_local.cluster_replicas (
  id text PRIMARY KEY,
  cluster_id text NOT NULL,
  name text NOT NULL,
  size text,
  availability_zone text,
  disk boolean NOT NULL DEFAULT true,
  UNIQUE (cluster_id, name)
);
INSERT INTO mz_local.cluster_replicas (id, cluster_id, name, size)
SELECT 'u1', 'u1', 'r1', '25cc' WHERE EXISTS (SELECT 1 FROM mz_local.clusters WHERE id = 'u1') ON CONFLICT DO NOTHING;

-- Secret values are kept in the local database in plain form: this is a development server.
-- mz_catalog.mz_secrets shows names only, as Materialize does.
CREATE TABLE IF NOT EXISTS mz_local.secrets (
  id text PRIMARY KEY,
  schema_name text NOT NULL,
  name text NOT NULL,
  value bytea NOT NULL,
  UNIQUE (schema_name, name)
);

CREATE TABLE IF NOT EXISTS mz_local.connections (
  id text PRIMARY KEY,
  schema_name text NOT NULL,
  name text NOT NULL,
  type text NOT NULL,
  options jsonb NOT NULL,
  secret_ids text[] NOT NULL DEFAULT '{}',
  create_sql text NOT NULL,
  UNIQUE (schema_name, name)
);

-- Relations that are Materialize objects: sources (tables here) and materialized views (views
-- here, so that their results are always current when read). Keyed by oid, so renames and
-- schema changes follow; rows whose relation is gone are ignored and collected.
CREATE TABLE IF NOT EXISTS mz_local.relations (
  relid oid PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('source', 'materialized-view')),
  source_type text,
  cluster_name text,
  create_sql text NOT NULL
);

-- Why a materialized view is computed on every read instead of kept (kept-views.sql).
ALTER TABLE mz_local.relations ADD COLUMN IF NOT EXISTS not_maintained text;

CREATE TABLE IF NOT EXISTS mz_local.webhook_sources (
  relid oid PRIMARY KEY,
  body_format text NOT NULL,
  check_sql text,
  secret_ids text[] NOT NULL DEFAULT '{}',
  spec jsonb NOT NULL
);

CREATE TABLE IF NOT EXISTS mz_local.kafka_sources (
  relid oid PRIMARY KEY,
  connection_id text NOT NULL,
  topic text NOT NULL
);

-- Indexes are recorded, not built: every read here is computed when it is made.
CREATE TABLE IF NOT EXISTS mz_local.indexes (
  id text PRIMARY KEY,
  schema_name text NOT NULL,
  name text NOT NULL,
  on_relid oid NOT NULL,
  cluster_name text NOT NULL,
  key_sql text,
  create_sql text NOT NULL,
  UNIQUE (schema_name, name)
);

--------------------------------------------------------------------------------------------------
-- Materialize functions
--------------------------------------------------------------------------------------------------

-- Not constant time here: timing does not matter on a development server.
CREATE OR REPLACE FUNCTION pg_catalog.constant_time_eq(a bytea, b bytea) RETURNS boolean
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT a = b';
CREATE OR REPLACE FUNCTION pg_catalog.constant_time_eq(a text, b text) RETURNS boolean
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT a = b';

-- try_parse_monotonic_iso8601_timestamp, datediff and the rest: sql/materialize-functions-sql.ts.

-- mz_now() is the time the query runs; with results computed on read, that is now(). A statement
-- read `AS OF <ms>` first sets mz_local.as_of to `<its start>|<ms>` (sql/as-of.ts): mz_now() is then
-- that time (temporal.slt), past PostgreSQL's timestamps 'infinity', in that statement only (the
-- setting is transaction-local; a later statement of the same transaction has another start).
-- Otherwise one settings lookup: inlined, as cheap as now() within noise.
CREATE OR REPLACE FUNCTION mz_local.as_of_time(setting text) RETURNS timestamptz
  LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
  SELECT CASE WHEN split_part(setting, '|', 1) IS DISTINCT FROM statement_timestamp()::text THEN now()
              WHEN ms <= 9000000000000000 THEN to_timestamp(ms / 1000.0) ELSE 'infinity'::timestamptz END
  FROM (SELECT nullif(split_part(setting, '|', 2), '')::numeric AS ms) AS as_of
$fn$;
CREATE OR REPLACE FUNCTION pg_catalog.mz_now() RETURNS timestamptz
  LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
  SELECT CASE WHEN coalesce(current_setting('mz_local.as_of', true), '') = '' THEN now() ELSE mz_local.as_of_time(current_setting('mz_local.as_of', true)) END
$fn$;

-- Session and system information functions, as Materialize names them.
CREATE OR REPLACE FUNCTION pg_catalog.mz_version() RETURNS text
  LANGUAGE sql IMMUTABLE AS $fn$ SELECT 'v0.0.0-local (segment-materialize local server on PGlite)'::text $fn$;
CREATE OR REPLACE FUNCTION pg_catalog.mz_version_num() RETURNS integer
  LANGUAGE sql IMMUTABLE AS $fn$ SELECT 0 $fn$;
CREATE OR REPLACE FUNCTION pg_catalog.mz_environment_id() RETURNS text
  LANGUAGE sql IMMUTABLE AS $fn$ SELECT 'local-00000000-0000-0000-0000-000000000000-0'::text $fn$;

-- A map cast to text reads as Materialize prints maps: {k=>v,…}, keys in byte order (COLLATE "C"
-- on UTF-8), an element quoted only when it has to be. An explicit cast beats hstore's own output.
CREATE OR REPLACE FUNCTION mz_local.map_element(element text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT AS $fn$
  SELECT CASE WHEN element = '' OR element ~ '[\s{}",\\=>]' OR upper(element) = 'NULL'
              THEN '"' || regexp_replace(element, '([\\"])', '\\\1', 'g') || '"'
              ELSE element END
$fn$;
CREATE OR REPLACE FUNCTION mz_local.map_text(entries hstore) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT AS $fn$
  SELECT '{' || coalesce(string_agg(mz_local.map_element(key) || '=>' || coalesce(mz_local.map_element(value), 'NULL'),
                                    ',' ORDER BY key COLLATE "C"), '') || '}'
    FROM each(entries)
$fn$;
DROP CAST IF EXISTS (hstore AS text);
CREATE CAST (hstore AS text) WITH FUNCTION mz_local.map_text(hstore);

DO $do$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                 WHERE n.nspname = 'mz_local' AND t.typname = 'bytes_map') THEN
    CREATE TYPE mz_local.bytes_map AS (entries hstore);
  ELSIF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'mz_local.bytes_map'::regclass AND attname = 'entries' AND NOT attisdropped) THEN
    -- Lost with hstore when it lived in public and public was dropped (see above).
    ALTER TYPE mz_local.bytes_map ADD ATTRIBUTE entries hstore;
  END IF;
END $do$;
CREATE OR REPLACE FUNCTION mz_local.bytes_map_get(m mz_local.bytes_map, k text) RETURNS bytea
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$ SELECT convert_to((m).entries -> k, 'UTF8') $fn$;
DO $do$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_operator WHERE oprname = '->'
                 AND oprleft = 'mz_local.bytes_map'::regtype AND oprright = 'text'::regtype) THEN
    CREATE OPERATOR pg_catalog.-> (LEFTARG = mz_local.bytes_map, RIGHTARG = text, FUNCTION = mz_local.bytes_map_get);
  END IF;
END $do$;

--------------------------------------------------------------------------------------------------
-- Helpers for the translated DDL
--------------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION mz_local.fail(message text, code text DEFAULT 'XX000', hint text DEFAULT NULL)
  RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  IF hint IS NULL THEN
    RAISE EXCEPTION USING MESSAGE = message, ERRCODE = code;
  END IF;
  RAISE EXCEPTION USING MESSAGE = message, ERRCODE = code, HINT = hint;
END
$fn$;

CREATE OR REPLACE FUNCTION mz_local.next_id() RETURNS text LANGUAGE sql AS
  $fn$ SELECT 'u' || nextval('mz_local.item_ids') $fn$;

-- The schema an unqualified name lands in, after checking an explicit database qualifier.
CREATE OR REPLACE FUNCTION mz_local.target_schema(database_name text, schema_name text) RETURNS text
  LANGUAGE plpgsql AS $fn$
BEGIN
  IF database_name IS NOT NULL AND database_name <> current_database() THEN
    PERFORM mz_local.fail(format('unknown database ''%s''', database_name), '3D000');
  END IF;
  IF schema_name IS NULL THEN
    schema_name := current_schema();
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = schema_name) THEN
    PERFORM mz_local.fail(format('unknown schema ''%s''', schema_name), '3F000');
  END IF;
  RETURN schema_name;
END
$fn$;

-- The schema a reference to an existing item resolves to (search path order when unqualified).
CREATE OR REPLACE FUNCTION mz_local.resolve_schema(database_name text, schema_name text, item_name text)
  RETURNS text LANGUAGE plpgsql AS $fn$
DECLARE
  candidate text;
BEGIN
  IF database_name IS NOT NULL AND database_name <> current_database() THEN
    PERFORM mz_local.fail(format('unknown database ''%s''', database_name), '3D000');
  END IF;
  IF schema_name IS NOT NULL THEN
    RETURN schema_name;
  END IF;
  FOREACH candidate IN ARRAY current_schemas(false) LOOP
    IF mz_local.item_kind(candidate, item_name) IS NOT NULL THEN
      RETURN candidate;
    END IF;
  END LOOP;
  RETURN current_schema();
END
$fn$;

CREATE OR REPLACE FUNCTION mz_local.qualified(schema_name text, item_name text) RETURNS text
  LANGUAGE sql IMMUTABLE AS $fn$ SELECT current_database() || '.' || schema_name || '.' || item_name $fn$;

-- What kind of item holds a name in a schema (items share one namespace, as in Materialize).
CREATE OR REPLACE FUNCTION mz_local.item_kind(schema_name text, item_name text) RETURNS text
  LANGUAGE sql STABLE AS $fn$
  SELECT coalesce(
    (SELECT CASE
              WHEN r.kind IS NOT NULL THEN CASE r.kind WHEN 'source' THEN 'source' ELSE 'materialized view' END
              WHEN c.relkind = 'v' THEN 'view'
              WHEN c.relkind = 'i' THEN 'index'
              WHEN c.relkind = 'S' THEN 'sequence'
              WHEN c.relkind = 'c' THEN 'type'
              ELSE 'table'
            END
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN mz_local.relations r ON r.relid = c.oid
      WHERE n.nspname = schema_name AND c.relname = item_name),
    (SELECT 'secret' FROM mz_local.secrets s WHERE s.schema_name = $1 AND s.name = $2),
    (SELECT 'connection' FROM mz_local.connections s WHERE s.schema_name = $1 AND s.name = $2),
    (SELECT 'index' FROM mz_local.indexes s WHERE s.schema_name = $1 AND s.name = $2))
$fn$;

CREATE OR REPLACE FUNCTION mz_local.assert_name_free(schema_name text, item_name text) RETURNS void
  LANGUAGE plpgsql AS $fn$
BEGIN
  IF mz_local.item_kind(schema_name, item_name) IS NOT NULL THEN
    PERFORM mz_local.fail(format('catalog item ''%s'' already exists', item_name), '42710');
  END IF;
END
$fn$;

-- A CREATE of a name taken: Materialize's planner names the item there by kind and full name
-- (materialized_views.slt: `materialized view "materialize.public.mv" already exists`; webhook.slt:
-- `source "materialize.public.…" already exists`). A rename keeps the catalog's words above.
CREATE OR REPLACE FUNCTION mz_local.assert_name_free_to_create(schema_name text, item_name text) RETURNS void
  LANGUAGE plpgsql AS $fn$
DECLARE
  existing text := mz_local.item_kind(schema_name, item_name);
BEGIN
  IF existing IS NOT NULL THEN
    PERFORM mz_local.fail(format('%s "%s" already exists', existing, mz_local.qualified(schema_name, item_name)), '42710');
  END IF;
END
$fn$;

-- `x is not a view`, with the hint Materialize gives ("Use DROP MATERIALIZED VIEW to remove a
-- materialized view.", materialized_views.slt); verb is what the statement does (DROP, ALTER, SHOW CREATE).
CREATE OR REPLACE FUNCTION mz_local.fail_wrong_kind(qualified_name text, wanted text, existing text, verb text) RETURNS void
  LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM mz_local.fail(format('%s is not a%s %s', qualified_name, CASE WHEN wanted ~ '^[aeiou]' THEN 'n' ELSE '' END, wanted), '42809',
    format('Use %s %s to %s a%s %s.', verb, upper(existing),
      CASE verb WHEN 'DROP' THEN 'remove' WHEN 'ALTER' THEN 'rename' ELSE 'show' END,
      CASE WHEN existing ~ '^[aeiou]' THEN 'n' ELSE '' END, existing));
END
$fn$;

CREATE OR REPLACE FUNCTION mz_local.assert_cluster(cluster_name text) RETURNS text
  LANGUAGE plpgsql AS $fn$
BEGIN
  IF cluster_name IS NULL THEN
    cluster_name := coalesce(nullif(current_setting('mz.cluster', true), ''), 'quickstart');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM mz_local.clusters c WHERE c.name = cluster_name) THEN
    PERFORM mz_local.fail(format('unknown cluster ''%s''', cluster_name), '42704');
  END IF;
  RETURN cluster_name;
END
$fn$;

-- Forget bookkeeping rows whose PostgreSQL relation is gone (dropped by a cascade, say).
-- plpgsql, so that it may call functions defined further down (kept-views.sql).
CREATE OR REPLACE FUNCTION mz_local.collect_garbage() RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  DELETE FROM mz_local.indexes i WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = i.on_relid);
  DELETE FROM mz_local.webhook_sources w WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = w.relid);
  DELETE FROM mz_local.kafka_sources k WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = k.relid);
  DELETE FROM mz_local.relations r WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = r.relid);
  DELETE FROM mz_local.secrets s WHERE NOT EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = s.schema_name);
  DELETE FROM mz_local.connections c WHERE NOT EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = c.schema_name);
  PERFORM mz_local.collect_maintained();
END
$fn$;

CREATE OR REPLACE FUNCTION mz_local.relation_oid(schema_name text, item_name text) RETURNS oid
  LANGUAGE sql STABLE AS $fn$
  SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = schema_name AND c.relname = item_name AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
$fn$;

--------------------------------------------------------------------------------------------------
-- Clusters and secrets
--------------------------------------------------------------------------------------------------

DROP FUNCTION IF EXISTS mz_local.create_cluster(text, text, integer);

CREATE OR REPLACE FUNCTION mz_local.cluster_id(cluster_name text) RETURNS text
  LANGUAGE sql STABLE AS $fn$ SELECT c.id FROM mz_local.clusters c WHERE c.name = cluster_name $fn$;

-- A managed cluster has exactly r1…r<replication factor>, each of the cluster's size: replicas
-- that still fit are kept (same id), the others replaced, as Materialize reconfigures.
CREATE OR REPLACE FUNCTION mz_local.sync_managed_replicas(cid text) RETURNS void
  LANGUAGE plpgsql AS $fn$
DECLARE
  cluster record;
BEGIN
  SELECT * INTO cluster FROM mz_local.clusters c WHERE c.id = cid;
  IF NOT cluster.managed THEN RETURN; END IF;
  DELETE FROM mz_local.cluster_replicas r
   WHERE r.cluster_id = cid
     AND (r.size IS DISTINCT FROM cluster.size
          OR NOT (r.name = ANY (ARRAY(SELECT 'r' || n FROM generate_series(1, coalesce(cluster.replication_factor, 0)) n))));
  INSERT INTO mz_local.cluster_replicas (id, cluster_id, name, size, disk)
  SELECT mz_local.next_id(), cid, 'r' || n, cluster.size, coalesce(cluster.disk, true)
    FROM generate_series(1, coalesce(cluster.replication_factor, 0)) n
   WHERE NOT EXISTS (SELECT 1 FROM mz_local.cluster_replicas r WHERE r.cluster_id = cid AND r.name = 'r' || n)
   ORDER BY n;
END
$fn$;

-- options: the parsed, already checked CREATE CLUSTER options (cluster-statements.ts), as jsonb.
CREATE OR REPLACE FUNCTION mz_local.create_cluster(cluster_name text, options jsonb)
  RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  cid text := mz_local.next_id();
  managed boolean := coalesce((options->>'managed')::boolean, NOT options ? 'replicas');
  replica jsonb;
BEGIN
  IF EXISTS (SELECT 1 FROM mz_local.clusters c WHERE c.name = cluster_name) THEN
    PERFORM mz_local.fail(format('cluster ''%s'' already exists', cluster_name), '42710');
  END IF;
  INSERT INTO mz_local.clusters (id, name, managed, size, replication_factor, schedule, introspection_interval,
                                 introspection_debugging, disk, availability_zones)
  VALUES (cid, cluster_name, managed,
          CASE WHEN managed THEN options->>'size' END,
          CASE WHEN managed THEN coalesce((options->>'replicationFactor')::integer,
                                          CASE WHEN options->>'schedule' = 'on-refresh' THEN 0 ELSE 1 END) END,
          coalesce(options->>'schedule', 'manual'),
          CASE WHEN options ? 'introspectionInterval' THEN (options->>'introspectionInterval')::interval ELSE '1 second' END,
          coalesce((options->>'introspectionDebugging')::boolean, false),
          CASE WHEN managed THEN coalesce((options->>'disk')::boolean, true) END,
          CASE WHEN managed THEN coalesce(ARRAY(SELECT jsonb_array_elements_text(options->'availabilityZones')), '{}') END);
  IF managed THEN
    PERFORM mz_local.sync_managed_replicas(cid);
    RETURN;
  END IF;
  FOR replica IN SELECT value FROM jsonb_array_elements(options->'replicas') LOOP
    IF EXISTS (SELECT 1 FROM mz_local.cluster_replicas r WHERE r.cluster_id = cid AND r.name = replica->>'name') THEN
      PERFORM mz_local.fail(format('cannot create multiple replicas named ''%s'' on cluster ''%s''', replica->>'name', cluster_name), 'XX000');
    END IF;
    INSERT INTO mz_local.cluster_replicas (id, cluster_id, name, size, availability_zone, disk)
    VALUES (mz_local.next_id(), cid, replica->>'name', replica->>'size', replica->>'availabilityZone',
            coalesce((replica->>'disk')::boolean, true));
  END LOOP;
END
$fn$;

-- ALTER CLUSTER … SET (…) / RESET (…), with Materialize's rules for managed and unmanaged clusters.
CREATE OR REPLACE FUNCTION mz_local.alter_cluster(cluster_name text, if_exists boolean, options jsonb, reset text[])
  RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  cluster record;
  new_managed boolean;
  refusal text;
BEGIN
  SELECT * INTO cluster FROM mz_local.clusters c WHERE c.name = cluster_name;
  IF NOT FOUND THEN
    IF if_exists THEN
      RAISE NOTICE 'cluster "%" does not exist, skipping', cluster_name;
      RETURN;
    END IF;
    PERFORM mz_local.fail(format('unknown cluster ''%s''', cluster_name), '42704');
  END IF;
  new_managed := CASE WHEN 'managed' = ANY (reset) THEN true ELSE coalesce((options->>'managed')::boolean, cluster.managed) END;
  IF new_managed THEN
    IF options ? 'replicas' THEN PERFORM mz_local.fail('Cannot change REPLICAS of managed clusters', 'XX000'); END IF;
    IF NOT cluster.managed AND coalesce(options->>'size', cluster.size) IS NULL THEN
      PERFORM mz_local.fail('SIZE must be specified for managed clusters', 'XX000');
    END IF;
  ELSE
    SELECT m INTO refusal FROM (VALUES
        ('size', 'Cannot change SIZE of unmanaged clusters'),
        ('availabilityZones', 'Cannot change AVAILABILITY ZONES of unmanaged clusters'),
        ('introspectionInterval', 'Cannot change INTROSPECTION INTERVAL of unmanaged clusters'),
        ('introspectionDebugging', 'Cannot change INTROSPECTION DEBUGGING of unmanaged clusters'),
        ('replicationFactor', 'Cannot change REPLICATION FACTOR of unmanaged clusters')) AS r(k, m)
     WHERE options ? k AND cluster.managed = false LIMIT 1;
    IF refusal IS NOT NULL THEN PERFORM mz_local.fail(refusal, 'XX000'); END IF;
  END IF;
  UPDATE mz_local.clusters c SET
    managed = new_managed,
    size = CASE WHEN new_managed THEN coalesce(options->>'size', c.size) END,
    replication_factor = CASE WHEN NOT new_managed THEN NULL
                              WHEN 'replicationFactor' = ANY (reset) THEN 1
                              ELSE coalesce((options->>'replicationFactor')::integer, c.replication_factor, 1) END,
    schedule = CASE WHEN 'schedule' = ANY (reset) THEN 'manual' ELSE coalesce(options->>'schedule', c.schedule) END,
    introspection_interval = CASE WHEN 'introspectionInterval' = ANY (reset) THEN '1 second'
                                  WHEN options ? 'introspectionInterval' THEN (options->>'introspectionInterval')::interval
                                  ELSE c.introspection_interval END,
    introspection_debugging = CASE WHEN 'introspectionDebugging' = ANY (reset) THEN false
                                   ELSE coalesce((options->>'introspectionDebugging')::boolean, c.introspection_debugging) END,
    disk = CASE WHEN new_managed THEN coalesce((options->>'disk')::boolean, c.disk, true) END,
    availability_zones = CASE WHEN new_managed
                              THEN coalesce(ARRAY(SELECT jsonb_array_elements_text(options->'availabilityZones')), c.availability_zones, '{}') END
   WHERE c.id = cluster.id;
  PERFORM mz_local.sync_managed_replicas(cluster.id);
END
$fn$;

CREATE OR REPLACE FUNCTION mz_local.create_cluster_replica(cluster_name text, replica_name text, options jsonb)
  RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  cluster record;
BEGIN
  SELECT * INTO cluster FROM mz_local.clusters c WHERE c.name = cluster_name;
  IF NOT FOUND THEN PERFORM mz_local.fail(format('unknown cluster ''%s''', cluster_name), '42704'); END IF;
  IF cluster.managed THEN PERFORM mz_local.fail(format('cannot modify managed cluster %s', cluster_name), 'XX000'); END IF;
  IF EXISTS (SELECT 1 FROM mz_local.cluster_replicas r WHERE r.cluster_id = cluster.id AND r.name = replica_name) THEN
    PERFORM mz_local.fail(format('cluster replica ''%s.%s'' already exists', cluster_name, replica_name), '42710');
  END IF;
  INSERT INTO mz_local.cluster_replicas (id, cluster_id, name, size, availability_zone, disk)
  VALUES (mz_local.next_id(), cluster.id, replica_name, options->>'size', options->>'availabilityZone',
          coalesce((options->>'disk')::boolean, true));
END
$fn$;

CREATE OR REPLACE FUNCTION mz_local.drop_cluster_replica(cluster_name text, replica_name text, if_exists boolean)
  RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  cluster record;
BEGIN
  SELECT * INTO cluster FROM mz_local.clusters c WHERE c.name = cluster_name;
  IF NOT FOUND THEN
    IF if_exists THEN
      RAISE NOTICE 'cluster replica "%.%" does not exist, skipping', cluster_name, replica_name;
      RETURN;
    END IF;
    PERFORM mz_local.fail(format('unknown cluster ''%s''', cluster_name), '42704');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM mz_local.cluster_replicas r WHERE r.cluster_id = cluster.id AND r.name = replica_name) THEN
    IF if_exists THEN
      RAISE NOTICE 'cluster replica "%.%" does not exist, skipping', cluster_name, replica_name;
      RETURN;
    END IF;
    PERFORM mz_local.fail(format('unknown cluster replica ''%s.%s''', cluster_name, replica_name), '42704');
  END IF;
  IF cluster.managed THEN PERFORM mz_local.fail('cannot drop replica of managed cluster', 'XX000'); END IF;
  DELETE FROM mz_local.cluster_replicas r WHERE r.cluster_id = cluster.id AND r.name = replica_name;
END
$fn$;

CREATE OR REPLACE FUNCTION mz_local.drop_cluster(cluster_name text, if_exists boolean, cascade boolean)
  RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  dependent record;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM mz_local.clusters c WHERE c.name = cluster_name) THEN
    IF if_exists THEN
      RAISE NOTICE 'cluster "%" does not exist, skipping', cluster_name;
      RETURN;
    END IF;
    PERFORM mz_local.fail(format('unknown cluster ''%s''', cluster_name), '42704');
  END IF;
  PERFORM mz_local.collect_garbage();
  FOR dependent IN
    SELECT n.nspname::text AS schema_name, c.relname::text AS item_name, r.kind
      FROM mz_local.relations r JOIN pg_class c ON c.oid = r.relid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE r.cluster_name = drop_cluster.cluster_name
  LOOP
    IF NOT cascade THEN
      -- Materialize's words (webhook.slt, materialized_views.slt), with PostgreSQL's hint.
      PERFORM mz_local.fail(format('cannot drop cluster "%s" because other objects depend on it', cluster_name), '2BP01',
                            'Use DROP ... CASCADE to drop the dependent objects too.');
    END IF;
    EXECUTE format('DROP %s IF EXISTS %I.%I CASCADE',
                   CASE dependent.kind WHEN 'source' THEN 'TABLE' ELSE 'VIEW' END,
                   dependent.schema_name, dependent.item_name);
  END LOOP;
  IF NOT cascade AND EXISTS (SELECT 1 FROM mz_local.indexes i WHERE i.cluster_name = drop_cluster.cluster_name) THEN
    PERFORM mz_local.fail(format('cannot drop cluster "%s" because other objects depend on it', cluster_name), '2BP01',
                          'Use DROP ... CASCADE to drop the dependent objects too.');
  END IF;
  DELETE FROM mz_local.indexes i WHERE i.cluster_name = drop_cluster.cluster_name;
  DELETE FROM mz_local.cluster_replicas r WHERE r.cluster_id = mz_local.cluster_id(drop_cluster.cluster_name);
  DELETE FROM mz_local.clusters c WHERE c.name = cluster_name;
  PERFORM mz_local.collect_garbage();
END
$fn$;

-- Materialize secrets are bytes: a text value is its UTF-8 encoding, a bytea value itself.
CREATE OR REPLACE FUNCTION mz_local.secret_bytes(value text) RETURNS bytea
  LANGUAGE sql IMMUTABLE AS $fn$ SELECT convert_to(value, 'UTF8') $fn$;
CREATE OR REPLACE FUNCTION mz_local.secret_bytes(value bytea) RETURNS bytea
  LANGUAGE sql IMMUTABLE AS $fn$ SELECT value $fn$;

CREATE OR REPLACE FUNCTION mz_local.create_secret(database_name text, schema_name text, secret_name text,
                                                  secret_value bytea, if_not_exists boolean)
  RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  schema_name := mz_local.target_schema(database_name, schema_name);
  IF if_not_exists AND mz_local.item_kind(schema_name, secret_name) IS NOT NULL THEN
    RAISE NOTICE 'catalog item ''%'' already exists, skipping', secret_name;
    RETURN;
  END IF;
  PERFORM mz_local.assert_name_free_to_create(schema_name, secret_name);
  IF secret_value IS NULL THEN
    PERFORM mz_local.fail('secret value can not be null', '22004');
  END IF;
  INSERT INTO mz_local.secrets (id, schema_name, name, value)
  VALUES (mz_local.next_id(), schema_name, secret_name, secret_value);
END
$fn$;

CREATE OR REPLACE FUNCTION mz_local.secret_id(database_name text, schema_name text, secret_name text) RETURNS text
  LANGUAGE plpgsql AS $fn$
DECLARE
  found_id text;
BEGIN
  schema_name := mz_local.resolve_schema(database_name, schema_name, secret_name);
  SELECT s.id INTO found_id FROM mz_local.secrets s WHERE s.schema_name = secret_id.schema_name AND s.name = secret_name;
  IF found_id IS NULL THEN
    PERFORM mz_local.fail(format('unknown catalog item ''%s''', secret_name), '42704');
  END IF;
  RETURN found_id;
END
$fn$;

CREATE OR REPLACE FUNCTION mz_local.alter_secret(database_name text, schema_name text, secret_name text,
                                                 secret_value bytea, if_exists boolean)
  RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  schema_name := mz_local.resolve_schema(database_name, schema_name, secret_name);
  IF if_exists AND NOT EXISTS (SELECT 1 FROM mz_local.secrets s WHERE s.schema_name = alter_secret.schema_name AND s.name = secret_name) THEN
    RETURN;
  END IF;
  IF secret_value IS NULL THEN
    PERFORM mz_local.fail('secret value can not be null', '22004');
  END IF;
  UPDATE mz_local.secrets s SET value = secret_value
   WHERE s.id = mz_local.secret_id(NULL, alter_secret.schema_name, secret_name);
END
$fn$;

--------------------------------------------------------------------------------------------------
-- Connections and sources
--------------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION mz_local.create_connection(database_name text, schema_name text, connection_name text,
                                                      connection_type text, options jsonb, secret_refs jsonb,
                                                      if_not_exists boolean, create_sql text)
  RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  ref jsonb;
  ids text[] := '{}';
BEGIN
  schema_name := mz_local.target_schema(database_name, schema_name);
  IF if_not_exists AND mz_local.item_kind(schema_name, connection_name) IS NOT NULL THEN
    RAISE NOTICE 'catalog item ''%'' already exists, skipping', connection_name;
    RETURN;
  END IF;
  PERFORM mz_local.assert_name_free_to_create(schema_name, connection_name);
  FOR ref IN SELECT * FROM jsonb_array_elements(secret_refs) LOOP
    ids := ids || mz_local.secret_id(ref->>'database', ref->>'schema', ref->>'name');
  END LOOP;
  INSERT INTO mz_local.connections (id, schema_name, name, type, options, secret_ids, create_sql)
  VALUES (mz_local.next_id(), schema_name, connection_name, connection_type, options, ids, create_sql);
END
$fn$;

-- Creates the relation that holds a source's rows and records it. column_sql is the column list.
CREATE OR REPLACE FUNCTION mz_local.create_source_relation(database_name text, schema_name text, source_name text,
                                                           cluster_name text, source_type text, column_sql text,
                                                           if_not_exists boolean, create_sql text)
  RETURNS oid LANGUAGE plpgsql AS $fn$
DECLARE
  created oid;
BEGIN
  schema_name := mz_local.target_schema(database_name, schema_name);
  IF if_not_exists AND mz_local.item_kind(schema_name, source_name) IS NOT NULL THEN
    RAISE NOTICE 'catalog item ''%'' already exists, skipping', source_name;
    RETURN NULL;
  END IF;
  PERFORM mz_local.assert_name_free_to_create(schema_name, source_name);
  cluster_name := mz_local.assert_cluster(cluster_name);
  EXECUTE format('CREATE TABLE %I.%I (%s)', schema_name, source_name, column_sql);
  created := mz_local.relation_oid(schema_name, source_name);
  PERFORM mz_local.track_writes(created);
  INSERT INTO mz_local.relations (relid, kind, source_type, cluster_name, create_sql)
  VALUES (created, 'source', source_type, cluster_name, create_sql);
  RETURN created;
END
$fn$;

-- check_sql is the prepared CHECK query with {{secret:N}} placeholders for the secrets' ids.
CREATE OR REPLACE FUNCTION mz_local.create_webhook_source(database_name text, schema_name text, source_name text,
                                                          cluster_name text, column_sql text, body_format text,
                                                          spec jsonb, check_sql text, secret_refs jsonb,
                                                          if_not_exists boolean, create_sql text)
  RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  created oid;
  ref jsonb;
  ids text[] := '{}';
  position integer := 0;
BEGIN
  FOR ref IN SELECT * FROM jsonb_array_elements(secret_refs) LOOP
    ids := ids || mz_local.secret_id(ref->>'database', ref->>'schema', ref->>'name');
    check_sql := replace(check_sql, '{{secret:' || position || '}}', quote_literal(ids[position + 1]));
    position := position + 1;
  END LOOP;
  IF check_sql IS NOT NULL THEN
    -- Prove the CHECK expression compiles now, as Materialize does at CREATE time, rather than
    -- failing every request later; before the name is taken, as Materialize plans it first
    -- (webhook.slt: a bad CHECK on a taken name reports the CHECK).
    BEGIN
      EXECUTE 'EXPLAIN ' || check_sql USING NULL::bytea, NULL::hstore, NULL::timestamptz;
    EXCEPTION WHEN OTHERS THEN
      PERFORM mz_local.fail(format('invalid CHECK expression: %s', SQLERRM), SQLSTATE);
    END;
  END IF;
  created := mz_local.create_source_relation(database_name, schema_name, source_name, cluster_name, 'webhook',
                                             column_sql, if_not_exists, create_sql);
  IF created IS NULL THEN
    RETURN;
  END IF;
  INSERT INTO mz_local.webhook_sources (relid, body_format, check_sql, secret_ids, spec)
  VALUES (created, body_format, check_sql, ids, spec);
END
$fn$;

CREATE OR REPLACE FUNCTION mz_local.create_kafka_source(database_name text, schema_name text, source_name text,
                                                        cluster_name text, connection_ref jsonb, topic text,
                                                        if_not_exists boolean, create_sql text)
  RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  created oid;
  connection_schema text;
  found record;
BEGIN
  connection_schema := mz_local.resolve_schema(connection_ref->>'database', connection_ref->>'schema', connection_ref->>'name');
  SELECT c.id, c.type INTO found FROM mz_local.connections c
   WHERE c.schema_name = connection_schema AND c.name = connection_ref->>'name';
  IF found.id IS NULL THEN
    PERFORM mz_local.fail(format('unknown catalog item ''%s''', connection_ref->>'name'), '42704');
  END IF;
  IF found.type <> 'kafka' THEN
    PERFORM mz_local.fail(format('%s is not a KAFKA CONNECTION', connection_ref->>'name'), '42809');
  END IF;
  created := mz_local.create_source_relation(database_name, schema_name, source_name, cluster_name, 'kafka',
                                             'data bytea NOT NULL', if_not_exists, create_sql);
  IF created IS NOT NULL THEN
    INSERT INTO mz_local.kafka_sources (relid, connection_id, topic) VALUES (created, found.id, topic);
  END IF;
END
$fn$;

--------------------------------------------------------------------------------------------------
-- Materialized views and indexes
--------------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION mz_local.create_materialized_view(database_name text, schema_name text, view_name text,
                                                             cluster_name text, view_sql text, or_replace boolean,
                                                             if_not_exists boolean, create_sql text)
  RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  existing text;
  not_maintained text;
BEGIN
  schema_name := mz_local.target_schema(database_name, schema_name);
  existing := mz_local.item_kind(schema_name, view_name);
  IF existing IS NOT NULL THEN
    IF if_not_exists THEN
      RAISE NOTICE 'catalog item ''%'' already exists, skipping', view_name;
      RETURN;
    END IF;
    IF NOT or_replace THEN
      PERFORM mz_local.assert_name_free_to_create(schema_name, view_name);
    END IF;
    IF existing <> 'materialized view' THEN
      PERFORM mz_local.fail(format('%s is a %s not a materialized view', mz_local.qualified(schema_name, view_name), existing), '42809');
    END IF;
    PERFORM mz_local.drop_item('materialized view', schema_name, view_name, false);
  END IF;
  cluster_name := mz_local.assert_cluster(cluster_name);
  BEGIN
    not_maintained := mz_local.create_maintained_view(schema_name, view_name, view_sql);
  EXCEPTION WHEN syntax_error THEN
    -- More names than the query has columns: said as Materialize says it (materialized_views.slt).
    IF SQLERRM <> 'CREATE VIEW specifies more column names than columns' THEN RAISE; END IF;
    PERFORM mz_local.fail(mz_local.view_names_mismatch('materialized view', mz_local.qualified(schema_name, view_name), view_sql), '42601');
  END;
  PERFORM mz_local.check_view_column_list('materialized view', mz_local.relation_oid(schema_name, view_name), view_sql);
  INSERT INTO mz_local.relations (relid, kind, cluster_name, create_sql, not_maintained)
  VALUES (mz_local.relation_oid(schema_name, view_name), 'materialized-view', cluster_name, create_sql, not_maintained);
END
$fn$;

-- `<kind> "x" definition names 2 columns, but <kind> "x" has 1 column`, for a view_sql of the form
-- `(a, b) AS <query>`: the query's columns are counted as the fields (f1, f2, …) of one of its rows
-- as an anonymous record (all NULLs when it has none; its columns may share a name).
CREATE OR REPLACE FUNCTION mz_local.view_names_mismatch(kind text, full_name text, view_sql text) RETURNS text
  LANGUAGE plpgsql AS $fn$
DECLARE
  parts text[];
  named integer;
  has integer;
BEGIN
  parts := regexp_match(view_sql, '^\s*\(([^)]*)\)\s*AS\s+(.*)$', 'is');
  IF parts IS NULL THEN
    RETURN 'CREATE VIEW specifies more column names than columns';
  END IF;
  named := cardinality(string_to_array(parts[1], ','));
  EXECUTE format('SELECT (SELECT count(*) FROM json_object_keys(row_to_json(ROW(q.*)))) FROM (SELECT 1) AS one LEFT JOIN (%s) AS q ON true LIMIT 1', parts[2])
    INTO has;
  RETURN mz_local.view_names_message(kind, full_name, named, has);
END
$fn$;

-- Materialize's words for a column list that does not match its query (src/sql/src/plan/plan_utils.rs,
-- column_count_mismatch): the full name unquoted, as FullItemName prints it.
CREATE OR REPLACE FUNCTION mz_local.view_names_message(kind text, full_name text, named integer, has integer) RETURNS text
  LANGUAGE sql IMMUTABLE AS $fn$
  SELECT format('%s %s definition names %s column%s, but %s %s has %s column%s',
    kind, full_name, named, CASE WHEN named = 1 THEN '' ELSE 's' END, kind, full_name, has, CASE WHEN has = 1 THEN '' ELSE 's' END)
$fn$;

-- A view's column list naming fewer columns than its query has: PostgreSQL names the first ones and
-- keeps the others' names; Materialize refuses it since v26.36 (plan_utils.rs,
-- maybe_rename_columns_exact; misc/python/materialize/checks/all_checks/
-- view_column_name_count_mismatch.py). Called once the view exists, so its columns are counted.
CREATE OR REPLACE FUNCTION mz_local.check_view_column_list(kind text, relation oid, view_sql text) RETURNS void
  LANGUAGE plpgsql AS $fn$
DECLARE
  names text[];
  named integer;
  has integer;
  full_name text;
BEGIN
  names := regexp_match(view_sql, '^\s*\(([^)]*)\)\s*AS\s', 'is');
  IF names IS NULL THEN
    RETURN;
  END IF;
  named := cardinality(string_to_array(names[1], ','));
  SELECT count(*) INTO has FROM pg_attribute WHERE attrelid = relation AND attnum > 0 AND NOT attisdropped;
  IF named < has THEN
    SELECT mz_local.qualified(n.nspname, c.relname) INTO full_name
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = relation;
    PERFORM mz_local.fail(mz_local.view_names_message(kind, full_name, named, has), '42601');
  END IF;
END
$fn$;

CREATE OR REPLACE FUNCTION mz_local.create_index(database_name text, schema_name text, index_name text,
                                                 on_ref jsonb, cluster_name text, key_sql text,
                                                 if_not_exists boolean, create_sql text)
  RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  on_schema text;
  on_oid oid;
BEGIN
  on_schema := mz_local.resolve_schema(on_ref->>'database', on_ref->>'schema', on_ref->>'name');
  on_oid := mz_local.relation_oid(on_schema, on_ref->>'name');
  IF on_oid IS NULL THEN
    PERFORM mz_local.fail(format('unknown catalog item ''%s''', on_ref->>'name'), '42P01');
  END IF;
  -- Indexes live in the schema of the object they index, as in Materialize.
  IF database_name IS NOT NULL OR schema_name IS NOT NULL THEN
    PERFORM mz_local.target_schema(database_name, schema_name);
  END IF;
  schema_name := on_schema;
  IF index_name IS NULL THEN
    index_name := (on_ref->>'name') || '_primary_idx';
    WHILE mz_local.item_kind(schema_name, index_name) IS NOT NULL LOOP
      index_name := index_name || '1';
    END LOOP;
  ELSIF if_not_exists AND mz_local.item_kind(schema_name, index_name) IS NOT NULL THEN
    RAISE NOTICE 'catalog item ''%'' already exists, skipping', index_name;
    RETURN;
  END IF;
  PERFORM mz_local.assert_name_free_to_create(schema_name, index_name);
  cluster_name := mz_local.assert_cluster(cluster_name);
  IF key_sql IS NOT NULL THEN
    -- Validate the key expressions against the indexed relation, as Materialize would.
    EXECUTE format('EXPLAIN SELECT %s FROM %I.%I', key_sql, on_schema, on_ref->>'name');
  END IF;
  INSERT INTO mz_local.indexes (id, schema_name, name, on_relid, cluster_name, key_sql, create_sql)
  VALUES (mz_local.next_id(), schema_name, index_name, on_oid, cluster_name, key_sql, create_sql);
END
$fn$;

--------------------------------------------------------------------------------------------------
-- DROP and ALTER … RENAME
--------------------------------------------------------------------------------------------------

-- Names of the items that depend on a relation (views over it, indexes on it), for error messages.
CREATE OR REPLACE FUNCTION mz_local.first_dependent(relation oid) RETURNS text LANGUAGE sql STABLE AS $fn$
  WITH direct AS (
    SELECT DISTINCT v.oid, v.relname::text AS name, v.relnamespace FROM pg_depend d
      JOIN pg_rewrite w ON w.oid = d.objid
      JOIN pg_class v ON v.oid = w.ev_class
     WHERE d.refobjid = relation AND d.classid = 'pg_rewrite'::regclass AND v.oid <> relation
  ),
  -- A maintained view's definition (mz_local.mv_q_<id>) stands for the view users see.
  named AS (
    SELECT name FROM direct WHERE relnamespace <> 'mz_local'::regnamespace
    UNION
    SELECT v.relname::text FROM direct q
      JOIN pg_depend d ON d.refobjid = q.oid AND d.classid = 'pg_rewrite'::regclass
      JOIN pg_rewrite w ON w.oid = d.objid
      JOIN pg_class v ON v.oid = w.ev_class
     WHERE q.relnamespace = 'mz_local'::regnamespace AND v.oid <> q.oid
  )
  SELECT coalesce(
    (SELECT name FROM named ORDER BY 1 LIMIT 1),
    (SELECT i.name FROM mz_local.indexes i WHERE i.on_relid = relation ORDER BY i.name LIMIT 1))
$fn$;

-- The first dependent as Materialize names it in "still depended upon by …": its kind and name
-- (materialized view "mv", view "v"). An index on the relation does not hold a drop back: it goes
-- with the relation, as in Materialize (materialized_views.slt drops a view that has a default index).
CREATE OR REPLACE FUNCTION mz_local.first_dependent_described(relation oid) RETURNS text LANGUAGE sql STABLE AS $fn$
  WITH direct AS (
    SELECT DISTINCT v.oid, v.relname::text AS name, v.relnamespace FROM pg_depend d
      JOIN pg_rewrite w ON w.oid = d.objid
      JOIN pg_class v ON v.oid = w.ev_class
     WHERE d.refobjid = relation AND d.classid = 'pg_rewrite'::regclass AND v.oid <> relation
  ),
  named AS (
    SELECT name, relnamespace FROM direct WHERE relnamespace <> 'mz_local'::regnamespace
    UNION
    SELECT v.relname::text, v.relnamespace FROM direct q
      JOIN pg_depend d ON d.refobjid = q.oid AND d.classid = 'pg_rewrite'::regclass
      JOIN pg_rewrite w ON w.oid = d.objid
      JOIN pg_class v ON v.oid = w.ev_class
     WHERE q.relnamespace = 'mz_local'::regnamespace AND v.oid <> q.oid
  )
  SELECT format('%s "%s"', mz_local.item_kind(n.nspname::text, named.name), named.name)
    FROM named JOIN pg_namespace n ON n.oid = named.relnamespace ORDER BY named.name LIMIT 1
$fn$;

CREATE OR REPLACE FUNCTION mz_local.drop_item(object_type text, schema_name text, item_name text, cascade boolean)
  RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  relation oid;
  dependent text;
  found_id text;
BEGIN
  IF object_type IN ('source', 'materialized view', 'view', 'table') THEN
    relation := mz_local.relation_oid(schema_name, item_name);
    IF NOT cascade THEN
      dependent := mz_local.first_dependent_described(relation);
      IF dependent IS NOT NULL THEN
        PERFORM mz_local.fail(format('cannot drop %s "%s": still depended upon by %s', object_type, item_name, dependent), '2BP01');
      END IF;
    END IF;
    DELETE FROM mz_local.indexes i WHERE i.on_relid = relation;
    EXECUTE format('DROP %s %I.%I CASCADE', CASE WHEN object_type IN ('source', 'table') THEN 'TABLE' ELSE 'VIEW' END,
                   schema_name, item_name);
  ELSIF object_type = 'index' THEN
    DELETE FROM mz_local.indexes i WHERE i.schema_name = drop_item.schema_name AND i.name = item_name;
  ELSIF object_type = 'secret' THEN
    SELECT s.id INTO found_id FROM mz_local.secrets s WHERE s.schema_name = drop_item.schema_name AND s.name = item_name;
    PERFORM mz_local.drop_users_of(found_id, item_name, cascade);
    DELETE FROM mz_local.secrets s WHERE s.id = found_id;
  ELSIF object_type = 'connection' THEN
    SELECT c.id INTO found_id FROM mz_local.connections c WHERE c.schema_name = drop_item.schema_name AND c.name = item_name;
    PERFORM mz_local.drop_users_of(found_id, item_name, cascade);
    DELETE FROM mz_local.connections c WHERE c.id = found_id;
  END IF;
  PERFORM mz_local.collect_garbage();
END
$fn$;

-- Sources and connections that use a secret or connection: an error, or dropped too with CASCADE.
CREATE OR REPLACE FUNCTION mz_local.drop_users_of(used_id text, used_name text, cascade boolean)
  RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  user_item record;
BEGIN
  FOR user_item IN
    SELECT 'source' AS object_type, n.nspname::text AS schema_name, c.relname::text AS item_name
      FROM mz_local.webhook_sources w JOIN pg_class c ON c.oid = w.relid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE used_id = ANY (w.secret_ids)
    UNION ALL
    SELECT 'source', n.nspname::text, c.relname::text
      FROM mz_local.kafka_sources k JOIN pg_class c ON c.oid = k.relid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE k.connection_id = used_id
    UNION ALL
    SELECT 'connection', x.schema_name, x.name FROM mz_local.connections x WHERE used_id = ANY (x.secret_ids)
  LOOP
    IF NOT cascade THEN
      PERFORM mz_local.fail(format('cannot drop %s "%s": still depended upon by %s "%s"',
                                   (SELECT CASE WHEN EXISTS (SELECT 1 FROM mz_local.secrets x WHERE x.id = used_id) THEN 'secret' ELSE 'connection' END),
                                   used_name, user_item.object_type, user_item.item_name), '2BP01');
    END IF;
    PERFORM mz_local.drop_item(user_item.object_type, user_item.schema_name, user_item.item_name, true);
  END LOOP;
END
$fn$;

CREATE OR REPLACE FUNCTION mz_local.drop_object(object_type text, database_name text, schema_name text,
                                                item_name text, if_exists boolean, cascade boolean)
  RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  existing text;
BEGIN
  schema_name := mz_local.resolve_schema(database_name, schema_name, item_name);
  existing := mz_local.item_kind(schema_name, item_name);
  IF existing IS NULL THEN
    IF if_exists THEN
      RAISE NOTICE '% "%" does not exist, skipping', object_type, item_name;
      RETURN;
    END IF;
    PERFORM mz_local.fail(format('unknown catalog item ''%s''', item_name), '42704');
  END IF;
  IF existing <> object_type THEN
    PERFORM mz_local.fail_wrong_kind(mz_local.qualified(schema_name, item_name), object_type, existing, 'DROP');
  END IF;
  PERFORM mz_local.drop_item(object_type, schema_name, item_name, cascade);
END
$fn$;

CREATE OR REPLACE FUNCTION mz_local.rename_object(object_type text, database_name text, schema_name text,
                                                  item_name text, new_name text, if_exists boolean)
  RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  existing text;
BEGIN
  IF object_type = 'cluster' THEN
    IF NOT EXISTS (SELECT 1 FROM mz_local.clusters c WHERE c.name = item_name) THEN
      IF if_exists THEN RETURN; END IF;
      PERFORM mz_local.fail(format('unknown cluster ''%s''', item_name), '42704');
    END IF;
    IF EXISTS (SELECT 1 FROM mz_local.clusters c WHERE c.name = new_name) THEN
      PERFORM mz_local.fail(format('cluster ''%s'' already exists', new_name), '42710');
    END IF;
    UPDATE mz_local.clusters c SET name = new_name WHERE c.name = item_name;
    UPDATE mz_local.relations r SET cluster_name = new_name WHERE r.cluster_name = item_name;
    UPDATE mz_local.indexes i SET cluster_name = new_name WHERE i.cluster_name = item_name;
    RETURN;
  END IF;
  schema_name := mz_local.resolve_schema(database_name, schema_name, item_name);
  existing := mz_local.item_kind(schema_name, item_name);
  IF existing IS NULL THEN
    IF if_exists THEN RETURN; END IF;
    PERFORM mz_local.fail(format('unknown catalog item ''%s''', item_name), '42704');
  END IF;
  IF existing <> object_type THEN
    PERFORM mz_local.fail_wrong_kind(mz_local.qualified(schema_name, item_name), object_type, existing, 'ALTER');
  END IF;
  PERFORM mz_local.assert_name_free(schema_name, new_name);
  IF object_type IN ('source', 'table') THEN
    EXECUTE format('ALTER TABLE %I.%I RENAME TO %I', schema_name, item_name, new_name);
  ELSIF object_type IN ('view', 'materialized view') THEN
    EXECUTE format('ALTER VIEW %I.%I RENAME TO %I', schema_name, item_name, new_name);
  ELSIF object_type = 'index' THEN
    UPDATE mz_local.indexes i SET name = new_name WHERE i.schema_name = rename_object.schema_name AND i.name = item_name;
  ELSIF object_type = 'secret' THEN
    UPDATE mz_local.secrets s SET name = new_name WHERE s.schema_name = rename_object.schema_name AND s.name = item_name;
  ELSIF object_type = 'connection' THEN
    UPDATE mz_local.connections c SET name = new_name WHERE c.schema_name = rename_object.schema_name AND c.name = item_name;
  END IF;
END
$fn$;

--------------------------------------------------------------------------------------------------
-- Catalog relations, shaped like Materialize's (the columns tools query)
--------------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION mz_local.url_segment(segment text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $fn$
DECLARE
  bytes bytea := convert_to(segment, 'UTF8');
  result text := '';
  b integer;
BEGIN
  FOR i IN 0 .. length(bytes) - 1 LOOP
    b := get_byte(bytes, i);
    -- The URL standard's path-segment set, as Materialize encodes a webhook's URL (webhook.slt:
    -- weird-name-(]%/' is weird-name-(]%25%2F'): controls, space, non-ASCII and " # % / < > ? ` { }.
    IF b > 32 AND b < 127 AND b NOT IN (34, 35, 37, 47, 60, 62, 63, 96, 123, 125) THEN
      result := result || chr(b);
    ELSE
      result := result || '%' || upper(lpad(to_hex(b), 2, '0'));
    END IF;
  END LOOP;
  RETURN result;
END
$fn$;

CREATE OR REPLACE VIEW mz_internal.mz_webhook_sources AS
  SELECT 'u' || c.oid AS id, c.relname::text AS name,
         (SELECT value FROM mz_local.settings WHERE key = 'webhook_base_url')
           || '/' || mz_local.url_segment(current_database())
           || '/' || mz_local.url_segment(n.nspname::text)
           || '/' || mz_local.url_segment(c.relname::text) AS url
    FROM mz_local.webhook_sources w
    JOIN pg_class c ON c.oid = w.relid
    JOIN pg_namespace n ON n.oid = c.relnamespace;

-- Each source's status (doc/user/content/sql/system-catalog/mz_internal.md): the local server's
-- sources take rows whenever the server runs, so every one is running (webhook.slt).
CREATE OR REPLACE VIEW mz_internal.mz_source_statuses AS
  SELECT 'u' || c.oid AS id, c.relname::text AS name, r.source_type AS type,
         NULL::timestamptz AS last_status_change_at, 'running'::text AS status, NULL::text AS error, NULL::jsonb AS details
    FROM mz_local.relations r
    JOIN pg_class c ON c.oid = r.relid
   WHERE r.kind = 'source';

-- SHOW COLUMNS and SHOW CREATE (sql/show-queries.ts).
-- Materialize's type names: PostgreSQL's, except that a map is a map.
CREATE OR REPLACE FUNCTION mz_local.type_name(type_oid oid, type_mod integer) RETURNS text
  LANGUAGE sql STABLE AS $fn$
  SELECT CASE WHEN t.typname = 'hstore' THEN 'map' ELSE format_type(type_oid, type_mod) END
    FROM pg_type t WHERE t.oid = type_oid
$fn$;

-- The relation a SHOW names, or Materialize's error for a name that is not there.
CREATE OR REPLACE FUNCTION mz_local.relation_for_show(database_name text, schema_name text, item_name text)
  RETURNS oid LANGUAGE plpgsql AS $fn$
DECLARE
  resolved text := mz_local.resolve_schema(database_name, schema_name, item_name);
  relation oid;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = resolved) THEN
    PERFORM mz_local.fail(format('unknown schema ''%s''', resolved), '3F000');
  END IF;
  relation := mz_local.relation_oid(resolved, item_name);
  IF relation IS NULL THEN
    PERFORM mz_local.fail(format('unknown catalog item ''%s''', item_name), '42P01');
  END IF;
  RETURN relation;
END
$fn$;

-- The text after the name (and IN CLUSTER) of a stored CREATE statement: the user's own words.
CREATE OR REPLACE FUNCTION mz_local.statement_tail(create_sql text, head_words text) RETURNS text
  LANGUAGE sql IMMUTABLE AS $fn$
  SELECT regexp_replace(create_sql,
    '^\s*' || head_words || '\s+(IF\s+NOT\s+EXISTS\s+)?(("[^"]+"|[A-Za-z_][A-Za-z0-9_$]*)\s*\.\s*){0,2}("[^"]+"|[A-Za-z_][A-Za-z0-9_$]*)(\s+IN\s+CLUSTER\s+("[^"]+"|[A-Za-z_][A-Za-z0-9_$]*))?\s*',
    '', 'i')
$fn$;

-- Materialize's SHOW CREATE quotes every identifier.
CREATE OR REPLACE FUNCTION mz_local.quote_always(identifier text) RETURNS text
  LANGUAGE sql IMMUTABLE AS $fn$ SELECT '"' || replace(identifier, '"', '""') || '"' $fn$;

CREATE OR REPLACE FUNCTION mz_local.show_create(object_type text, database_name text, schema_name text, item_name text)
  RETURNS TABLE (name text, create_sql text) LANGUAGE plpgsql AS $fn$
DECLARE
  resolved text;
  kind text;
  relation oid;
  qualified_name text;
  quoted text;
  stored record;
  cluster record;
BEGIN
  IF object_type = 'cluster' THEN
    SELECT * INTO cluster FROM mz_local.clusters c WHERE c.name = item_name;
    IF NOT FOUND THEN PERFORM mz_local.fail(format('unknown cluster ''%s''', item_name), '42704'); END IF;
    name := cluster.name;
    IF cluster.managed THEN
      create_sql := format('CREATE CLUSTER %s (INTROSPECTION DEBUGGING = %s, INTROSPECTION INTERVAL = %s, MANAGED = true, REPLICATION FACTOR = %s, SIZE = %L, SCHEDULE = %s)',
        mz_local.quote_always(cluster.name), CASE WHEN cluster.introspection_debugging THEN 'true' ELSE 'false' END,
        coalesce('INTERVAL ' || quote_literal(cluster.introspection_interval::text), '0'),
        cluster.replication_factor, cluster.size, CASE cluster.schedule WHEN 'manual' THEN 'MANUAL' ELSE 'ON REFRESH' END);
    ELSE
      create_sql := format('CREATE CLUSTER %s (MANAGED = false, REPLICAS = (%s))', mz_local.quote_always(cluster.name),
        (SELECT string_agg(format('%s (SIZE = %L)', mz_local.quote_always(r.name), r.size), ', ' ORDER BY r.name) FROM mz_local.cluster_replicas r WHERE r.cluster_id = cluster.id));
    END IF;
    RETURN NEXT;
    RETURN;
  END IF;
  resolved := mz_local.resolve_schema(database_name, schema_name, item_name);
  kind := mz_local.item_kind(resolved, item_name);
  IF kind IS NULL THEN PERFORM mz_local.fail(format('unknown catalog item ''%s''', item_name), '42P01'); END IF;
  qualified_name := mz_local.qualified(resolved, item_name);
  IF kind <> object_type THEN PERFORM mz_local.fail_wrong_kind(qualified_name, object_type, kind, 'SHOW CREATE'); END IF;
  quoted := mz_local.quote_always(current_database()) || '.' || mz_local.quote_always(resolved) || '.' || mz_local.quote_always(item_name);
  name := qualified_name;
  relation := mz_local.relation_oid(resolved, item_name);
  IF object_type = 'view' THEN
    create_sql := 'CREATE VIEW ' || quoted || ' AS ' || regexp_replace(regexp_replace(trim(pg_get_viewdef(relation)), '\s+', ' ', 'g'), ';$', '');
  ELSIF object_type IN ('materialized view', 'source') THEN
    SELECT r.create_sql AS text, r.cluster_name INTO stored FROM mz_local.relations r WHERE r.relid = relation;
    create_sql := CASE object_type
      WHEN 'source' THEN 'CREATE SOURCE ' || quoted || ' IN CLUSTER ' || mz_local.quote_always(stored.cluster_name) || ' '
                         || mz_local.statement_tail(stored.text, 'CREATE\s+SOURCE')
      -- Materialize prints the default refresh (WITH (REFRESH = ON COMMIT), materialized_views.slt);
      -- options given are printed as written.
      ELSE 'CREATE MATERIALIZED VIEW ' || quoted || ' IN CLUSTER ' || mz_local.quote_always(stored.cluster_name) || ' '
           || CASE WHEN mz_local.statement_tail(stored.text, 'CREATE\s+(OR\s+REPLACE\s+)?MATERIALIZED\s+VIEW') ~* '^\s*WITH\s*\('
                   THEN mz_local.statement_tail(stored.text, 'CREATE\s+(OR\s+REPLACE\s+)?MATERIALIZED\s+VIEW')
                   ELSE 'WITH (REFRESH = ON COMMIT) ' || mz_local.statement_tail(stored.text, 'CREATE\s+(OR\s+REPLACE\s+)?MATERIALIZED\s+VIEW') END
    END;
  ELSIF object_type = 'table' THEN
    create_sql := 'CREATE TABLE ' || quoted || ' (' ||
      (SELECT string_agg(mz_local.quote_always(a.attname) || ' ' || mz_local.type_name(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END, ', ' ORDER BY a.attnum)
         FROM pg_attribute a WHERE a.attrelid = relation AND a.attnum > 0 AND NOT a.attisdropped) || ')';
  ELSIF object_type = 'index' THEN
    SELECT format('CREATE INDEX %s IN CLUSTER %s ON %s (%s)', mz_local.quote_always(i.name), mz_local.quote_always(i.cluster_name),
                  mz_local.quote_always(current_database()) || '.' || mz_local.quote_always(n.nspname) || '.' || mz_local.quote_always(c.relname),
                  coalesce(i.key_sql, ''))
      INTO create_sql
      FROM mz_local.indexes i JOIN pg_class c ON c.oid = i.on_relid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE i.schema_name = resolved AND i.name = item_name;
  ELSIF object_type = 'connection' THEN
    SELECT 'CREATE CONNECTION ' || quoted || ' ' || mz_local.statement_tail(c.create_sql, 'CREATE\s+CONNECTION') INTO create_sql
      FROM mz_local.connections c WHERE c.schema_name = resolved AND c.name = item_name;
  END IF;
  RETURN NEXT;
END
$fn$;
