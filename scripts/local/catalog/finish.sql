-- Last, after every part: what needs all of them in place.

-- Clusters created before replicas were recorded get theirs.
SELECT mz_local.sync_managed_replicas(id) FROM mz_local.clusters WHERE managed;

-- Unqualified names reach mz_catalog (Materialize looks there before the search path); objects
-- are still created in public. pg_catalog is searched first by PostgreSQL itself.
DO $fn$ BEGIN EXECUTE format('ALTER DATABASE %I SET search_path = public, mz_catalog', current_database()); END $fn$;
