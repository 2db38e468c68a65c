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
END
$fn$;
-- Sources created before writes were tracked.
SELECT mz_local.track_writes(r.relid) FROM mz_local.relations r JOIN pg_class c ON c.oid = r.relid WHERE r.kind = 'source';

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

-- Creates s.v over its definition (already created as mz_local.mv_q_<id>): maintained when it
-- can be, else a plain view; returns why not (NULL when maintained).
CREATE OR REPLACE FUNCTION mz_local.create_maintained_view(schema_name text, view_name text, view_sql text) RETURNS text
  LANGUAGE plpgsql AS $fn$
DECLARE
  id bigint := nextval('mz_local.maintained_ids');
  definition text := 'mv_q_' || id;
  results text := 'mv_b_' || id;
  reason text;
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
  INSERT INTO mz_local.maintained_views (id, view_oid) VALUES (id, mz_local.relation_oid(schema_name, view_name));
  RETURN NULL;
END
$fn$;

-- Refreshes one maintained view, if stale, in one statement (so atomically). The server calls it for
-- every stale view in id order, upstream first: ids follow creation order, and a view can only read
-- views created before it (maintained-views.ts).
CREATE OR REPLACE FUNCTION mz_local.refresh_maintained(mv bigint) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  current_version bigint;
  refreshed bigint;
BEGIN
  SELECT last_value INTO current_version FROM mz_local.write_sequence;
  SELECT refreshed_version INTO refreshed FROM mz_local.maintained_views WHERE id = mv;
  IF refreshed = current_version THEN RETURN; END IF;
  -- TRUNCATE, not DELETE: no dead rows left behind for the next scan (nothing else reads it meanwhile).
  EXECUTE format('TRUNCATE mz_local.%I', 'mv_b_' || mv);
  EXECUTE format('INSERT INTO mz_local.%I SELECT * FROM mz_local.%I', 'mv_b_' || mv, 'mv_q_' || mv);
  UPDATE mz_local.maintained_views SET refreshed_version = current_version WHERE id = mv;
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
`;
