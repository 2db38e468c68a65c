/**
 * Materialize's list type (issue 32, item 1), carried by PostgreSQL arrays on the local server
 * (catalog/lists-and-maps.sql, sql/collections.ts). Own cases and data; each expectation was
 * checked against Materialize's documentation or its sqllogictest file:
 *
 * - doc/user/content/sql/types/list.md: LIST[…] and LIST(SELECT …) constructors, `int list` type
 *   names, 1-based indexing (out of range is NULL), slices with omitted bounds, successive slices
 *   applying to the previous slice's result, text output `{…}` with quoting, text-to-list casts;
 * - test/sqllogictest/list.slt: list_append / list_prepend / list_cat with NULLs, list_length,
 *   list_ndims (list_n_layers), list_length_max and its "invalid layer" error, `||` with lists and elements,
 *   unnest;
 * - doc/user/content/sql/functions/_index.md (list_agg with ORDER BY) and
 *   doc/user/content/sql/create-type.md (CREATE TYPE … AS LIST).
 */
import { describe, expect, it } from 'vitest';
import { firstRowValues, serverForTests } from '../helpers/local-server.ts';

const t = serverForTests();
const texts = (sql: string) => firstRowValues(t, sql);

describe('constructing lists (list.md, Construction)', () => {
  it('LIST[…] of values, of NULLs, and layered lists', async () => {
    expect(await texts(`SELECT (LIST[4, 5, 6])::text, (LIST[7, NULL])::text, (LIST[NULL])::text, (LIST[['p', 'q'], ['r', 's']])::text`)).toEqual([
      '{4,5,6}',
      '{7,NULL}',
      '{NULL}',
      '{{p,q},{r,s}}',
    ]);
  });

  it('an empty list needs its type: LIST[]::int list', async () => {
    expect(await texts(`SELECT (LIST[]::int list)::text, CAST(LIST[] AS text list)::text`)).toEqual(['{}', '{}']);
    await expect(t.query(`SELECT LIST[]`)).rejects.toThrow('cannot determine type of empty list');
  });

  it('LIST(SELECT …) keeps the subquery order', async () => {
    expect(await texts(`SELECT (LIST(SELECT v FROM (VALUES (3), (9), (6)) AS s(v) ORDER BY v DESC))::text`)).toEqual(['{9,6,3}']);
  });

  it('prints elements as text, quoting braces, commas, spaces, quotes, backslashes and the word NULL', async () => {
    expect(await texts(`SELECT (LIST['plain', 'two words', 'a,b', '{x}', 'say "hi"', 'back\\slash', 'NULL', ''])::text`)).toEqual([
      '{plain,"two words","a,b","{x}","say \\"hi\\"","back\\\\slash","NULL",""}',
    ]);
  });
});

describe('list type names and casts (list.md, Type name / text to list casts)', () => {
  it('columns of int list and text list list', async () => {
    await t.query(`CREATE TABLE lists_held (nums int list, words text list list, dates date list)`);
    await t.query(`INSERT INTO lists_held VALUES (LIST[10, 20], LIST[['u', 'v'], ['w', 'x']], '{2024-03-01, 2024-03-02}')`);
    expect(await texts(`SELECT nums::text, words::text, dates::text, nums[2], words[2][1] FROM lists_held`)).toEqual([
      '{10,20}',
      '{{u,v},{w,x}}',
      '{2024-03-01,2024-03-02}',
      20,
      'w',
    ]);
  });

  it('text cast to a list, and a list of one type cast to another', async () => {
    expect(await texts(`SELECT ('{8, 9}'::int list)::text, (LIST[1.4, 2.6]::int list)::text, ('{"a b", c}'::string list)::text`)).toEqual([
      '{8,9}',
      '{1,3}',
      '{"a b",c}',
    ]);
  });

  it('CREATE TYPE … AS LIST names a list type', async () => {
    await t.query(`CREATE TYPE score_list AS LIST (ELEMENT TYPE = int4)`);
    expect(await texts(`SELECT ('{3,1}'::score_list)::text, list_length('{3,1,2}'::score_list)`)).toEqual(['{3,1}', 3]);
    await t.query(`DROP TYPE score_list`);
  });
});

describe('indexing and slicing (list.md, Accessing lists)', () => {
  it('indexes from 1; an index out of range is NULL', async () => {
    expect(await texts(`SELECT LIST[5, 6, 7][1] AS a, LIST[5, 6, 7][3] AS b, LIST[5, 6, 7][0] AS c, LIST[5, 6, 7][4] AS d`)).toEqual([5, 7, null, null]);
  });

  it('slices with both, one or no bounds, an end past the last element stopping there', async () => {
    expect(
      await texts(`SELECT (LIST[1,2,3,4,5][2:4])::text, (LIST[1,2,3,4,5][:2])::text, (LIST[1,2,3,4,5][4:])::text, (LIST[1,2,3,4,5][3:99])::text`),
    ).toEqual(['{2,3,4}', '{1,2}', '{4,5}', '{3,4,5}']);
  });

  it('a slice with no elements is the empty list: past the end, end before start, of an empty list (list.slt at 6cc6493d)', async () => {
    expect(await texts(`SELECT (LIST[1,2,3][5:])::text, (LIST[1,2,3][3:2])::text, (LIST[]::int list)[:]::text, (LIST[NULL::int][:])::text`)).toEqual([
      '{}',
      '{}',
      '{}',
      '{NULL}',
    ]);
  });

  it('a second slice or index applies to the first slice (not to another dimension)', async () => {
    expect(await texts(`SELECT (LIST[1,2,3,4,5][2:][2:3])::text, LIST[1,2,3,4,5][3:5][2]`)).toEqual(['{3,4}', 4]);
  });

  it('indexes the value of a function call', async () => {
    expect(await texts(`SELECT list_append(LIST[1, 2], 3)[3]`)).toEqual([3]);
  });
});

describe('list functions (list.slt)', () => {
  it('list_append, list_prepend, list_cat, with NULL lists and NULL elements', async () => {
    expect(
      await texts(`SELECT list_append(LIST[1, 2], 3)::text, list_append(LIST[1], NULL)::text, list_append(NULL::int list, 4)::text,
        list_prepend(0, LIST[1, 2])::text, list_prepend(NULL::int, LIST[1])::text,
        list_cat(LIST[1, 2], LIST[3])::text, list_cat(LIST[1], NULL)::text, list_cat(NULL::int list, NULL)::text`),
    ).toEqual(['{1,2,3}', '{1,NULL}', '{4}', '{0,1,2}', '{NULL,1}', '{1,2,3}', '{1}', null]);
  });

  it('list_length counts the outer layer, 0 when empty; list_ndims counts layers', async () => {
    expect(
      await texts(`SELECT list_length(LIST[4, 4, 4]), list_length(LIST[[1, 2], [3, 4]]), list_length(LIST[]::int list), list_length(NULL::int list),
        list_ndims(LIST[1]), list_ndims(LIST[[1], [2]]), list_n_layers(LIST[[1], [2]])`),
    ).toEqual([3, 2, 0, null, 1, 2, 2]);
  });

  it('list_length_max, and its error past the last layer', async () => {
    expect(await texts(`SELECT list_length_max(LIST[[1, 2, 3], [4, 5, 6]], 2), list_length_max(LIST[7, 8], 1)`)).toEqual([3, 2]);
    await expect(t.query(`SELECT list_length_max(LIST[1], 2)`)).rejects.toThrow('invalid layer: 2; must use value within [1, 1]');
    await expect(t.query(`SELECT list_length_max(LIST[1], 0)`)).rejects.toThrow('invalid layer: 0; must use value within [1, 1]');
  });

  it('list_remove removes every equal element', async () => {
    expect(await texts(`SELECT list_remove(LIST[3, 1, 3, 2], 3)::text`)).toEqual(['{1,2}']);
  });

  it('|| joins lists, and a list with an element on either side', async () => {
    expect(await texts(`SELECT (LIST[1, 2] || LIST[3])::text, (LIST[1] || 2)::text, (0 || LIST[1])::text, (LIST[1] || NULL)::text`)).toEqual([
      '{1,2,3}',
      '{1,2}',
      '{0,1}',
      '{1}',
    ]);
  });

  it('unnest gives one row per element', async () => {
    const rows = await t.query<{ u: number | null }>(`SELECT u FROM unnest(LIST[6, NULL, 8]) AS u`);
    expect(rows.map((row) => row.u)).toEqual([6, null, 8]);
  });
});

describe('list_agg (functions/_index.md)', () => {
  it('builds an ordered per-user event sequence', async () => {
    await t.query(`CREATE TABLE list_events (user_id text, event text, at int)`);
    await t.query(`INSERT INTO list_events VALUES ('u1', 'signup', 1), ('u1', 'order', 3), ('u1', 'visit', 2), ('u2', 'visit', 5), ('u2', NULL, 6)`);
    const rows = await t.query(`SELECT user_id, list_agg(event ORDER BY at)::text AS path, list_length(list_agg(event)) AS n
      FROM list_events GROUP BY user_id ORDER BY user_id`);
    expect(rows).toEqual([
      { user_id: 'u1', path: '{signup,visit,order}', n: 3 },
      { user_id: 'u2', path: '{visit,NULL}', n: 2 },
    ]);
  });

  it('is NULL over no rows, and works in a materialized view', async () => {
    expect(await texts(`SELECT list_agg(event)::text FROM list_events WHERE false`)).toEqual([null]);
    await t.query(`CREATE MATERIALIZED VIEW list_paths AS SELECT user_id, list_agg(event ORDER BY at DESC) AS path FROM list_events GROUP BY user_id`);
    expect(await texts(`SELECT path::text, path[1] FROM list_paths WHERE user_id = 'u1'`)).toEqual(['{order,visit,signup}', 'order']);
  });
});
