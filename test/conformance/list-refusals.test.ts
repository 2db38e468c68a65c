/**
 * Integer list literals used past their depth, list functions of NULLs only and text cast to too
 * shallow a list are refused with Materialize's words (scripts/local/sql/list-refusals.ts), where
 * the local server's arrays would answer NULL or a value. Own cases and data, checked against
 * MaterializeInc/materialize test/sqllogictest/list.slt at 6cc6493d (its current file):
 * - an index past the last layer, "cannot index into" (list.slt ~lines 97, 160, 250), a slice
 *   there "cannot subscript" (~line 101);
 * - `LIST[1, null]::INT LIST LIST`, "LIST could not convert type integer to integer list" (~line 60);
 * - list_prepend(NULL, NULL), list_cat(NULL, NULL) refused (~lines 575, 880) while
 *   list_append(NULL, NULL) is {NULL} (~line 505);
 * - `'{{1}}'::int list`, "invalid input syntax for type list: unescaped '{' at beginning of element" (~line 1010);
 * and the older file's layered slices (`[:, 1:]`, "cannot slice into 2 layers", list.slt at 0096aacf);
 * and cast.slt's `CREATE TYPE … AS LIST (element_type=int4)` (line 61), the documented spelling.
 * Each refusal is paired with a neighbour that must still run.
 */
import { describe, expect, it } from 'vitest';
import { materializeRefusal } from '../../scripts/local/sql/refusals.ts';
import { splitStatements } from '../../scripts/local/sql/tokens.ts';
import { serverForTests } from '../helpers/local-server.ts';

function refusal(sql: string): string | null {
  return materializeRefusal(splitStatements(sql)[0]!)?.message ?? null;
}

describe('list refusals, from the tokens', () => {
  it('refuses a subscript past the last layer of an integer list literal', () => {
    expect(refusal(`SELECT LIST[7, 8][2][1]`)).toBe('cannot index into integer');
    expect(refusal(`SELECT LIST[[7], [8, 9]][2][1][1]`)).toBe('cannot index into integer');
    expect(refusal(`SELECT LIST[7, 8, 9][1:2][1][1:1]`)).toBe('cannot subscript type integer');
    expect(refusal(`SELECT LIST[[7], [8, 9]][2][1]`)).toBeNull();
    expect(refusal(`SELECT LIST[[7], [8, 9]][1:2][2][1]`)).toBeNull();
  });

  it('refuses a slice with more layers than the literal', () => {
    expect(refusal(`SELECT LIST[7, 8][:, 1:]`)).toBe('cannot slice into 2 layers; list only has 1 layer');
    expect(refusal(`SELECT LIST[[7], [8]][1:, :, :]`)).toBe('cannot slice into 3 layers; list only has 2 layers');
    expect(refusal(`SELECT LIST[[7], [8]][1:, 1:1]`)).toBeNull();
  });

  it('refuses a cast of an integer literal to a deeper integer list', () => {
    expect(refusal(`SELECT LIST[5, 6] :: INT LIST LIST`)).toBe('LIST could not convert type integer to integer list');
    expect(refusal(`SELECT LIST[[5], [6]]::int list list`)).toBeNull();
    // NULL elements may be lists: the depth is not known, nothing is refused.
    expect(refusal(`SELECT LIST[NULL]::INT LIST LIST`)).toBeNull();
  });

  it('refuses list functions given only NULLs', () => {
    expect(refusal(`SELECT list_cat(NULL, NULL)`)).toBe(
      "Cannot call function list_cat(unknown, unknown): arguments cannot be implicitly cast to any implementation's parameters; try providing explicit casts",
    );
    expect(refusal(`SELECT list_prepend(NULL, NULL)`)).toMatch(/^Cannot call function list_prepend\(unknown, unknown\)/);
    expect(refusal(`SELECT list_append(NULL, NULL::int)`)).toBeNull();
    expect(refusal(`SELECT list_append(NULL, NULL)`)).toBeNull();
  });

  it('refuses array text of more than one dimension, not an ARRAY[[…]] constructor (table_func.slt, list.slt at 6cc6493d)', () => {
    expect(refusal(`SELECT '{{3,4},{5,6}}'::int[]`)).toBe('invalid input syntax for type array: parsing multi-dimensional arrays is not supported');
    expect(refusal(`SELECT ' { {x}}'::text[]::text list`)).toBe('invalid input syntax for type array: parsing multi-dimensional arrays is not supported');
    expect(refusal(`SELECT '{3,4}'::int[], ARRAY[[3, 4], [5, 6]]`)).toBeNull();
  });

  it('refuses text with more leading braces than the list has layers', () => {
    expect(refusal(`SELECT '{ {4}}'::int list`)).toMatch(/^invalid input syntax for type list: unescaped '\{' at beginning of element/);
    expect(refusal(`SELECT '{{4}}'::int list list`)).toBeNull();
    expect(refusal(`SELECT '{4}'::int list`)).toBeNull();
  });
});

describe('on the server', () => {
  const t = serverForTests();

  it('answers the neighbours and refuses over the wire', async () => {
    await expect(t.query(`SELECT LIST[3, 4, 5][2][1]`)).rejects.toThrow('cannot index into integer');
    const [row] = await t.query<{ v: number; s: string }>(`SELECT LIST[3, 4, 5][2] AS v, (LIST[3, 4, 5][2:])::text AS s`);
    expect(row).toEqual({ v: 4, s: '{4,5}' });
  });

  it('takes a list type of a list type, and casts between two such types (cast.slt at 75082777, lines 61-91)', async () => {
    await t.query(`CREATE TYPE visit_ids AS LIST (element_type = int4)`);
    await t.query(`CREATE TYPE visit_ids_by_day AS LIST (element_type = visit_ids)`);
    await t.query(`CREATE TYPE visit_ids_copy AS LIST (element_type = int4)`);
    await t.query(`CREATE TYPE visit_ids_by_day_copy AS LIST (element_type = visit_ids_copy)`);
    const [row] = await t.query<{ v: string; ty: string }>(
      `SELECT ('{{4,5},{6,7}}'::visit_ids_by_day::visit_ids_by_day_copy)::text AS v, pg_typeof('{{4}}'::visit_ids_by_day_copy::visit_ids_by_day)::text AS ty`,
    );
    expect(row).toEqual({ v: '{{4,5},{6,7}}', ty: 'visit_ids_by_day' });
  });

  it('takes CREATE TYPE … AS LIST (element_type = …) and AS MAP (key_type, value_type)', async () => {
    await t.query(`CREATE TYPE scores AS LIST (element_type = int4)`);
    await t.query(`CREATE TYPE tally AS MAP (key_type=text, value_type=int)`);
    const [row] = await t.query<{ l: string; n: string }>(`SELECT ('{2,9}'::scores)::text AS l, ((MAP['a' => 3]::tally) -> 'a')::text AS n`);
    expect(row).toEqual({ l: '{2,9}', n: '3' });
  });
});

describe('list literals with NULLs and list_cat of two depths (list.slt)', () => {
  it('list_append / list_prepend of an integer and an integer list not one layer apart are refused (list.slt)', () => {
    expect(refusal(`SELECT list_append(LIST[1], LIST[2])`)).toBe(
      "Cannot call function list_append(integer list, integer list): arguments cannot be implicitly cast to any implementation's parameters; try providing explicit casts",
    );
    expect(refusal(`SELECT list_append(1, LIST[1])`)).toBe(
      "Cannot call function list_append(integer, integer list): arguments cannot be implicitly cast to any implementation's parameters; try providing explicit casts",
    );
    expect(refusal(`SELECT list_append(LIST[[1]], LIST[2]), list_prepend(1, LIST[2]), list_append(LIST[1], 2), list_append(NULL, NULL)`)).toBeNull();
  });

  it('a one-layer literal with a NULL cast to two layers is refused; list_cat of one and two layers is refused', () => {
    expect(refusal(`SELECT LIST[7, NULL]::int list list`)).toBe('LIST could not convert type integer to integer list');
    expect(refusal(`SELECT list_cat(LIST[7], LIST[[8]])`)).toBe(
      "Cannot call function list_cat(integer list, integer list list): arguments cannot be implicitly cast to any implementation's parameters; try providing explicit casts",
    );
    expect(refusal(`SELECT LIST[7, NULL]::int list, list_cat(LIST[7], LIST[8]), list_cat(LIST[[7]], LIST[[8]])`)).toBeNull();
  });
});
