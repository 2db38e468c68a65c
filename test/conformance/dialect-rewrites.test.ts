/**
 * The text the translator hands PGlite for Materialize's list, map, window and refusal syntax
 * (scripts/local/sql/dialect.ts, collections.ts, window-nulls.ts, refusals.ts), and — as much
 * as what it rewrites — what it must leave alone: SQL that is not Materialize-only passes
 * through byte for byte. No server: fast, and a failure names the statement.
 *
 * Expectations follow doc/user/content/sql/types/list.md and map.md (constructors, `int list`,
 * `map[text=>int]`, successive slices), doc/user/content/sql/functions/_index.md (IGNORE NULLS)
 * and test/sqllogictest/window_funcs.slt (frames).
 */
import { describe, expect, it } from 'vitest';
import { translateQuery } from '../../scripts/local/sql/translate.ts';

const sqlOf = (sql: string) => translateQuery(sql).sql;

describe('left alone', () => {
  it.each([
    `SELECT list, map FROM collections WHERE list > 1`,
    `CREATE TABLE named_like_types (list int, map text)`,
    `SELECT '{1,2}'::int[]`,
    `SELECT range FROM r WHERE range BETWEEN 1 AND 2`,
    `SELECT sum(x) OVER (ORDER BY x ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) FROM t`,
    `SELECT sum(x) OVER (ORDER BY x RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM t`,
    `SELECT lag(x) OVER (ORDER BY t) FROM t`,
    `SELECT generate_series(1, (SELECT max(n) FROM t))`,
    `SELECT coalesce(a, (SELECT b FROM t LIMIT 1)) FROM u`,
    `SELECT regexp_replace(s, 'a', 'b', 'g') FROM t`,
    `SELECT '2024-01-01T10:00:00'::date, timestamp(3) '2024-01-01'`,
  ])('%s', (sql) => {
    expect(sqlOf(sql)).toBe(sql);
  });
});

describe('lists', () => {
  it('layered type names keep their element type (the shapes lists are written as: list-translation.test.ts)', () => {
    expect(sqlOf(`CREATE TABLE l (a numeric(10,2) list, b double list)`)).toBe(`CREATE TABLE l (a numeric(10,2) [], b double precision [])`);
  });

  it('CREATE TYPE … AS LIST', () => {
    expect(translateQuery(`CREATE TYPE ints AS LIST (ELEMENT TYPE = int4)`).statements[0]!.tag).toBe('CREATE TYPE');
    // The domain stands on the element's array type, or on a list element's own array (cast.slt).
    expect(sqlOf(`CREATE TYPE ints AS LIST (ELEMENT TYPE = int4)`)).toContain(`EXECUTE 'CREATE DOMAIN ints AS ' || mz_local.list_domain_base('int4')`);
  });
});

describe('maps', () => {
  it('type names, literals and constructors', () => {
    expect(sqlOf(`CREATE TABLE m (a map[text=>int])`)).toBe(`CREATE TABLE m (a hstore)`);
    // A value type other than text: each value read as it (map.slt, a bool map refusing 2.0).
    expect(sqlOf(`SELECT '{a=>1}'::map[text=>int]`)).toBe(`SELECT mz_local.map_in_as('{a=>1}', NULL::int)::hstore`);
    expect(sqlOf(`SELECT '{a=>1}'::map[text=>double]`)).toBe(`SELECT mz_local.map_in_as('{a=>1}', NULL::double precision)::hstore`);
    expect(sqlOf(`SELECT '{a=>x}'::map[text=>text]`)).toBe(`SELECT mz_local.map_in('{a=>x}')::hstore`);
    expect(sqlOf(`SELECT MAP['a' => 1, 'b'=>-2]`)).toBe(`SELECT mz_local.map_of(ARRAY['a', 'b']::text[], ARRAY[(1)::text, (-2)::text]::text[])`);
  });
});

describe('IGNORE NULLS', () => {
  it('RESPECT NULLS is dropped; IGNORE NULLS reads the non-NULL values of the frame', () => {
    expect(sqlOf(`SELECT lag(x) RESPECT NULLS OVER (ORDER BY t) FROM e`)).toBe(`SELECT lag(x)  OVER (ORDER BY t) FROM e`);
    expect(sqlOf(`SELECT first_value(x) IGNORE NULLS OVER (ORDER BY t) FROM e`)).toBe(
      `SELECT (array_agg((x)) FILTER (WHERE (x) IS NOT NULL) OVER (ORDER BY t))[1] FROM e`,
    );
  });
});

// window_funcs.slt at 000973c8 (MaterializeInc/materialize): frame offsets are unsigned 64-bit there,
// u64::MAX included; PostgreSQL's are bigint, and bigint's largest frames the same rows.
describe('window frame offsets past bigint', () => {
  it('are clamped to bigint, and only they', () => {
    expect(sqlOf(`SELECT max(v) OVER (ORDER BY k ROWS BETWEEN 18446744073709551615 PRECEDING AND 9300000000000000000 FOLLOWING) FROM kv`)).toBe(
      `SELECT max(v) OVER (ORDER BY k ROWS BETWEEN 9223372036854775807 PRECEDING AND 9223372036854775807 FOLLOWING) FROM kv`,
    );
    const untouched = `SELECT max(v) OVER (ORDER BY k ROWS BETWEEN 9223372036854775807 PRECEDING AND 3 FOLLOWING) FROM kv`;
    expect(sqlOf(untouched)).toBe(untouched);
  });
});

describe('interval literals with a range of fields (interval.slt)', () => {
  it('are parsed by PostgreSQL with the pair when its grammar has it, else the trailing field, then cut at the leading field', () => {
    expect(sqlOf(`SELECT INTERVAL '1-2 3 4:5' DAY TO HOUR, INTERVAL '1-2 3 4:5' months to minutes, INTERVAL '1:2.345' MINUTE TO SECOND(2)`)).toBe(
      `SELECT (mz_local.interval_from_leading(INTERVAL '1-2 3 4:5' DAY TO HOUR, 'day') + INTERVAL '0')::interval, (mz_local.interval_from_leading(INTERVAL '1-2 3 4:5' MINUTE, 'month') + INTERVAL '0')::interval, (mz_local.interval_from_leading(INTERVAL '1:2.345' MINUTE TO SECOND(2), 'minute') + INTERVAL '0')::interval`,
    );
  });
});

// numeric.slt at 30114f6d: Materialize's numeric holds 39 significant digits and rounds the rest.
describe('numbers of more than 39 significant digits', () => {
  it('are rounded to 39 (half away from zero), in literals and in text cast to numeric; shorter ones are left alone', () => {
    expect(sqlOf(`SELECT 1.0000000000000000000000000000000000000051, CAST('-2.22222222222222222222222222222222222222222' AS numeric), 0.5`)).toBe(
      `SELECT 1.00000000000000000000000000000000000001, CAST('-2.22222222222222222222222222222222222222' AS numeric), 0.5`,
    );
    const text = `SELECT 'a string of more than thirty-nine characters, not a number'`;
    expect(sqlOf(text)).toBe(text);
  });
});

// timezone.slt at 0243c056: a field of a function's record result, read without parentheses.
describe('a field of a call', () => {
  it('is read from the call wrapped in parentheses; a parenthesized expression and a qualified column are left alone', () => {
    expect(sqlOf(`SELECT timezone_offset('UTC', now()).abbrev, pg_catalog.timezone_offset(z, t).dst_offset FROM zones`)).toBe(
      `SELECT (timezone_offset('UTC', now())).abbrev, (pg_catalog.timezone_offset(z, t)).dst_offset FROM zones`,
    );
    for (const untouched of [
      `SELECT (timezone_offset('UTC', now())).abbrev`,
      `SELECT t.x, (t.r).f FROM t WHERE (a + b) > 1`,
      // A keyword before the parenthesis is no call: the expression's field is read as written.
      `SELECT DISTINCT (r).f FROM t ORDER BY (r).f`,
      `SELECT 1 FROM t WHERE x BETWEEN (r).lo AND (r).hi AND y LIKE (r).pattern GROUP BY (r).f HAVING (r).f IS NOT NULL`,
      `SELECT sum(x) OVER (PARTITION BY (r).f) FROM t`,
    ]) {
      expect(sqlOf(untouched)).toBe(untouched);
    }
  });
});

describe('refusals become a failing statement', () => {
  it.each([
    [`SELECT sum(x) OVER (ORDER BY x RANGE 1 PRECEDING) FROM t`, 'RANGE in non-default window frames not yet supported'],
    [`SELECT '2024-01-01'::timestamptz(8)`, 'precision for type timestamp or timestamptz must be between 0 and 6'],
    [`SELECT unnest(unnest(ARRAY[ARRAY[1]]))`, 'table functions are not allowed in other table functions'],
    [`SELECT regexp_match('a', 'a', 'x')`, 'invalid regular expression flag: x'],
  ])('%s', (sql, message) => {
    expect(sqlOf(sql)).toContain(`mz_local.fail('${message}'`);
  });
});
