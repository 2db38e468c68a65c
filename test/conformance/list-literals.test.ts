/**
 * Materialize's list text read for a list of lists' carrier (scripts/local/sql/lists/list-literals.ts).
 * The list text rules are list.md's ("Text to list casts": braces, commas, white space around an
 * element ignored, double quotes and backslash escapes, unquoted NULL is NULL); the outputs are the
 * text PostgreSQL reads for an array of one-field rows (array_in / record_in).
 */
import { describe, expect, it } from 'vitest';
import { layeredListCarrierText } from '../../scripts/local/sql/lists/list-literals.ts';

describe('layeredListCarrierText', () => {
  it('two layers: ragged, NULL and empty inner lists, white space ignored', () => {
    expect(layeredListCarrierText(' { {7} , {8, 9}, NULL, {} } ', 2)).toBe('{"(\\"{\\"\\"7\\"\\"}\\")","(\\"{\\"\\"8\\"\\",\\"\\"9\\"\\"}\\")",NULL,"(\\"{}\\")"}');
  });

  it('quoted elements and escapes are taken as written; an unquoted null is NULL, a quoted one is text', () => {
    expect(layeredListCarrierText('{{"a,b", c\\}d, null, "NULL"}}', 2)).toBe('{"(\\"{\\"\\"a,b\\"\\",\\"\\"c}d\\"\\",NULL,\\"\\"NULL\\"\\"}\\")"}');
  });

  it('is null for text that is no list of that many layers', () => {
    expect(layeredListCarrierText('{1,2}', 2)).toBeNull();
    expect(layeredListCarrierText('{{1}', 2)).toBeNull();
    expect(layeredListCarrierText('{{1}} trailing', 2)).toBeNull();
    expect(layeredListCarrierText('{{"open}}', 2)).toBeNull();
  });
});
