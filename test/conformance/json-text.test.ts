/**
 * jsonb turned into text inside a query, as Materialize writes it (issue 32, items 7, 8 and 10).
 * Own cases and data; each expectation was checked against MaterializeInc/materialize
 * test/sqllogictest/jsonb.slt:
 *
 * - `jsonb::text` / `CAST(… AS string)` is compact (`{"a":"b"}`), keys in byte order, numbers as
 *   numeric prints them; `NULL::jsonb::text` is NULL and `'null'::jsonb::text` is `null`;
 * - the container values of jsonb_each_text and jsonb_array_elements_text are that compact text;
 *   `->>` on the wrong shape or a missing key is NULL (`->>` of a container keeps PostgreSQL's
 *   spaced text here: docs/local-server.md);
 * - jsonb_agg(…) cast to text is compact too;
 * - to_jsonb(timestamp) is `"2014-05-28 12:22:35.614298"` (a space, no T), to_jsonb(timestamptz)
 *   is in UTC with `+00`, to_jsonb(date) is the date;
 * - `->`, `->>` and `-` with a bigint index past the integer range find nothing (NULL), as
 *   `'{}'::jsonb ->> -9223372036854775808` is NULL;
 * - a jsonb literal with a number of 40 integer digits is refused ("… is out of range for type
 *   numeric: exceeds maximum precision 39 at line 1"); 39 digits, or 40 inside a string, are kept.
 */
import { describe, expect, it } from 'vitest';
import { errorMessageOf, firstRowValues, serverForTests } from '../helpers/local-server.ts';

const t = serverForTests();

describe('jsonb as text', () => {
  it('a cast to text is compact, keys in byte order, numbers without trailing zeros', async () => {
    expect(
      await firstRowValues(
        t,
        `SELECT '{"zeta": 1, "id": [1, 2.50, "x, y"], "Name": {"b": null, "a": true}}'::jsonb::text,
                CAST('{"k": "v"}'::jsonb AS string), NULL::jsonb::text, 'null'::jsonb::text, '"plain"'::jsonb::text, '-0.0'::jsonb::text`,
      ),
    ).toEqual(['{"Name":{"a":true,"b":null},"id":[1,2.5,"x, y"],"zeta":1}', '{"k":"v"}', null, 'null', '"plain"', '0']);
  });

  it('->> and #>> of a scalar answer its text; on the wrong shape or a missing key, NULL', async () => {
    await t.query(`CREATE TABLE shapes (kind text, doc jsonb)`);
    await t.query(`INSERT INTO shapes VALUES
      ('list', '["zero", 1, null, [4, 5], {"deep": {"yes": 1, "b": 2}}]'),
      ('record', '{"name": "ada", "langs": ["en", "fr"], "pet": {"kind": "cat", "age": 3}, "none": null}'),
      ('scalar', '"just text"')`);
    expect(await firstRowValues(t, `SELECT doc ->> 0, doc ->> 1, doc ->> 2, doc ->> 9, doc ->> 'name', doc #>> '{4,deep,yes}' FROM shapes WHERE kind = 'list'`)).toEqual([
      'zero', '1', null, null, null, '1',
    ]);
    expect(await firstRowValues(t, `SELECT doc ->> 'name', doc ->> 'none', doc ->> 0, doc #>> '{pet,kind}', doc #>> '{langs,x}' FROM shapes WHERE kind = 'record'`)).toEqual([
      'ada', null, null, 'cat', null,
    ]);
    expect(await firstRowValues(t, `SELECT doc ->> 'name', doc ->> 1 FROM shapes WHERE kind = 'scalar'`)).toEqual([null, null]);
  });

  it('jsonb_each_text and jsonb_array_elements_text give containers as compact text', async () => {
    expect(await t.query(`SELECT key, value FROM jsonb_each_text('{"m": {"y": 1, "x": 2}, "l": [1, 2], "s": "str", "n": null}') ORDER BY key`)).toEqual([
      { key: 'l', value: '[1,2]' },
      { key: 'm', value: '{"x":2,"y":1}' },
      { key: 'n', value: null },
      { key: 's', value: 'str' },
    ]);
    expect(
      (await t.query<{ value: string | null }>(`SELECT value FROM jsonb_array_elements_text('[{"q": 1, "p": [true]}, "s", 7, null]')`)).map((row) => row.value),
    ).toEqual(['{"p":[true],"q":1}', 's', '7', null]);
  });

  it('jsonb_agg(…)::text is compact', async () => {
    expect(await firstRowValues(t, `SELECT jsonb_agg(doc ORDER BY kind)::text FROM shapes WHERE kind <> 'list'`)).toEqual([
      '[{"langs":["en","fr"],"name":"ada","none":null,"pet":{"age":3,"kind":"cat"}},"just text"]',
    ]);
  });

  it('a jsonb stored into a text column is written compact as well', async () => {
    await t.query(`CREATE TABLE json_as_text (t text)`);
    await t.query(`INSERT INTO json_as_text SELECT doc FROM shapes WHERE kind = 'record'`);
    expect(await firstRowValues(t, `SELECT t FROM json_as_text`)).toEqual(['{"langs":["en","fr"],"name":"ada","none":null,"pet":{"age":3,"kind":"cat"}}']);
  });
});

describe('to_jsonb of dates and times', () => {
  it('writes timestamps with a space, timestamptz in UTC, dates as they are', async () => {
    expect(
      await firstRowValues(
        t,
        `SELECT to_jsonb(TIMESTAMP '2021-03-04 05:06:07.25'), to_jsonb('2021-03-04 05:06:07-02'::timestamptz), to_jsonb(DATE '2021-03-04'), to_jsonb(NULL::timestamp)`,
      ),
    ).toEqual(['2021-03-04 05:06:07.25', '2021-03-04 07:06:07+00', '2021-03-04', null]);
  });
});

describe('numbers in jsonb literals', () => {
  const forty = '4'.repeat(40);
  it('refuses a number of more than 39 digits, with Materialize words', async () => {
    expect(await errorMessageOf(t, `SELECT '${forty}'::jsonb`)).toBe(
      `invalid input syntax for type jsonb: "${forty}" is out of range for type numeric: exceeds maximum precision 39 at line 1 column 40`,
    );
    expect(await errorMessageOf(t, `SELECT jsonb '{"big": [1, -${forty}]}'`)).toMatch(/^invalid input syntax for type jsonb: "-4{40}" is out of range for type numeric: exceeds maximum precision 39 at line 1/);
  });

  it('keeps 39 digits, and 40 digits inside a string', async () => {
    expect(await firstRowValues(t, `SELECT '${'9'.repeat(39)}'::jsonb::text, '{"id": "${forty}"}'::jsonb ->> 'id'`)).toEqual(['9'.repeat(39), forty]);
  });
});

describe('a jsonb index given as a bigint (jsonb.slt)', () => {
  it('finds nothing past the integer range, and works within it', async () => {
    expect(
      await firstRowValues(
        t,
        `SELECT '{}'::jsonb ->> -9223372036854775808, '{}'::jsonb - -9223372036854775808, '["p","q"]'::jsonb - 5000000000,
                '["p","q"]'::jsonb -> 1::bigint, '["p","q"]'::jsonb ->> 0::bigint, '["p","q"]'::jsonb - 0::bigint`,
      ),
    ).toEqual([null, null, ['p', 'q'], 'q', 'p', ['q']]);
  });
});
