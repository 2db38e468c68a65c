-- Materialize's functions and types that PostgreSQL lacks or answers differently, as bootstrap SQL
-- (bootstrap.ts appends it; every statement is idempotent, like the rest of the bootstrap).
--
-- - try_parse_monotonic_iso8601_timestamp: exactly Materialize's parser (persist-types'
--   timestamp.rs): fixed positions `YYYY-MM-DDTHH:MI:SS.sssZ`, each field read as Rust reads an
--   integer (an optional `+`; a `-` for the year only), then a calendar date and a time that must
--   exist — month or day `00`, February 30th, hour 24 are NULL. Year 0 is 1 BC, as chrono counts.
-- - datediff(part, start, end): the number of `part` boundaries between two dates, times or
--   timestamps (Materialize's datediff page and datediff.slt): calendar parts (month and longer)
--   by calendar fields, days, weeks and clock parts by elapsed time truncated toward zero.
-- - JSON on the wrong shape answers NULL or no rows, as Materialize does, where PostgreSQL raises:
--   `-` on a scalar or an object with an index, `||` of two non-arrays unless both are objects,
--   jsonb_array_length / jsonb_array_elements[_text] of a non-array, jsonb_each[_text] /
--   jsonb_object_keys of a non-object; `->`, `->>`, `-` with a bigint index (none past the
--   integer range). PostgreSQL's built-ins are renamed pg_catalog.mz_pg_<name> and SQL functions
--   that check the shape take their names; the jsonb `-` and `||` operators call the new ones.
-- - mz_now() compared with a number of milliseconds since the epoch (operators on timestamptz).
-- - jsonb as text (jsonb.slt): a cast to text and the container values of jsonb_each_text /
--   jsonb_array_elements_text are compact with keys in byte order (mz_local.jsonb_text); to_jsonb
--   of a timestamp or a date is its text. `->>` / `#>>` of a container keep PostgreSQL's text.
-- - Type names: uint2, uint4 and uint8 as domains with Materialize's range errors and
--   same-type arithmetic; `string`, `double`, `json` and `uint` are rewritten by the translator
--   (dialect.ts), since PostgreSQL has the types under other names.

--------------------------------------------------------------------------------------------------
-- format_type as Materialize answers it (types.slt: format_type(1083, NULL) is `time`, 1114 is
-- `timestamp`): PostgreSQL's name without ` without time zone`. A client's format_type(…) calls
-- this (sql/dialect.ts); the catalog's own SQL keeps PostgreSQL's.
--------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION mz_local.format_type(type_oid oid, type_mod integer) RETURNS text
  LANGUAGE sql STABLE PARALLEL SAFE AS $fn$ SELECT replace(pg_catalog.format_type(type_oid, type_mod), ' without time zone', '') $fn$;

--------------------------------------------------------------------------------------------------
-- variance, var_samp, var_pop, stddev, stddev_samp, stddev_pop of integers and numerics answer
-- Materialize's numeric: 39 significant digits (aggregates.slt: var_samp of 1, 2, 2, 3… is
-- 0.916666666666666666666666666666666666667), where PostgreSQL's stop at about 20. A client's call
-- is rewritten (sql/dialect.ts) to `mz_local.variance(variance(mz_local.variance_input(x)))`:
-- an integer or numeric input gets 30 decimals (the value unchanged), so PostgreSQL's own aggregate
-- works the answer out to 60 and more, then rounded to 39 significant digits; a float input and
-- answer go through unchanged.
--------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION mz_local.variance_input(value numeric) RETURNS numeric
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$ SELECT value + 0.000000000000000000000000000000 $fn$;
CREATE OR REPLACE FUNCTION mz_local.variance_input(value bigint) RETURNS numeric
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$ SELECT value::numeric + 0.000000000000000000000000000000 $fn$;
CREATE OR REPLACE FUNCTION mz_local.variance_input(value integer) RETURNS numeric
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$ SELECT value::numeric + 0.000000000000000000000000000000 $fn$;
CREATE OR REPLACE FUNCTION mz_local.variance_input(value smallint) RETURNS numeric
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$ SELECT value::numeric + 0.000000000000000000000000000000 $fn$;
CREATE OR REPLACE FUNCTION mz_local.variance_input(value double precision) RETURNS double precision
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$ SELECT value $fn$;
CREATE OR REPLACE FUNCTION mz_local.variance_input(value real) RETURNS real
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$ SELECT value $fn$;
-- A numeric to 39 significant digits, as Materialize's numeric holds it (a float as it is).
CREATE OR REPLACE FUNCTION mz_local.numeric_39_digits(value numeric) RETURNS numeric
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
  SELECT CASE WHEN value = 0 THEN 0 ELSE trim_scale(round(value, 38 - floor(log(abs(value)))::int)) END
$fn$;
CREATE OR REPLACE FUNCTION mz_local.numeric_39_digits(value double precision) RETURNS double precision
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$ SELECT value $fn$;
-- The rounding under the aggregate's own name, so that a column it answers keeps the aggregate's
-- name (`variance`, as PostgreSQL and Materialize name it) rather than the wrapper's. A database
-- bootstrapped with the aggregates of that name an earlier version had gets them dropped first.
DO $fn$
DECLARE
  name text;
  kind text;
BEGIN
  FOR name, kind IN SELECT p.proname, pg_get_function_identity_arguments(p.oid) FROM pg_proc p
                     WHERE p.pronamespace = 'mz_local'::regnamespace AND p.prokind = 'a'
                       AND p.proname IN ('variance', 'var_samp', 'var_pop', 'stddev', 'stddev_samp', 'stddev_pop') LOOP
    EXECUTE format('DROP AGGREGATE mz_local.%I(%s)', name, kind);
  END LOOP;
  FOREACH name IN ARRAY ARRAY['variance', 'var_samp', 'var_pop', 'stddev', 'stddev_samp', 'stddev_pop'] LOOP
    FOREACH kind IN ARRAY ARRAY['numeric', 'double precision'] LOOP
      EXECUTE format('CREATE OR REPLACE FUNCTION mz_local.%I(value %s) RETURNS %s LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS %L',
        name, kind, kind, 'SELECT mz_local.numeric_39_digits(value)');
    END LOOP;
  END LOOP;
END
$fn$;

--------------------------------------------------------------------------------------------------
-- try_parse_monotonic_iso8601_timestamp
--------------------------------------------------------------------------------------------------
-- The parser field by field, for every input of the fixed shape; try_parse_monotonic_iso8601_timestamp
-- below calls it only for those its fast path does not settle (year 0, a date or time that does not
-- exist, anything not a digit). Every field is ASCII digits only, as Materialize's parser reads them
-- (src/persist-types/src/timestamp.rs at f0d692e9, parse_int; an older one also took a sign, `+5`).
CREATE OR REPLACE FUNCTION mz_local.parse_monotonic_iso8601_fields(input text) RETURNS timestamp
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
  y int;
  mo int;
  d int;
  h int;
  mi int;
  s int;
BEGIN
  IF input !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$' THEN
    RETURN NULL;
  END IF;
  y := substr(input, 1, 4)::int;
  mo := substr(input, 6, 2)::int;
  d := substr(input, 9, 2)::int;
  h := substr(input, 12, 2)::int;
  mi := substr(input, 15, 2)::int;
  s := substr(input, 18, 2)::int;
  IF mo < 1 OR mo > 12 OR d < 1 OR h > 23 OR mi > 59 OR s > 59
     OR d > (CASE WHEN mo IN (4, 6, 9, 11) THEN 30 WHEN mo <> 2 THEN 31
                  WHEN y % 4 = 0 AND (y % 100 <> 0 OR y % 400 = 0) THEN 29 ELSE 28 END) THEN
    RETURN NULL;
  END IF;
  -- chrono's year 0 is PostgreSQL's 1 BC (make_timestamp takes negative years as BC).
  RETURN make_timestamp(CASE WHEN y > 0 THEN y ELSE y - 1 END, mo, d, h, mi, s + substr(input, 21, 3)::int / 1000.0);
END
$fn$;
-- The usual input, digits only, is settled by PostgreSQL's own parser, kept only when the value
-- prints back as exactly the input: then every field was two (four, three) digits within its range
-- and the value has those fields, which is Materialize's answer. Everything else of the fixed shape
-- goes to the field-by-field parser above, so the answers are that parser's. (PostgreSQL's parser and
-- to_char are stable, but neither DateStyle nor any other setting changes how this digits-only shape
-- reads or prints.) plpgsql, not SQL: an inlined SQL body would evaluate its argument (`body->>'…'`)
-- once per use, and one not inlined costs more per call. About 3.5 µs a call against 9.5 µs for
-- the field-by-field parser alone (PGlite, 100k rows).
CREATE OR REPLACE FUNCTION pg_catalog.try_parse_monotonic_iso8601_timestamp(input text) RETURNS timestamp
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
BEGIN
  RETURN CASE
    WHEN input NOT LIKE '____-__-__T__:__:__.___Z' THEN NULL
    WHEN NOT pg_input_is_valid(input, 'timestamp') THEN mz_local.parse_monotonic_iso8601_fields(input)
    WHEN to_char(input::timestamp, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') = input THEN input::timestamp
    ELSE mz_local.parse_monotonic_iso8601_fields(input)
  END;
END
$fn$;

--------------------------------------------------------------------------------------------------
-- datediff
--------------------------------------------------------------------------------------------------
-- The astronomical year (1 BC is 0), as chrono numbers years.
CREATE OR REPLACE FUNCTION mz_local.datediff_year(ts timestamp) RETURNS bigint
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
  SELECT CASE WHEN y < 0 THEN y + 1 ELSE y END FROM (SELECT extract(year FROM ts)::bigint AS y) AS given
$fn$;
CREATE OR REPLACE FUNCTION mz_local.datediff_timestamps(part text, a timestamp, b timestamp) RETURNS bigint
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
  given text := lower(trim(part));
  unit text;
  micros numeric := (extract(epoch FROM b) - extract(epoch FROM a)) * 1000000;
BEGIN
  unit := CASE
    WHEN given IN ('millenniums', 'millennium', 'millennia', 'mil') THEN 'millennium'
    WHEN given IN ('centuries', 'century', 'cent', 'c') THEN 'century'
    WHEN given IN ('decades', 'decade', 'decs', 'dec') THEN 'decade'
    WHEN given IN ('years', 'year', 'yrs', 'yr', 'y') THEN 'year'
    WHEN given IN ('quarter', 'qtr') THEN 'quarter'
    WHEN given IN ('months', 'month', 'mons', 'mon') THEN 'month'
    WHEN given IN ('weeks', 'week', 'w') THEN 'week'
    WHEN given IN ('days', 'day', 'd') THEN 'day'
    WHEN given IN ('hours', 'hour', 'hrs', 'hr', 'h') THEN 'hour'
    WHEN given IN ('minutes', 'minute', 'mins', 'min', 'm') THEN 'minute'
    WHEN given IN ('seconds', 'second', 'secs', 'sec', 's') THEN 'second'
    WHEN given IN ('milliseconds', 'millisecond', 'mseconds', 'msecs', 'msec', 'ms') THEN 'millisecond'
    WHEN given IN ('microseconds', 'microsecond', 'useconds', 'usecs', 'usec', 'us') THEN 'microsecond'
  END;
  IF unit IS NULL THEN
    RAISE EXCEPTION 'invalid datepart %', upper(part) USING ERRCODE = '22023';
  END IF;
  RETURN CASE unit
    WHEN 'millennium' THEN extract(millennium FROM b)::bigint - extract(millennium FROM a)::bigint
    WHEN 'century' THEN extract(century FROM b)::bigint - extract(century FROM a)::bigint
    WHEN 'decade' THEN floor(mz_local.datediff_year(b) / 10.0)::bigint - floor(mz_local.datediff_year(a) / 10.0)::bigint
    WHEN 'year' THEN mz_local.datediff_year(b) - mz_local.datediff_year(a)
    WHEN 'quarter' THEN (mz_local.datediff_year(b) - mz_local.datediff_year(a)) * 4 + extract(quarter FROM b)::bigint - extract(quarter FROM a)::bigint
    WHEN 'month' THEN (mz_local.datediff_year(b) - mz_local.datediff_year(a)) * 12 + extract(month FROM b)::bigint - extract(month FROM a)::bigint
    WHEN 'week' THEN trunc(trunc(micros / 86400000000) / 7)::bigint
    WHEN 'day' THEN trunc(micros / 86400000000)::bigint
    WHEN 'hour' THEN trunc(micros / 3600000000)::bigint
    WHEN 'minute' THEN trunc(micros / 60000000)::bigint
    WHEN 'second' THEN trunc(micros / 1000000)::bigint
    WHEN 'millisecond' THEN trunc(micros / 1000)::bigint
    ELSE micros::bigint
  END;
END
$fn$;
CREATE OR REPLACE FUNCTION pg_catalog.datediff(part text, start_time timestamptz, end_time timestamptz) RETURNS bigint
  LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $fn$
  SELECT mz_local.datediff_timestamps(part, start_time AT TIME ZONE 'UTC', end_time AT TIME ZONE 'UTC')
$fn$;
CREATE OR REPLACE FUNCTION pg_catalog.datediff(part text, start_time timestamp, end_time timestamp) RETURNS bigint
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT mz_local.datediff_timestamps(part, start_time, end_time)';
CREATE OR REPLACE FUNCTION pg_catalog.datediff(part text, start_time date, end_time date) RETURNS bigint
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT mz_local.datediff_timestamps(part, start_time::timestamp, end_time::timestamp)';
CREATE OR REPLACE FUNCTION pg_catalog.datediff(part text, start_time time, end_time time) RETURNS bigint
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
  SELECT mz_local.datediff_timestamps(part, '1970-01-01'::date + start_time, '1970-01-01'::date + end_time)
$fn$;

--------------------------------------------------------------------------------------------------
-- jsonb_typeof(json): Materialize's json is jsonb.
--------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION pg_catalog.jsonb_typeof(value json) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT jsonb_typeof(value::jsonb)';

--------------------------------------------------------------------------------------------------
-- JSON on the wrong shape: NULL or no rows instead of an error.
--------------------------------------------------------------------------------------------------
-- PostgreSQL's own functions are renamed mz_pg_<name> (a built-in oid always runs its C code,
-- whatever pg_proc says) and new ones take their names; the operators are pointed at the new ones.
DO $fn$
DECLARE
  f record;
BEGIN
  FOR f IN SELECT * FROM (VALUES ('jsonb_delete', 'jsonb, text'), ('jsonb_delete', 'jsonb, integer'), ('jsonb_concat', 'jsonb, jsonb'),
                                 ('jsonb_array_length', 'jsonb'), ('jsonb_array_elements', 'jsonb'), ('jsonb_array_elements_text', 'jsonb'),
                                 ('jsonb_each', 'jsonb'), ('jsonb_each_text', 'jsonb'), ('jsonb_object_keys', 'jsonb')) AS l(name, args) LOOP
    IF (SELECT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
         WHERE p.oid = to_regprocedure(format('pg_catalog.%s(%s)', f.name, f.args))) = 'internal' THEN
      EXECUTE format('ALTER FUNCTION pg_catalog.%I(%s) RENAME TO %I', f.name, f.args, 'mz_pg_' || f.name);
    END IF;
  END LOOP;
END
$fn$;
-- jsonb as text, as Materialize writes it (its jsonb.slt): compact, object keys in byte order
-- (COLLATE "C" on UTF-8; PostgreSQL sorts shorter keys first), numbers without trailing zeros.
-- It backs the jsonb → text cast and the *_text table functions when the value is an object or an
-- array; scalars keep PostgreSQL's fast path. plpgsql: its plans are cached (a SQL
-- function replanned its queries on every call, 10x slower).
CREATE OR REPLACE FUNCTION mz_local.jsonb_number_text(t text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
  SELECT CASE WHEN strpos(t, '.') = 0 THEN t
              WHEN rtrim(rtrim(t, '0'), '.') = '-0' THEN '0'
              ELSE rtrim(rtrim(t, '0'), '.') END
$fn$;
CREATE OR REPLACE FUNCTION mz_local.jsonb_text(j jsonb) RETURNS text
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
  kind text := jsonb_typeof(j);
  out text;
BEGIN
  IF kind = 'object' THEN
    SELECT '{' || coalesce(string_agg(to_json(e.key)::text || ':' || CASE jsonb_typeof(e.value)
             WHEN 'object' THEN mz_local.jsonb_text(e.value) WHEN 'array' THEN mz_local.jsonb_text(e.value)
             WHEN 'number' THEN mz_local.jsonb_number_text(e.value::json::text) ELSE e.value::json::text END,
           ',' ORDER BY e.key COLLATE "C"), '') || '}'
      INTO out FROM pg_catalog.mz_pg_jsonb_each(j) AS e;
    RETURN out;
  ELSIF kind = 'array' THEN
    SELECT '[' || coalesce(string_agg(CASE jsonb_typeof(e.value)
             WHEN 'object' THEN mz_local.jsonb_text(e.value) WHEN 'array' THEN mz_local.jsonb_text(e.value)
             WHEN 'number' THEN mz_local.jsonb_number_text(e.value::json::text) ELSE e.value::json::text END,
           ',' ORDER BY e.n), '') || ']'
      INTO out FROM pg_catalog.mz_pg_jsonb_array_elements(j) WITH ORDINALITY AS e(value, n);
    RETURN out;
  ELSIF kind = 'number' THEN
    RETURN mz_local.jsonb_number_text(j::json::text);
  END IF;
  RETURN j::json::text;
END
$fn$;
-- An element as `->>` gives it: a string unquoted, JSON null as NULL, a container as text above.
CREATE OR REPLACE FUNCTION mz_local.jsonb_element_text(jsonb) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT CASE WHEN jsonb_typeof($1) IN ('object', 'array') THEN mz_local.jsonb_text($1)
              ELSE $1 #>> '{}' END
$fn$;
-- A cast to text through `via`, made the first time only (CREATE CAST has no IF NOT EXISTS, and
-- the bootstrap runs again over a database an older one made). AS ASSIGNMENT: a value stored in a
-- text column is converted as before (by `via` now).
CREATE OR REPLACE FUNCTION mz_local.create_text_cast_once(source regtype, via regprocedure) RETURNS void
  LANGUAGE plpgsql AS $fn$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_cast WHERE castsource = source AND casttarget = 'text'::regtype) THEN
    EXECUTE format('CREATE CAST (%s AS text) WITH FUNCTION %s AS ASSIGNMENT', source, via);
  END IF;
END
$fn$;
SELECT mz_local.create_text_cast_once('jsonb', 'mz_local.jsonb_text(jsonb)');
-- to_jsonb of a timestamp is its text, as Materialize writes it ("2014-05-28 12:22:35.6"; a
-- timestamptz in UTC with +00), where PostgreSQL writes ISO 8601 with a T.
CREATE OR REPLACE FUNCTION pg_catalog.to_jsonb(timestamp) RETURNS jsonb
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT to_jsonb($1::text)';
CREATE OR REPLACE FUNCTION pg_catalog.to_jsonb(timestamptz) RETURNS jsonb
  LANGUAGE sql STABLE PARALLEL SAFE AS 'SELECT to_jsonb($1::text)';
-- A date would otherwise take the timestamptz one above (an implicit cast beats anyelement).
CREATE OR REPLACE FUNCTION pg_catalog.to_jsonb(date) RETURNS jsonb
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT to_jsonb($1::text)';

-- Not STRICT, so that the planner inlines them (a NULL still answers NULL or no rows).
CREATE OR REPLACE FUNCTION pg_catalog.jsonb_delete(jsonb, text) RETURNS jsonb
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT CASE WHEN jsonb_typeof($1) IN ('object', 'array') THEN pg_catalog.mz_pg_jsonb_delete($1, $2) END
$fn$;
CREATE OR REPLACE FUNCTION pg_catalog.jsonb_delete(jsonb, integer) RETURNS jsonb
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT CASE WHEN jsonb_typeof($1) = 'array' THEN pg_catalog.mz_pg_jsonb_delete($1, $2) END
$fn$;
CREATE OR REPLACE FUNCTION pg_catalog.jsonb_concat(jsonb, jsonb) RETURNS jsonb
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT CASE WHEN jsonb_typeof($1) = 'array' OR jsonb_typeof($2) = 'array' OR (jsonb_typeof($1) = 'object' AND jsonb_typeof($2) = 'object')
              THEN pg_catalog.mz_pg_jsonb_concat($1, $2) END
$fn$;
CREATE OR REPLACE FUNCTION pg_catalog.jsonb_array_length(jsonb) RETURNS integer
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT CASE WHEN jsonb_typeof($1) = 'array' THEN pg_catalog.mz_pg_jsonb_array_length($1) END
$fn$;
CREATE OR REPLACE FUNCTION pg_catalog.jsonb_array_elements(from_json jsonb, OUT value jsonb) RETURNS SETOF jsonb
  LANGUAGE sql IMMUTABLE PARALLEL SAFE ROWS 100 AS $fn$
  SELECT pg_catalog.mz_pg_jsonb_array_elements(CASE WHEN jsonb_typeof(from_json) = 'array' THEN from_json END)
$fn$;
CREATE OR REPLACE FUNCTION pg_catalog.jsonb_array_elements_text(from_json jsonb, OUT value text) RETURNS SETOF text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE ROWS 100 AS $fn$
  SELECT mz_local.jsonb_element_text(e) FROM pg_catalog.mz_pg_jsonb_array_elements(CASE WHEN jsonb_typeof(from_json) = 'array' THEN from_json END) AS e
$fn$;
CREATE OR REPLACE FUNCTION pg_catalog.jsonb_each(from_json jsonb, OUT key text, OUT value jsonb) RETURNS SETOF record
  LANGUAGE sql IMMUTABLE PARALLEL SAFE ROWS 100 AS $fn$
  SELECT * FROM pg_catalog.mz_pg_jsonb_each(CASE WHEN jsonb_typeof(from_json) = 'object' THEN from_json END)
$fn$;
CREATE OR REPLACE FUNCTION pg_catalog.jsonb_each_text(from_json jsonb, OUT key text, OUT value text) RETURNS SETOF record
  LANGUAGE sql IMMUTABLE PARALLEL SAFE ROWS 100 AS $fn$
  SELECT e.key, mz_local.jsonb_element_text(e.value) FROM pg_catalog.mz_pg_jsonb_each(CASE WHEN jsonb_typeof(from_json) = 'object' THEN from_json END) AS e
$fn$;
CREATE OR REPLACE FUNCTION pg_catalog.jsonb_object_keys(jsonb) RETURNS SETOF text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE ROWS 100 AS $fn$
  SELECT pg_catalog.mz_pg_jsonb_object_keys(CASE WHEN jsonb_typeof($1) = 'object' THEN $1 END)
$fn$;

UPDATE pg_operator SET oprcode = 'pg_catalog.jsonb_delete(jsonb, text)'::regprocedure
 WHERE oprname = '-' AND oprleft = 'jsonb'::regtype AND oprright = 'text'::regtype;
UPDATE pg_operator SET oprcode = 'pg_catalog.jsonb_delete(jsonb, integer)'::regprocedure
 WHERE oprname = '-' AND oprleft = 'jsonb'::regtype AND oprright = 'integer'::regtype;
UPDATE pg_operator SET oprcode = 'pg_catalog.jsonb_concat(jsonb, jsonb)'::regprocedure
 WHERE oprname = '||' AND oprleft = 'jsonb'::regtype AND oprright = 'jsonb'::regtype;
-- `->>` and `#>>` stay PostgreSQL's own (a container reads in PostgreSQL's spaced form): a SQL
-- wrapper that checked for containers was inlined into every plan, which the kept-views planner
-- reads (views/plan-kept-views.ts indexes a dedup's key expression only when it is PostgreSQL's
-- ->>), and it cost 2.5x PostgreSQL's ->> on scalars. A database bootstrapped while the wrapper
-- existed gets PostgreSQL's functions back.
DO $fn$
DECLARE
  f record;
BEGIN
  FOR f IN SELECT * FROM (VALUES ('jsonb_object_field_text', 'jsonb, text', '->>'), ('jsonb_array_element_text', 'jsonb, integer', '->>'),
                                 ('jsonb_extract_path_text', 'jsonb, text[]', '#>>')) AS l(name, args, op) LOOP
    IF to_regprocedure(format('pg_catalog.mz_pg_%s(%s)', f.name, f.args)) IS NOT NULL THEN
      EXECUTE format('UPDATE pg_operator SET oprcode = %L::regprocedure WHERE oprname = %L AND oprleft = %L::regtype AND oprright = %L::regtype',
        format('pg_catalog.mz_pg_%s(%s)', f.name, f.args), f.op, 'jsonb', split_part(f.args, ', ', 2));
      EXECUTE format('DROP FUNCTION IF EXISTS pg_catalog.%I(%s)', f.name, f.args);
      EXECUTE format('ALTER FUNCTION pg_catalog.%I(%s) RENAME TO %I', 'mz_pg_' || f.name, f.args, f.name);
    END IF;
  END LOOP;
END
$fn$;

--------------------------------------------------------------------------------------------------
-- uint2, uint4, uint8
--------------------------------------------------------------------------------------------------
-- The value, or Materialize's range error (checked before PostgreSQL's own range checks see it).
CREATE OR REPLACE FUNCTION mz_local.uint_value(value numeric, type_name text, max_value numeric) RETURNS numeric
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
BEGIN
  IF value < 0 OR value > max_value THEN
    RAISE EXCEPTION '% out of range', type_name USING ERRCODE = '22003';
  END IF;
  RETURN value;
END
$fn$;
DO $fn$
DECLARE
  spec record;
  op record;
BEGIN
  FOR spec IN SELECT * FROM (VALUES ('uint2', 'integer', '65535'), ('uint4', 'bigint', '4294967295'),
                                    ('uint8', 'numeric(20,0)', '18446744073709551615')) AS s(name, base, max_value) LOOP
    IF to_regtype('mz_catalog.' || spec.name) IS NULL THEN
      EXECUTE format('CREATE DOMAIN mz_catalog.%I AS %s CHECK (mz_local.uint_value(VALUE, %L, %s) IS NOT NULL)', spec.name, spec.base, spec.name, spec.max_value);
    END IF;
    -- Arithmetic between two values of one unsigned type stays in that type (integer division).
    FOR op IN SELECT * FROM (VALUES ('+', 'add', 'a + b'), ('-', 'sub', 'a - b'), ('*', 'mul', 'a * b'),
                                    ('/', 'div', 'trunc(a / b)'), ('%', 'mod', 'a % b')) AS o(symbol, name, expression) LOOP
      EXECUTE format('CREATE OR REPLACE FUNCTION mz_local.%s_%s(a mz_catalog.%s, b mz_catalog.%s) RETURNS mz_catalog.%s LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS %L',
        spec.name, op.name, spec.name, spec.name, spec.name,
        format('SELECT mz_local.uint_value((SELECT %s FROM (SELECT a::numeric AS a, b::numeric AS b) AS args), %L, %s)::mz_catalog.%s', op.expression, spec.name, spec.max_value, spec.name));
      IF NOT EXISTS (SELECT 1 FROM pg_operator WHERE oprname = op.symbol AND oprleft = ('mz_catalog.' || spec.name)::regtype AND oprright = ('mz_catalog.' || spec.name)::regtype) THEN
        EXECUTE format('CREATE OPERATOR mz_catalog.%s (LEFTARG = mz_catalog.%s, RIGHTARG = mz_catalog.%s, FUNCTION = mz_local.%s_%s)',
          op.symbol, spec.name, spec.name, spec.name, op.name);
      END IF;
    END LOOP;
  END LOOP;
END
$fn$;

--------------------------------------------------------------------------------------------------
-- lpad with a negative length: Materialize refuses it ("length must be nonnegative"; its
-- func.rs); PostgreSQL answers ''. PostgreSQL's lpad(text, int, text) is renamed mz_pg_lpad as
-- the JSON functions are; its lpad(text, int) (bound to the old one's oid) is replaced too.
--------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION mz_local.fail_text(message text, code text) RETURNS text
  LANGUAGE plpgsql IMMUTABLE AS $fn$
BEGIN
  RAISE EXCEPTION USING MESSAGE = message, ERRCODE = code;
END
$fn$;
-- The same, given the value it refuses: in a SQL function's CASE arm it is then folded at plan time
-- only where the arm's condition is constant (and so pruned first). With constant arguments only,
-- a generic plan (the sixth call of a statement, parameters unknown) folds the arm and fails even
-- for a valid value (lpad('str', 3, 'pad') failed after five lpad calls).
CREATE OR REPLACE FUNCTION mz_local.fail_text(message text, code text, refused anyelement) RETURNS text
  LANGUAGE plpgsql IMMUTABLE AS $fn$
BEGIN
  RAISE EXCEPTION USING MESSAGE = message, ERRCODE = code;
END
$fn$;
DO $fn$
BEGIN
  IF (SELECT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
       WHERE p.oid = to_regprocedure('pg_catalog.lpad(text, integer, text)')) = 'internal' THEN
    ALTER FUNCTION pg_catalog.lpad(text, integer, text) RENAME TO mz_pg_lpad;
  END IF;
END
$fn$;
CREATE OR REPLACE FUNCTION pg_catalog.lpad(text, integer, text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT CASE WHEN $2 < 0 THEN mz_local.fail_text('length must be nonnegative', '22023', $2) ELSE pg_catalog.mz_pg_lpad($1, $2, $3) END
$fn$;
CREATE OR REPLACE FUNCTION pg_catalog.lpad(text, integer) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$ SELECT pg_catalog.lpad($1, $2, ' ') $fn$;

--------------------------------------------------------------------------------------------------
-- CREATE MATERIALIZED VIEW … WITH (ASSERT NOT NULL col): the view's query checks each row
-- (sql/mz-statements.ts); a NULL fails the read with Materialize's words.
--------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION mz_local.assert_not_null(is_null boolean, column_name text) RETURNS boolean
  LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
  IF is_null THEN
    RAISE EXCEPTION 'column "%" must not be null', column_name USING ERRCODE = '23502';
  END IF;
  RETURN true;
END
$fn$;

--------------------------------------------------------------------------------------------------
-- Window functions with IGNORE NULLS (sql/window-nulls.ts): elements counted from an array's end.
--------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION mz_local.last_element(anyarray) RETURNS anyelement
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT $1[cardinality($1)]';
CREATE OR REPLACE FUNCTION mz_local.nth_from_end(anyarray, bigint) RETURNS anyelement
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT CASE WHEN $2 >= 1 THEN $1[cardinality($1) - $2 + 1] END';

--------------------------------------------------------------------------------------------------
-- mz_now() compared with a number: Materialize's mz_now() is an mz_timestamp, to which integers
-- and numerics cast implicitly as milliseconds since the Unix epoch (its mz_timestamp type page),
-- so a temporal filter may read `mz_now() >= insert_ms`. Here mz_now() is a timestamptz: these
-- operators compare a timestamptz with a number of milliseconds, either way round, as numbers of
-- milliseconds (temporal.slt: a bound of 18446744073709551614, u64::MAX - 1, is past any timestamp).
--------------------------------------------------------------------------------------------------
-- A number compared with mz_now() as Materialize's mz_timestamp takes it: an unsigned 64-bit count
-- of milliseconds (temporal.slt). Within PostgreSQL's timestamp range the comparison is made on
-- timestamps, as before; past it (up to u64::MAX) the number is later than any now, so the answer
-- is known; `mz_now() <= u64::MAX` cannot step past it ("step mz_timestamp overflow"), and a
-- negative number is no mz_timestamp. Only the rare branch calls this.
CREATE OR REPLACE FUNCTION mz_local.mz_timestamp_beyond(ms numeric, steps boolean, answer boolean) RETURNS boolean
  LANGUAGE plpgsql IMMUTABLE AS $fn$
BEGIN
  IF ms < 0 OR ms > 18446744073709551615 THEN
    RAISE EXCEPTION USING ERRCODE = '22008', MESSAGE = 'mz_timestamp out of range';
  END IF;
  IF steps AND ms = 18446744073709551615 THEN
    RAISE EXCEPTION USING ERRCODE = '22008', MESSAGE = 'step mz_timestamp overflow';
  END IF;
  RETURN answer;
END
$fn$;
DROP FUNCTION IF EXISTS mz_local.mz_timestamp_ms(numeric, boolean);
CREATE OR REPLACE FUNCTION mz_local.ms_timestamptz(ms numeric) RETURNS timestamptz
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$ SELECT to_timestamp(ms / 1000.0) $fn$;
DO $fn$
DECLARE
  number_type text;
  op record;
BEGIN
  FOR number_type IN SELECT unnest(ARRAY['numeric', 'bigint', 'integer']) LOOP
    FOR op IN SELECT * FROM (VALUES ('<', 'lt', '>'), ('<=', 'le', '>='), ('=', 'eq', '='), ('<>', 'ne', '<>'), ('>=', 'ge', '<='), ('>', 'gt', '<'))
                AS o(symbol, name, commuted) LOOP
      -- mz_now() <op> b with b past the timestamps: true for <, <=, <>; the number on the left, for >, >=, <>.
      EXECUTE format('CREATE OR REPLACE FUNCTION mz_local.tstz_%s_ms(a timestamptz, b %s) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS %L',
        op.name, number_type, format('SELECT CASE WHEN b >= 0 AND b <= 9000000000000000 THEN a %s to_timestamp(b / 1000.0) ELSE mz_local.mz_timestamp_beyond(b::numeric, %L, %L) END',
          op.symbol, op.name IN ('le', 'gt'), op.name IN ('lt', 'le', 'ne')));
      EXECUTE format('CREATE OR REPLACE FUNCTION mz_local.ms_%s_tstz(a %s, b timestamptz) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS %L',
        op.name, number_type, format('SELECT CASE WHEN a >= 0 AND a <= 9000000000000000 THEN to_timestamp(a / 1000.0) %s b ELSE mz_local.mz_timestamp_beyond(a::numeric, %L, %L) END',
          op.symbol, op.name IN ('ge', 'lt'), op.name IN ('gt', 'ge', 'ne')));
      IF NOT EXISTS (SELECT 1 FROM pg_operator WHERE oprname = op.symbol AND oprleft = 'timestamptz'::regtype AND oprright = number_type::regtype) THEN
        EXECUTE format('CREATE OPERATOR mz_catalog.%s (LEFTARG = timestamptz, RIGHTARG = %s, FUNCTION = mz_local.tstz_%s_ms)', op.symbol, number_type, op.name);
      END IF;
      IF NOT EXISTS (SELECT 1 FROM pg_operator WHERE oprname = op.symbol AND oprleft = number_type::regtype AND oprright = 'timestamptz'::regtype) THEN
        EXECUTE format('CREATE OPERATOR mz_catalog.%s (LEFTARG = %s, RIGHTARG = timestamptz, FUNCTION = mz_local.ms_%s_tstz)', op.symbol, number_type, op.name);
      END IF;
    END LOOP;
  END LOOP;
END
$fn$;

--------------------------------------------------------------------------------------------------
-- A jsonb index given as a bigint (jsonb.slt: `'{}'::jsonb ->> -9223372036854775808` is NULL):
-- PostgreSQL has ->, ->> and - with an integer index only, and refuses a bigint. An index past
-- the integer range finds no element.
--------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION mz_local.jsonb_element_big(jsonb, bigint) RETURNS jsonb
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$ SELECT CASE WHEN $2 BETWEEN -2147483648 AND 2147483647 THEN $1 -> $2::integer END $fn$;
CREATE OR REPLACE FUNCTION mz_local.jsonb_element_text_big(jsonb, bigint) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$ SELECT CASE WHEN $2 BETWEEN -2147483648 AND 2147483647 THEN $1 ->> $2::integer END $fn$;
CREATE OR REPLACE FUNCTION mz_local.jsonb_delete_big(jsonb, bigint) RETURNS jsonb
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT CASE WHEN $2 BETWEEN -2147483648 AND 2147483647 THEN $1 - $2::integer WHEN jsonb_typeof($1) = 'array' THEN $1 END
$fn$;
DO $fn$
DECLARE
  op record;
BEGIN
  FOR op IN SELECT * FROM (VALUES ('->', 'jsonb_element_big'), ('->>', 'jsonb_element_text_big'), ('-', 'jsonb_delete_big')) AS o(symbol, fn) LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_operator WHERE oprname = op.symbol AND oprleft = 'jsonb'::regtype AND oprright = 'bigint'::regtype) THEN
      EXECUTE format('CREATE OPERATOR mz_catalog.%s (LEFTARG = jsonb, RIGHTARG = bigint, FUNCTION = mz_local.%s)', op.symbol, op.fn);
    END IF;
  END LOOP;
END
$fn$;

--------------------------------------------------------------------------------------------------
-- WITH MUTUALLY RECURSIVE (sql/mutually-recursive.ts)
--------------------------------------------------------------------------------------------------
-- A body's column against its declared type: resolves only when the two have a common type, so a
-- body of another type fails at plan time ("function mz_local.wmr_declared(text, integer) does
-- not exist", worded as Materialize words it by sql/error-text.ts). Inlined: costs nothing per row.
CREATE OR REPLACE FUNCTION mz_local.wmr_declared(inferred anycompatible, declared anycompatible) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$ SELECT true $fn$;

-- ERROR AT RECURSION LIMIT n: the last round computed is not the fixed point.
CREATE OR REPLACE FUNCTION mz_local.wmr_within_limit(done boolean, recursion_limit integer) RETURNS boolean
  LANGUAGE plpgsql IMMUTABLE AS $fn$
BEGIN
  IF NOT done THEN
    RAISE EXCEPTION USING ERRCODE = '54001', MESSAGE = format(
      'Recursive query exceeded the recursion limit %s. (Use RETURN AT RECURSION LIMIT to not error, but return the current state as the final result when reaching the limit.)',
      recursion_limit);
  END IF;
  RETURN true;
END
$fn$;

-- substr / substring with bigint overloads made smallint and unknown arguments ambiguous
-- (substr(NULL, 1), substr(varchar, smallint, smallint)): they are dropped again; a literal past
-- the integer range is clamped by the translator instead (dialect.ts).
DROP FUNCTION IF EXISTS pg_catalog.substr(text, bigint);
DROP FUNCTION IF EXISTS pg_catalog.substr(text, bigint, bigint);
DROP FUNCTION IF EXISTS pg_catalog.substring(text, bigint);
DROP FUNCTION IF EXISTS pg_catalog.substring(text, bigint, bigint);

--------------------------------------------------------------------------------------------------
-- CREATE MATERIALIZED VIEW … WITH (REFRESH …) (sql/mz-statements.ts): the options are checked as
-- Materialize checks them (materialized_views.slt), then the view refreshes on every read here.
--------------------------------------------------------------------------------------------------
-- REFRESH AT / ALIGNED TO: a value that reads as an mz_timestamp (a timestamp, or a number of
-- milliseconds, or text that is either); given as its type and its text. A REFRESH AT time already
-- past is refused as Materialize refuses it (its inputs are no longer readable there).
CREATE OR REPLACE FUNCTION mz_local.check_refresh_time(context text, kind regtype, value text) RETURNS void
  LANGUAGE plpgsql AS $fn$
DECLARE
  at timestamptz;
BEGIN
  IF value IS NULL THEN
    RETURN;
  END IF;
  IF kind IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype) THEN
    at := value::timestamptz;
  ELSIF kind IN ('numeric'::regtype, 'bigint'::regtype, 'integer'::regtype, 'smallint'::regtype) THEN
    at := to_timestamp(value::numeric / 1000);
  ELSIF kind IN ('text'::regtype, 'unknown'::regtype, 'character varying'::regtype) THEN
    BEGIN
      at := value::timestamptz;
    EXCEPTION WHEN OTHERS THEN
      BEGIN
        at := to_timestamp(value::numeric / 1000);
      EXCEPTION WHEN OTHERS THEN
        RAISE EXCEPTION USING ERRCODE = '42804', MESSAGE =
          context || ' argument must be an expression that can be simplified and/or cast to a constant whose type is mz_timestamp';
      END;
    END;
  ELSE
    RAISE EXCEPTION USING ERRCODE = '42846', MESSAGE = format('%s does not support casting from %s to mz_timestamp', context, kind::text);
  END IF;
  IF context = 'REFRESH AT' AND at < now() - interval '1 second' THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'REFRESH AT requested for a time where not all the inputs are readable';
  END IF;
END
$fn$;
DROP FUNCTION IF EXISTS mz_local.check_refresh_time(text, anyelement);
DROP FUNCTION IF EXISTS mz_local.check_refresh_time(text, text);

-- REFRESH EVERY 'interval': an interval, positive, of days at most.
CREATE OR REPLACE FUNCTION mz_local.check_refresh_every(interval_text text) RETURNS void
  LANGUAGE plpgsql AS $fn$
DECLARE
  every interval;
  unknown_unit text;
BEGIN
  BEGIN
    every := interval_text::interval;
  EXCEPTION WHEN OTHERS THEN
    SELECT w INTO unknown_unit FROM regexp_matches(lower(interval_text), '[a-z]+', 'g') AS m(ws), unnest(ws) AS w
     WHERE w NOT IN ('microsecond', 'microseconds', 'us', 'usec', 'usecs', 'millisecond', 'milliseconds', 'ms', 'msec', 'msecs',
                     'second', 'seconds', 's', 'sec', 'secs', 'minute', 'minutes', 'm', 'min', 'mins', 'hour', 'hours', 'h', 'hr',
                     'hrs', 'day', 'days', 'd', 'week', 'weeks', 'w', 'month', 'months', 'mon', 'mons', 'year', 'years', 'y', 'yr',
                     'yrs', 'decade', 'decades', 'century', 'centuries', 'millennium', 'millennia', 'ago')
     LIMIT 1;
    RAISE EXCEPTION USING ERRCODE = '22P02', MESSAGE = format('invalid input syntax for type interval: %s"%s"',
      CASE WHEN unknown_unit IS NULL THEN '' ELSE 'unknown units ' || unknown_unit || ': ' END, interval_text);
  END;
  IF every <= interval '0' THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('REFRESH interval must be positive; got: %s', every);
  END IF;
  IF extract(year FROM every) <> 0 OR extract(month FROM every) <> 0 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'REFRESH interval must not involve units larger than days';
  END IF;
END
$fn$;

--------------------------------------------------------------------------------------------------
-- repeat_row(n): a table function of no columns with n rows (table_func.slt: each input row
-- repeated n times in a join); a negative n, a retraction in Materialize, fails here with the
-- words Materialize uses when such a result is read.
--------------------------------------------------------------------------------------------------
DO $fn$
BEGIN
  IF to_regtype('mz_local.empty_row') IS NULL THEN
    CREATE TYPE mz_local.empty_row AS ();
  END IF;
END
$fn$;
CREATE OR REPLACE FUNCTION pg_catalog.repeat_row(n bigint) RETURNS SETOF mz_local.empty_row
  LANGUAGE plpgsql IMMUTABLE STRICT AS $fn$
BEGIN
  IF n < 0 THEN
    RAISE EXCEPTION USING ERRCODE = 'XX000', MESSAGE = format('Negative multiplicity in constant result: %s', n);
  END IF;
  RETURN QUERY SELECT FROM generate_series(1, n);
END
$fn$;

-- mz_row_size(record): the bytes of the row as the local server stores it (PostgreSQL's tuple
-- size), not Materialize's packed row: the same order of magnitude, not the same number.
CREATE OR REPLACE FUNCTION pg_catalog.mz_row_size(anyelement) RETURNS integer
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$ SELECT pg_column_size($1) $fn$;

--------------------------------------------------------------------------------------------------
-- An interval cast to text reads as Materialize writes it (dates-times.slt: '1 year 3 months'),
-- months spelled out as the wire's text of an interval already is (sql/text-formats.ts). replace(),
-- not a regex: ~1 µs a value (the regex was ~9).
--------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION mz_local.interval_text(i interval) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
  SELECT left(replace(replace(i::varchar || ' ', ' mons ', ' months '), ' mon ', ' month '), -1)
$fn$;
SELECT mz_local.create_text_cast_once('interval', 'mz_local.interval_text(interval)');

-- `INTERVAL '…' <leading> TO <trailing>` as Materialize reads it (interval.slt): the fields above the
-- leading one are dropped (`'1-2 3 4:5:6.7' DAY TO HOUR` → 3 days 04:00:00), where PostgreSQL keeps
-- them and applies only the trailing field. PostgreSQL has parsed the text and applied the trailing
-- field; this drops the leading ones.
-- Below DAY, Materialize keeps the time part modulo the leading field's next unit (interval.rs
-- truncate_high_fields: HOUR keeps the microseconds modulo a day, so '30 hours' HOUR TO MINUTE is
-- 06:00:00), with the remainder's sign; what is left is under a day, exact in the float PostgreSQL
-- multiplies an interval by.
CREATE OR REPLACE FUNCTION mz_local.interval_from_leading(value interval, leading_field text) RETURNS interval
  LANGUAGE sql IMMUTABLE STRICT AS $fn$
  SELECT CASE leading_field
    WHEN 'year' THEN value
    WHEN 'month' THEN value - extract(year from value)::integer * interval '1 year'
    WHEN 'day' THEN value - (extract(year from value) * 12 + extract(month from value))::integer * interval '1 month'
    ELSE mod(
      (extract(epoch from value - (extract(year from value) * 12 + extract(month from value))::integer * interval '1 month' - extract(day from value)::integer * interval '1 day') * 1000000)::bigint,
      CASE leading_field WHEN 'hour' THEN 86400000000 WHEN 'minute' THEN 3600000000 ELSE 60000000 END
    ) * interval '1 microsecond'
  END
$fn$;

--------------------------------------------------------------------------------------------------
-- timezone_offset(zone, at): the abbreviation, standard offset from UTC and daylight-saving offset
-- of an IANA time zone at a moment (doc/user/content/sql/functions/timezone-and-at-time-zone.md;
-- timezone.slt). The zone is an IANA name, matched without regard to case; an abbreviation or an
-- offset (`'PST'`, `'-05'`) is no IANA name there. The standard offset is the smaller of the
-- zone's offsets at the start and the middle of the year (daylight saving adds to it).
--------------------------------------------------------------------------------------------------
DO $fn$
BEGIN
  IF to_regtype('mz_local.timezone_offset_result') IS NULL THEN
    CREATE TYPE mz_local.timezone_offset_result AS (abbrev text, base_utc_offset interval, dst_offset interval);
  END IF;
END
$fn$;
CREATE OR REPLACE FUNCTION pg_catalog.timezone_offset(zone text, at_time timestamptz) RETURNS mz_local.timezone_offset_result
  LANGUAGE plpgsql STABLE STRICT AS $fn$
DECLARE
  iana_name text;
  saved_zone text := current_setting('timezone');
  year_start timestamptz;
  offset_now interval;
  base interval;
  abbreviation text;
BEGIN
  SELECT n.name INTO iana_name FROM pg_catalog.pg_timezone_names n
   WHERE lower(n.name) = lower(zone) AND n.name !~ '^posix/' ORDER BY n.name = zone DESC LIMIT 1;
  IF iana_name IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('invalid IANA Time Zone Database identifier: ''%s''', zone);
  END IF;
  offset_now := (at_time AT TIME ZONE iana_name) - (at_time AT TIME ZONE 'UTC');
  year_start := date_trunc('year', at_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
  base := least((year_start AT TIME ZONE iana_name) - (year_start AT TIME ZONE 'UTC'),
                ((year_start + interval '6 months') AT TIME ZONE iana_name) - ((year_start + interval '6 months') AT TIME ZONE 'UTC'));
  -- The abbreviation in force at that moment, as the zone's rules name it.
  PERFORM set_config('timezone', iana_name, true);
  abbreviation := to_char(at_time, 'TZ');
  PERFORM set_config('timezone', saved_zone, true);
  RETURN ROW(abbreviation, base, offset_now - base)::mz_local.timezone_offset_result;
END
$fn$;
