/**
 * How list syntax is written for PostgreSQL (scripts/local/sql/collections.ts, lists/README.md):
 * the text the translator hands PGlite. What the statements answer is tested on the server in
 * list-type.test.ts and list-layered.test.ts; this pins the shape that makes those answers right:
 * every subscript through mz_local.list_get / list_slice (a list of lists is no PostgreSQL
 * multidimensional array, so a native subscript would read it wrongly), inner lists wrapped.
 */
import { describe, expect, it } from 'vitest';
import { translateQuery } from '../../scripts/local/sql/translate.ts';

const sqlOf = (sql: string) => translateQuery(sql).sql;

describe('list constructors and type names', () => {
  it('LIST[…] and LIST(SELECT …) wrap their elements; two layers or more name the wrapper rows', () => {
    expect(sqlOf(`SELECT LIST[1, 2], LIST(SELECT x FROM t), '{1}'::int list, CAST(v AS text list list)`)).toBe(
      `SELECT ARRAY[1, 2], ARRAY(SELECT mz_local.list_wrap(mz_list.v) FROM (SELECT x FROM t) AS mz_list(v)), '{1}'::int [], CAST(v AS mz_local.text_l1[])`,
    );
    expect(sqlOf(`SELECT LIST[[1], [2, 3]], LIST[a, NULL, 'x'], v::string list list, w::double precision list list list`)).toBe(
      `SELECT ARRAY[mz_local.list_wrap(ARRAY[1]), mz_local.list_wrap(ARRAY[2, 3])], ARRAY[mz_local.list_wrap(a), NULL, 'x'], v::mz_local.text_l1[], w::mz_local.float8_l2[]`,
    );
  });
});

describe('subscripts', () => {
  it('indexes of arrays and lists, on columns, constructors and calls, go through list_get', () => {
    expect(sqlOf(`SELECT a[1], LIST[1,2,3][2], list_agg(x)[1] FROM t`)).toBe(
      `SELECT mz_local.list_get(a, mz_local.list_bound(1)), mz_local.list_get(ARRAY[1,2,3], mz_local.list_bound(2)), mz_local.list_get(list_agg(x), mz_local.list_bound(1)) FROM t`,
    );
  });

  it('index then slice, successive slices, open bounds, slices over layers', () => {
    expect(sqlOf(`SELECT l[2][2:2], l[2:][1:1], l[:3], l[1:2, 2:3] FROM t`)).toBe(
      `SELECT mz_local.list_slice(mz_local.list_get(l, mz_local.list_bound(2)), mz_local.list_bound(2), mz_local.list_bound(2)), ` +
        `mz_local.list_slice(mz_local.list_slice(l, mz_local.list_bound(2), 9223372036854775807), mz_local.list_bound(1), mz_local.list_bound(1)), ` +
        `mz_local.list_slice(l, 1, mz_local.list_bound(3)), ` +
        `mz_local.list_slice_layers(l, ARRAY[mz_local.list_bound(1), mz_local.list_bound(2), mz_local.list_bound( 2), mz_local.list_bound(3)]::bigint[]) FROM t`,
    );
  });
});
