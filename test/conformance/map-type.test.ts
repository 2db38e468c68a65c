/**
 * Materialize's map type beyond the webhook headers map (issue 32, item 3), carried by hstore on the
 * local server (catalog/lists-and-maps.sql, sql/collections.ts). Own cases and data; each
 * expectation was checked against Materialize's documentation:
 *
 * - doc/user/content/sql/types/map.md: `map[text=>T]` type names, MAP[k => v, …] and MAP(SELECT k,
 *   v …) constructors with the last value of a repeated key winning, text-to-map casts, the text
 *   form `{a=>1,b=>2}`, the operators `->`, `@>`, `<@`, `?`, `?&`, `?|`, and map_length;
 * - doc/user/content/sql/functions/_index.md: map_agg (last value of a key wins, in ORDER BY order)
 *   and map_build (a list of two-field records, the latest position winning);
 * - doc/user/content/sql/create-type.md: CREATE TYPE … AS MAP.
 *
 * Values are held as text locally (a map of int answers `->` with text); docs/local-server.md says so.
 */
import { describe, expect, it } from 'vitest';
import { firstRowValues, serverForTests } from '../helpers/local-server.ts';

const t = serverForTests();
const values = (sql: string) => firstRowValues(t, sql);

describe('constructing maps (map.md, Construction)', () => {
  it('MAP[k => v, …] prints as {k=>v,…} with keys in order', async () => {
    expect(await values(`SELECT MAP['plan' => 'pro', 'country' => 'NZ'], MAP['n' => 7, 'm' => -3]`)).toEqual(['{country=>NZ,plan=>pro}', '{m=>-3,n=>7}']);
  });

  it('the last value of a repeated key wins; MAP[] is empty; NULL values are kept', async () => {
    expect(await values(`SELECT MAP['k' => 1, 'k' => 2], MAP[]::map[text=>int], MAP['gone' => NULL::int]`)).toEqual(['{k=>2}', '{}', '{gone=>NULL}']);
  });

  it('MAP(SELECT key, value …) from a subquery, the last row of a key winning', async () => {
    expect(
      await values(`SELECT MAP(SELECT k, v FROM (VALUES ('x', 1, 1), ('y', 2, 2), ('x', 3, 3)) AS s(k, v, o) ORDER BY o)`),
    ).toEqual(['{x=>3,y=>2}']);
  });
});

describe('map types and casts (map.md, text to map casts)', () => {
  it('a text literal cast to map[text=>T], quoted elements and spaces allowed', async () => {
    expect(await values(`SELECT '{a=>1, b=>"two words"}'::map[text=>text], '{}'::map[text=>int]`)).toEqual(['{a=>1,b=>"two words"}', '{}']);
  });

  it('a text that is not a map is refused', async () => {
    await expect(t.query(`SELECT 'a=>1'::map[text=>int]`)).rejects.toThrow("invalid input syntax for type map: expected '{', found a");
  });

  it('columns of map[text=>int] and map[text=>double]; map text when cast to text', async () => {
    await t.query(`CREATE TABLE maps_held (counts map[text=>int], scores map[text=>double])`);
    await t.query(`INSERT INTO maps_held VALUES (MAP['clicks' => 4, 'views' => 10], '{a=>1.5}'::map[text=>double])`);
    expect(await values(`SELECT counts, scores, counts::text, counts -> 'views', counts -> 'none' FROM maps_held`)).toEqual([
      '{clicks=>4,views=>10}',
      '{a=>1.5}',
      '{clicks=>4,views=>10}',
      '10',
      null,
    ]);
  });

  it('CREATE TYPE … AS MAP names a map type', async () => {
    await t.query(`CREATE TYPE counter_map AS MAP (KEY TYPE = text, VALUE TYPE = int4)`);
    expect(await values(`SELECT MAP['z' => 26]::counter_map, map_length(MAP['z' => 26]::counter_map)`)).toEqual(['{z=>26}', 1]);
    await t.query(`DROP TYPE counter_map`);
  });
});

describe('map operators and functions (map.md, Operators)', () => {
  it('-> , @>, <@, ?, ?&, ?|', async () => {
    expect(
      await values(`SELECT MAP['a' => 1, 'b' => 2] -> 'b', MAP['a' => 1, 'b' => 2] @> MAP['a' => 1], MAP['a' => 1, 'b' => 2] <@ MAP['a' => 1],
        MAP['a' => 1] ? 'a', MAP['a' => 1, 'b' => 2] ?& ARRAY['b', 'a'], MAP['a' => 1, 'b' => 2] ?& ARRAY['c', 'b'],
        MAP['a' => 1, 'b' => 2] ?| ARRAY['c', 'b'], MAP['a' => 1, 'b' => 2] ?| ARRAY['c', 'd']`),
    ).toEqual(['2', true, false, true, true, false, true, false]);
  });

  it('?& with a NULL key is false: no key is NULL (map.slt; hstore alone skips NULLs and said true)', async () => {
    expect(await values(`SELECT MAP['a' => 1, 'b' => 2] ?& ARRAY[NULL], MAP['a' => 1] ?& ARRAY['a', NULL], MAP['a' => 1] ?& ARRAY['a']`)).toEqual([false, false, true]);
  });

  it('map_length counts entries', async () => {
    expect(await values(`SELECT map_length(MAP['a' => 1, 'b' => 2]), map_length(MAP[]::map[text=>int])`)).toEqual([2, 0]);
  });

  it('map_agg: the last value of a key in ORDER BY order wins, NULL values kept', async () => {
    await t.query(`CREATE TABLE trait_updates (user_id text, trait text, value text, at int)`);
    await t.query(`INSERT INTO trait_updates VALUES ('u1', 'plan', 'free', 1), ('u1', 'plan', 'pro', 2), ('u1', 'city', NULL, 3), ('u2', 'plan', 'team', 1)`);
    const rows = await t.query(`SELECT user_id, map_agg(trait, value ORDER BY at)::text AS traits FROM trait_updates GROUP BY user_id ORDER BY user_id`);
    expect(rows).toEqual([
      { user_id: 'u1', traits: '{city=>NULL,plan=>pro}' },
      { user_id: 'u2', traits: '{plan=>team}' },
    ]);
  });

  it('map_build from a list of records, the latest position winning', async () => {
    expect(await values(`SELECT map_build(LIST[ROW('a', 1), ROW('b', 2), ROW('a', 3)])`)).toEqual(['{a=>3,b=>2}']);
  });
});

describe('what Materialize refuses about maps (map.slt)', () => {
  it('@> and <@ of two maps cast to different value types: no such operator', async () => {
    await expect(t.query(`SELECT '{plan=>1}'::map[text=>int] @> '{plan=>t}'::map[text=>bool]`)).rejects.toThrow(
      "no overload for map[text=>integer] @> map[text=>boolean]: arguments cannot be implicitly cast to any implementation's parameters",
    );
    await expect(t.query(`SELECT '{a=>{b=>c}}'::map[text=>map[text=>text]] <@ '{a=>c}'::map[text=>text]`)).rejects.toThrow('arguments cannot be implicitly cast');
    // The same types still compare.
    expect(await values(`SELECT '{plan=>1, seats=>3}'::map[text=>int] @> '{seats=>3}'::map[text=>int]`)).toEqual([true]);
  });

  it('CREATE TYPE … AS MAP options must name types: a relation or an unknown name is refused', async () => {
    await t.query(`CREATE TABLE map_option_rel (a int)`);
    await expect(t.query(`CREATE TYPE rel_valued AS MAP (KEY TYPE = text, VALUE TYPE = map_option_rel)`)).rejects.toThrow(
      'value_type must be of class type, but received materialize.public.map_option_rel which is of class table',
    );
    await expect(t.query(`CREATE TYPE enum_keyed AS MAP (key_type = pg_enum, value_type = text)`)).rejects.toThrow(
      'key_type must be of class type, but received pg_catalog.pg_enum which is of class view',
    );
    await expect(t.query(`CREATE TYPE odd_map AS MAP (key_type = text, value_type = bool, extra_type = no_such_type)`)).rejects.toThrow(
      "unknown catalog item 'no_such_type'",
    );
    await t.query(`CREATE TYPE string_valued AS MAP (key_type = text, value_type = string)`);
    expect(await values(`SELECT '{k=>v}'::string_valued::text`)).toEqual(['{k=>v}']);
  });
});
