/**
 * A list of lists sent to a client as Materialize writes it (scripts/local/sql/lists/list-wire-text.ts):
 * from PostgreSQL's text of the carrier (an array of one-field rows) to `{{1},{2,3}}`. The inputs
 * are what PGlite writes for those values (array_out of mz_local.<T>_l<n>[]); the outputs are
 * Materialize's list text (doc/user/content/sql/types/list.md; list.slt: `{{1},{2,3}}`,
 * `{foo,"f}o","\"\\",NULL,null,"NULL"}`), and each equals the server's own `::text` of the value.
 */
import { describe, expect, it } from 'vitest';
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
