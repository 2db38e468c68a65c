/**
 * Table functions where Materialize refuses them, in its words (issue 32; own cases and data,
 * checked against MaterializeInc/materialize test/sqllogictest/table_func.slt at 4cca1dbd, where
 * table functions side by side in a select list run, zipped as PostgreSQL zips them):
 * - PostgreSQL's refusals reworded: "table functions are not allowed in CASE" / "… in WHERE
 *   clause" (~lines 485-497), `column "g.g" does not exist` (~line 420), an ambiguous
 *   generate_series(null, null): "unable to determine which implementation to use" (~line 60).
 * scripts/local/sql/error-text.ts.
 */
import { describe, expect, it } from 'vitest';
import { materializeErrorText } from '../../scripts/local/sql/error-text.ts';
import { serverForTests } from '../helpers/local-server.ts';

describe("PostgreSQL's refusals in Materialize's words", () => {
  it('rewords set-returning functions, qualified missing columns and ambiguous calls', () => {
    expect(materializeErrorText('set-returning functions are not allowed in CASE')).toBe('table functions are not allowed in CASE');
    expect(materializeErrorText('set-returning functions are not allowed in WHERE')).toBe('table functions are not allowed in WHERE clause');
    expect(materializeErrorText('column s.total does not exist')).toBe('column "s.total" does not exist');
    expect(materializeErrorText('column "total" does not exist')).toBeNull();
    // map.slt at ba3630ef: `m ?& 'a'`, an array's text with no brace.
    expect(materializeErrorText('malformed array literal: "a"')).toBe('malformed array literal: missing opening left brace');
    expect(materializeErrorText('malformed array literal: "{a"')).toBeNull();
    // map.slt at ba3630ef: `map ? 1` "arguments cannot be implicitly cast to any implementation's parameters".
    expect(materializeErrorText('operator does not exist: hstore ? integer')).toBe(
      "no overload for hstore ? integer: arguments cannot be implicitly cast to any implementation's parameters; try providing explicit casts",
    );
    // string.slt at a8d58ad8: `true || false` keeps "operator does not exist"; other misses are "no overload".
    expect(materializeErrorText('operator does not exist: boolean || boolean')).toBe('operator does not exist: boolean || boolean');
    expect(materializeErrorText('operator does not exist: integer[] || boolean')).toMatch(/^no overload for integer\[\] \|\| boolean: /);
    expect(materializeErrorText('function generate_series(unknown, unknown) is not unique')).toBe(
      'Cannot call function generate_series(unknown, unknown): unable to determine which implementation to use; try providing explicit casts to match parameter types',
    );
  });
});

describe('on the server', () => {
  const t = serverForTests();
  it('zips side-by-side table functions and refuses a table function in CASE', async () => {
    expect(await t.query(`SELECT jsonb_object_keys('{"p":1}') AS a, jsonb_object_keys('{"q":1,"r":2}') AS b`)).toEqual([
      { a: 'p', b: 'q' },
      { a: null, b: 'r' },
    ]);
    await expect(t.query(`SELECT CASE WHEN true THEN generate_series(1, 3) END`)).rejects.toThrow('table functions are not allowed in CASE');
    expect(await t.query(`SELECT generate_series(2, 3) AS g`)).toEqual([{ g: 2 }, { g: 3 }]);
  });
});
