/**
 * Lists of lists (issue 32): ragged, indexed layer by layer, sliced one result after another, as
 * Materialize's list type does (scripts/local/sql/lists/README.md says how they are carried). Own
 * cases and data; each expectation was checked against Materialize's documentation or its
 * sqllogictest file (MaterializeInc/materialize):
 *
 * - doc/user/content/sql/types/list.md: ragged lists, "indexing a layered list returns the inner
 *   list", successive slices each applying to the previous result, out of range → NULL;
 * - test/sqllogictest/list.slt: index then slice (`l[2][2:2]`), bigint and rounded subscripts,
 *   subscript type errors, list_n_layers / list_length / list_length_max of ragged lists,
 *   list_append / list_prepend / list_cat on layered lists;
 * - test/sqllogictest/jsonb.slt: to_jsonb of a list of lists is nested arrays.
 */
import { describe, expect, it } from 'vitest';
import { errorMessageOf, firstRowValues, serverForTests } from '../helpers/local-server.ts';

const t = serverForTests();
const texts = (sql: string) => firstRowValues(t, sql);

describe('ragged lists of lists (list.md)', () => {
  it('inner lists of different lengths, empty and NULL inner lists, four layers', async () => {
    expect(
      await texts(
        `SELECT (LIST[[5], [6, 7, 8]])::text, (LIST[[9, NULL], [], NULL]::int list list)::text, (LIST[[[[1]], [[2, 3]]], [[[4]]]])::text, (LIST[LIST['x'], LIST['y', 'z']])::text`,
      ),
    ).toEqual(['{{5},{6,7,8}}', '{{9,NULL},{},NULL}', '{{{{1}},{{2,3}}},{{{4}}}}', '{{x},{y,z}}']);
  });

  it('a list of list columns, and LIST(SELECT …) of lists', async () => {
    await t.query(`CREATE TABLE paths (walker text, steps int list)`);
    await t.query(`INSERT INTO paths VALUES ('ann', LIST[3, 1]), ('bo', LIST[2]), ('cy', LIST[4, 4, 4])`);
    expect(
      await texts(`SELECT (SELECT (LIST[a.steps, b.steps])::text FROM paths a, paths b WHERE a.walker = 'ann' AND b.walker = 'cy'), (LIST(SELECT steps FROM paths ORDER BY walker))::text`),
    ).toEqual(['{{3,1},{4,4,4}}', '{{3,1},{2},{4,4,4}}']);
  });

  it('list text cast to a list of lists is read as Materialize reads it (list.md, text to list casts)', async () => {
    expect(await texts(`SELECT ('{{1}, {2, 3}, NULL, {}}'::int list list)::text, ('{{{x}}, {{"y z"}, {null}}}'::text list list list)[2][1][1]`)).toEqual([
      '{{1},{2,3},NULL,{}}',
      'y z',
    ]);
  });

  it('a column of int list list keeps ragged values', async () => {
    await t.query(`CREATE TABLE grids (name text, cells int list list)`);
    await t.query(`INSERT INTO grids VALUES ('jagged', LIST[[1, 2, 3], [4]]), ('none', NULL)`);
    expect(await texts(`SELECT cells::text, cells[2]::text, cells[1][3], list_length(cells) FROM grids WHERE name = 'jagged'`)).toEqual(['{{1,2,3},{4}}', '{4}', 3, 2]);
  });
});

describe('subscripts (list.md, list.slt)', () => {
  it('an index of a layered list is the inner list; index then slice slices that inner list', async () => {
    // PostgreSQL's arrays answered {{2},{4}} here: the slice applied to both dimensions.
    expect(await texts(`SELECT LIST[LIST[1, 2], LIST[3, 4]][2][2:2]::text, (LIST[[10, 20, 30], [40, 50]][1])::text, LIST[[10, 20, 30], [40, 50]][2][1]`)).toEqual([
      '{4}',
      '{10,20,30}',
      40,
    ]);
  });

  it('successive slices each apply to the previous result; a slice then an index indexes the slice', async () => {
    expect(
      await texts(`SELECT (LIST[[1], [2, 2], [3, 3, 3]][2:3][2:2])::text, (LIST[[1], [2, 2], [3, 3, 3]][2:3][1])::text, (LIST[[1], [2, 2], [3, 3, 3]][3:3][2])::text`),
    ).toEqual(['{{3,3,3}}', '{2,2}', null]);
  });

  it('a slice over several layers slices each inner list too', async () => {
    expect(await texts(`SELECT (LIST[[1, 2, 3], [4, 5, 6, 7], [8]][1:2, 2:3])::text`)).toEqual(['{{2,3},{5,6}}']);
  });

  it('out of range is NULL (an index) or empty (a slice), whatever the size of the bigint', async () => {
    expect(
      await texts(
        `SELECT (LIST[[1], [2, 3]][7])::text, (LIST[[1], [2, 3]][2][9])::text, LIST[5][9223372036854775807::bigint], (LIST[5][-9223372036854775807::bigint:9223372036854775807::bigint])::text, (LIST[[1], [2]][5:9])::text`,
      ),
    ).toEqual([null, null, null, '{5}', '{}']);
  });

  it('a numeric subscript is rounded; a NULL bound makes the slice NULL, an omitted one is open', async () => {
    expect(await texts(`SELECT LIST[7, 8, 9][1.5], LIST[7, 8, 9][1.4], (LIST[7, 8, 9][NULL:2])::text, (LIST[7, 8, 9][:2])::text`)).toEqual([8, 7, null, '{7,8}']);
  });

  it('subscripts of the wrong type are refused in Materialize words', async () => {
    expect(await errorMessageOf(t, `SELECT LIST[1, 2][DATE '2024-05-01']`)).toContain('subscripting does not support casting from date to bigint');
    expect(await errorMessageOf(t, `SELECT LIST[1, 2]['cat']`)).toContain('invalid input syntax for type bigint: invalid digit found in string: "cat"');
  });
});

describe('list functions on lists of lists (list.slt)', () => {
  it('list_n_layers, list_length and list_length_max read ragged lists', async () => {
    expect(
      await texts(
        `SELECT list_n_layers(LIST[[[1], [2, 3]], [[4]]]), list_n_layers(LIST[[1], [2, 3]][2]), list_n_layers((LIST[[1], NULL]::int list list)[2]), list_length(LIST[[1], [2, 3], [4]]), list_length_max(LIST[[1], [2, 3, 4], []], 2), list_length_max(LIST[[[1, 2, 3], [4]], [[5]]], 3)`,
      ),
    ).toEqual([3, 1, 1, 3, 3, 3]);
    expect(await errorMessageOf(t, `SELECT list_length_max(LIST[[1]], 3)`)).toContain('invalid layer: 3; must use value within [1, 2]');
  });

  it('list_append, list_prepend and list_cat take and give lists of lists', async () => {
    expect(
      await texts(
        `SELECT (list_append(LIST[[1], [2, 3]], LIST[4]))::text, (list_append(LIST[[1]], NULL))::text, (list_append(NULL, LIST[6]))::text, (list_prepend(LIST[0], LIST[[1]]))::text, (list_cat(LIST[[1]], LIST[[2, 3]]))::text`,
      ),
    ).toEqual(['{{1},{2,3},{4}}', '{{1},NULL}', '{{6}}', '{{0},{1}}', '{{1},{2,3}}']);
  });

  it('list_agg over lists builds a list of lists, in the order asked', async () => {
    await t.query(`CREATE TABLE visits (who text, at int, pages text list)`);
    await t.query(`INSERT INTO visits VALUES ('dee', 2, LIST['b', 'c']), ('dee', 1, LIST['a']), ('eli', 1, LIST['z'])`);
    expect(await texts(`SELECT (list_agg(pages ORDER BY at))::text FROM visits WHERE who = 'dee'`)).toEqual(['{{a},{b,c}}']);
  });

  it('unnest yields the inner lists; to_jsonb writes nested arrays', async () => {
    const rows = await t.query<{ inner_list: string }>(`SELECT u::text AS inner_list FROM unnest(LIST[[1], [2, 3]]) AS u`);
    expect(rows.map((row) => row.inner_list)).toEqual(['{1}', '{2,3}']);
    expect(await texts(`SELECT to_jsonb(LIST[LIST[1], LIST[3, 4]])::text`)).toEqual(['[[1],[3,4]]']);
  });

  it('integers beside lists of integers in one literal are refused', async () => {
    expect(await errorMessageOf(t, `SELECT LIST[1, LIST[2, 3]]`)).toContain('LIST types integer and integer list cannot be matched');
  });
});
