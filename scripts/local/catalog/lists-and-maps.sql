-- Materialize's list and map types (doc/user/content/sql/types/list.md, map.md), as bootstrap SQL
-- (bootstrap.ts appends it; every statement is idempotent).
--
-- A list is carried by a PostgreSQL array: `int list` is int4[] (the translator, sql/dialect.ts,
-- rewrites the type name and LIST[…] / LIST(SELECT …)), so indexing, slicing, `||`, unnest and the
-- text form `{1,2}` are PostgreSQL's. The list functions below take arrays. A layered list is a
-- multidimensional array, which must be rectangular (Materialize's lists may be ragged); what
-- differs is listed in docs/local-server.md.
--
-- A map is carried by hstore, as the webhook headers map already is: `map[text=>T]` is hstore
-- whatever T (values are kept as their text), MAP[k => v, …] and MAP(SELECT k, v …) build one with
-- the last value of a repeated key winning, as Materialize's constructors do; `->`, `?`, `?&`, `?|`,
-- `@>`, `<@` are hstore's own.

--------------------------------------------------------------------------------------------------
-- list
--------------------------------------------------------------------------------------------------
-- list_agg(x [ORDER BY …]): array_agg's own transition and final functions, so it costs the same.
CREATE OR REPLACE AGGREGATE pg_catalog.list_agg(anynonarray) (
  SFUNC = array_agg_transfn, STYPE = internal, FINALFUNC = array_agg_finalfn, FINALFUNC_EXTRA
);
CREATE OR REPLACE AGGREGATE pg_catalog.list_agg(anyarray) (
  SFUNC = array_agg_array_transfn, STYPE = internal, FINALFUNC = array_agg_array_finalfn, FINALFUNC_EXTRA
);

-- The number of elements of the outer layer (0 for an empty list).
CREATE OR REPLACE FUNCTION pg_catalog.list_length(anyarray) RETURNS integer
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT coalesce(array_length($1, 1), 0)';
-- The layers of a list, read from its type (mz_local.<T>_l<n>[] has n + 1).
CREATE OR REPLACE FUNCTION mz_local.list_type_layers(regtype) RETURNS integer
  LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
  SELECT coalesce((SELECT right(e.typname, 1)::integer + 1 FROM pg_type a JOIN pg_type e ON e.oid = a.typelem
    WHERE a.oid = $1 AND e.typnamespace = 'mz_local'::regnamespace AND e.typname ~ '_l[0-9]$'), 1)
$fn$;
-- The longest list in layer `layer` (1: the list itself) of a list as jsonb (to_jsonb, which writes
-- a list of lists as nested arrays, below); NULL where no list reaches that layer.
CREATE OR REPLACE FUNCTION mz_local.list_layer_max(list jsonb, layer integer) RETURNS integer
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
BEGIN
  IF list IS NULL OR jsonb_typeof(list) <> 'array' THEN RETURN NULL; END IF;
  IF layer = 1 THEN RETURN jsonb_array_length(list); END IF;
  RETURN (SELECT max(mz_local.list_layer_max(e, layer - 1)) FROM jsonb_array_elements(list) AS e);
END
$fn$;

-- The number of layers, read from the type as Materialize does (a list of lists is an array of the
-- wrapper rows below, mz_local.<T>_l<n>[], defined further down). An
-- array of several dimensions (a Materialize array) counts its dimensions.
CREATE OR REPLACE FUNCTION pg_catalog.list_ndims(anyarray) RETURNS integer
  LANGUAGE sql STABLE STRICT PARALLEL SAFE AS 'SELECT greatest(mz_local.list_type_layers(pg_typeof($1)), coalesce(array_ndims($1), 1))';
-- Materialize's current name for it (list.slt at 6cc6493d).
-- Not STRICT: a NULL list has its type's layers (list.slt: list_n_layers((LIST[[1],NULL]::INT LIST LIST)[2]) is 1).
CREATE OR REPLACE FUNCTION pg_catalog.list_n_layers(anyarray) RETURNS integer
  LANGUAGE sql STABLE PARALLEL SAFE AS 'SELECT greatest(mz_local.list_type_layers(pg_typeof($1)), coalesce(array_ndims($1), 1))';
-- The longest list in layer n (1 = the list itself); NULL lists are skipped, NULL when none is left.
CREATE OR REPLACE FUNCTION pg_catalog.list_length_max(list anyarray, layer bigint) RETURNS integer
  LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
  layers integer := pg_catalog.list_n_layers(list);
BEGIN
  IF layer < 1 OR layer > layers THEN
    RAISE EXCEPTION 'invalid layer: %; must use value within [1, %]', layer, layers USING ERRCODE = '22023';
  END IF;
  IF mz_local.list_type_layers(pg_typeof(list)) = 1 THEN
    RETURN coalesce(array_length(list, layer::integer), 0);
  END IF;
  RETURN mz_local.list_layer_max(to_jsonb(list), layer::integer);
END
$fn$;
CREATE OR REPLACE FUNCTION pg_catalog.list_append(anycompatiblearray, anycompatible) RETURNS anycompatiblearray
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT array_append($1, $2)';
-- list_append(NULL, NULL) is `{NULL}` (list.slt). With the overloads for lists of lists (below),
-- two untyped arguments match several implementations; PostgreSQL settles untyped arguments on one
-- that takes text, so this one is chosen, and reads the first as a text list.
CREATE OR REPLACE FUNCTION pg_catalog.list_append(text, text) RETURNS text[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT array_append($1::text[], $2)';
CREATE OR REPLACE FUNCTION pg_catalog.list_prepend(anycompatible, anycompatiblearray) RETURNS anycompatiblearray
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT array_prepend($1, $2)';
CREATE OR REPLACE FUNCTION pg_catalog.list_cat(anycompatiblearray, anycompatiblearray) RETURNS anycompatiblearray
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT array_cat($1, $2)';
-- Every element equal to the value removed (a NULL value removes the NULL elements).
CREATE OR REPLACE FUNCTION pg_catalog.list_remove(anycompatiblearray, anycompatible) RETURNS anycompatiblearray
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT array_remove($1, $2)';

-- The type a CREATE TYPE … AS LIST (element_type = T) domain stands on: T[] for a scalar T; for a
-- list T (a list type, or a domain over one), the list of lists one layer deeper (int4[] →
-- mz_local.int4_l1[], mz_local.int4_l1[] → mz_local.int4_l2[]); PostgreSQL's array when the
-- element type has no wrapper rows.
CREATE OR REPLACE FUNCTION mz_local.list_domain_base(element text) RETURNS text
  LANGUAGE plpgsql STABLE PARALLEL SAFE AS $fn$
DECLARE
  named oid := to_regtype(element);
  base oid;
  inner_type oid;
  inner_name text;
  inner_schema oid;
  deeper text;
BEGIN
  IF named IS NULL THEN RETURN element || '[]'; END IF;
  SELECT CASE WHEN typtype = 'd' THEN typbasetype ELSE oid END INTO base FROM pg_type WHERE oid = named;
  SELECT typelem INTO inner_type FROM pg_type WHERE oid = base AND typcategory = 'A';
  IF inner_type IS NULL OR inner_type = 0 THEN RETURN element || '[]'; END IF;
  SELECT typname, typnamespace INTO inner_name, inner_schema FROM pg_type WHERE oid = inner_type;
  deeper := CASE WHEN inner_schema = 'mz_local'::regnamespace AND inner_name ~ '_l[0-9]$'
    THEN format('mz_local.%I', left(inner_name, -1) || (right(inner_name, 1)::integer + 1))
    ELSE format('mz_local.%I', inner_name || '_l1') END;
  IF to_regtype(deeper) IS NOT NULL THEN RETURN deeper || '[]'; END IF;
  RETURN format_type(base, NULL);
END
$fn$;

-- A slice as a value of its own, so that a later subscript applies to it and not to another
-- dimension. A slice with no elements is the empty list (list.slt at 6cc6493d: past the end, end
-- before start, of an empty list; older Materialize answered NULL).
CREATE OR REPLACE FUNCTION mz_local.list_slice(anyarray) RETURNS anyarray
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT $1';

--------------------------------------------------------------------------------------------------
-- layered lists (a list of lists): an array of a one-field row that wraps the inner list
--------------------------------------------------------------------------------------------------
-- A PostgreSQL array must be rectangular and indexes all its dimensions at once, where Materialize's
-- `LIST[[1],[2,3]]` is ragged and `l[2]` is the inner list. So a list of lists is an array of rows
-- mz_local.<T>_l1 (l T[]): `int list list` is mz_local.int4_l1[], `int list list list` is
-- mz_local.int4_l2[] (l mz_local.int4_l1[]), down to four layers. A one-layer list stays a plain
-- array (what list_agg over events builds: array_agg's cost, and the wire type clients already get).
-- The outer layer is an array, so length, slices, `||`, list_cat, list_prepend, comparisons and
-- unnest's rows are PostgreSQL's; what unwraps (an index, the text form) is generated per element
-- type below. The translator (sql/collections.ts) writes `int list list` as mz_local.int4_l1[], a
-- constructor's inner lists through mz_local.list_wrap, and every index through mz_local.list_get.

-- A list index (bigint, 1-based) as an array subscript: NULL where no element can be (Materialize
-- answers NULL for an index out of range, however large; PostgreSQL's subscripts are int4).
CREATE OR REPLACE FUNCTION mz_local.list_index(bigint) RETURNS integer
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT CASE WHEN $1 BETWEEN 1 AND 2147483647 THEN $1::integer END';
-- A subscript as Materialize reads it: an integer as it is, a numeric or float rounded (`l[1.5]` is
-- l[2]), text parsed, a date or timestamp refused in Materialize's words (list.slt). The translator
-- passes every list subscript and slice bound through it; the bigint overload is inlined away.
CREATE OR REPLACE FUNCTION mz_local.list_bound(bigint) RETURNS bigint
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT $1';
CREATE OR REPLACE FUNCTION mz_local.list_bound(numeric) RETURNS bigint
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT greatest(least(round($1), 9223372036854775807), -9223372036854775808)::bigint';
CREATE OR REPLACE FUNCTION mz_local.list_bound(double precision) RETURNS bigint
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT greatest(least(round($1::numeric), 9223372036854775807), -9223372036854775808)::bigint';
CREATE OR REPLACE FUNCTION mz_local.list_bound(text) RETURNS bigint
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
BEGIN
  RETURN $1::bigint;
EXCEPTION WHEN invalid_text_representation THEN
  RAISE EXCEPTION 'invalid input syntax for type bigint: invalid digit found in string: "%"', $1 USING ERRCODE = '22P02';
END
$fn$;
CREATE OR REPLACE FUNCTION mz_local.list_bound(date) RETURNS bigint
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
BEGIN RAISE EXCEPTION 'subscripting does not support casting from date to bigint' USING ERRCODE = '42846'; END
$fn$;
CREATE OR REPLACE FUNCTION mz_local.list_bound(timestamp) RETURNS bigint
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
BEGIN RAISE EXCEPTION 'subscripting does not support casting from timestamp to bigint' USING ERRCODE = '42846'; END
$fn$;
CREATE OR REPLACE FUNCTION mz_local.list_bound(timestamptz) RETURNS bigint
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
BEGIN RAISE EXCEPTION 'subscripting does not support casting from timestamp with time zone to bigint' USING ERRCODE = '42846'; END
$fn$;
-- An index into a one-layer list (or an array, whose indexes may be several at once). An array
-- whose first index is not 1 is no list (int2vector and oidvector in pg_catalog start at 0, as
-- psql's and drivers' catalog queries expect): it is indexed as PostgreSQL indexes it.
CREATE OR REPLACE FUNCTION mz_local.list_get(anyarray, bigint) RETURNS anyelement
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
  'SELECT $1[CASE WHEN array_lower($1, 1) <> 1 THEN $2::integer ELSE mz_local.list_index($2) END]';
CREATE OR REPLACE FUNCTION mz_local.list_get(anyarray, bigint, bigint) RETURNS anyelement
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT $1[mz_local.list_index($2)][mz_local.list_index($3)]';
CREATE OR REPLACE FUNCTION mz_local.list_get(anyarray, bigint, bigint, bigint) RETURNS anyelement
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT $1[mz_local.list_index($2)][mz_local.list_index($3)][mz_local.list_index($4)]';
-- A scalar element of a constructor passes as it is (an inner list is wrapped, by the overloads below).
CREATE OR REPLACE FUNCTION mz_local.list_wrap(anynonarray) RETURNS anynonarray
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT $1';
-- A slice with bigint bounds (an open bound is written 1 or the largest bigint; a NULL bound makes
-- the slice NULL), the empty list when nothing is in range (list.slt).
-- Not STRICT, and no CASE branch that calls anything: PostgreSQL inlines it (a STRICT CASE is a
-- function call per row, twenty times the cost of the slice).
CREATE OR REPLACE FUNCTION mz_local.list_slice(anyarray, bigint, bigint) RETURNS anyarray
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT CASE
    WHEN $2 IS NULL OR $3 IS NULL THEN NULL
    WHEN greatest($2, 1) > least($3, coalesce(array_length($1, 1), 0)) THEN $1[1:0]
    ELSE $1[greatest($2, 1)::integer : least($3, 2147483647)::integer] END
$fn$;
-- A slice over several layers, `l[1:2, 2:3]`: the outer layer sliced by the first bounds, each inner
-- list by the next ones (overloads per wrapper below); bounds as list_slice's, two per layer.
CREATE OR REPLACE FUNCTION mz_local.list_slice_layers(anyarray, bigint[]) RETURNS anyarray
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
BEGIN
  IF cardinality($2) > 2 THEN
    RAISE EXCEPTION 'cannot slice into % layers; list only has 1 layer', cardinality($2) / 2 USING ERRCODE = '42804';
  END IF;
  RETURN mz_local.list_slice($1, $2[1], $2[2]);
END
$fn$;
-- One-layer list text as Materialize writes it: an element is quoted when empty, when it holds a
-- brace, quote, comma, backslash or white space, or when it is the word NULL (a NULL is bare NULL,
-- so `null` needs no quotes, unlike in PostgreSQL's array text).
CREATE OR REPLACE FUNCTION mz_local.list_text(anyarray) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
  SELECT '{' || coalesce(string_agg(CASE
      WHEN e IS NULL THEN 'NULL'
      WHEN e::text = '' OR e::text = 'NULL' OR e::text ~ '[{}",\\\s]' THEN '"' || regexp_replace(e::text, '(["\\])', '\\\1', 'g') || '"'
      ELSE e::text END, ',' ORDER BY n), '') || '}'
  FROM unnest($1) WITH ORDINALITY AS u(e, n)
$fn$;
DO $layers$
DECLARE
  element text;
  depth integer;
  wrapper text;
  inner_list text;
  arity integer;
  args text;
  body text;
BEGIN
  FOREACH element IN ARRAY ARRAY['int2', 'int4', 'int8', 'float4', 'float8', 'numeric', 'text', 'bool', 'date', 'time',
      'timestamp', 'timestamptz', 'interval', 'jsonb', 'uuid', 'bytea', 'uint2', 'uint4', 'uint8', 'mz_timestamp'] LOOP
    IF to_regtype(element) IS NULL THEN CONTINUE; END IF;
    FOR depth IN 1..3 LOOP
      wrapper := format('mz_local.%I', element || '_l' || depth);
      inner_list := CASE WHEN depth = 1 THEN format_type(to_regtype(element), NULL) || '[]' ELSE format('mz_local.%I[]', element || '_l' || (depth - 1)) END;
      IF to_regtype(wrapper) IS NULL THEN
        EXECUTE format('CREATE TYPE %s AS (l %s)', wrapper, inner_list);
      END IF;
      -- STRICT: a NULL inner list is a NULL element, not a row holding NULL.
      EXECUTE format('CREATE OR REPLACE FUNCTION mz_local.list_wrap(%s) RETURNS %s LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS %L',
        inner_list, wrapper, format('SELECT ROW($1)::%s', wrapper));
      -- list_get(l, i): the inner list; list_get(l, i, j, …): the inner list's own list_get.
      FOR arity IN 1..(depth + 1) LOOP
        args := (SELECT string_agg(', bigint', '') FROM generate_series(1, arity));
        body := CASE WHEN arity = 1 THEN 'SELECT ($1[mz_local.list_index($2)]).l'
          ELSE 'SELECT mz_local.list_get(($1[mz_local.list_index($2)]).l' || (SELECT string_agg(', $' || k, '') FROM generate_series(3, arity + 1) AS k) || ')' END;
        EXECUTE format('CREATE OR REPLACE FUNCTION mz_local.list_get(%s[]%s) RETURNS %s LANGUAGE sql IMMUTABLE PARALLEL SAFE AS %L',
          wrapper, args,
          CASE WHEN arity = 1 THEN inner_list
            WHEN depth - arity + 1 = 0 THEN format_type(to_regtype(element), NULL)
            WHEN depth - arity + 1 = 1 THEN format_type(to_regtype(element), NULL) || '[]'
            ELSE format('mz_local.%I[]', element || '_l' || (depth - arity)) END,
          body);
      END LOOP;
      EXECUTE format('CREATE OR REPLACE FUNCTION mz_local.list_slice_layers(%s[], bigint[]) RETURNS %s[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS %L',
        wrapper, wrapper, 'SELECT CASE WHEN cardinality($2) <= 2 THEN mz_local.list_slice($1, $2[1], $2[2]) ELSE ARRAY(SELECT mz_local.list_wrap(mz_local.list_slice_layers((s[i]).l, $2[3:])) FROM mz_local.list_slice($1, $2[1], $2[2]) AS s, generate_subscripts(s, 1) AS i ORDER BY i) END');
      -- The text form, `{{1},{2,3}}`, and the cast to text that gives it.
      EXECUTE format($f$CREATE OR REPLACE FUNCTION mz_local.list_text(%s[]) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS %L$f$,
        wrapper, 'SELECT ''{'' || coalesce(string_agg(coalesce(mz_local.list_text(($1[i]).l), ''NULL''), '','' ORDER BY i), '''') || ''}'' FROM generate_subscripts($1, 1) AS i');
      IF NOT EXISTS (SELECT FROM pg_cast WHERE castsource = to_regtype(wrapper || '[]') AND casttarget = 'text'::regtype) THEN
        EXECUTE format('CREATE CAST (%s[] AS text) WITH FUNCTION mz_local.list_text(%s[])', wrapper, wrapper);
      END IF;
      -- Appending an inner list wraps it.
      EXECUTE format('CREATE OR REPLACE FUNCTION pg_catalog.list_append(%s[], %s) RETURNS %s[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS %L',
        wrapper, inner_list, wrapper, 'SELECT array_append($1, mz_local.list_wrap($2))');
      EXECUTE format('CREATE OR REPLACE FUNCTION pg_catalog.list_prepend(%s, %s[]) RETURNS %s[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS %L',
        inner_list, wrapper, wrapper, 'SELECT array_prepend(mz_local.list_wrap($1), $2)');
      -- to_jsonb: nested arrays, `[[1],[2,3]]`, as Materialize writes a list of lists (jsonb.slt).
      EXECUTE format('CREATE OR REPLACE FUNCTION pg_catalog.to_jsonb(%s[]) RETURNS jsonb LANGUAGE sql STABLE STRICT PARALLEL SAFE AS %L',
        wrapper, 'SELECT coalesce(jsonb_agg(to_jsonb(($1[i]).l) ORDER BY i), ''[]'') FROM generate_subscripts($1, 1) AS i');
      -- unnest of a list of lists yields the inner lists (not rows of one field). Neither this nor
      -- list_text may call unnest on the wrapper array: it would be this overload again.
      EXECUTE format('CREATE OR REPLACE FUNCTION pg_catalog.unnest(%s[]) RETURNS SETOF %s LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE ROWS 100 AS %L',
        wrapper, inner_list, 'SELECT ($1[i]).l FROM generate_subscripts($1, 1) AS i ORDER BY i');
      -- list_agg over lists builds a list of lists.
      EXECUTE format('CREATE OR REPLACE FUNCTION mz_local.list_agg_step(%s[], %s) RETURNS %s[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS %L',
        wrapper, inner_list, wrapper, 'SELECT array_append(coalesce($1, ''{}''), mz_local.list_wrap($2))');
      EXECUTE format('CREATE OR REPLACE AGGREGATE pg_catalog.list_agg(%s) (SFUNC = mz_local.list_agg_step, STYPE = %s[])', inner_list, wrapper);
    END LOOP;
  END LOOP;
END
$layers$;

--------------------------------------------------------------------------------------------------
-- map
--------------------------------------------------------------------------------------------------
-- A map from parallel arrays of keys and values (as text), the last value of a repeated key
-- winning (hstore's own constructor keeps the first). NULL keys are refused as Materialize does.
CREATE OR REPLACE FUNCTION mz_local.map_of(keys text[], vals text[]) RETURNS hstore
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
DECLARE
  result hstore := ''::hstore;
BEGIN
  IF keys IS NULL THEN
    RETURN result;
  END IF;
  IF array_position(keys, NULL) IS NOT NULL THEN
    RAISE EXCEPTION 'cannot build map from NULL key' USING ERRCODE = '22004';
  END IF;
  IF cardinality(keys) = cardinality(ARRAY(SELECT DISTINCT k FROM unnest(keys) AS k)) THEN
    RETURN hstore(keys, vals);
  END IF;
  FOR i IN 1 .. cardinality(keys) LOOP
    result := result || hstore(keys[i], vals[i]);
  END LOOP;
  RETURN result;
END
$fn$;

-- Materialize's map text: {k=>v, …}. An element is quoted ("…", backslash escapes) or bare (a
-- backslash takes the next character as it is; unescaped spaces around it are dropped, so a bare
-- value may hold inner spaces: {at=>2001-01-01 12:34:56}); a bare NULL value is NULL; the last
-- value of a repeated key wins. A nested map ({k=>{…}}) is kept as its text.
CREATE OR REPLACE FUNCTION mz_local.map_in(input text) RETURNS hstore
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
  n integer := length(input);
  pos integer := 1;
  result hstore := ''::hstore;
  ch text;
  elem text;
  keep integer;
  quoted boolean;
  escaped boolean;
  depth integer;
  k text;
  v text;
  is_value boolean;
BEGIN
  WHILE pos <= n AND substr(input, pos, 1) ~ '\s' LOOP pos := pos + 1; END LOOP;
  IF pos > n OR substr(input, pos, 1) <> '{' THEN
    RAISE EXCEPTION 'invalid input syntax for type map: expected ''{'', found %: "%"',
      CASE WHEN btrim(input) = '' THEN 'empty string' ELSE left(btrim(input), 1) END, input USING ERRCODE = '22P02';
  END IF;
  pos := pos + 1;
  WHILE pos <= n AND substr(input, pos, 1) ~ '\s' LOOP pos := pos + 1; END LOOP;
  IF substr(input, pos, 1) = '}' THEN
    pos := pos + 1;
  ELSE
    LOOP
      -- One key (is_value false), then one value.
      FOR step IN 0..1 LOOP
        is_value := step = 1;
        WHILE pos <= n AND substr(input, pos, 1) ~ '\s' LOOP pos := pos + 1; END LOOP;
        elem := '';
        keep := 0;
        quoted := false;
        escaped := false;
        IF is_value AND substr(input, pos, 1) = '{' THEN
          -- A nested map: its text up to the matching brace.
          depth := 0;
          LOOP
            IF pos > n THEN
              RAISE EXCEPTION 'invalid input syntax for type map: unterminated embedded element: "%"', input USING ERRCODE = '22P02';
            END IF;
            ch := substr(input, pos, 1);
            elem := elem || ch;
            pos := pos + 1;
            IF ch = '\' AND pos <= n THEN elem := elem || substr(input, pos, 1); pos := pos + 1;
            ELSIF ch = '{' THEN depth := depth + 1;
            ELSIF ch = '}' THEN depth := depth - 1; EXIT WHEN depth = 0;
            END IF;
          END LOOP;
          keep := length(elem);
          quoted := true;
        ELSIF substr(input, pos, 1) = '"' THEN
          quoted := true;
          pos := pos + 1;
          LOOP
            IF pos > n THEN
              RAISE EXCEPTION 'invalid input syntax for type map: unterminated quoted string: "%"', input USING ERRCODE = '22P02';
            END IF;
            ch := substr(input, pos, 1);
            pos := pos + 1;
            EXIT WHEN ch = '"';
            IF ch = '\' THEN ch := substr(input, pos, 1); pos := pos + 1; END IF;
            elem := elem || ch;
          END LOOP;
          keep := length(elem);
        ELSE
          LOOP
            EXIT WHEN pos > n;
            ch := substr(input, pos, 1);
            EXIT WHEN NOT is_value AND ch = '=' AND substr(input, pos + 1, 1) = '>';
            EXIT WHEN is_value AND (ch = ',' OR ch = '}');
            pos := pos + 1;
            IF ch = '\' THEN
              ch := substr(input, pos, 1);
              pos := pos + 1;
              escaped := true;
              elem := elem || ch;
              keep := length(elem);
            ELSE
              elem := elem || ch;
              IF ch !~ '\s' THEN keep := length(elem); END IF;
            END IF;
          END LOOP;
        END IF;
        elem := left(elem, keep);
        WHILE pos <= n AND substr(input, pos, 1) ~ '\s' LOOP pos := pos + 1; END LOOP;
        IF NOT is_value THEN
          IF substr(input, pos, 2) <> '=>' THEN
            RAISE EXCEPTION 'invalid input syntax for type map: expected =>: "%"', input USING ERRCODE = '22P02';
          END IF;
          pos := pos + 2;
          k := elem;
        ELSE
          v := CASE WHEN NOT quoted AND NOT escaped AND upper(elem) = 'NULL' THEN NULL ELSE elem END;
          result := result || hstore(k, v);
        END IF;
      END LOOP;
      ch := substr(input, pos, 1);
      pos := pos + 1;
      EXIT WHEN ch = '}';
      IF ch <> ',' THEN
        RAISE EXCEPTION 'invalid input syntax for type map: unexpected end of input: "%"', input USING ERRCODE = '22P02';
      END IF;
    END LOOP;
  END IF;
  WHILE pos <= n AND substr(input, pos, 1) ~ '\s' LOOP pos := pos + 1; END LOOP;
  IF pos <= n THEN
    RAISE EXCEPTION 'invalid input syntax for type map: unexpected end of input: "%"', input USING ERRCODE = '22P02';
  END IF;
  RETURN result;
END
$fn$;

-- map_in for a map[text=>T] literal with T other than text: each value is read as a T (a plpgsql
-- assignment is T's input function: "invalid input syntax for type boolean" as in Materialize) and
-- kept as T prints it ({a=>t} for true). The literal is a constant: evaluated once per statement.
CREATE OR REPLACE FUNCTION mz_local.map_in_as(input text, sample anyelement) RETURNS hstore
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
DECLARE
  parsed hstore := mz_local.map_in(input);
  typed sample%TYPE;
  entry record;
  keys text[] := '{}';
  vals text[] := '{}';
BEGIN
  IF parsed IS NULL THEN
    RETURN NULL;
  END IF;
  FOR entry IN SELECT key, value FROM each(parsed) LOOP
    IF left(entry.value, 1) = '{' THEN
      RAISE EXCEPTION 'invalid input syntax for type map: unescaped ''{'' at beginning of value; perhaps you want a nested map: "%"',
        input USING ERRCODE = '22P02';
    END IF;
    typed := entry.value;
    keys := array_append(keys, entry.key);
    -- T's output function (t, not the cast's true); a NULL value stays NULL.
    vals := array_append(vals, CASE WHEN entry.value IS NULL THEN NULL ELSE format('%s', typed) END);
  END LOOP;
  RETURN hstore(keys, vals);
END
$fn$;

-- map_in for map[text=>map[…]]: each value must itself be map text (Materialize's error names the
-- inner text, then the whole); it is kept as its text.
CREATE OR REPLACE FUNCTION mz_local.map_in_nested(input text) RETURNS hstore
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
DECLARE
  parsed hstore := mz_local.map_in(input);
  entry record;
BEGIN
  FOR entry IN SELECT value FROM each(parsed) WHERE value IS NOT NULL LOOP
    BEGIN
      PERFORM mz_local.map_in(entry.value);
    EXCEPTION WHEN invalid_text_representation THEN
      RAISE EXCEPTION '%: "%"', SQLERRM, input USING ERRCODE = '22P02';
    END;
  END LOOP;
  RETURN parsed;
END
$fn$;

-- map_agg(key, value [ORDER BY …]): the last value of a key wins; NULL keys are skipped.
CREATE OR REPLACE FUNCTION mz_local.map_agg_step(state hstore, key text, value anyelement) RETURNS hstore
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT CASE WHEN key IS NULL THEN coalesce(state, ''::hstore) ELSE coalesce(state, ''::hstore) || hstore(key, value::text) END
$fn$;
CREATE OR REPLACE AGGREGATE pg_catalog.map_agg(text, anyelement) (SFUNC = mz_local.map_agg_step, STYPE = hstore);

-- map_build(LIST[ROW(key, value), …]): the last value of a repeated key wins.
CREATE OR REPLACE FUNCTION pg_catalog.map_build(entries anyarray) RETURNS hstore
  LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $fn$
  SELECT mz_local.map_of(array_agg(kv.k ORDER BY kv.n), array_agg(kv.v ORDER BY kv.n))
    FROM (SELECT i AS n, (SELECT f.value FROM json_each_text(row_to_json(entries[i])) WITH ORDINALITY AS f(key, value, p) WHERE f.p = 1) AS k,
                         (SELECT f.value FROM json_each_text(row_to_json(entries[i])) WITH ORDINALITY AS f(key, value, p) WHERE f.p = 2) AS v
            FROM generate_subscripts(entries, 1) AS i) AS kv
   WHERE kv.k IS NOT NULL
$fn$;

CREATE OR REPLACE FUNCTION pg_catalog.map_length(hstore) RETURNS integer
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT coalesce(array_length(akeys($1), 1), 0)';

-- CREATE TYPE … AS MAP|LIST: an option naming a relation (PostgreSQL would take its row type) is
-- refused as Materialize refuses it (map.slt: "value_type must be of class type, but received
-- pg_catalog.pg_enum which is of class view"), and so is a name that is no type ("unknown catalog
-- item 'x'"). Materialize's own spellings of built-in types (string, double, json, uint) are types.
CREATE OR REPLACE FUNCTION mz_local.check_type_option(option text, type_name text) RETURNS void
  LANGUAGE plpgsql AS $fn$
DECLARE
  relation record;
  type_oid oid := pg_catalog.to_regtype(CASE lower(btrim(type_name))
    WHEN 'string' THEN 'text' WHEN 'double' THEN 'float8' WHEN 'json' THEN 'jsonb' WHEN 'uint' THEN 'uint4' ELSE type_name END);
BEGIN
  IF type_oid IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('unknown catalog item ''%s''', btrim(type_name));
  END IF;
  SELECT n.nspname, c.relname, c.relkind INTO relation
    FROM pg_catalog.pg_type t
    JOIN pg_catalog.pg_class c ON c.oid = t.typrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE t.oid = type_oid AND c.relkind IN ('r', 'v', 'm', 'p', 'f');
  IF NOT FOUND THEN
    RETURN;
  END IF;
  RAISE EXCEPTION USING ERRCODE = '42809', MESSAGE = format('%s must be of class type, but received %s which is of class %s',
    option,
    CASE WHEN relation.nspname IN ('pg_catalog', 'mz_catalog', 'mz_internal', 'information_schema')
      THEN relation.nspname || '.' || relation.relname
      ELSE current_database() || '.' || relation.nspname || '.' || relation.relname END,
    CASE WHEN relation.nspname IN ('pg_catalog', 'mz_catalog', 'mz_internal', 'information_schema') THEN 'view'
      WHEN relation.relkind = 'v' THEN 'view'
      WHEN relation.relkind = 'm' THEN 'materialized-view'
      ELSE 'table' END);
END
$fn$;

-- `m ?& keys`: Materialize answers false when a key is NULL (no key is NULL: map.slt,
-- `?& ARRAY[NULL]` is false), where hstore's own ?& skips NULL keys and answers true. An operator
-- of the same name and types in pg_catalog comes first in every search path, so it is the one used.
CREATE OR REPLACE FUNCTION mz_local.map_has_all_keys(mz_catalog.hstore, text[]) RETURNS boolean
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT mz_catalog.exists_all($1, $2) AND array_position($2, NULL) IS NULL';
DO $fn$
BEGIN
  IF to_regoperator('pg_catalog.?&(mz_catalog.hstore, text[])') IS NULL THEN
    CREATE OPERATOR pg_catalog.?& (LEFTARG = mz_catalog.hstore, RIGHTARG = text[], FUNCTION = mz_local.map_has_all_keys);
  END IF;
END
$fn$;
