/**
 * A list of lists sent to a client as Materialize writes it (scripts/local/sql/lists/list-wire-text.ts):
 * from PostgreSQL's text of the carrier (an array of one-field rows) to `{{1},{2,3}}`. The inputs
 * are what PGlite writes for those values (array_out of mz_local.<T>_l<n>[]); the outputs are
 * Materialize's list text (doc/user/content/sql/types/list.md; list.slt: `{{1},{2,3}}`,
 * `{foo,"f}o","\"\\",NULL,null,"NULL"}`), and each equals the server's own `::text` of the value.
 */
import { describe, expect, it } from 'vitest';
import { serverForTests } from '../helpers/local-server.ts';
import { materializeLayeredListText } from '../../scripts/local/sql/lists/list-wire-text.ts';

describe('materializeLayeredListText', () => {
  it('two layers: ragged, NULL and empty inner lists', () => {
    expect(materializeLayeredListText('{"({1})","(\\"{2,3}\\")",NULL,"({})"}', 2)).toBe('{{1},{2,3},NULL,{}}');
    expect(materializeLayeredListText('{}', 2)).toBe('{}');
  });

  it("quotes an element as Materialize does: null bare, NULL, empty, spaces, quotes and braces quoted", () => {
    const pgText = '{"(\\"{\\"\\"a b\\"\\",\\"\\"null\\"\\",\\"\\"NULL\\"\\",\\"\\"\\"\\",NULL,\\"\\"{x}\\"\\",plain}\\")"}';
    expect(materializeLayeredListText(pgText, 2)).toBe('{{"a b",null,"NULL","",NULL,"{x}",plain}}');
  });

  it('three and four layers, with quotes and parentheses inside the elements', () => {
    const three =
      '{"(\\"{\\"\\"(\\\\\\\\\\"\\"{\\\\\\\\\\"\\"\\\\\\\\\\"\\"\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\"\\"\\\\\\\\\\"\\"\\\\\\\\\\"\\"\\\\\\\\\\"\\"}\\\\\\\\\\"\\")\\"\\",NULL}\\")","(\\"{\\"\\"(\\\\\\\\\\"\\"{\\\\\\\\\\"\\"\\\\\\\\\\"\\"a,b\\\\\\\\\\"\\"\\\\\\\\\\"\\",c}\\\\\\\\\\"\\")\\"\\"}\\")"}';
    expect(materializeLayeredListText(three, 3)).toBe('{{{"\\""},NULL},{{"a,b",c}}}');
  });
});

describe('over the wire', () => {
  const t = serverForTests();

  it('a list of lists reaches a client as Materialize writes it, in a query and from a table (text format)', async () => {
    // list.slt: `SELECT LIST[[1],[2,3]]` is `{{1},{2,3}}`; node-postgres asks for text.
    expect(await t.query(`SELECT LIST[[1],[2,3]] AS l, LIST[[['a b']], NULL] AS deep`)).toEqual([{ l: '{{1},{2,3}}', deep: '{{{"a b"}},NULL}' }]);
    await t.query(`CREATE TABLE visits_by_day (u text, days int list list)`);
    await t.query(`INSERT INTO visits_by_day VALUES ('ann', LIST[[1, 2], [3]]), ('bob', NULL)`);
    expect(await t.query(`SELECT u, days FROM visits_by_day ORDER BY u`)).toEqual([
      { u: 'ann', days: '{{1,2},{3}}' },
      { u: 'bob', days: null },
    ]);
    // A one-layer list is an array, as before: node-postgres parses it as one.
    expect(await t.query(`SELECT LIST[1, 2] AS l`)).toEqual([{ l: [1, 2] }]);
  });
});
