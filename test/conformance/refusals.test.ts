/**
 * SQL that Materialize refuses and PostgreSQL runs must be refused locally too, with Materialize's
 * words (issue 32, item 10; scripts/local/sql/refusals.ts). Own cases and data; each expectation
 * was checked against Materialize's sources of truth:
 *
 * - window frames: test/sqllogictest/window_funcs.slt (ROWS frames with offsets run; RANGE only in
 *   its default form) and src/sql/src/plan/query.rs ("RANGE in non-default window frames",
 *   "GROUPS in window frames", both "not yet supported");
 * - timestamp precision: src/repr/src/adt/timestamp.rs (InvalidTimestampPrecisionError: "precision
 *   for type timestamp or timestamptz must be between 0 and 6");
 * - table functions: misc/python/materialize/output_consistency (Materialize's "table functions are
 *   not allowed in other table functions", "aggregate functions are not allowed in table function
 *   arguments", "table functions are not allowed in aggregate function calls");
 * - regular expression flags: doc/user/content/sql/functions/_index.md (regexp_match flags: i;
 *   regexp_replace: g, i) and "invalid regular expression flag: n" in the output-consistency list;
 * - lpad: src/expr/src/scalar/func.rs ("length must be nonnegative");
 * - date/time literals: doc/user/content/sql/types/date.md and time.md (no infinite dates; the
 *   formats Materialize parses).
 * Each refusal is paired with the nearby statement that must still run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/local-server.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
  await t.query(`CREATE TABLE visits (user_id text, n int)`);
  await t.query(`INSERT INTO visits VALUES ('a', 1), ('a', 2), ('a', 5), ('b', 3)`);
});
afterAll(async () => {
  await t?.close();
});

describe('window frames (window_funcs.slt)', () => {
  it('refuses RANGE with an offset bound, and GROUPS frames', async () => {
    await expect(t.query(`SELECT sum(n) OVER (PARTITION BY user_id ORDER BY n RANGE BETWEEN 2 PRECEDING AND CURRENT ROW) FROM visits`)).rejects.toThrow(
      'RANGE in non-default window frames not yet supported',
    );
    await expect(t.query(`SELECT sum(n) OVER (ORDER BY n RANGE 1 PRECEDING) FROM visits`)).rejects.toThrow('RANGE in non-default window frames not yet supported');
    await expect(t.query(`SELECT sum(n) OVER (ORDER BY n GROUPS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM visits`)).rejects.toThrow(
      'GROUPS in window frames not yet supported',
    );
  });

  // window_funcs.slt at 000973c8 (MaterializeInc/materialize): every RANGE frame but the default one
  // is refused, offsets or not; a negative offset is a syntax error in Materialize's grammar.
  it('refuses RANGE frames other than the default one, even without offsets, and negative offsets', async () => {
    for (const frame of ['RANGE BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING', 'RANGE CURRENT ROW', 'RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING']) {
      await expect(t.query(`SELECT max(n) OVER (ORDER BY n ${frame}) FROM visits`), frame).rejects.toThrow('RANGE in non-default window frames not yet supported');
    }
    await expect(t.query(`SELECT row_number() OVER (ROWS -2 PRECEDING) FROM visits`)).rejects.toThrow('Expected literal unsigned integer, found operator "-"');
    await expect(t.query(`SELECT count(*) OVER (ROWS BETWEEN -1 FOLLOWING AND 3 FOLLOWING) FROM visits`)).rejects.toThrow('Expected literal unsigned integer');
    // A column subtracted from in the ORDER BY is no frame offset.
    const ranks = await t.query<{ r: string }>(`SELECT rank() OVER (ORDER BY n - 1 ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS r FROM visits ORDER BY r`);
    expect(ranks.map((row) => Number(row.r))).toEqual([1, 2, 3, 4]);
    const defaults = await t.query<{ s: string }>(`SELECT sum(n) OVER (ORDER BY n RANGE UNBOUNDED PRECEDING) AS s FROM visits ORDER BY s`);
    expect(defaults.map((row) => Number(row.s))).toEqual([1, 3, 6, 11]);
  });

  it('runs RANGE without offsets and ROWS with offsets', async () => {
    const rows = await t.query<{ n: number; running: string; pair: string }>(`SELECT n,
        sum(n) OVER (ORDER BY n RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running,
        sum(n) OVER (ORDER BY n ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS pair
      FROM visits ORDER BY n`);
    expect(rows.map((row) => [row.n, Number(row.running), Number(row.pair)])).toEqual([
      [1, 1, 1],
      [2, 3, 3],
      [3, 6, 5],
      [5, 11, 8],
    ]);
  });

  it('a materialized view with a refused frame is not created', async () => {
    await expect(t.query(`CREATE MATERIALIZED VIEW ranged AS SELECT sum(n) OVER (ORDER BY n RANGE 3 PRECEDING) AS s FROM visits`)).rejects.toThrow(
      'RANGE in non-default window frames not yet supported',
    );
    expect(await t.query(`SELECT name FROM mz_materialized_views WHERE name = 'ranged'`)).toEqual([]);
  });

  it('a column named range is still a column', async () => {
    expect(await t.query(`SELECT range FROM (VALUES (4)) AS r(range) WHERE range BETWEEN 1 AND 5`)).toEqual([{ range: 4 }]);
  });
});

describe('timestamp precision (timestamp.rs)', () => {
  it('refuses a precision over 6, runs 0 to 6', async () => {
    await expect(t.query(`SELECT '2024-01-01 10:00:00.1234567'::timestamp(7)`)).rejects.toThrow('precision for type timestamp or timestamptz must be between 0 and 6');
    await expect(t.query(`CREATE TABLE too_precise (at timestamptz(9))`)).rejects.toThrow('precision for type timestamp or timestamptz must be between 0 and 6');
    expect(await t.query(`SELECT '2024-01-01 10:00:00.1234567'::timestamp(3)::text AS at`)).toEqual([{ at: '2024-01-01 10:00:00.123' }]);
  });
});

describe('table functions (output consistency list)', () => {
  it('refuses a table function inside another table function', async () => {
    await expect(t.query(`SELECT jsonb_array_elements(jsonb_array_elements('[[1, 2], [3]]'))`)).rejects.toThrow(
      'table functions are not allowed in other table functions',
    );
    await expect(t.query(`SELECT * FROM generate_series(1, generate_series(1, 3))`)).rejects.toThrow('table functions are not allowed in other table functions');
  });

  it('refuses an aggregate inside a table function, and a table function inside an aggregate', async () => {
    await expect(t.query(`SELECT generate_series(1, max(n)) FROM visits`)).rejects.toThrow('aggregate functions are not allowed in table function arguments');
    await expect(t.query(`SELECT sum(generate_series(1, n)) FROM visits`)).rejects.toThrow('table functions are not allowed in aggregate function calls');
  });

  it('runs a table function over a subquery, and table functions side by side', async () => {
    expect(await t.query(`SELECT count(*)::int AS c FROM generate_series(1, (SELECT max(n) FROM visits))`)).toEqual([{ c: 5 }]);
    expect(await t.query(`SELECT jsonb_array_elements('[1, 2]')::text AS a, generate_series(1, 2) AS b`)).toEqual([
      { a: '1', b: 1 },
      { a: '2', b: 2 },
    ]);
  });
});

describe('ROW values in COALESCE, GREATEST and LEAST', () => {
  it('refuses them; runs scalars', async () => {
    await expect(t.query(`SELECT coalesce(ROW(1, 'a'), ROW(2, 'b'))`)).rejects.toThrow('COALESCE does not support ROW values');
    await expect(t.query(`SELECT greatest((1, 2), (3, 4))`)).rejects.toThrow('GREATEST does not support ROW values');
    await expect(t.query(`SELECT least(ROW(1), ROW(2))`)).rejects.toThrow('LEAST does not support ROW values');
    expect(await t.query(`SELECT coalesce(NULL, (SELECT 7)) AS c, greatest((2), 3) AS g`)).toEqual([{ c: 7, g: 3 }]);
  });
});

describe('date and time literals (date.md, time.md)', () => {
  it('refuses what PostgreSQL stretches to read', async () => {
    await expect(t.query(`SELECT DATE '2007-02-01X15:04:05'`)).rejects.toThrow('invalid input syntax for type date');
    await expect(t.query(`SELECT 'infinity'::date`)).rejects.toThrow('invalid input syntax for type date');
    await expect(t.query(`SELECT CAST('-infinity' AS date)`)).rejects.toThrow('invalid input syntax for type date');
    await expect(t.query(`SELECT '9::60.1'::time`)).rejects.toThrow('invalid input syntax for type time');
  });

  it('reads ordinary dates and times, with a T or a space before a time', async () => {
    expect(await t.query(`SELECT DATE '2007-02-01'::text AS a, '2007-02-01T15:04:05'::date::text AS b, '09:01:00.1'::time::text AS c`)).toEqual([
      { a: '2007-02-01', b: '2007-02-01', c: '09:01:00.1' },
    ]);
  });
});

describe('regular expression flags', () => {
  it('refuses flags Materialize lacks', async () => {
    await expect(t.query(`SELECT regexp_match('abc', 'B', 'x')`)).rejects.toThrow('invalid regular expression flag: x');
    await expect(t.query(`SELECT regexp_replace('abc', 'b', 'z', 'gn')`)).rejects.toThrow('invalid regular expression flag: n');
  });

  it('runs i and g', async () => {
    expect(await t.query(`SELECT (regexp_match('abc', 'B', 'i'))[1] AS m, regexp_replace('abab', 'A', 'z', 'gi') AS r`)).toEqual([{ m: 'b', r: 'zbzb' }]);
  });
});

describe('lpad (func.rs)', () => {
  it('refuses a negative length; pads and truncates otherwise', async () => {
    await expect(t.query(`SELECT lpad('abc', -1, 'x')`)).rejects.toThrow('length must be nonnegative');
    await expect(t.query(`SELECT lpad('abc', -2)`)).rejects.toThrow('length must be nonnegative');
    expect(await t.query(`SELECT lpad('7', 3, '0') AS a, lpad('abcdef', 2) AS b, lpad('x', 0) AS c`)).toEqual([{ a: '007', b: 'ab', c: '' }]);
  });
});

describe('aggregates over outer columns only (plan_aggregate, database-issues 1163)', () => {
  it("refuses a subquery's aggregate whose arguments name only the outer query's columns", async () => {
    await expect(t.query(`SELECT user_id, (SELECT sum(v.n) FROM (VALUES (1)) AS one(k)) FROM visits AS v`)).rejects.toThrow(
      'aggregate functions that refer exclusively to outer columns not yet supported',
    );
    await expect(t.query(`SELECT (SELECT max(v.user_id::text) FROM (VALUES (1)) AS one(k)) FROM visits AS v`)).rejects.toThrow(
      'aggregate functions that refer exclusively to outer columns not yet supported',
    );
  });

  it('runs aggregates over the subquery\'s own columns, mixed ones, count(*) and a derived table', async () => {
    expect(
      await t.query(`SELECT v.n, (SELECT sum(one.k) FROM (VALUES (10)) AS one(k)) AS own, (SELECT sum(k + v.n) FROM (VALUES (10)) AS one(k)) AS mixed,
        (SELECT count(*) FROM (VALUES (10)) AS one(k))::int AS rows FROM visits AS v WHERE v.n = 5`),
    ).toEqual([{ n: 5, own: '10', mixed: '15', rows: 1 }]);
    expect(await t.query(`SELECT q.total FROM (SELECT sum(s.n)::int AS total FROM (SELECT n FROM visits) AS s) AS q`)).toEqual([{ total: 11 }]);
  });
});

// order_by.slt at 09f785da (MaterializeInc/materialize): Materialize's parser has no FETCH … WITH TIES.
describe('FETCH … WITH TIES', () => {
  it('is refused, with or without ORDER BY; FETCH FIRST … ONLY still runs', async () => {
    await expect(t.query(`SELECT n FROM visits ORDER BY n FETCH FIRST 2 ROWS WITH TIES`)).rejects.toThrow('FETCH ... WITH TIES not yet supported');
    await expect(t.query(`SELECT n FROM visits ORDER BY n FETCH NEXT 1 ROW WITH TIES`)).rejects.toThrow('FETCH ... WITH TIES not yet supported');
    expect(await t.query(`SELECT n FROM visits ORDER BY n FETCH FIRST 2 ROWS ONLY`)).toEqual([{ n: 1 }, { n: 2 }]);
  });
});

// numeric.slt at 30114f6d (MaterializeInc/materialize): Materialize's numeric holds 39 significant
// digits, its leading one between 10^38 and 10^-39; no infinities; numeric(p, s) with p ≤ 39, s ≤ p.
describe('numeric past 39 digits', () => {
  it('refuses literals and text casts whose leading digit is past the range, in Materialize words', async () => {
    await expect(t.query(`SELECT 2e39 AS big`)).rejects.toThrow('"2E39" is out of range for type numeric: exceeds maximum precision 39');
    await expect(t.query(`SELECT n FROM visits WHERE n < -3.5e41`)).rejects.toThrow('"-3.5E41" is out of range for type numeric');
    await expect(t.query(`SELECT n - 4e45 FROM visits`)).rejects.toThrow('"4E45" is out of range for type numeric');
    await expect(t.query(`SELECT '0.00000000000000000000000000000000000000007'::numeric`)).rejects.toThrow('exceeds maximum precision 39');
    await expect(t.query(`SELECT CAST('12345678901234567890123456789012345678901' AS decimal)`)).rejects.toThrow('exceeds maximum precision 39');
    await expect(t.query(`SELECT '-Infinity'::numeric`)).rejects.toThrow('invalid input syntax for type numeric: "-Infinity"');
  });

  it('refuses type modifiers past 39 digits', async () => {
    await expect(t.query(`SELECT 1.5::numeric(45, 2)`)).rejects.toThrow('precision for type numeric must be between 1 and 39');
    await expect(t.query(`CREATE TABLE too_fine (x decimal(10, 12))`)).rejects.toThrow('scale for type numeric must be between 0 and precision 10');
  });

  it('rounds literals of more than 39 significant digits to 39, as Materialize reads them', async () => {
    expect(await t.query(`SELECT 12345678901234567890123456789012345678.96::text AS a, '-0.1111111111111111111111111111111111111111111'::numeric::text AS b, 4444444444444444444444444444444444444.4444449 = 4444444444444444444444444444444444444.44 AS c`)).toEqual([
      { a: '12345678901234567890123456789012345679', b: '-0.111111111111111111111111111111111111111', c: true },
    ]);
    await expect(t.query(`SELECT 999999999999999999999999999999999999999.5`)).rejects.toThrow('exceeds maximum precision 39');
  });

  it('takes the extremes of the range, and large floats and integers stay as they are', async () => {
    expect(await t.query(`SELECT 9e38::text AS hi, 3e-39::text AS lo, '123456789012345678901234567890123456789'::numeric::text AS wide, 12345678901234567890::numeric(39, 0)::text AS n`)).toEqual([
      { hi: '900000000000000000000000000000000000000', lo: '0.000000000000000000000000000000000000003', wide: '123456789012345678901234567890123456789', n: '12345678901234567890' },
    ]);
  });
});

// table_func.slt at 4cca1dbd (MaterializeInc/materialize): repeat_row is a table function, and no
// table function may be another's argument.
describe('repeat_row as a table function', () => {
  it('is refused inside another table function; on its own it repeats rows', async () => {
    await expect(t.query(`SELECT repeat_row(generate_series(1, 2))`)).rejects.toThrow('table functions are not allowed in other table functions');
    await expect(t.query(`SELECT generate_series(1, 2), repeat_row(jsonb_array_length(jsonb_array_elements('[[1]]')))`)).rejects.toThrow(
      'table functions are not allowed in other table functions',
    );
    expect(await t.query(`SELECT n FROM visits, repeat_row(2) WHERE n = 1`)).toEqual([{ n: 1 }, { n: 1 }]);
  });
});
