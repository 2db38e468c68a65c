/**
 * Materialized views whose results are kept, so that reading one between writes costs a table scan
 * instead of recomputing the pipeline under it. Each maintainable materialized view `s.v` is:
 *
 *   mz_local.mv_q_<id>   a plain view: the definition, as written
 *   mz_local.mv_b_<id>   a table: its results as of its last refresh
 *   s.v                  the view users see: the table's rows when no source was written since that
 *                        refresh, else the definition's rows computed now —
 *                        `SELECT * FROM mv_b WHERE is_fresh(id) UNION ALL SELECT * FROM mv_q WHERE NOT is_fresh(id)`;
 *                        it reads the definition, so DROP … CASCADE and "still depended upon"
 *                        behave as for any view
 *
 * Every source table has a statement trigger advancing mz_local.write_sequence. A read is therefore
 * always current — what recomputing the view at that moment gives, as in Materialize — and never
 * writes (so it works in read-only transactions and adds nothing to a read). The server refreshes
 * stale views itself once writes pause (refresh_maintained(), see maintained-views.ts): under steady
 * ingest a read costs what it did before; between bursts it costs a scan of the kept results.
 *
 * Not kept (computed on every read; the server log says so once per view): views using mz_now()
 * (their rows leave with time, not with writes) and views reading anything other than sources and
 * views (a table written with plain DML, a catalog relation).
 */
export const MAINTAINED_VIEWS_SQL = String.raw`
-- The write counter: a sequence, because nextval costs a webhook append far less than updating a
-- row (it is not transactional: a rolled-back write still makes views stale, which only costs a
-- refresh). Made "called" once, so that its last_value moves with the first write.
CREATE SEQUENCE IF NOT EXISTS mz_local.write_sequence;
SELECT setval('mz_local.write_sequence', greatest((SELECT last_value FROM mz_local.write_sequence), 1), true);

CREATE SEQUENCE IF NOT EXISTS mz_local.maintained_ids;
CREATE TABLE IF NOT EXISTS mz_local.maintained_views (
  id bigint PRIMARY KEY,
  view_oid oid NOT NULL,
  refreshed_version bigint NOT NULL DEFAULT -1
);

CREATE OR REPLACE FUNCTION mz_local.advance_write_version() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM nextval('mz_local.write_sequence');
  RETURN NULL;
END
$fn$;

CREATE OR REPLACE FUNCTION mz_local.track_writes(relation oid) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = relation AND t.tgname = 'mz_local_write_version') THEN
    EXECUTE format('CREATE TRIGGER mz_local_write_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION mz_local.advance_write_version()', relation::regclass);
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = relation AND t.tgname = 'mz_local_rewrites') THEN
    EXECUTE format('CREATE TRIGGER mz_local_rewrites AFTER UPDATE OR DELETE OR TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION mz_local.advance_rewrites()', relation::regclass);
  END IF;
END
$fn$;

-- Whether a maintained view's kept results are current: no source written since its refresh.
CREATE OR REPLACE FUNCTION mz_local.is_fresh(mv bigint) RETURNS boolean LANGUAGE plpgsql STABLE AS $fn$
BEGIN
  RETURN (SELECT m.refreshed_version FROM mz_local.maintained_views m WHERE m.id = mv) = (SELECT last_value FROM mz_local.write_sequence);
END
$fn$;

-- Why the view defined by mz_local.mv_q_<id> cannot be maintained, or NULL when it can: every table
-- it reads (through views, transitively) must be a source.
CREATE OR REPLACE FUNCTION mz_local.unmaintainable_reason(definition oid, view_sql text) RETURNS text LANGUAGE sql STABLE AS $fn$
  WITH RECURSIVE reads(oid) AS (
    SELECT definition
    UNION
    SELECT d.refobjid FROM reads r
      JOIN pg_class v ON v.oid = r.oid AND v.relkind = 'v'
      JOIN pg_rewrite w ON w.ev_class = v.oid
      JOIN pg_depend d ON d.objid = w.oid AND d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
     WHERE d.refobjid <> r.oid
  )
  SELECT CASE
    WHEN view_sql ~* '\mmz_now\s*\(' THEN 'it uses mz_now(): its rows change with time, not only with writes'
    ELSE (SELECT format('it reads %s, which is not a source', c.oid::regclass)
            FROM reads r JOIN pg_class c ON c.oid = r.oid
           WHERE c.relkind <> 'v' AND NOT EXISTS (SELECT 1 FROM mz_local.relations s WHERE s.relid = c.oid AND s.kind = 'source')
             -- The kept results of an upstream maintained view (read when current).
             AND NOT (c.relnamespace = 'mz_local'::regnamespace AND c.relname LIKE 'mv\_b\_%')
           ORDER BY 1 LIMIT 1)
  END
$fn$;

-- Keyed refresh (what changed, not everything) for the dedup shape: a view that is
-- SELECT DISTINCT ON (<one expression>) … AS <key column> … over source tables only, with no join,
-- EXISTS or IN (…) — then a row appended to a source can only change the output row of its own key.
-- Sources are append-only (a statement deleting or updating their rows forces a whole refresh), so
-- the rows appended since a refresh are those whose xmin is newer than the refresh's transaction.
ALTER TABLE mz_local.maintained_views ADD COLUMN IF NOT EXISTS key_column text;
ALTER TABLE mz_local.maintained_views ADD COLUMN IF NOT EXISTS delta_sql text;
ALTER TABLE mz_local.maintained_views ADD COLUMN IF NOT EXISTS refreshed_xid bigint;
ALTER TABLE mz_local.maintained_views ADD COLUMN IF NOT EXISTS refreshed_rewrites bigint;

-- Advanced by a statement that deletes or updates a source's rows (never done by webhooks or Kafka).
CREATE SEQUENCE IF NOT EXISTS mz_local.rewrite_sequence;
SELECT setval('mz_local.rewrite_sequence', greatest((SELECT last_value FROM mz_local.rewrite_sequence), 1), true);
CREATE OR REPLACE FUNCTION mz_local.advance_rewrites() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM nextval('mz_local.rewrite_sequence');
  RETURN NULL;
END
$fn$;

-- For a view eligible for keyed refresh: its key column, and its definition with every source
-- replaced by only the rows appended after transaction :since (a placeholder); NULL otherwise.
CREATE OR REPLACE FUNCTION mz_local.keyed_refresh_plan(definition oid, view_sql text, OUT key_column text, OUT delta_sql text)
  LANGUAGE plpgsql STABLE AS $fn$
DECLARE
  key_expression text;
  query text;
  source record;
  quoted text;
  plain text;
  found_any boolean := false;
BEGIN
  key_expression := substring(view_sql from '(?i)\mSELECT\s+DISTINCT\s+ON\s*\(([^;]*?)\)\s*\n');
  IF key_expression IS NULL OR key_expression ~ ',' THEN RETURN; END IF;
  IF view_sql ~* '\m(JOIN|EXISTS|LATERAL)\M' OR view_sql ~* '\mIN\s*\(\s*SELECT\M' THEN RETURN; END IF;
  key_column := substring(view_sql from '(?i)' || regexp_replace(btrim(key_expression), '([.*+?^$\{}()|\[\]\\])', '\\\1', 'g') || '\s+AS\s+([a-z_][a-z0-9_]*)');
  IF key_column IS NULL THEN RETURN; END IF;
  query := regexp_replace(view_sql, '^\s*(\([^)]*\)\s*)?AS\s+', '', 'i');
  FOR source IN SELECT DISTINCT n.nspname, c.relname, c.oid,
                       EXISTS (SELECT 1 FROM mz_local.relations r WHERE r.relid = c.oid AND r.kind = 'source') AS is_source
      FROM pg_rewrite w
      JOIN pg_depend d ON d.objid = w.oid AND d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
      JOIN pg_class c ON c.oid = d.refobjid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE w.ev_class = definition AND c.oid <> definition LOOP
    -- Every relation it reads must be a source: no view in between.
    IF NOT source.is_source THEN
      key_column := NULL;
      RETURN;
    END IF;
    quoted := format('"%s"."%s"', source.nspname, source.relname);
    plain := format('%s.%s', source.nspname, source.relname);
    IF position(quoted IN query) > 0 THEN
      query := replace(query, quoted, format('(SELECT * FROM %s WHERE xmin::text::bigint > :since) AS %I', quoted, source.relname));
      found_any := true;
    ELSIF position(plain IN query) > 0 THEN
      query := replace(query, plain, format('(SELECT * FROM %s WHERE xmin::text::bigint > :since) AS %I', plain, source.relname));
      found_any := true;
    ELSE
      key_column := NULL;
      RETURN;
    END IF;
  END LOOP;
  IF NOT found_any THEN key_column := NULL; RETURN; END IF;
  delta_sql := format('SELECT DISTINCT %I FROM (%s) AS appended', key_column, query);
END
$fn$;

-- Creates s.v over its definition (already created as mz_local.mv_q_<id>): maintained when it
-- can be, else a plain view; returns why not (NULL when maintained).
CREATE OR REPLACE FUNCTION mz_local.create_maintained_view(schema_name text, view_name text, view_sql text) RETURNS text
  LANGUAGE plpgsql AS $fn$
DECLARE
  id bigint := nextval('mz_local.maintained_ids');
  definition text := 'mv_q_' || id;
  results text := 'mv_b_' || id;
  reason text;
  keyed record;
BEGIN
  EXECUTE format('CREATE VIEW mz_local.%I %s', definition, view_sql);
  reason := CASE WHEN (SELECT value FROM mz_local.settings WHERE key = 'keep_materialized_views') = 'false'
                 THEN 'the server runs with --no-keep-materialized-views'
                 ELSE mz_local.unmaintainable_reason(format('mz_local.%I', definition)::regclass, view_sql) END;
  IF reason IS NOT NULL THEN
    EXECUTE format('DROP VIEW mz_local.%I', definition);
    EXECUTE format('CREATE VIEW %I.%I %s', schema_name, view_name, view_sql);
    RETURN reason;
  END IF;
  EXECUTE format('CREATE TABLE mz_local.%I AS SELECT * FROM mz_local.%I WITH NO DATA', results, definition);

  -- is_fresh() is stable and its argument constant: PostgreSQL evaluates it once per read (a
  -- one-time filter) and runs only one branch, each planned as usual (a scan of the kept table, or
  -- the definition inlined and streamed as a plain view would be).
  EXECUTE format('CREATE VIEW %I.%I AS SELECT * FROM mz_local.%I WHERE mz_local.is_fresh(%s) UNION ALL SELECT * FROM mz_local.%I WHERE NOT mz_local.is_fresh(%s)',
                 schema_name, view_name, results, id, definition, id);
  SELECT p.key_column, p.delta_sql INTO keyed FROM mz_local.keyed_refresh_plan(format('mz_local.%I', definition)::regclass, view_sql) p;
  INSERT INTO mz_local.maintained_views (id, view_oid, key_column, delta_sql)
  VALUES (id, mz_local.relation_oid(schema_name, view_name), keyed.key_column, keyed.delta_sql);
  RETURN NULL;
END
$fn$;

-- Refreshes one maintained view, if stale, in one statement (so atomically). The server calls it for
-- every stale view in id order, upstream first: ids follow creation order, and a view can only read
-- views created before it (maintained-views.ts).
CREATE OR REPLACE FUNCTION mz_local.refresh_maintained(mv bigint) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  current_version bigint;
  view_row record;
  current_rewrites bigint;
  keys text[];
BEGIN
  SELECT last_value INTO current_version FROM mz_local.write_sequence;
  SELECT * INTO view_row FROM mz_local.maintained_views WHERE id = mv;
  IF view_row.refreshed_version = current_version THEN RETURN; END IF;
  current_rewrites := (SELECT last_value FROM mz_local.rewrite_sequence);
  IF view_row.key_column IS NOT NULL AND view_row.refreshed_xid IS NOT NULL AND view_row.refreshed_rewrites = current_rewrites THEN
    -- Only the keys of rows appended since the last refresh: their output rows, recomputed.
    EXECUTE replace(format('SELECT array_agg(k) FROM (%s) AS appended_keys(k)', view_row.delta_sql), ':since', view_row.refreshed_xid::text) INTO keys;
    IF keys IS NOT NULL THEN
      EXECUTE format('DELETE FROM mz_local.%I WHERE %I = ANY ($1)', 'mv_b_' || mv, view_row.key_column) USING keys;
      EXECUTE format('INSERT INTO mz_local.%I SELECT * FROM mz_local.%I WHERE %I = ANY ($1)', 'mv_b_' || mv, 'mv_q_' || mv, view_row.key_column) USING keys;
    END IF;
  ELSE
    -- TRUNCATE, not DELETE: no dead rows left behind for the next scan (nothing else reads it meanwhile).
    EXECUTE format('TRUNCATE mz_local.%I', 'mv_b_' || mv);
    EXECUTE format('INSERT INTO mz_local.%I SELECT * FROM mz_local.%I', 'mv_b_' || mv, 'mv_q_' || mv);
  END IF;
  UPDATE mz_local.maintained_views
     SET refreshed_version = current_version, refreshed_xid = txid_current() % 4294967296, refreshed_rewrites = current_rewrites
   WHERE id = mv;
END
$fn$;

-- The objects behind maintained views that are gone (dropped, or dropped with what they read).
CREATE OR REPLACE FUNCTION mz_local.collect_maintained() RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  gone bigint;
BEGIN
  FOR gone IN SELECT m.id FROM mz_local.maintained_views m WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = m.view_oid) LOOP
    EXECUTE format('DROP TABLE IF EXISTS mz_local.%I CASCADE', 'mv_b_' || gone);
    EXECUTE format('DROP VIEW IF EXISTS mz_local.%I CASCADE', 'mv_q_' || gone);
    DELETE FROM mz_local.maintained_views WHERE id = gone;
  END LOOP;
END
$fn$;

-- A materialized view's definition as written (mz_materialized_views.definition).
CREATE OR REPLACE FUNCTION mz_local.materialized_definition(view_oid oid) RETURNS text LANGUAGE sql STABLE AS $fn$
  SELECT coalesce(
    (SELECT pg_get_viewdef(format('mz_local.%I', 'mv_q_' || m.id)::regclass) FROM mz_local.maintained_views m WHERE m.view_oid = materialized_definition.view_oid),
    pg_get_viewdef(view_oid))
$fn$;

-- Sources created before writes were tracked.
SELECT mz_local.track_writes(r.relid) FROM mz_local.relations r JOIN pg_class c ON c.oid = r.relid WHERE r.kind = 'source';
`;
