/**
 * Where both Materialize and PostgreSQL refuse a statement, the local server answers with
 * Materialize's words (issue 32, item 12; scripts/local/sql/error-text.ts and the catalog's drop
 * functions). Own cases and data; each text checked against Materialize's tests and sources:
 *
 * - `more than one record produced in subquery`: test/sqllogictest/subquery.slt;
 * - `cannot drop table "t": still depended upon by materialized view "mv"`: the catalog's
 *   DependentObjectsStillExist error (src/catalog, as the hold-out records it);
 * - `catalog item 'x' already exists`, `schema 'x' already exists`: src/sql/src/catalog.rs
 *   (CatalogError::ItemAlreadyExists / SchemaAlreadyExists);
 * - integer parse errors `invalid digit found in string` / `cannot parse integer from empty
 *   string`: src/repr/src/strconv.rs (Rust's ParseIntError text) as list.slt shows them;
 * - `unit 'month' not supported for type time`: test/sqllogictest/dates-times.slt;
 * - `null value in column "x" violates not-null constraint`: test/sqllogictest/table.slt;
 * - `table functions are not allowed in aggregate function calls`: the output-consistency list;
 * - `CAST does not support casting from jsonb to timestamp`, `key cannot be null`
 *   (jsonb_build_object): test/sqllogictest/jsonb.slt;
 * - `aggregate window functions not yet supported` for array_agg(…) OVER: window_funcs.slt.
 */
import { describe, expect, it } from 'vitest';
import { errorMessageOf, serverForTests } from '../helpers/local-server.ts';

const t = serverForTests();
const errorOf = (sql: string) => errorMessageOf(t, sql);

describe('errors in Materialize words', () => {
  it('a scalar subquery with more than one row', async () => {
    expect(await errorOf(`SELECT (SELECT v FROM (VALUES (1), (2)) AS s(v))`)).toBe('more than one record produced in subquery');
  });

  it('dropping what a view depends on names the dependent and its kind', async () => {
    await t.query(`CREATE TABLE orders_src (id int, amount int)`);
    await t.query(`CREATE MATERIALIZED VIEW order_totals AS SELECT sum(amount) AS total FROM orders_src`);
    expect(await errorOf(`DROP TABLE orders_src`)).toBe('cannot drop table "orders_src": still depended upon by materialized view "order_totals"');
    await t.query(`CREATE VIEW big_orders AS SELECT * FROM order_totals WHERE total > 100`);
    expect(await errorOf(`DROP MATERIALIZED VIEW order_totals`)).toBe('cannot drop materialized view "order_totals": still depended upon by view "big_orders"');
    await t.query(`DROP TABLE orders_src CASCADE`);
    expect(await t.query(`SELECT name FROM mz_objects WHERE name IN ('orders_src', 'order_totals', 'big_orders')`)).toEqual([]);
  });

  it('DROP TABLE still drops a table, IF EXISTS still skips', async () => {
    await t.query(`CREATE TABLE scratch_rows (a int)`);
    await t.query(`DROP TABLE scratch_rows`);
    await t.query(`DROP TABLE IF EXISTS scratch_rows`);
    expect(await errorOf(`DROP TABLE scratch_rows`)).toBe("unknown catalog item 'scratch_rows'");
  });

  it('a name already taken', async () => {
    await t.query(`CREATE TABLE taken (a int)`);
    expect(await errorOf(`CREATE TABLE taken (b int)`)).toBe("catalog item 'taken' already exists");
    await t.query(`CREATE SCHEMA staging_area`);
    expect(await errorOf(`CREATE SCHEMA staging_area`)).toBe("schema 'staging_area' already exists");
  });

  it('integers read from text', async () => {
    expect(await errorOf(`SELECT 'seven'::int`)).toBe('invalid input syntax for type integer: invalid digit found in string: "seven"');
    expect(await errorOf(`SELECT ''::bigint`)).toBe('invalid input syntax for type bigint: cannot parse integer from empty string: ""');
    expect(await errorOf(`SELECT '99999999999'::int`)).toBe('invalid input syntax for type integer: number too large to fit in target type: "99999999999"');
  });

  it('date/time units', async () => {
    expect(await errorOf(`SELECT extract(month FROM TIME '10:30')`)).toBe("unit 'month' not supported for type time");
    expect(await errorOf(`SELECT extract(fortnight FROM TIMESTAMP '2024-01-01')`)).toBe("unit 'fortnight' not recognized");
  });

  it('a NULL in a NOT NULL column', async () => {
    await t.query(`CREATE TABLE required_cols (a int NOT NULL)`);
    expect(await errorOf(`INSERT INTO required_cols VALUES (NULL)`)).toBe('null value in column "a" violates not-null constraint');
  });

  it('a table function inside an aggregate', async () => {
    expect(await errorOf(`SELECT max(generate_series(1, 3))`)).toBe('table functions are not allowed in aggregate function calls');
  });

  it('a cast that does not exist, a NULL object key, array_agg as a window function', async () => {
    expect(await errorOf(`SELECT ('"2001-02-03 04:05:06"'::jsonb)::timestamp`)).toBe('CAST does not support casting from jsonb to timestamp');
    expect(await errorOf(`SELECT ('["2001-02-03"]'::jsonb)::date`)).toBe('CAST does not support casting from jsonb to date');
    expect(await errorOf(`SELECT jsonb_build_object(NULL, 'v')`)).toBe('key cannot be null');
    expect(await errorOf(`SELECT array_agg(k) OVER (ORDER BY k) FROM (VALUES (1), (2)) AS s(k)`)).toBe('aggregate window functions not yet supported');
  });
});

describe('string and JSON errors in Materialize words (string.slt, jsonb.slt)', () => {
  it('character type lengths, split_part position 0, an unknown encoding, position() arguments as written', async () => {
    expect(await errorOf(`SELECT 'x'::varchar(0)`)).toBe('length for type character varying must be between 1 and 10485760');
    expect(await errorOf(`SELECT 'x'::char(10485761)`)).toBe('length for type character must be between 1 and 10485760');
    expect(await errorOf(`SELECT split_part('a,b', ',', 0)`)).toBe('field position must be greater than zero');
    expect(await errorOf(`SELECT length('abc', 'klingon-8')`)).toBe("invalid encoding name 'klingon-8'");
    expect(await errorOf(`SELECT position(7 IN 'seven')`)).toBe('function position(integer, unknown) does not exist');
  });

  it('a jsonb literal that is not one JSON value, in serde_json words', async () => {
    expect(await errorOf(`SELECT '{"plan": '::jsonb`)).toBe('invalid input syntax for type jsonb: EOF while parsing a value at line 1 column 9: "{\\"plan\\": "');
    expect(await errorOf(`SELECT '[1, 2,]'::jsonb`)).toBe('invalid input syntax for type jsonb: trailing comma at line 1 column 7: "[1, 2,]"');
    expect(await errorOf(`SELECT '1 2'::jsonb`)).toBe('invalid input syntax for type jsonb: trailing characters at line 1 column 3: "1 2"');
  });
});

describe('window functions where none may be (window_funcs.slt)', () => {
  it('in a join condition: "window functions are not allowed in ON"', async () => {
    expect(await errorOf(`SELECT * FROM (VALUES (1)) AS a(x) JOIN (VALUES (2)) AS b(y) ON rank() OVER (ORDER BY x) > 1`)).toBe('window functions are not allowed in ON');
  });
});

describe('aggregates and patterns in Materialize words (aggregates.slt, joins.slt, regex.slt)', () => {
  it('an aggregate in WHERE, an ambiguous output name, a pattern that does not compile', async () => {
    expect(await errorOf(`SELECT k FROM (VALUES (1, 2)) AS s(k, v) WHERE sum(v) > 1 GROUP BY k`)).toBe('aggregate functions are not allowed in WHERE clause');
    expect(await errorOf(`SELECT k AS n, v AS n FROM (VALUES (1, 2)) AS s(k, v) ORDER BY n`)).toBe('column reference "n" is ambiguous');
    expect(await errorOf(`SELECT 'plan' ~ '('`)).toMatch(/^invalid regular expression: regex parse error:\n/);
  });
});

describe('query hints (aggregates.slt)', () => {
  it('OPTION (expected_group_size = n) runs; a value that is no number is refused', async () => {
    expect(await t.query(`SELECT k, sum(v)::int AS total FROM (VALUES (1, 2), (1, 3)) AS s(k, v) GROUP BY k OPTION (expected_group_size = 10)`)).toEqual([
      { k: 1, total: 5 },
    ]);
    expect(await errorOf(`SELECT k FROM (VALUES (1)) AS s(k) GROUP BY k OPTION (expected_group_size = 'many')`)).toBe('expected_group_size must be a number');
  });
});

describe("type names as Materialize resolves them (types.slt)", () => {
  it('its aliases are not types of pg_catalog; record is a pseudo type; char takes no modifier', async () => {
    expect(await errorOf(`SELECT 'true'::pg_catalog.boolean`)).toBe("unknown catalog item 'pg_catalog.boolean'");
    expect(await errorOf(`SELECT '7'::pg_catalog.integer`)).toBe("unknown catalog item 'pg_catalog.integer'");
    expect(await errorOf(`SELECT '{}'::pg_catalog.json`)).toBe("unknown catalog item 'pg_catalog.json'");
    expect(await errorOf(`SELECT ROW(1, 'a')::record`)).toBe('cannot reference pseudo type pg_catalog.record');
    expect(await errorOf(`SELECT 'abc'::pg_catalog.char(3)`)).toBe('pg_catalog.char does not support type modifiers');
    expect(await t.query(`SELECT 'hi'::bytes AS b, '7'::pg_catalog.int4 AS i, pg_typeof('{}'::json)::text AS j`)).toEqual([{ b: Buffer.from('hi'), i: 7, j: 'jsonb' }]);
  });
});
