/**
 * Map text read as Materialize reads it, and the map statements it refuses (issue 32; own cases
 * and data, checked against MaterializeInc/materialize test/sqllogictest/map.slt):
 * - a value type other than text reads each value as that type: `{…, c=>2.0}` as map[text=>bool]
 *   fails with "invalid input syntax for type boolean" and true prints as t (map.slt ~lines 50-60);
 * - `map[int=>bool]`: "map key type must be text, got integer" (~line 47);
 * - bare elements keep inner spaces and escaped characters, a repeated key keeps its last value;
 * - CREATE TYPE … AS MAP with `numeric(38,0)` or `int4 list` as the value type is refused, and one
 *   with no value_type (~lines 20-37 of map.slt at ba3630ef, Materialize's current file, whose
 *   words these are); map text cast to a created map type is read as map text (~lines 330-420);
 * scripts/local/sql/map-refusals.ts, sql/collections.ts, catalog/lists-and-maps.sql (map_in_as).
 */
import { describe, expect, it } from 'vitest';
import { firstRowValues, serverForTests } from '../helpers/local-server.ts';

const t = serverForTests();
const values = (sql: string) => firstRowValues(t, sql);

describe('map text of a typed map', () => {
  it('reads and prints each value as the value type', async () => {
    expect(await values(`SELECT ('{paid=>true, trial=>f}'::map[text=>bool])::text, ('{d=>2024-02-29}'::map[text=>date])::text`)).toEqual([
      '{paid=>t,trial=>f}',
      '{d=>2024-02-29}',
    ]);
    await expect(t.query(`SELECT '{paid=>maybe}'::map[text=>bool]`)).rejects.toThrow('invalid input syntax for type boolean: "maybe"');
    expect(await values(`SELECT '{n=>12, m=>NULL}'::map[text=>int] -> 'n', ('{n=>12, m=>NULL}'::map[text=>int])::text`)).toEqual(['12', '{m=>NULL,n=>12}']);
  });

  it('reads bare values with inner spaces and escapes, the last value of a repeated key winning (map.slt ~lines 35, 61-80)', async () => {
    expect(
      await values(`SELECT ('{ seen => 2024-03-01 08:15:00 , seen=>2024-03-02 09:00:00}'::map[text=>timestamp])::text,
        ('{note=> two  words \\ , "q"=>"a \\"b\\""}'::map[text=>text])::text`),
    ).toEqual(['{seen=>"2024-03-02 09:00:00"}', '{note=>"two  words  ",q=>"a \\"b\\""}']);
    await expect(t.query(`SELECT '{"open=>1}'::map[text=>int]`)).rejects.toThrow('unterminated quoted string');
  });

  it("refuses a nested map's value that is not map text, and a nested map where a scalar is due (map.slt ~lines 94-107)", async () => {
    await expect(t.query(`SELECT '{outer=>plain}'::map[text=>map[text=>int]]`)).rejects.toThrow(`expected '{', found p: "plain": "{outer=>plain}"`);
    await expect(t.query(`SELECT '{flag=>{on=>true}}'::map[text=>bool]`)).rejects.toThrow("unescaped '{' at beginning of value; perhaps you want a nested map");
    expect(await values(`SELECT ('{outer=>{inner=>5}}'::map[text=>map[text=>int]] -> 'outer')::text`)).toEqual(['{inner=>5}']);
  });

  it('reads map text cast to a created map type', async () => {
    await t.query(`CREATE TYPE plan_counts AS MAP (KEY TYPE = text, VALUE TYPE = int4)`);
    expect(await values(`SELECT '{pro=>4,free=>9}'::plan_counts::text, ('{pro=>4}'::plan_counts -> 'pro')::text`)).toEqual(['{free=>9,pro=>4}', '4']);
  });
});

describe('refused as Materialize refuses them', () => {
  it('a map key type other than text', async () => {
    await expect(t.query(`SELECT '{7=>true}'::map[int=>bool]`)).rejects.toThrow('map key type must be text, got integer');
  });

  it('CREATE TYPE … AS MAP with a type modifier or an unnamed list type as the value type', async () => {
    await expect(t.query(`CREATE TYPE prices AS MAP (key_type = text, value_type = numeric(10,2))`)).rejects.toThrow(
      'CREATE TYPE ... AS MAP option "value_type" cannot accept type modifier on numeric, you must use the default type',
    );
    await expect(t.query(`CREATE TYPE tags AS MAP (KEY TYPE = text, VALUE TYPE = int4 list)`)).rejects.toThrow(
      'CREATE TYPE ... AS LIST option "value_type" can only use named data types, but found unnamed data type int4 list',
    );
    await expect(t.query(`CREATE TYPE half AS MAP (key_type = text)`)).rejects.toThrow('value_type parameter required');
    await t.query(`CREATE TYPE prices_ok AS MAP (KEY TYPE = text, VALUE TYPE = numeric)`);
  });
});
