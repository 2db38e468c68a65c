-- Materialized views whose results are kept, so that reading one between writes costs a table scan
-- instead of recomputing the pipeline under it. Each maintainable materialized view `s.v` is:
--
--   mz_local.mv_q_<id>   a plain view: the definition, as written
--   mz_local.mv_b_<id>   a table: its results as of its last refresh
--   s.v                  the view users see: the table's rows when no source was written since that
--                        refresh, else the definition's rows computed now —
--                        `SELECT * FROM mv_b WHERE is_fresh(id) UNION ALL SELECT * FROM mv_q WHERE NOT is_fresh(id)`;
--                        it reads the definition, so DROP … CASCADE and "still depended upon"
--                        behave as for any view
--
-- Every source table has a statement trigger advancing mz_local.write_sequence. A read is therefore
-- always current — what recomputing the view at that moment gives, as in Materialize — and never
-- writes (so it works in read-only transactions and adds nothing to a read). The server refreshes
-- stale views itself once writes pause (refresh_maintained(), see maintained-views.ts): under steady
-- ingest a read costs what it did before; between bursts it costs a scan of the kept results.
--
-- Not kept (computed on every read; the server log says so once per view): views using the time
-- other than as a temporal filter of a view kept by group (views/temporal-plan.ts: those are kept,
-- their rows entering and leaving at the times their filters name) or reading a view that uses it,
-- and views reading anything other than sources and views (a table written with plain DML, a
-- catalog relation).

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
-- A view whose own WHERE has temporal filters (views/temporal-plan.ts): its kept rows hold until
-- next_change, the earliest time a row of it may enter or leave ('infinity': none pending);
-- '-infinity' for a view using the time in a shape that cannot be kept (computed on every read);
-- NULL for a view that does not depend on the time.
ALTER TABLE mz_local.maintained_views ADD COLUMN IF NOT EXISTS next_change timestamptz;
ALTER TABLE mz_local.maintained_views ADD COLUMN IF NOT EXISTS temporal boolean NOT NULL DEFAULT false;

CREATE OR REPLACE FUNCTION mz_local.advance_write_version() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM nextval('mz_local.write_sequence');
  RETURN NULL;
END
$fn$;

-- Sources take rows from webhooks and Kafka only: a client's INSERT, UPDATE or DELETE is refused
-- with Materialize's words (its planner: "cannot insert into {item type} '{name}'", "cannot mutate
-- …"). Kept views rely on it too (a dedup view's keyed refresh reads what was appended). A client's
-- writes carry a mark (sql/translate.ts, CLIENT_WRITE_MARK) that the server's appends never do;
-- the trigger's WHEN tests it in C, so an append pays no PL/pgSQL call.
CREATE OR REPLACE FUNCTION mz_local.refuse_client_writes() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM mz_local.fail(format('cannot %s source ''%s''', CASE TG_OP WHEN 'INSERT' THEN 'insert into' ELSE 'mutate' END,
                               mz_local.qualified(TG_TABLE_SCHEMA, TG_TABLE_NAME)), 'XX000');
  RETURN NULL;
END
$fn$;

CREATE OR REPLACE FUNCTION mz_local.track_writes(relation oid) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = relation AND t.tgname = 'mz_local_client_writes') THEN
    EXECUTE format('CREATE TRIGGER mz_local_client_writes BEFORE INSERT OR UPDATE OR DELETE ON %s FOR EACH STATEMENT '
                   'WHEN (strpos(current_query(), %L) > 0) EXECUTE FUNCTION mz_local.refuse_client_writes()',
                   relation::regclass, '/*mz_local:client_write*/');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = relation AND t.tgname = 'mz_local_write_version') THEN
    EXECUTE format('CREATE TRIGGER mz_local_write_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION mz_local.advance_write_version()', relation::regclass);
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = relation AND t.tgname = 'mz_local_rewrites') THEN
    EXECUTE format('CREATE TRIGGER mz_local_rewrites AFTER UPDATE OR DELETE OR TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION mz_local.advance_rewrites()', relation::regclass);
  END IF;
END
$fn$;

-- Whether a maintained view's kept results are current: no source written since its refresh and,
-- for a view with temporal filters, no row due to enter or leave since (mz_now() is now() here).
CREATE OR REPLACE FUNCTION mz_local.is_fresh(mv bigint) RETURNS boolean LANGUAGE plpgsql STABLE AS $fn$
BEGIN
  RETURN (SELECT m.refreshed_version = (SELECT last_value FROM mz_local.write_sequence) AND (m.next_change IS NULL OR now() < m.next_change)
            FROM mz_local.maintained_views m WHERE m.id = mv);
END
$fn$;

-- A relation as users name it: a kept view's definition (mz_local.mv_q_<id>) by its view's name.
CREATE OR REPLACE FUNCTION mz_local.shown_name(relation oid) RETURNS text LANGUAGE sql STABLE AS $fn$
  SELECT coalesce((SELECT m.view_oid::regclass::text FROM mz_local.maintained_views m
                    WHERE format('mz_local.%I', 'mv_q_' || m.id) = relation::regclass::text), relation::regclass::text)
$fn$;

-- The functions whose value changes with time, not with writes (mz_now() is now() here), as a
-- pattern matching a call of one in a query tree; SQLValueFunction ops 0–8 are CURRENT_DATE,
-- CURRENT_TIME[STAMP] and LOCALTIME[STAMP].
CREATE OR REPLACE FUNCTION mz_local.time_call_pattern() RETURNS text LANGUAGE sql STABLE AS $fn$
  SELECT format(':funcid (%s) |\{SQLVALUEFUNCTION :op [0-8] ', string_agg(p.oid::text, '|'))
    FROM pg_proc p
   WHERE p.pronamespace = 'pg_catalog'::regnamespace
     AND p.proname IN ('mz_now', 'now', 'clock_timestamp', 'statement_timestamp', 'transaction_timestamp', 'timeofday')
$fn$;

-- Whether a view's own definition calls a function of the time.
CREATE OR REPLACE FUNCTION mz_local.uses_time(relation oid) RETURNS boolean LANGUAGE sql STABLE AS $fn$
  SELECT EXISTS (SELECT 1 FROM pg_rewrite w WHERE w.ev_class = relation AND w.rulename = '_RETURN' AND w.ev_action::text ~ mz_local.time_call_pattern())
$fn$;

-- Why the view defined by mz_local.mv_q_<id> cannot be maintained, or NULL when it can: every table
-- it reads (through views, transitively) must be a source, and no view it reads may depend on the
-- time (mz_now(): a view over a temporal view loses rows as time passes too). Its own temporal
-- filters are judged when it is planned (views/temporal-plan.ts): kept, or computed on every read.
DROP FUNCTION IF EXISTS mz_local.unmaintainable_reason(oid, text);
CREATE OR REPLACE FUNCTION mz_local.unmaintainable_reason(definition oid, view_sql text) RETURNS text LANGUAGE sql STABLE AS $fn$
  WITH RECURSIVE reads(oid) AS (
    SELECT definition
    UNION
    SELECT d.refobjid FROM reads r
      JOIN pg_class v ON v.oid = r.oid AND v.relkind = 'v'
      JOIN pg_rewrite w ON w.ev_class = v.oid
      JOIN pg_depend d ON d.objid = w.oid AND d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
     WHERE d.refobjid <> r.oid
  ),
  timed AS (
    SELECT r.oid FROM reads r JOIN pg_rewrite w ON w.ev_class = r.oid AND w.rulename = '_RETURN'
     WHERE w.ev_action::text ~ mz_local.time_call_pattern() AND r.oid <> definition
     ORDER BY r.oid LIMIT 1
  )
  SELECT CASE
    WHEN EXISTS (SELECT 1 FROM timed)
      THEN (SELECT format('it reads %s, which uses mz_now(): its rows change with time, not only with writes', mz_local.shown_name(timed.oid)) FROM timed)
    ELSE (SELECT format('it reads %s, which is not a source', c.oid::regclass)
            FROM reads r JOIN pg_class c ON c.oid = r.oid
           WHERE c.relkind <> 'v' AND NOT EXISTS (SELECT 1 FROM mz_local.relations s WHERE s.relid = c.oid AND s.kind = 'source')
             -- The kept results and change log of an upstream maintained view.
             AND NOT (c.relnamespace = 'mz_local'::regnamespace AND (c.relname LIKE 'mv\_b\_%' OR c.relname LIKE 'mv\_c\_%'))
           ORDER BY 1 LIMIT 1)
  END
$fn$;


-- Keyed refresh (what changed, not everything) for the dedup shape: a DISTINCT ON over sources read
-- row by row (proved from the query tree, keyed-refresh-plan.ts planDedupRefresh) — then a row
-- appended to a source can only change the output row of its own key. Sources are append-only (a
-- statement deleting or updating their rows forces a whole refresh), so the rows appended since a
-- refresh are those whose xmin is newer than the refresh's transaction.
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

-- The dedup shape used to be recognised here from the view's text; it is planned from the query
-- tree now (keyed-refresh-plan.ts, planDedupRefresh; plan-kept-views.ts writes its delta query).
DROP FUNCTION IF EXISTS mz_local.keyed_refresh_plan(oid, text);

-- A view's definition deparsed with every relation and function schema-qualified (the dedup plan
-- replaces its sources in it by their append logs).
CREATE OR REPLACE FUNCTION mz_local.qualified_viewdef(view_oid oid) RETURNS text LANGUAGE sql STABLE SET search_path = '' AS $fn$
  SELECT pg_catalog.pg_get_viewdef(view_oid)
$fn$;

-- Delta mode: while a keyed refresh asks which keys changed, every maintained view reads as the rows
-- that changed in it (its change log, mz_local.mv_c_<id>) since transaction mz_local.delta_since —
-- both the rows it gained and the rows it lost — instead of its contents. Set per transaction only
-- (set_config(…, true)), by refresh_maintained(); never seen by a client.
CREATE OR REPLACE FUNCTION mz_local.in_delta() RETURNS boolean LANGUAGE sql STABLE AS $fn$
  SELECT coalesce(current_setting('mz_local.delta_since', true), '') <> ''
$fn$;
CREATE OR REPLACE FUNCTION mz_local.delta_since() RETURNS bigint LANGUAGE sql STABLE AS $fn$
  SELECT nullif(current_setting('mz_local.delta_since', true), '')::bigint
$fn$;

-- The view users see over a maintained view's kept results (mv_b), definition (mv_q) and change log
-- (mv_c). is_fresh() and in_delta() are stable and their arguments constant: PostgreSQL evaluates
-- them once per read (one-time filters) and runs one branch.
--
-- Refreshed whole (keyed false): the stale branch is the definition inlined, so that a read of a
-- stale view is planned as a plain view would be (a lookup's condition pushed down into it).
-- Refreshed by key (keyed true): reads right after writes find it caught up, so it is rarely stale,
-- and planning the inlined definition — the whole pipeline under it, each kept view in it with its
-- own three branches — cost every read more than running it (1.6 of 1.8 ms for a user_profiles
-- lookup at 100,000 events). Its stale branch is a function computing the definition (planned only
-- when called); an arm that is never run (WHERE false, pruned before planning) keeps the view
-- depending on its definition, so that DROP … CASCADE of what it reads drops it too.
DROP FUNCTION IF EXISTS mz_local.maintained_view_sql(bigint);
CREATE OR REPLACE FUNCTION mz_local.maintained_view_sql(id bigint, keyed boolean DEFAULT false) RETURNS text LANGUAGE sql IMMUTABLE AS $fn$
  SELECT format('SELECT * FROM mz_local.%1$I WHERE mz_local.is_fresh(%4$s) AND NOT mz_local.in_delta() '
             || CASE WHEN keyed
                     THEN 'UNION ALL SELECT * FROM mz_local.%5$I() WHERE NOT mz_local.is_fresh(%4$s) AND NOT mz_local.in_delta() '
                     ELSE 'UNION ALL SELECT * FROM mz_local.%2$I WHERE NOT mz_local.is_fresh(%4$s) AND NOT mz_local.in_delta() ' END
             || 'UNION ALL SELECT * FROM mz_local.%3$I WHERE mz_local.in_delta() AND xmin::text::bigint > mz_local.delta_since()'
             || CASE WHEN keyed THEN ' UNION ALL SELECT * FROM mz_local.%2$I WHERE false' ELSE '' END,
                'mv_b_' || id, 'mv_q_' || id, 'mv_c_' || id, id, 'mv_s_' || id)
$fn$;

-- Gives a maintained view the form its refresh plan calls for (see maintained_view_sql), and a view
-- kept by one key column its keyed refresh as a function of its own (keyed_refresh_function_sql).
CREATE OR REPLACE FUNCTION mz_local.set_view_form(mv bigint) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  view_row mz_local.maintained_views;
  refresh_sql text;
  use_keyed_form boolean;
BEGIN
  SELECT * INTO view_row FROM mz_local.maintained_views WHERE id = mv;
  IF NOT FOUND OR NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = view_row.view_oid) THEN RETURN; END IF;
  IF view_row.refresh_kind IS NOT NULL THEN
    EXECUTE format('CREATE OR REPLACE FUNCTION mz_local.%I() RETURNS SETOF mz_local.%I LANGUAGE plpgsql STABLE AS %L',
                   'mv_s_' || mv, 'mv_b_' || mv, format('BEGIN RETURN QUERY SELECT * FROM mz_local.%I; END', 'mv_q_' || mv));
  END IF;
  -- Keyed form only once it has kept results: until its first (whole) refresh every read computes
  -- it, and inline its definition gets a lookup's condition pushed down (a view just replaced by a
  -- watch-mode save, read for one user).
  use_keyed_form := view_row.refresh_kind IS NOT NULL AND view_row.refreshed_xid IS NOT NULL;
  IF use_keyed_form IS DISTINCT FROM view_row.keyed_form THEN
    EXECUTE format('CREATE OR REPLACE VIEW %s AS %s', view_row.view_oid::regclass, mz_local.maintained_view_sql(mv, use_keyed_form));
  END IF;
  refresh_sql := mz_local.keyed_refresh_function_sql(view_row);
  EXECUTE format('DROP FUNCTION IF EXISTS mz_local.%I', 'mv_r_' || mv);
  IF refresh_sql IS NOT NULL THEN EXECUTE refresh_sql; END IF;
  UPDATE mz_local.maintained_views SET refresh_function = refresh_sql IS NOT NULL, keyed_form = use_keyed_form WHERE id = mv;
END
$fn$;

-- A keyed refresh with one key column, as a function whose statements are static: PL/pgSQL plans
-- them once per session and keeps the plans, where refresh_maintained's dynamic statements were
-- planned on every refresh — the pipeline under the view each time (most of a keyed refresh's cost
-- right after one event). It names only mz_local's own relations (never renamed; a blue/green swap
-- renames schemas). mv_r_<id>(since, log_changes, max_keys) returns true when refreshed, false
-- when it must be refreshed whole (too many keys, a relation under NOT EXISTS changed), NULL when
-- refresh_maintained's general path must do it.
CREATE OR REPLACE FUNCTION mz_local.keyed_refresh_function_sql(view_row mz_local.maintained_views) RETURNS text LANGUAGE plpgsql STABLE AS $fn$
DECLARE
  id bigint := view_row.id;
  key_name text;
  key_type text;
  find_keys text;
  replace_sql text;
  after_sql text := '';
BEGIN
  -- A view that folds new rows into its groups: its function was written when it was planned
  -- (aggregate-refresh-sql.ts).
  IF view_row.refresh_function_sql IS NOT NULL THEN RETURN view_row.refresh_function_sql; END IF;
  -- A temporal view's groups also change with time: refresh_maintained's general path.
  IF view_row.temporal THEN RETURN NULL; END IF;
  key_name := CASE view_row.refresh_kind WHEN 'source' THEN view_row.key_column
                                         WHEN 'view' THEN CASE WHEN cardinality(view_row.key_columns) = 1 THEN view_row.key_columns[1] END END;
  IF key_name IS NULL THEN RETURN NULL; END IF;
  SELECT format_type(a.atttypid, a.atttypmod) INTO key_type FROM pg_attribute a
   WHERE a.attrelid = format('mz_local.%I', 'mv_b_' || id)::regclass AND a.attname = key_name AND NOT a.attisdropped
     -- Keys are collected with DISTINCT and found with = ANY: a type b-tree orders (else the general path).
     AND mz_local.btree_ordered(a.atttypid);
  IF key_type IS NULL THEN RETURN NULL; END IF;
  IF view_row.refresh_kind = 'source' THEN
    -- The keys of the rows appended since the last refresh ($1), from the append logs.
    find_keys := format('SELECT array_agg(k) INTO mz_keys FROM (SELECT * FROM (%s) AS appended LIMIT $3 + 1) AS appended_keys(k);',
                        replace(view_row.delta_sql, ':since', '$1'));
  ELSE
    -- The keys of its changed groups: the definition over the change logs of what it reads (delta
    -- mode; without HAVING and NOT EXISTS with keys_view, mv_k_<id>). A relation read under NOT
    -- EXISTS that changed (any_changed finds those relations by OID: a name written here would
    -- follow a rename) adds the groups of the input rows matching its changed rows (mv_j_<id>,
    -- over what it reads now) with snapshots, else makes it whole.
    find_keys := format($sql$
      PERFORM set_config('mz_local.delta_since', $1::text, true);
      mz_changed := mz_local.any_changed((SELECT m.check_relations FROM mz_local.maintained_views m WHERE m.id = %1$s));
      IF mz_changed AND NOT %4$s THEN
        PERFORM set_config('mz_local.delta_since', '', true);
        RETURN false;
      END IF;
      -- Rows, not keys, are counted against the limit: a filtering view has several rows per key,
      -- and keys cut off by the LIMIT would be missed.
      SELECT array_agg(DISTINCT k), count(*) INTO mz_keys, mz_rows FROM (SELECT %2$I FROM mz_local.%3$I LIMIT $3 + 1) AS changed_rows(k);
      PERFORM set_config('mz_local.delta_since', '', true);
      IF mz_rows > $3 THEN RETURN false; END IF;
      IF mz_changed THEN
        SELECT array_agg(k), count(*) INTO mz_more, mz_rows FROM (SELECT %2$I FROM mz_local.%5$I LIMIT $3 + 1) AS changed_rows(k);
        IF mz_rows > $3 THEN RETURN false; END IF;
        SELECT array_agg(DISTINCT k) INTO mz_keys FROM unnest(mz_keys || mz_more) AS changed_keys(k);
      END IF;$sql$, id, key_name, CASE WHEN view_row.keys_view THEN 'mv_k_' ELSE 'mv_q_' END || id,
      CASE WHEN view_row.snapshots AND to_regclass(format('mz_local.%I', 'mv_j_' || id)) IS NOT NULL THEN 'true' ELSE 'false' END, 'mv_j_' || id);
    -- The snapshots of its NOT EXISTS relations, once it is up to date with them.
    after_sql := format('IF mz_changed THEN PERFORM mz_local.%I(); END IF;', 'mv_y_' || id);
  END IF;
  -- Logged: what changed only (a retried delivery deletes and inserts the same row: nothing), and
  -- the transaction that lost rows (lost_xid), so that what reads it knows whether rows were only
  -- gained (a view folding its groups needs that). Keys without kept rows (nearly every key of a
  -- dedup: new messageIds) lose nothing, and every row computed for them is gained: inserted and
  -- logged as they are. Only keys with kept rows are compared row by row, on each row's text —
  -- for 1,000 new events of the seed's dedup that comparison cost ~20 ms, a third of its refresh.
  replace_sql := format($sql$
      IF $2 THEN
        SELECT array_agg(k) FILTER (WHERE kept), array_agg(k) FILTER (WHERE NOT kept) INTO mz_kept, mz_new
          FROM (SELECT u.k, EXISTS (SELECT 1 FROM mz_local.%1$I b WHERE b.%2$I = u.k) AS kept FROM unnest(mz_keys) AS u(k)) AS probed;
        IF mz_new IS NOT NULL THEN
          WITH added AS (INSERT INTO mz_local.%1$I SELECT * FROM mz_local.%4$I WHERE %2$I = ANY (mz_new) RETURNING *)
          INSERT INTO mz_local.%3$I SELECT * FROM added;
        END IF;
        IF mz_kept IS NOT NULL THEN
          WITH gone AS (DELETE FROM mz_local.%1$I WHERE %2$I = ANY (mz_kept) RETURNING *),
               added AS (INSERT INTO mz_local.%1$I SELECT * FROM mz_local.%4$I WHERE %2$I = ANY (mz_kept) RETURNING *),
               %6$s
               logged AS (INSERT INTO mz_local.%3$I SELECT * FROM lost UNION ALL SELECT * FROM gained)
          SELECT count(*) INTO mz_lost FROM lost;
          IF mz_lost > 0 THEN PERFORM mz_local.note_rows_lost(%5$s); END IF;
        END IF;
      ELSE
        DELETE FROM mz_local.%1$I WHERE %2$I = ANY (mz_keys);
        INSERT INTO mz_local.%1$I SELECT * FROM mz_local.%4$I WHERE %2$I = ANY (mz_keys);
      END IF;$sql$, 'mv_b_' || id, key_name, 'mv_c_' || id, 'mv_q_' || id, id,
      CASE WHEN view_row.rows_per_key THEN
        -- As multisets (EXCEPT ALL, on each row's text): a view that only filters may hold
        -- identical rows, one of which may go while its twin stays.
        format($cte$lost AS (SELECT (x::mz_local.%1$I).* FROM (SELECT g::text FROM gone g EXCEPT ALL SELECT a::text FROM added a) AS d(x)),
             gained AS (SELECT (x::mz_local.%1$I).* FROM (SELECT a::text FROM added a EXCEPT ALL SELECT g::text FROM gone g) AS d(x)),$cte$, 'mv_b_' || id)
      ELSE
        -- One row per key: a row is lost unless its key's new row is the same.
        format($cte$lost AS (SELECT g.* FROM gone g WHERE NOT EXISTS (SELECT 1 FROM added a WHERE a.%1$I = g.%1$I AND a::text = g::text)),
             gained AS (SELECT a.* FROM added a WHERE NOT EXISTS (SELECT 1 FROM gone g WHERE g.%1$I = a.%1$I AND g::text = a::text)),$cte$, key_name)
      END);
  -- Generic plans: a custom plan (PostgreSQL's choice while it thinks the keys' values matter) is
  -- planned again on every call, ~1 ms for a user_profiles group, which is what this avoids.
  RETURN format($sql$CREATE FUNCTION mz_local.%1$I(bigint, boolean, integer) RETURNS boolean LANGUAGE plpgsql
    SET plan_cache_mode = force_generic_plan AS $body$
    DECLARE
      mz_keys %2$s[];
      mz_lost bigint;
      mz_changed boolean := false;
      mz_rows bigint;
      mz_more %2$s[];
      mz_kept %2$s[];
      mz_new %2$s[];
    BEGIN
      %3$s
      IF mz_keys IS NOT NULL THEN
        IF cardinality(mz_keys) > $3 THEN RETURN false; END IF;
        IF array_position(mz_keys, NULL) IS NOT NULL THEN RETURN %5$s; END IF;
        %4$s
      END IF;
      %6$s
      RETURN true;
    END
    $body$$sql$, 'mv_r_' || id, key_type, find_keys, replace_sql,
    -- A NULL key (= ANY never matches it): a dedup view is refreshed whole; a grouped view takes
    -- the general path, which finds NULL groups with IS NULL.
    CASE view_row.refresh_kind WHEN 'source' THEN 'false' ELSE 'NULL' END, after_sql);
END
$fn$;

-- Every statement appending to a source copies its rows into the source's append log, so that a keyed
-- refresh finds the rows appended since it last ran without scanning the source (a statement trigger
-- with a transition table: one INSERT per statement, whatever the number of rows).
CREATE OR REPLACE FUNCTION mz_local.log_appended() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  EXECUTE format('INSERT INTO mz_local.%I SELECT * FROM appended', 'append_log_' || TG_RELID::bigint);
  RETURN NULL;
END
$fn$;
CREATE OR REPLACE FUNCTION mz_local.ensure_append_log(source oid) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  EXECUTE format('CREATE TABLE IF NOT EXISTS mz_local.%I (LIKE %s)', 'append_log_' || source::bigint, source::regclass);
  IF NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = source AND t.tgname = 'mz_local_append_log') THEN
    EXECUTE format('CREATE TRIGGER mz_local_append_log AFTER INSERT ON %s REFERENCING NEW TABLE AS appended FOR EACH STATEMENT EXECUTE FUNCTION mz_local.log_appended()', source::regclass);
  END IF;
END
$fn$;

ALTER TABLE mz_local.maintained_views ADD COLUMN IF NOT EXISTS source_oids oid[];
-- 'source': keyed by the rows appended to its sources (the dedup shape, planned here);
-- 'view': keyed by the changes of the maintained views it reads (planned by the server from the
-- query tree, keyed-refresh-plan.ts); NULL: refreshed whole.
ALTER TABLE mz_local.maintained_views ADD COLUMN IF NOT EXISTS refresh_kind text;
-- A 'view' plan's key columns (a 'source' plan has its one key_column).
ALTER TABLE mz_local.maintained_views ADD COLUMN IF NOT EXISTS key_columns text[];
ALTER TABLE mz_local.maintained_views ADD COLUMN IF NOT EXISTS upstream_ids bigint[];
-- Relations read under NOT EXISTS: when one has changed, the view is refreshed whole.
ALTER TABLE mz_local.maintained_views ADD COLUMN IF NOT EXISTS check_relations oid[];
ALTER TABLE mz_local.maintained_views ADD COLUMN IF NOT EXISTS planned boolean NOT NULL DEFAULT false;
ALTER TABLE mz_local.maintained_views ADD COLUMN IF NOT EXISTS not_keyed_reason text;
-- The transaction of its last whole refresh: its change log does not hold that change, so what
-- reads it is refreshed whole after it.
ALTER TABLE mz_local.maintained_views ADD COLUMN IF NOT EXISTS rebuilt_xid bigint;
-- Whether its keyed refresh is its own function, mz_local.mv_r_<id> (set_view_form).
ALTER TABLE mz_local.maintained_views ADD COLUMN IF NOT EXISTS refresh_function boolean NOT NULL DEFAULT false;
-- Whether the view users see computes a stale definition through mz_local.mv_s_<id> (set_view_form).
ALTER TABLE mz_local.maintained_views ADD COLUMN IF NOT EXISTS keyed_form boolean NOT NULL DEFAULT false;
-- The last transaction whose refresh logged rows it lost (not only gained) in its change log.
ALTER TABLE mz_local.maintained_views ADD COLUMN IF NOT EXISTS lost_xid bigint;
-- Called by a refresh that logged rows it lost. The top-level xid is enough (a reader compares it
-- with its own refreshed_xid, maybe a subtransaction's): a view's rows are logged when it is
-- refreshed, which is always before any view reading it is refreshed in the same transaction, so a
-- reader refreshed later in it has read them.
CREATE OR REPLACE FUNCTION mz_local.note_rows_lost(mv bigint) RETURNS void LANGUAGE sql AS $fn$
  UPDATE mz_local.maintained_views SET lost_xid = txid_current() % 4294967296 WHERE id = mv
$fn$;
-- Whether b-tree orders values of this type (its default operator class): what = ANY over an
-- array of keys, DISTINCT, least and greatest need.
CREATE OR REPLACE FUNCTION mz_local.btree_ordered(value_type oid) RETURNS boolean LANGUAGE sql STABLE AS $fn$
  SELECT EXISTS (SELECT 1 FROM pg_opclass o JOIN pg_am am ON am.oid = o.opcmethod
                  WHERE am.amname = 'btree' AND o.opcdefault AND o.opcintype = value_type)
$fn$;
-- A view folding new rows into its groups (aggregate-refresh-sql.ts): its refresh function, and
-- its count(DISTINCT) columns, whose values are counted in mz_local.mv_m_<id>_<column>.
ALTER TABLE mz_local.maintained_views ADD COLUMN IF NOT EXISTS refresh_function_sql text;
ALTER TABLE mz_local.maintained_views ADD COLUMN IF NOT EXISTS distinct_columns integer[];
-- A view kept by its groups whose changed keys are found through mz_local.mv_k_<id> (its definition
-- without HAVING and NOT EXISTS), not its definition (views/anti-join-plan.ts).
ALTER TABLE mz_local.maintained_views ADD COLUMN IF NOT EXISTS keys_view boolean NOT NULL DEFAULT false;
-- A view keeping snapshots of the relations under its NOT EXISTS (mz_local.mv_d_<id>_<n>, refilled
-- by mz_local.mv_y_<id>()): their changes are followed by key (mv_j_<id>, or a folding view's
-- retractions) instead of a whole refresh (views/anti-join-plan.ts).
ALTER TABLE mz_local.maintained_views ADD COLUMN IF NOT EXISTS snapshots boolean NOT NULL DEFAULT false;
-- A view keyed by a column that may hold several rows per key (one that only filters): its keyed
-- refresh logs what changed as multisets.
ALTER TABLE mz_local.maintained_views ADD COLUMN IF NOT EXISTS rows_per_key boolean NOT NULL DEFAULT false;
-- Which planner planned it (plan-kept-views.ts, PLAN_VERSION): an older one's views are planned again.
ALTER TABLE mz_local.maintained_views ADD COLUMN IF NOT EXISTS plan_version integer NOT NULL DEFAULT 0;
-- PGlite runs no autovacuum, and every refresh updates its view's row here. Long texts (a refresh
-- function's SQL, a dedup view's delta query) are moved out of the row, so that a row is small,
-- each update fits in the page of the row it replaces (a HOT update), and reading the page prunes
-- the old versions: the table stays a page or two. With them in the row (~1.2 KB each), updates
-- spilled to new pages and the table grew ~6 KB per refresh of five views, with nothing to reclaim it.
ALTER TABLE mz_local.maintained_views SET (toast_tuple_target = 128);

-- The indexes a dedup plan made on its sources (plan-kept-views.ts), named mz_local_key_<source>_…:
-- an index nothing records any more (its view dropped or planned again) is dropped, so that no
-- index outlives the view it serves.
ALTER TABLE mz_local.maintained_views ADD COLUMN IF NOT EXISTS source_indexes oid[];
CREATE OR REPLACE FUNCTION mz_local.drop_unused_source_indexes() RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  unused oid;
BEGIN
  FOR unused IN SELECT i.indexrelid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                 WHERE c.relname LIKE 'mz\_local\_key\_%' AND c.relnamespace <> 'mz_local'::regnamespace
                   AND NOT EXISTS (SELECT 1 FROM mz_local.maintained_views m WHERE i.indexrelid = ANY (m.source_indexes)) LOOP
    EXECUTE format('DROP INDEX %s', unused::regclass);
  END LOOP;
END
$fn$;

-- The indexes a plan made on a kept table for its group scans (plan-kept-views.ts, named
-- mv_b_<id>_x_…), one per scan of each view above it: one whose columns lead another's —
-- `(event_type)` beside `(event_type, user_id)` — is dropped, since the longer one answers its
-- lookups too, and every index is written on each refresh of the table (seven cost ~12 ms per
-- 1,000 rows of the dedup).
CREATE OR REPLACE FUNCTION mz_local.drop_covered_kept_indexes(kept regclass) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  covered oid;
BEGIN
  FOR covered IN
    WITH made AS (
      SELECT i.indexrelid, array_agg(pg_get_indexdef(i.indexrelid, k, true) ORDER BY k) AS columns
      FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
      CROSS JOIN LATERAL generate_series(1, i.indnkeyatts) AS k
      WHERE i.indrelid = kept AND c.relname LIKE 'mv\_b\_%\_x\_%' AND am.amname = 'btree'
        AND i.indpred IS NULL AND NOT i.indisunique
      GROUP BY i.indexrelid)
    SELECT shorter.indexrelid FROM made shorter
    WHERE EXISTS (SELECT 1 FROM made longer
                  WHERE longer.indexrelid <> shorter.indexrelid
                    AND longer.columns[1:cardinality(shorter.columns)] = shorter.columns
                    -- the same columns twice: the older one stays
                    AND (cardinality(longer.columns) > cardinality(shorter.columns) OR longer.indexrelid < shorter.indexrelid))
  LOOP
    EXECUTE format('DROP INDEX %s', covered::regclass);
  END LOOP;
END
$fn$;

-- CREATE OR REPLACE VIEW of a view a kept view reads (directly or through other views): the kept
-- rows were computed from the old definition, and its plan may not hold for the new one. Each kept
-- view reading it is made stale (reads compute it until its next refresh, which is whole) and
-- planned again. Run by an event trigger after every CREATE VIEW; the server's own views (the kept
-- views users see, mz_local's) are not users' replacements.
CREATE OR REPLACE FUNCTION mz_local.views_replaced() RETURNS event_trigger LANGUAGE plpgsql AS $fn$
DECLARE
  replaced oid[];
BEGIN
  SELECT array_agg(command.objid) INTO replaced FROM pg_event_trigger_ddl_commands() AS command
   WHERE command.object_type = 'view'
     AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = command.objid AND c.relnamespace = 'mz_local'::regnamespace)
     AND NOT EXISTS (SELECT 1 FROM mz_local.maintained_views m WHERE m.view_oid = command.objid);
  IF replaced IS NULL THEN RETURN; END IF;
  WITH RECURSIVE dependents(oid) AS (
    SELECT unnest(replaced)
    UNION
    SELECT w.ev_class FROM dependents r
      JOIN pg_depend d ON d.refobjid = r.oid AND d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
      JOIN pg_rewrite w ON w.oid = d.objid
     WHERE w.ev_class <> r.oid
  )
  UPDATE mz_local.maintained_views m
     SET refreshed_version = -1, refreshed_xid = NULL, refresh_kind = NULL, planned = false
   WHERE to_regclass(format('mz_local.%I', 'mv_q_' || m.id)) IN (SELECT oid FROM dependents);
END
$fn$;
DO $do$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'mz_local_views_replaced') THEN
    CREATE EVENT TRIGGER mz_local_views_replaced ON ddl_command_end WHEN TAG IN ('CREATE VIEW') EXECUTE FUNCTION mz_local.views_replaced();
  END IF;
END
$do$;

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
  EXECUTE format('CREATE TABLE mz_local.%I (LIKE mz_local.%I)', 'mv_c_' || id, results);
  EXECUTE format('CREATE VIEW %I.%I AS %s', schema_name, view_name, mz_local.maintained_view_sql(id));
  -- Planned from its query tree by the server before its first refresh (plan-kept-views.ts).
  -- One using the time is computed on every read until it is planned (its temporal filter kept or not).
  INSERT INTO mz_local.maintained_views (id, view_oid, planned, next_change)
  VALUES (id, mz_local.relation_oid(schema_name, view_name), false,
          CASE WHEN mz_local.uses_time(format('mz_local.%I', definition)::regclass) THEN '-infinity'::timestamptz END);
  RETURN NULL;
END
$fn$;

-- Views kept by an older server: a change log, and the view users see reading it.
CREATE OR REPLACE FUNCTION mz_local.upgrade_maintained() RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  old record;
BEGIN
  FOR old IN SELECT m.id, m.view_oid FROM mz_local.maintained_views m
              WHERE to_regclass(format('mz_local.%I', 'mv_c_' || m.id)) IS NULL
                AND EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = m.view_oid) LOOP
    EXECUTE format('CREATE TABLE mz_local.%I (LIKE mz_local.%I)', 'mv_c_' || old.id, 'mv_b_' || old.id);
    EXECUTE format('CREATE OR REPLACE VIEW %s AS %s', old.view_oid::regclass, mz_local.maintained_view_sql(old.id));
    -- Keyed refreshes start from a whole one (nothing was logged before). A dedup view keyed by an
    -- older server keeps its plan, which finds appended rows in the source itself (no append log).
    UPDATE mz_local.maintained_views
       SET refreshed_version = -1, refreshed_xid = NULL,
           refresh_kind = CASE WHEN key_column IS NOT NULL THEN 'source' END,
           planned = key_column IS NOT NULL
     WHERE id = old.id;
    PERFORM mz_local.set_view_form(old.id);
  END LOOP;
  -- Views planned by an older planner are planned again (the server plans them before its first
  -- refresh, which is then whole).
  UPDATE mz_local.maintained_views SET planned = false
   WHERE planned AND plan_version < {{PLAN_VERSION}};
  -- Views kept by key whose reads still plan their definition, or whose refresh function an older
  -- server wrote (which did not say when rows were lost): formed again.
  FOR old IN SELECT m.id FROM mz_local.maintained_views m
              WHERE m.refresh_kind IS NOT NULL
                AND (to_regprocedure(format('mz_local.%I()', 'mv_s_' || m.id)) IS NULL OR m.refresh_function) LOOP
    PERFORM mz_local.set_view_form(old.id);
  END LOOP;
END
$fn$;

-- In delta mode: whether any of these relations (read under a view's NOT EXISTS) changed.
CREATE OR REPLACE FUNCTION mz_local.any_changed(relations oid[]) RETURNS boolean LANGUAGE plpgsql AS $fn$
DECLARE
  relation oid;
  changed boolean;
BEGIN
  FOREACH relation IN ARRAY coalesce(relations, '{}') LOOP
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', relation::regclass) INTO changed;
    IF changed THEN RETURN true; END IF;
  END LOOP;
  RETURN false;
END
$fn$;

-- The keys of a view-keyed view that changed since its last refresh, as a condition on its key
-- columns (NULL: refresh it whole — a relation read under NOT EXISTS changed, or too many keys).
CREATE OR REPLACE FUNCTION mz_local.changed_keys_condition(view_row mz_local.maintained_views, max_keys integer) RETURNS text
  LANGUAGE plpgsql AS $fn$
DECLARE
  key_list text;
  typed_keys text;
  key_tuples text[];
  conditions text[] := '{}';
  key_tuple text[];
  parts text[];
  column_index integer;
  types text[];
  changed boolean;
  more_keys text[];
  found_rows bigint;
BEGIN
  PERFORM set_config('mz_local.delta_since', view_row.refreshed_xid::text, true);
  -- A relation under its NOT EXISTS changed: with snapshots, the groups of the input rows matching
  -- its changed rows are added (mv_j_<id>; refresh_maintained refills the snapshots after); else whole.
  changed := mz_local.any_changed(view_row.check_relations);
  IF changed AND NOT (view_row.snapshots AND NOT view_row.temporal AND to_regclass(format('mz_local.%I', 'mv_j_' || view_row.id)) IS NOT NULL) THEN
    PERFORM set_config('mz_local.delta_since', '', true);
    RETURN NULL;
  END IF;
  SELECT string_agg(format('%I::text', k), ', ') INTO key_list FROM unnest(view_row.key_columns) AS k;
  -- Each changed key as a text[] of its columns (rows gained and lost, evaluated through the
  -- definition over the change logs: the groups they fall in).
  -- One output row per key (GROUP BY, DISTINCT ON): more rows than max_keys means too many keys.
  IF view_row.temporal THEN
    -- A temporal view: the groups of every input row that changed, whatever its time (mv_w_<id>,
    -- its definition without its temporal filters, over the changes), and the groups whose
    -- earliest boundary has passed (mv_e_<id>, a table: delta mode does not change it).
    EXECUTE format('SELECT array_agg(ARRAY[%1$s]::text) FROM (SELECT * FROM (SELECT DISTINCT %1$s FROM mz_local.%2$I UNION SELECT %1$s FROM mz_local.%3$I WHERE at <= now()) AS changed LIMIT %4$s) AS changed_rows',
                   key_list, 'mv_w_' || view_row.id, 'mv_e_' || view_row.id, max_keys + 1) INTO key_tuples;
  ELSE
    -- Rows counted, not keys: a filtering view has several rows per key (keys cut off by the LIMIT
    -- would be missed). Without HAVING and NOT EXISTS with keys_view (mv_k_<id>).
    EXECUTE format('SELECT array_agg(DISTINCT ARRAY[%s]::text), count(*) FROM (SELECT * FROM mz_local.%I LIMIT %s) AS changed_rows',
                   key_list, CASE WHEN view_row.keys_view THEN 'mv_k_' ELSE 'mv_q_' END || view_row.id, max_keys + 1) INTO key_tuples, found_rows;
    IF found_rows > max_keys THEN
      PERFORM set_config('mz_local.delta_since', '', true);
      RETURN NULL;
    END IF;
  END IF;
  PERFORM set_config('mz_local.delta_since', '', true);
  IF changed THEN
    EXECUTE format('SELECT array_agg(DISTINCT ARRAY[%s]::text), count(*) FROM (SELECT * FROM mz_local.%I LIMIT %s) AS changed_rows',
                   key_list, 'mv_j_' || view_row.id, max_keys + 1) INTO more_keys, found_rows;
    IF found_rows > max_keys THEN RETURN NULL; END IF;
    SELECT array_agg(DISTINCT k) INTO key_tuples FROM unnest(key_tuples || more_keys) AS changed_keys(k);
  END IF;
  IF key_tuples IS NULL THEN RETURN 'false'; END IF;
  IF cardinality(key_tuples) > max_keys THEN RETURN NULL; END IF;
  SELECT array_agg(format_type(a.atttypid, a.atttypmod) ORDER BY k.ordinality) INTO types
    FROM unnest(view_row.key_columns) WITH ORDINALITY AS k(name, ordinality)
    JOIN pg_attribute a ON a.attrelid = format('mz_local.%I', 'mv_b_' || view_row.id)::regclass AND a.attname = k.name;
  FOREACH typed_keys IN ARRAY key_tuples LOOP
    key_tuple := typed_keys::text[];
    parts := '{}';
    FOR column_index IN 1 .. cardinality(view_row.key_columns) LOOP
      parts := parts || CASE WHEN key_tuple[column_index] IS NULL THEN format('%I IS NULL', view_row.key_columns[column_index])
                             ELSE format('%I = %L::%s', view_row.key_columns[column_index], key_tuple[column_index], types[column_index]) END;
    END LOOP;
    conditions := conditions || ('(' || array_to_string(parts, ' AND ') || ')');
  END LOOP;
  RETURN array_to_string(conditions, ' OR ');
END
$fn$;

-- Replaces the kept rows matching condition (on its key columns; $1 is keys) with the definition's
-- rows for them, and logs both — the rows lost and the rows gained — in its change log when a kept
-- view reads it (a view planned later starts from a whole refresh, so nothing it needs is skipped).
CREATE OR REPLACE FUNCTION mz_local.replace_keyed_rows(mv bigint, condition text, keys text[]) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  lost bigint;
BEGIN
  IF EXISTS (SELECT 1 FROM mz_local.maintained_views r WHERE mv = ANY (r.upstream_ids)) THEN
    EXECUTE format('WITH gone AS (DELETE FROM mz_local.%I WHERE %s RETURNING *) INSERT INTO mz_local.%I SELECT * FROM gone', 'mv_b_' || mv, condition, 'mv_c_' || mv) USING keys;
    GET DIAGNOSTICS lost = ROW_COUNT;
    IF lost > 0 THEN PERFORM mz_local.note_rows_lost(mv); END IF;
    EXECUTE format('WITH added AS (INSERT INTO mz_local.%I SELECT * FROM mz_local.%I WHERE %s RETURNING *) INSERT INTO mz_local.%I SELECT * FROM added', 'mv_b_' || mv, 'mv_q_' || mv, condition, 'mv_c_' || mv) USING keys;
  ELSE
    EXECUTE format('DELETE FROM mz_local.%I WHERE %s', 'mv_b_' || mv, condition) USING keys;
    EXECUTE format('INSERT INTO mz_local.%I SELECT * FROM mz_local.%I WHERE %s', 'mv_b_' || mv, 'mv_q_' || mv, condition) USING keys;
  END IF;
END
$fn$;

-- Refreshes one maintained view, if stale, in one statement (so atomically), after the maintained
-- views it reads. Keyed when it can be: only what changed is recomputed, and the rows it gains and
-- loses go to its change log for what reads it. Else whole — unless allow_whole is false (a catch-up
-- right before a read, which must stay cheap): then it returns false and the read computes the view.
DROP FUNCTION IF EXISTS mz_local.refresh_maintained(bigint);
-- Run with the database's own settings, whatever the session asking for it set: kept rows must not
-- depend on which connection's read caught them up (a SET TimeZone made a folding
-- count(DISTINCT date_trunc('day', …)) count that zone's days).
CREATE OR REPLACE FUNCTION mz_local.refresh_maintained(mv bigint, allow_whole boolean DEFAULT true) RETURNS boolean LANGUAGE plpgsql
  SET TimeZone = 'UTC' SET DateStyle = 'ISO, MDY' SET IntervalStyle = 'postgres' AS $fn$
DECLARE
  current_version bigint;
  view_row mz_local.maintained_views;
  current_rewrites bigint;
  -- The transaction that refreshed it (see below).
  current_xid bigint;
  keys text[];
  upstream bigint;
  condition text;
  keyed boolean := false;
  keyable boolean;
  -- What its own refresh function (mv_r_<id>) returned, if it ran.
  own_result boolean;
  max_keys constant integer := 2000;
  max_appended_keys constant integer := 100000;
  distinct_column integer;
BEGIN
  SELECT last_value INTO current_version FROM mz_local.write_sequence;
  SELECT * INTO view_row FROM mz_local.maintained_views WHERE id = mv;
  IF NOT FOUND OR (view_row.refreshed_version = current_version AND (view_row.next_change IS NULL OR now() < view_row.next_change)) THEN RETURN true; END IF;
  -- Using the time in a shape that cannot be kept: every read computes it; nothing to refresh.
  IF view_row.next_change = '-infinity' THEN
    UPDATE mz_local.maintained_views SET refreshed_version = current_version WHERE id = mv;
    RETURN true;
  END IF;
  current_rewrites := (SELECT last_value FROM mz_local.rewrite_sequence);
  FOREACH upstream IN ARRAY coalesce(view_row.upstream_ids, '{}') LOOP
    IF NOT mz_local.refresh_maintained(upstream, allow_whole) THEN RETURN false; END IF;
  END LOOP;

  -- Whether a keyed refresh can bring it up to date: it was refreshed before and, for a dedup view,
  -- no source row was deleted or updated since; for a view over kept views, those are current and
  -- none was refreshed whole after it.
  keyable := view_row.refreshed_xid IS NOT NULL
             AND (CASE view_row.refresh_kind
                    WHEN 'source' THEN view_row.refreshed_rewrites = current_rewrites
                    WHEN 'view' THEN NOT EXISTS (SELECT 1 FROM mz_local.maintained_views u
                                                  WHERE u.id = ANY (view_row.upstream_ids)
                                                    AND (u.refreshed_version <> current_version OR coalesce(u.rebuilt_xid, 0) > view_row.refreshed_xid))
                    ELSE false END);
  IF keyable AND view_row.refresh_function THEN
    EXECUTE format('SELECT mz_local.%I($1, $2, $3)', 'mv_r_' || mv)
      USING view_row.refreshed_xid,
            EXISTS (SELECT 1 FROM mz_local.maintained_views r WHERE mv = ANY (r.upstream_ids)),
            CASE view_row.refresh_kind WHEN 'source' THEN max_appended_keys ELSE max_keys END
      INTO own_result;
  END IF;
  IF own_result IS NOT NULL THEN
    keyed := own_result;
  ELSIF keyable AND view_row.temporal THEN
    -- The groups of rows its kept views gained or lost, and those whose earliest boundary passed:
    -- recomputed now, with their next boundaries.
    condition := mz_local.changed_keys_condition(view_row, max_keys);
    IF condition IS NOT NULL THEN
      keyed := true;
      IF condition <> 'false' THEN
        PERFORM mz_local.replace_keyed_rows(mv, condition, NULL);
        PERFORM mz_local.refill_boundaries(view_row, condition);
      END IF;
    END IF;
  ELSIF keyable AND view_row.refresh_kind = 'source' THEN
    -- Only the keys of rows appended since the last refresh: their output rows, recomputed.
    EXECUTE replace(format('SELECT array_agg(k) FROM (SELECT * FROM (%s) AS appended LIMIT %s) AS appended_keys(k)', view_row.delta_sql, max_appended_keys + 1), ':since', view_row.refreshed_xid::text) INTO keys;
    -- (A NULL key: = ANY would not find its rows, so whole.)
    IF keys IS NULL OR (cardinality(keys) <= max_appended_keys AND array_position(keys, NULL) IS NULL) THEN
      keyed := true;
      IF keys IS NOT NULL THEN
        PERFORM mz_local.replace_keyed_rows(mv, format('%I = ANY ($1)', view_row.key_column), keys);
      END IF;
    END IF;
  ELSIF keyable AND view_row.refresh_kind = 'view' THEN
    condition := mz_local.changed_keys_condition(view_row, max_keys);
    IF condition IS NOT NULL THEN
      keyed := true;
      IF condition <> 'false' THEN
        PERFORM mz_local.replace_keyed_rows(mv, condition, NULL);
      END IF;
    END IF;
  END IF;

  -- The general path brought it up to date with the relations under its NOT EXISTS: their
  -- snapshots follow (its own refresh function refills them itself).
  IF keyed AND own_result IS NULL AND view_row.snapshots THEN EXECUTE format('SELECT mz_local.%I()', 'mv_y_' || mv); END IF;
  IF NOT keyed THEN
    IF NOT allow_whole THEN RETURN false; END IF;
    -- First the snapshots of the relations under its NOT EXISTS: a folding view's input view
    -- (counted again below) reads them.
    IF view_row.snapshots THEN EXECUTE format('SELECT mz_local.%I()', 'mv_y_' || mv); END IF;
    -- TRUNCATE, not DELETE: no dead rows left behind for the next scan (nothing else reads it meanwhile).
    EXECUTE format('TRUNCATE mz_local.%I', 'mv_b_' || mv);
    EXECUTE format('INSERT INTO mz_local.%I SELECT * FROM mz_local.%I', 'mv_b_' || mv, 'mv_q_' || mv);
    -- A folding view's count(DISTINCT) columns: each group's values counted again.
    FOREACH distinct_column IN ARRAY coalesce(view_row.distinct_columns, '{}') LOOP
      EXECUTE format('TRUNCATE mz_local.%I', 'mv_m_' || mv || '_' || distinct_column);
      EXECUTE format('INSERT INTO mz_local.%1$I SELECT k, %2$I, count(*) FROM mz_local.%3$I WHERE %2$I IS NOT NULL GROUP BY 1, 2',
                     'mv_m_' || mv || '_' || distinct_column, 'a' || distinct_column, 'mv_p_' || mv);
    END LOOP;
    IF view_row.temporal THEN PERFORM mz_local.refill_boundaries(view_row, NULL); END IF;
  END IF;
  IF view_row.temporal THEN
    EXECUTE format('SELECT coalesce(min(at), ''infinity'') FROM mz_local.%I', 'mv_e_' || mv) INTO view_row.next_change;
    UPDATE mz_local.maintained_views SET next_change = view_row.next_change WHERE id = mv;
  END IF;
  -- Its next refresh reads what was logged after this one: rows whose xmin is newer than the xid
  -- that wrote this row. Not txid_current(): catch_up refreshes each view in a subtransaction, and
  -- the rows an upstream view logged in one have its xid, newer than the top-level one — a view
  -- folding new rows into its groups would read them twice.
  UPDATE mz_local.maintained_views
     SET refreshed_version = current_version, refreshed_rewrites = current_rewrites
   WHERE id = mv
  RETURNING xmin::text::bigint INTO current_xid;
  UPDATE mz_local.maintained_views
     SET refreshed_xid = current_xid, rebuilt_xid = CASE WHEN keyed THEN rebuilt_xid ELSE current_xid END
   WHERE id = mv;
  -- Its first kept results: from now on reads stop planning its definition.
  IF view_row.refresh_kind IS NOT NULL AND NOT view_row.keyed_form THEN PERFORM mz_local.set_view_form(mv); END IF;
  RETURN true;
END
$fn$;

-- Right before a client's statement, after writes: the stale views it reads (every stale view when
-- names is NULL) that a keyed refresh can bring up to date are refreshed (cheap: what changed
-- only); the rest stay stale (computed when read) for the background refresh. names are the
-- identifiers in the statement's text: every relation so named, in any schema, and what it reads
-- through views, counts — through kept views refreshed whole too: such a view is computed by the
-- read, over the kept views under it, which must be caught up first or each computes its own
-- definition (a join over the seed's dedup took 11 s right after a write at 100,000 events, 1 s
-- over kept rows). A kept view refreshed by key refreshes what it reads itself. One view failing
-- does not stop the others.
DROP FUNCTION IF EXISTS mz_local.catch_up();
DROP FUNCTION IF EXISTS mz_local.catch_up(text[]);
-- The relations a statement naming `names` may read: every relation so named, in any schema, and
-- what views read under them — not under a kept view refreshed by key (its refresh brings what it
-- reads up to date itself).
CREATE OR REPLACE FUNCTION mz_local.relations_read(names text[]) RETURNS SETOF oid LANGUAGE sql STABLE AS $fn$
  WITH RECURSIVE reads(oid) AS (
    SELECT c.oid FROM pg_class c WHERE c.relname = ANY (names) AND c.relkind IN ('v', 'r')
    UNION
    SELECT d.refobjid FROM reads r
      JOIN pg_rewrite w ON w.ev_class = r.oid
      JOIN pg_depend d ON d.objid = w.oid AND d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
     WHERE d.refobjid <> r.oid AND NOT EXISTS (SELECT 1 FROM mz_local.maintained_views k WHERE k.view_oid = r.oid AND k.refresh_kind IS NOT NULL)
  )
  SELECT oid FROM reads
$fn$;
-- Whether a statement naming `names` may read a view a catch-up refreshes. It changes only with the
-- catalog (and the views' plans): the server asks once per statement shape and catalog change, and
-- skips the catch-up of a statement that reaches none (an activation worker's checkpoint writes
-- and lease renewals paid ~6 ms each for it under ingest).
CREATE OR REPLACE FUNCTION mz_local.reaches_kept_view(names text[]) RETURNS boolean LANGUAGE sql STABLE AS $fn$
  SELECT EXISTS (SELECT 1 FROM mz_local.maintained_views m
                  WHERE m.refresh_kind IS NOT NULL AND m.view_oid IN (SELECT mz_local.relations_read(names)))
$fn$;
-- Returns why views failed to refresh (the server logs each once; the read computes them).
CREATE OR REPLACE FUNCTION mz_local.catch_up(names text[] DEFAULT NULL) RETURNS text[] LANGUAGE plpgsql AS $fn$
DECLARE
  stale bigint;
  refreshed integer := 0;
  failures text[] := '{}';
BEGIN
  -- Nothing a catch-up could refresh is stale (the common case between writes): done, without
  -- walking the catalog.
  IF NOT EXISTS (SELECT 1 FROM mz_local.maintained_views m
                  WHERE (m.refreshed_version <> (SELECT last_value FROM mz_local.write_sequence) OR now() >= m.next_change) AND m.refresh_kind IS NOT NULL) THEN
    RETURN failures;
  END IF;
  FOR stale IN
    SELECT m.id FROM mz_local.maintained_views m
     WHERE (m.refreshed_version <> (SELECT last_value FROM mz_local.write_sequence) OR now() >= m.next_change) AND m.refresh_kind IS NOT NULL
       AND (names IS NULL OR m.view_oid IN (SELECT mz_local.relations_read(names)))
     ORDER BY m.id
  LOOP
    BEGIN
      IF mz_local.refresh_maintained(stale, false) THEN refreshed := refreshed + 1; END IF;
    EXCEPTION WHEN OTHERS THEN
      failures := failures || format('%s: %s', (SELECT m.view_oid::regclass::text FROM mz_local.maintained_views m WHERE m.id = stale), SQLERRM);
    END;
  END LOOP;
  -- Logs past a megabyte are pruned now (the next delta scans read less); smaller ones wait for the
  -- background pass, which costs a read nothing.
  IF refreshed > 0 THEN PERFORM mz_local.prune_change_logs(1048576); END IF;
  RETURN failures;
END
$fn$;

-- Change logs and append logs (of at least min_bytes) keep only what some keyed view has not read yet.
DROP FUNCTION IF EXISTS mz_local.prune_change_logs();
CREATE OR REPLACE FUNCTION mz_local.prune_change_logs(min_bytes bigint DEFAULT 0) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  logged record;
  oldest bigint;
BEGIN
  FOR logged IN SELECT m.id FROM mz_local.maintained_views m
                 WHERE pg_relation_size(format('mz_local.%I', 'mv_c_' || m.id)::regclass) > greatest(min_bytes, 0) LOOP
    SELECT min(coalesce(r.refreshed_xid, 0)) INTO oldest FROM mz_local.maintained_views r WHERE logged.id = ANY (r.upstream_ids);
    PERFORM mz_local.prune_log(format('mz_local.%I', 'mv_c_' || logged.id)::regclass, oldest);
  END LOOP;
  FOR logged IN SELECT c.oid, substring(c.relname from 12)::bigint AS source FROM pg_class c
                 WHERE c.relnamespace = 'mz_local'::regnamespace AND c.relname LIKE 'append\_log\_%' AND c.relkind = 'r'
                   AND pg_relation_size(c.oid) > greatest(min_bytes, 0) LOOP
    SELECT min(coalesce(r.refreshed_xid, 0)) INTO oldest FROM mz_local.maintained_views r WHERE logged.source::oid = ANY (r.source_oids);
    PERFORM mz_local.prune_log(logged.oid, oldest);
  END LOOP;
END
$fn$;

-- Deletes the rows every reader has seen (xmin <= oldest; all when nothing reads the log). DELETE,
-- not TRUNCATE, for a small log: TRUNCATE gives the table a new file, which invalidates every plan
-- that reads it — the refresh functions' kept plans (mv_r_<id>) included, so the next keyed refresh
-- planned its pipeline again (~3 ms of a user_profiles catch-up at 100,000 events; VACUUM, which
-- updates the table's statistics, invalidates them too). PGlite runs no autovacuum, so the space of
-- deleted rows is not reused: a log past a megabyte is truncated, which frees it, once per megabyte
-- logged.
CREATE OR REPLACE FUNCTION mz_local.prune_log(log regclass, oldest bigint) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  unread boolean;
BEGIN
  EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE $1 IS NOT NULL AND xmin::text::bigint > $1)', log) USING oldest INTO unread;
  IF unread THEN
    EXECUTE format('DELETE FROM %s WHERE xmin::text::bigint <= $1', log) USING oldest;
  ELSIF pg_relation_size(log) > 1048576 THEN
    EXECUTE format('TRUNCATE %s', log);
  ELSE
    EXECUTE format('DELETE FROM %s', log);
  END IF;
END
$fn$;

-- What a view folding its groups keeps beside its results (aggregate-refresh-sql.ts): its input
-- view, the value tables of its count(DISTINCT) columns and its whole reads under NOT EXISTS.
CREATE OR REPLACE FUNCTION mz_local.drop_folding(mv bigint) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  value_table text;
  whole_read text;
BEGIN
  FOR value_table IN SELECT c.relname FROM pg_class c
                      WHERE c.relnamespace = 'mz_local'::regnamespace AND c.relkind = 'r' AND c.relname LIKE 'mv\_m\_' || mv || '\_%' LOOP
    EXECUTE format('DROP TABLE mz_local.%I', value_table);
  END LOOP;
  EXECUTE format('DROP VIEW IF EXISTS mz_local.%I', 'mv_x_' || mv);
  EXECUTE format('DROP VIEW IF EXISTS mz_local.%I', 'mv_p_' || mv);
  -- The functions its input view read relations under a NOT EXISTS through (plan-kept-views.ts).
  FOR whole_read IN SELECT p.proname FROM pg_proc p
                    WHERE p.pronamespace = 'mz_local'::regnamespace AND p.proname LIKE 'mv\_f\_' || mv || '\_%' LOOP
    EXECUTE format('DROP FUNCTION mz_local.%I()', whole_read);
  END LOOP;
END
$fn$;

-- What a view keeps to follow the relations under its NOT EXISTS by key and to find its changed
-- keys without HAVING (views/anti-join-plan.ts): its keys views, snapshots and their functions.
-- Its folding objects (drop_folding) read the snapshots: dropped first.
CREATE OR REPLACE FUNCTION mz_local.drop_anti_joins(mv bigint) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  object_name text;
BEGIN
  EXECUTE format('DROP VIEW IF EXISTS mz_local.%I', 'mv_x_' || mv);
  EXECUTE format('DROP VIEW IF EXISTS mz_local.%I', 'mv_p_' || mv);
  EXECUTE format('DROP VIEW IF EXISTS mz_local.%I', 'mv_j_' || mv);
  EXECUTE format('DROP VIEW IF EXISTS mz_local.%I', 'mv_k_' || mv);
  EXECUTE format('DROP FUNCTION IF EXISTS mz_local.%I()', 'mv_l_' || mv);
  EXECUTE format('DROP FUNCTION IF EXISTS mz_local.%I()', 'mv_y_' || mv);
  FOR object_name IN SELECT p.proname FROM pg_proc p
                      WHERE p.pronamespace = 'mz_local'::regnamespace AND (p.proname LIKE 'mv\_g\_' || mv || '\_%' OR p.proname LIKE 'mv\_h\_' || mv || '\_%') LOOP
    EXECUTE format('DROP FUNCTION mz_local.%I()', object_name);
  END LOOP;
  FOR object_name IN SELECT c.relname FROM pg_class c
                      WHERE c.relnamespace = 'mz_local'::regnamespace AND c.relkind = 'r' AND c.relname LIKE 'mv\_d\_' || mv || '\_%' LOOP
    EXECUTE format('DROP TABLE mz_local.%I', object_name);
  END LOOP;
END
$fn$;

-- The objects behind maintained views that are gone (dropped, or dropped with what they read), and
-- append logs nothing reads any more.
CREATE OR REPLACE FUNCTION mz_local.collect_maintained() RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  gone bigint;
  logged record;
BEGIN
  FOR gone IN SELECT m.id FROM mz_local.maintained_views m WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = m.view_oid) LOOP
    EXECUTE format('DROP TABLE IF EXISTS mz_local.%I CASCADE', 'mv_b_' || gone);
    EXECUTE format('DROP TABLE IF EXISTS mz_local.%I CASCADE', 'mv_c_' || gone);
    EXECUTE format('DROP VIEW IF EXISTS mz_local.%I CASCADE', 'mv_q_' || gone);
    EXECUTE format('DROP FUNCTION IF EXISTS mz_local.%I', 'mv_r_' || gone);
    PERFORM mz_local.drop_folding(gone);
    PERFORM mz_local.drop_anti_joins(gone);
    PERFORM mz_local.drop_temporal(gone);
    DELETE FROM mz_local.maintained_views WHERE id = gone;
  END LOOP;
  PERFORM mz_local.drop_unused_source_indexes();
  FOR logged IN SELECT c.relname, substring(c.relname from 12)::bigint AS source FROM pg_class c
                 WHERE c.relnamespace = 'mz_local'::regnamespace AND c.relname LIKE 'append\_log\_%' AND c.relkind = 'r' LOOP
    IF NOT EXISTS (SELECT 1 FROM mz_local.maintained_views m WHERE logged.source::oid = ANY (m.source_oids)) THEN
      IF EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = logged.source::oid) THEN
        EXECUTE format('DROP TRIGGER IF EXISTS mz_local_append_log ON %s', logged.source::oid::regclass);
      END IF;
      EXECUTE format('DROP TABLE mz_local.%I', logged.relname);
    END IF;
  END LOOP;
END
$fn$;

-- A materialized view's definition as written (mz_materialized_views.definition).
CREATE OR REPLACE FUNCTION mz_local.materialized_definition(view_oid oid) RETURNS text LANGUAGE sql STABLE AS $fn$
  SELECT coalesce(
    (SELECT pg_get_viewdef(format('mz_local.%I', 'mv_q_' || m.id)::regclass) FROM mz_local.maintained_views m WHERE m.view_oid = materialized_definition.view_oid),
    pg_get_viewdef(view_oid))
$fn$;

SELECT mz_local.upgrade_maintained();

-- Sources created before writes were tracked.
SELECT mz_local.track_writes(r.relid) FROM mz_local.relations r JOIN pg_class c ON c.oid = r.relid WHERE r.kind = 'source';

-- A temporal view's boundaries (views/temporal-plan.ts): mz_local.mv_w_<id> (its definition without
-- its temporal filters: each input row's group and boundaries) and mz_local.mv_e_<id> (each group's
-- earliest boundary after its last recomputation).
CREATE OR REPLACE FUNCTION mz_local.drop_temporal(mv bigint) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  EXECUTE format('DROP TABLE IF EXISTS mz_local.%I', 'mv_e_' || mv);
  EXECUTE format('DROP VIEW IF EXISTS mz_local.%I', 'mv_w_' || mv);
END
$fn$;

-- Each group's earliest boundary after now, for the groups matching condition (on its key columns;
-- NULL: every group, after a whole refresh).
CREATE OR REPLACE FUNCTION mz_local.refill_boundaries(view_row mz_local.maintained_views, condition text) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  key_list text;
BEGIN
  SELECT string_agg(format('%I', k), ', ') INTO key_list FROM unnest(view_row.key_columns) AS k;
  IF condition IS NULL THEN
    EXECUTE format('TRUNCATE mz_local.%I', 'mv_e_' || view_row.id);
  ELSE
    EXECUTE format('DELETE FROM mz_local.%I WHERE %s', 'mv_e_' || view_row.id, condition);
  END IF;
  EXECUTE format('INSERT INTO mz_local.%1$I SELECT %2$s, min(at) FROM mz_local.%3$I WHERE at > now() AND (%4$s) GROUP BY %2$s',
                 'mv_e_' || view_row.id, key_list, 'mv_w_' || view_row.id, coalesce(condition, 'true'));
END
$fn$;

-- When the earliest kept temporal view changes next, in milliseconds since the epoch (NULL: none).
CREATE OR REPLACE FUNCTION mz_local.next_change_ms() RETURNS double precision LANGUAGE sql STABLE AS $fn$
  SELECT extract(epoch FROM min(m.next_change)) * 1000 FROM mz_local.maintained_views m
   WHERE m.next_change > '-infinity' AND m.next_change < 'infinity' AND m.refresh_kind IS NOT NULL
$fn$;

-- Right before a client's statement, in one round trip (a deploy's statements made up to four:
-- ~1 ms each, a fifth of the deploy test files' database time): whether views wait to be planned
-- (then nothing else is done — the server plans them and asks again), whether a statement naming
-- `names` reaches a kept view (reach_known: NULL to ask, else what the server knows), and if so
-- the catch-up's failures and when a kept temporal view changes next.
CREATE OR REPLACE FUNCTION mz_local.before_statement(names text[], check_plans boolean, reach_known boolean)
  RETURNS TABLE(plan_first boolean, reaches boolean, failures text[], next_change_ms double precision) LANGUAGE plpgsql AS $fn$
DECLARE
  caught text[];
BEGIN
  IF check_plans AND EXISTS (SELECT 1 FROM mz_local.maintained_views m
                              JOIN pg_rewrite w ON w.ev_class = to_regclass(format('mz_local.%I', 'mv_q_' || m.id)) AND w.rulename = '_RETURN'
                             WHERE NOT m.planned) THEN
    RETURN QUERY SELECT true, NULL::boolean, NULL::text[], NULL::double precision;
    RETURN;
  END IF;
  IF reach_known IS FALSE OR (reach_known IS NULL AND names IS NOT NULL AND NOT mz_local.reaches_kept_view(names)) THEN
    RETURN QUERY SELECT false, false, NULL::text[], NULL::double precision;
    RETURN;
  END IF;
  caught := mz_local.catch_up(names);
  -- A statement after the catch-up's: it sees what the catch-up wrote.
  RETURN QUERY SELECT false, true, caught, mz_local.next_change_ms();
END
$fn$;
