-- What blue/green deploys need from the local server, appended to the bootstrap:
--
-- - `ALTER SCHEMA a SWAP WITH b` and `ALTER CLUSTER a SWAP WITH b` exchange two names atomically
--   (several in one transaction commit together). Objects keep their ids and follow the schema or
--   cluster they belong to, as in Materialize: a view in `a_deploy` is, after the swap, the view
--   in `a`, and every view reading it still reads it. Webhook URLs are resolved by name on each
--   request, so a URL names whatever source holds that name now.
-- - `mz_internal.mz_hydration_statuses`, `mz_wallclock_global_lag`, `mz_cluster_replica_statuses`
--   and `mz_cluster_replica_status_history`, with Materialize's columns. Results here are always
--   current, so objects are hydrated at once — unless the server runs with a hydration delay
--   (`npm run local -- --hydration-delay 2s`): then a materialized view or index counts as
--   hydrating, its lag shrinking, for that long after it was created, so that tools that wait for
--   hydration (blue/green's wait step) are exercised for real.

ALTER TABLE mz_local.relations ADD COLUMN IF NOT EXISTS created_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE mz_local.indexes ADD COLUMN IF NOT EXISTS created_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE mz_local.cluster_replicas ADD COLUMN IF NOT EXISTS created_at timestamptz NOT NULL DEFAULT now();

CREATE OR REPLACE FUNCTION mz_local.assert_user_schema(schema_name text) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  IF schema_name IN ('mz_catalog', 'mz_internal', 'pg_catalog', 'information_schema', 'mz_local') OR schema_name LIKE 'pg\_%' THEN
    PERFORM mz_local.fail(format('cannot swap system schema ''%s''', schema_name), '42501');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = schema_name) THEN
    PERFORM mz_local.fail(format('unknown schema ''%s''', schema_name), '3F000');
  END IF;
END
$fn$;

CREATE OR REPLACE FUNCTION mz_local.swap_schemas(database_name text, first_schema text, second_schema text)
  RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  parking text := 'mz_swap_' || md5(first_schema || '/' || second_schema);
BEGIN
  IF database_name IS NOT NULL AND database_name <> current_database() THEN
    PERFORM mz_local.fail(format('unknown database ''%s''', database_name), '3D000');
  END IF;
  PERFORM mz_local.assert_user_schema(first_schema);
  PERFORM mz_local.assert_user_schema(second_schema);
  IF first_schema = second_schema THEN RETURN; END IF;
  EXECUTE format('ALTER SCHEMA %I RENAME TO %I', first_schema, parking);
  EXECUTE format('ALTER SCHEMA %I RENAME TO %I', second_schema, first_schema);
  EXECUTE format('ALTER SCHEMA %I RENAME TO %I', parking, second_schema);
  -- Objects kept by name in mz_local follow their schema (through the parking name: both schemas
  -- may hold an object of the same name, and (schema_name, name) is unique).
  UPDATE mz_local.secrets s SET schema_name = parking WHERE s.schema_name = first_schema;
  UPDATE mz_local.secrets s SET schema_name = first_schema WHERE s.schema_name = second_schema;
  UPDATE mz_local.secrets s SET schema_name = second_schema WHERE s.schema_name = parking;
  UPDATE mz_local.connections c SET schema_name = parking WHERE c.schema_name = first_schema;
  UPDATE mz_local.connections c SET schema_name = first_schema WHERE c.schema_name = second_schema;
  UPDATE mz_local.connections c SET schema_name = second_schema WHERE c.schema_name = parking;
  UPDATE mz_local.indexes i SET schema_name = parking WHERE i.schema_name = first_schema;
  UPDATE mz_local.indexes i SET schema_name = first_schema WHERE i.schema_name = second_schema;
  UPDATE mz_local.indexes i SET schema_name = second_schema WHERE i.schema_name = parking;
END
$fn$;

CREATE OR REPLACE FUNCTION mz_local.swap_clusters(first_cluster text, second_cluster text)
  RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  parking text := 'mz_swap_' || md5(first_cluster || '/' || second_cluster);
BEGIN
  IF NOT EXISTS (SELECT 1 FROM mz_local.clusters c WHERE c.name = first_cluster) THEN
    PERFORM mz_local.fail(format('unknown cluster ''%s''', first_cluster), '42704');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM mz_local.clusters c WHERE c.name = second_cluster) THEN
    PERFORM mz_local.fail(format('unknown cluster ''%s''', second_cluster), '42704');
  END IF;
  IF first_cluster = second_cluster THEN RETURN; END IF;
  UPDATE mz_local.clusters c SET name = parking WHERE c.name = first_cluster;
  UPDATE mz_local.clusters c SET name = first_cluster WHERE c.name = second_cluster;
  UPDATE mz_local.clusters c SET name = second_cluster WHERE c.name = parking;
  -- Objects name their cluster: each keeps the cluster it runs on, under that cluster's new name.
  UPDATE mz_local.relations r SET cluster_name = CASE WHEN r.cluster_name = first_cluster THEN second_cluster ELSE first_cluster END
   WHERE r.cluster_name IN (first_cluster, second_cluster);
  UPDATE mz_local.indexes i SET cluster_name = CASE WHEN i.cluster_name = first_cluster THEN second_cluster ELSE first_cluster END
   WHERE i.cluster_name IN (first_cluster, second_cluster);
END
$fn$;

-- The hydration delay (npm run local -- --hydration-delay), 0 when unset.
CREATE OR REPLACE FUNCTION mz_local.hydration_delay() RETURNS interval LANGUAGE sql STABLE AS $fn$
  SELECT coalesce((SELECT (value || ' milliseconds')::interval FROM mz_local.settings WHERE key = 'hydration_delay_ms'), interval '0')
$fn$;

-- Compute objects (materialized views, indexes) with their cluster and when they were created.
CREATE OR REPLACE VIEW mz_local.compute_objects AS
  SELECT 'u' || r.relid AS object_id, cl.id AS cluster_id, r.created_at
    FROM mz_local.relations r JOIN pg_class c ON c.oid = r.relid JOIN mz_local.clusters cl ON cl.name = r.cluster_name
   WHERE r.kind = 'materialized-view'
  UNION ALL
  SELECT i.id, cl.id, i.created_at FROM mz_local.indexes i JOIN mz_local.clusters cl ON cl.name = i.cluster_name;

CREATE OR REPLACE VIEW mz_internal.mz_hydration_statuses AS
  SELECT o.object_id, rep.id AS replica_id, clock_timestamp() >= o.created_at + mz_local.hydration_delay() AS hydrated
    FROM mz_local.compute_objects o JOIN mz_local.cluster_replicas rep ON rep.cluster_id = o.cluster_id
  UNION ALL
  SELECT 'u' || r.relid, rep.id, true
    FROM mz_local.relations r JOIN pg_class c ON c.oid = r.relid
    JOIN mz_local.clusters cl ON cl.name = r.cluster_name JOIN mz_local.cluster_replicas rep ON rep.cluster_id = cl.id
   WHERE r.kind = 'source';

-- How far each object's results are behind the wall clock: what remains of its hydration, else
-- a second at most (results are computed when read).
CREATE OR REPLACE VIEW mz_internal.mz_wallclock_global_lag AS
  SELECT o.object_id, greatest(o.created_at + mz_local.hydration_delay() - clock_timestamp(), interval '0') AS lag
    FROM mz_local.compute_objects o
  UNION ALL
  SELECT 'u' || r.relid, interval '0' FROM mz_local.relations r JOIN pg_class c ON c.oid = r.relid WHERE r.kind = 'source';

CREATE OR REPLACE VIEW mz_internal.mz_cluster_replica_statuses AS
  SELECT r.id AS replica_id, 0::bigint AS process_id, 'online'::text AS status, NULL::text AS reason, r.created_at AS updated_at
    FROM mz_local.cluster_replicas r;

CREATE OR REPLACE VIEW mz_internal.mz_cluster_replica_status_history AS
  SELECT r.id AS replica_id, 0::bigint AS process_id, 'online'::text AS status, NULL::text AS reason, r.created_at AS occurred_at
    FROM mz_local.cluster_replicas r;
