/**
 * Answers that depend on Materialize's semantics where PostgreSQL's differ or refuse, checked on
 * the local server with our own data:
 *
 * - `SELECT … AS OF <ms>` evaluates mz_now() at that time (test/sqllogictest/temporal.slt, newest
 *   version: a temporal view read AS OF 2, 3, 11);
 * - DISTINCT ON keeps, among rows tied in its ORDER BY, the smallest (Materialize's TopK orders by
 *   the key and then the whole row; with_mutually_recursive.slt's connected-components relabel
 *   reads every node at round 0 only so);
 * - a WITH MUTUALLY RECURSIVE binding may be named with a word PostgreSQL reserves
 *   (with_mutually_recursive.slt names one `both`);
 * - `GROUP BY TRUE` groups by the constant (subquery.slt: one group, no row from no input);
 * - format_type names time and timestamp without `without time zone` (types.slt);
 * - variance and stddev of integers and numerics have 39 significant digits, Materialize's
 *   numeric (aggregates.slt), and of floats PostgreSQL's float answer;
 * - `position(x)` and `position(x IN y, z)` fail in Materialize's parser's words (string.slt), as do
 *   FILTER after no aggregate (aggregates.slt), `pg_catalog.interval '…' DAY` and a cast to a
 *   pg_catalog table (types.slt), a subquery with the wrong number of columns (subquery.slt);
 *   generate_series of three NULLs has no rows (table_func.slt); and
 *   a materialized view over an introspection relation "cannot depend on log sources"
 *   (materialized_views.slt).
 */
import { describe, expect, it } from 'vitest';
import { errorMessageOf, serverForTests } from '../helpers/local-server.ts';
import { translateQuery } from '../../scripts/local/sql/translate.ts';

const t = serverForTests();

describe('AS OF and mz_now()', () => {
  it('a temporal view read AS OF a time has the rows valid then', async () => {
    await t.query(`CREATE VIEW shifts (starts_ms, ends_ms) AS VALUES (0, 5), (3, 8), (10, 20)`);
    await t.query(`CREATE MATERIALIZED VIEW on_duty AS SELECT * FROM shifts WHERE mz_now() BETWEEN starts_ms AND ends_ms`);
    const at = async (clause: string) =>
      (await t.query<{ starts_ms: number }>(`SELECT starts_ms FROM on_duty ${clause}`)).map((row) => row.starts_ms).sort((a, b) => a - b);
    expect(await at('AS OF 4')).toEqual([0, 3]);
    expect(await at('AS OF 6')).toEqual([3]);
    expect(await at('AS OF 15')).toEqual([10]);
    // Now (and AT LEAST a past time, which may read now) every shift is over.
    expect(await at('')).toEqual([]);
    expect(await at('AS OF AT LEAST 4')).toEqual([]);
  });

  it('the time is the statement’s own: the next statement reads now again', async () => {
    const [past] = await t.query<{ year: number }>(`SELECT extract(year FROM mz_now())::int AS year AS OF 1000`);
    const [now] = await t.query<{ year: number }>(`SELECT extract(year FROM mz_now())::int AS year`);
    expect(past!.year).toBe(1970);
    expect(now!.year).toBeGreaterThan(2000);
    // In a transaction too: the time set for one statement is not the next one's.
    await t.query('BEGIN');
    const [inside] = await t.query<{ year: number }>(`SELECT extract(year FROM mz_now())::int AS year AS OF 1000`);
    const [after] = await t.query<{ year: number }>(`SELECT extract(year FROM mz_now())::int AS year`);
    await t.query('COMMIT');
    expect([inside!.year, after!.year > 2000]).toEqual([1970, true]);
  });
});

describe('DISTINCT ON ties', () => {
  it('keeps the smallest of the rows tied in ORDER BY', async () => {
    await t.query(`CREATE TABLE readings (sensor int, level int, label text)`);
    await t.query(`INSERT INTO readings VALUES (1, 5, 'pear'), (1, 5, 'apple'), (1, 9, 'aaa'), (2, 3, 'zeta'), (2, 3, 'beta'), (2, 3, 'kappa')`);
    expect(await t.query(`SELECT DISTINCT ON (sensor) sensor, level, label FROM readings ORDER BY sensor, level`)).toEqual([
      { sensor: 1, level: 5, label: 'apple' },
      { sensor: 2, level: 3, label: 'beta' },
    ]);
  });

  it('adds the output columns to the sort, or a sort when there is none', () => {
    expect(translateQuery(`SELECT DISTINCT ON (s) s, l FROM r ORDER BY s, l DESC LIMIT 2`).sql).toBe(`SELECT DISTINCT ON (s) s, l FROM r ORDER BY s, l DESC, 1, 2 LIMIT 2`);
    expect(translateQuery(`SELECT DISTINCT ON (s) s, l FROM r`).sql).toBe(`SELECT DISTINCT ON (s) s, l FROM r ORDER BY s, 1, 2`);
    // Unknown columns (`*`) and a branch of a UNION are left as written.
    expect(translateQuery(`SELECT DISTINCT ON (s) * FROM r ORDER BY s`).sql).toBe(`SELECT DISTINCT ON (s) * FROM r ORDER BY s`);
    expect(translateQuery(`SELECT DISTINCT ON (s) s FROM r UNION SELECT 1 ORDER BY 1`).sql).toBe(`SELECT DISTINCT ON (s) s FROM r UNION SELECT 1 ORDER BY 1`);
  });

  it('a recursive relabel keeps each node at its first round', async () => {
    await t.query(`CREATE TABLE links (src int, dst int)`);
    await t.query(`INSERT INTO links VALUES (1, 2), (2, 3), (3, 1), (3, 4), (5, 6), (6, 5), (7, 7)`);
    const rounds = await t.query<{ round: number; nodes: string }>(`
      WITH MUTUALLY RECURSIVE
        tag (node int, comp int) AS (
          SELECT dst, min(comp) FROM (SELECT dst, dst AS comp FROM links UNION ALL SELECT links.dst, tag.comp FROM links, tag WHERE links.src = tag.node) GROUP BY dst
        ),
        retag (node int, comp int, round int) AS (
          SELECT DISTINCT ON (node) node, comp, round
          FROM (SELECT node, comp, 0 AS round FROM tag UNION ALL SELECT links.dst, retag.comp, retag.round + 1 FROM links, retag WHERE links.src = retag.node)
          ORDER BY node, comp
        )
      SELECT round, count(*) AS nodes FROM retag GROUP BY round`);
    expect(rounds).toEqual([{ round: 0, nodes: '7' }]);
  });
});

describe('names and constants PostgreSQL refuses', () => {
  it('a WITH MUTUALLY RECURSIVE binding named with a PostgreSQL reserved word', async () => {
    const rows = await t.query(`
      WITH MUTUALLY RECURSIVE
        leading (n int) AS (VALUES (1) UNION ALL SELECT n + 2 FROM leading WHERE n < 9),
        both (n int) AS (SELECT n FROM leading UNION ALL SELECT both.n + 1 FROM both WHERE both.n = 1)
      SELECT sum(n)::int AS total, count(*)::int AS rows FROM both`);
    expect(rows).toEqual([{ total: 27, rows: 6 }]);
  });

  it('GROUP BY TRUE is one group, and no group without rows', async () => {
    await t.query(`CREATE TABLE tallies (v int)`);
    await t.query(`INSERT INTO tallies VALUES (4), (6)`);
    expect(await t.query(`SELECT sum(v)::int AS total FROM tallies GROUP BY TRUE`)).toEqual([{ total: 10 }]);
    expect(await t.query(`SELECT count(*)::int AS n FROM tallies WHERE v > 100 GROUP BY TRUE`)).toEqual([]);
    expect(await t.query(`SELECT v FROM tallies GROUP BY v, FALSE ORDER BY v`)).toEqual([{ v: 4 }, { v: 6 }]);
  });
});

describe('catalog names and refusals in Materialize’s words', () => {
  it('format_type without `without time zone`', async () => {
    expect(
      await t.query(`SELECT format_type(1114, NULL) AS ts, pg_catalog.format_type(1083, 4) AS t4, format_type('timestamptz'::regtype, NULL) AS tz, format_type(25, NULL) AS txt`),
    ).toEqual([{ ts: 'timestamp', t4: 'time(4)', tz: 'timestamp with time zone', txt: 'text' }]);
  });

  it('position() without IN, or with a third argument', async () => {
    expect(await errorMessageOf(t, `SELECT position('needle')`)).toBe('Expected IN, found right parenthesis');
    expect(await errorMessageOf(t, `SELECT position('a' IN 'cat', 2)`)).toBe('Expected right parenthesis, found comma');
    expect(await t.query(`SELECT position('a' IN 'cat') AS at`)).toEqual([{ at: 2 }]);
  });

  it('syntax PostgreSQL also refuses, in Materialize’s words: FILTER with no aggregate, a field after a qualified interval', async () => {
    expect(await errorMessageOf(t, `SELECT v FILTER (WHERE v > 1) FROM (VALUES (1), (2)) AS n(v)`)).toBe('Expected end of statement, found left parenthesis');
    expect(await errorMessageOf(t, `SELECT pg_catalog.interval '2 3:00' HOUR`)).toBe('Expected end of statement, found HOUR');
    // An aggregate's FILTER and an unqualified INTERVAL '…' DAY are fine.
    expect(await t.query(`SELECT count(*) FILTER (WHERE v > 1)::int AS n, INTERVAL '3' DAY AS d FROM (VALUES (1), (2)) AS n(v)`)).toEqual([
      { n: 1, d: { days: 3 } },
    ]);
  });

  it('a cast to a pg_catalog table is no type; generate_series of three NULLs has no rows', async () => {
    expect(await errorMessageOf(t, `SELECT '(1)'::pg_catalog.pg_namespace`)).toBe('"pg_catalog.pg_namespace" does not refer to a type');
    expect(await t.query(`SELECT * FROM generate_series(NULL, NULL, NULL)`)).toEqual([]);
    await expect(t.query(`SELECT * FROM generate_series(NULL, NULL)`)).rejects.toThrow(/unable to determine which implementation to use/);
  });

  it('a subquery with the wrong number of columns, counted', async () => {
    expect(await errorMessageOf(t, `SELECT 5 > ANY (SELECT 1, 2, 3)`)).toBe('subquery has 3 columns available but 1 columns specified');
    expect(await errorMessageOf(t, `SELECT 'x', (SELECT)`)).toBe('Expected subselect to return 1 column, got 0 columns');
    // A row on the left takes as many columns; a derived table may have none.
    expect(await t.query(`SELECT (1, 2) = ANY (SELECT 1, 2) AS found`)).toEqual([{ found: true }]);
    expect(await t.query(`SELECT count(*)::int AS n FROM (SELECT) AS nothing`)).toEqual([{ n: 1 }]);
  });

  it('a materialized view over an introspection relation', async () => {
    expect(await errorMessageOf(t, `CREATE MATERIALIZED VIEW ops AS SELECT name FROM mz_introspection.mz_dataflow_operators`)).toBe(
      'materialized view objects cannot depend on log sources',
    );
    expect(await errorMessageOf(t, `CREATE MATERIALIZED VIEW busy AS SELECT (SELECT 1 FROM mz_internal.mz_arrangement_sizes LIMIT 1)`)).toBe(
      'materialized view objects cannot depend on log sources',
    );
  });
});

describe('variance and standard deviation', () => {
  it('integers and numerics to 39 significant digits; floats as floats; too few values NULL', async () => {
    await t.query(`CREATE TABLE marks (pupil int, score int, weight numeric, ratio double precision)`);
    await t.query(`INSERT INTO marks VALUES (1, 3, 0.5, 0.25), (1, 4, 1.5, 0.5), (1, 9, 2, 1), (2, 6, 1, 1)`);
    const rows = await t.query(`
      SELECT pupil, var_samp(score)::text AS var_samp, stddev_pop(score)::text AS stddev_pop, variance(weight)::text AS weight_var,
             stddev(ratio) AS ratio_sd, var_pop(score)::text AS var_pop
      FROM marks GROUP BY pupil ORDER BY pupil`);
    expect(rows[0]!.ratio_sd).toBeCloseTo(Math.sqrt(7 / 48), 12);
    expect(rows.map((row) => ({ ...row, ratio_sd: typeof row.ratio_sd }))).toEqual([
      // Scores 3, 4, 9: mean 16/3, squared deviations 62/3 over 2 and over 3.
      {
        pupil: 1,
        var_samp: '10.3333333333333333333333333333333333333',
        stddev_pop: '2.62466929133727033989501148293733595456',
        weight_var: '0.583333333333333333333333333333333333333',
        ratio_sd: 'number',
        var_pop: '6.88888888888888888888888888888888888889',
      },
      { pupil: 2, var_samp: null, stddev_pop: '0', weight_var: null, ratio_sd: 'object', var_pop: '0' },
    ]);
  });

  it('the column keeps the aggregate’s name', async () => {
    const result = await t.sql.query(`SELECT variance(v), stddev_pop(v) FROM (VALUES (1), (2)) AS n(v)`);
    expect(result.fields.map((field) => field.name)).toEqual(['variance', 'stddev_pop']);
    expect(result.rows).toEqual([{ variance: '0.5', stddev_pop: '0.5' }]);
  });

  it('as a window function and with FILTER', async () => {
    expect(
      await t.query(`SELECT x, variance(x) OVER (ORDER BY x)::text AS running, stddev(x) FILTER (WHERE x > 1) OVER ()::text AS sd FROM (VALUES (1), (2), (4)) AS v(x) ORDER BY x`),
    ).toEqual([
      { x: 1, running: null, sd: '1.41421356237309504880168872420969807857' },
      { x: 2, running: '0.5', sd: '1.41421356237309504880168872420969807857' },
      { x: 4, running: '2.33333333333333333333333333333333333333', sd: '1.41421356237309504880168872420969807857' },
    ]);
  });
});
