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
-- The number of layers. Materialize reads it from the type; an empty array has none here, so an
-- empty list counts as one layer.
CREATE OR REPLACE FUNCTION pg_catalog.list_ndims(anyarray) RETURNS integer
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT coalesce(array_ndims($1), 1)';
-- Materialize's current name for it (list.slt at 6cc6493d).
CREATE OR REPLACE FUNCTION pg_catalog.list_n_layers(anyarray) RETURNS integer
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT coalesce(array_ndims($1), 1)';
-- The longest list in layer n (1 = the list itself).
CREATE OR REPLACE FUNCTION pg_catalog.list_length_max(list anyarray, layer bigint) RETURNS integer
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
  layers integer := coalesce(array_ndims(list), 1);
BEGIN
  IF layer < 1 OR layer > layers THEN
    RAISE EXCEPTION 'invalid layer: %; must use value within [1, %]', layer, layers USING ERRCODE = '22023';
  END IF;
  RETURN coalesce(array_length(list, layer::integer), 0);
END
$fn$;
CREATE OR REPLACE FUNCTION pg_catalog.list_append(anycompatiblearray, anycompatible) RETURNS anycompatiblearray
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT array_append($1, $2)';
CREATE OR REPLACE FUNCTION pg_catalog.list_prepend(anycompatible, anycompatiblearray) RETURNS anycompatiblearray
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT array_prepend($1, $2)';
CREATE OR REPLACE FUNCTION pg_catalog.list_cat(anycompatiblearray, anycompatiblearray) RETURNS anycompatiblearray
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT array_cat($1, $2)';
-- Every element equal to the value removed (a NULL value removes the NULL elements).
CREATE OR REPLACE FUNCTION pg_catalog.list_remove(anycompatiblearray, anycompatible) RETURNS anycompatiblearray
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT array_remove($1, $2)';

-- The type a CREATE TYPE … AS LIST (element_type = T) domain stands on: T[], or, when T is itself a
-- list type (a domain over an array), T's own array type (arrays have no fixed depth).
CREATE OR REPLACE FUNCTION mz_local.list_domain_base(element text) RETURNS text
  LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
  SELECT coalesce(
    (SELECT format_type(t.typbasetype, NULL) FROM pg_type t JOIN pg_type b ON b.oid = t.typbasetype
      WHERE t.oid = to_regtype(element) AND t.typtype = 'd' AND b.typcategory = 'A'),
    element || '[]')
$fn$;

-- A slice as a value of its own, so that a later subscript applies to it and not to another
-- dimension. A slice with no elements is the empty list (list.slt at 6cc6493d: past the end, end
-- before start, of an empty list; older Materialize answered NULL).
CREATE OR REPLACE FUNCTION mz_local.list_slice(anyarray) RETURNS anyarray
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT $1';

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
