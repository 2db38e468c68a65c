/**
 * Values as Materialize prints them (DESIGN.md "Text formats", Materialize's jsonb and map docs):
 * jsonb compact with keys sorted bytewise and numbers as numeric prints them, maps in braces with
 * elements quoted only when needed — over the simple and extended protocols, text and binary.
 * Own cases.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareBytewise, materializeJsonText, materializeMapText, normalizeNumber } from '../../scripts/local/sql/text-formats.ts';
import { post, startTestServer, type TestServer } from '../helpers/local-server.ts';

let t: TestServer;
/** A client that hands back the text exactly as it arrived. */
let raw: pg.Client;
beforeAll(async () => {
  t = await startTestServer();
  raw = new pg.Client({ connectionString: t.server.pgUrl, types: { getTypeParser: () => (value: string) => value } });
  await raw.connect();
});
afterAll(async () => {
  await raw?.end();
  await t?.close();
});

async function text(sql: string, values?: unknown[]): Promise<string[]> {
  const result = await raw.query({ text: sql, values: values as unknown[] | undefined, rowMode: 'array' });
  return result.rows.map((row) => (row as string[])[0]!);
}

describe('jsonb', () => {
  it('is compact with keys in byte order, over both protocols', async () => {
    const value = `{"bb": 2, "a": 1, "c": {"z": [1, 2.50, {"y": true, "x": null}], "é": "ü", "e": ""}}`;
    const expected = `{"a":1,"bb":2,"c":{"e":"","z":[1,2.5,{"x":null,"y":true}],"é":"ü"}}`;
    expect(await text(`SELECT '${value}'::jsonb`)).toEqual([expected]);
    expect(await text(`SELECT $1::jsonb`, [value])).toEqual([expected]);
  });

  it('numbers print as numeric: trailing zeros go, big ones keep every digit', async () => {
    expect(await text(`SELECT '[1.0, -0.50, 100, 12345678901234567890.000, 0.0]'::jsonb`)).toEqual(['[1,-0.5,100,12345678901234567890,0]']);
  });

  it('webhook bodies read back in the same format; NULLs stay NULL', async () => {
    await t.sql.query(`CREATE SOURCE fmt_hook FROM WEBHOOK BODY FORMAT JSON INCLUDE HEADERS`);
    const body = '{"zeta": 1, "alpha": {"nested": [3, 2, 1]}}';
    expect((await post(t.server.webhookUrl('fmt_hook'), body, { 'x-b': 'two words', 'x-a': '1' })).status).toBe(200);
    expect(await text(`SELECT body FROM fmt_hook`)).toEqual(['{"alpha":{"nested":[3,2,1]},"zeta":1}']);
    expect(await text(`SELECT NULL::jsonb`)).toEqual([null]);
  });
});

describe('map', () => {
  it('prints as {k=>v,…}: keys sorted, quoted only when needed', async () => {
    const [headers] = await text(`SELECT headers FROM fmt_hook`);
    expect(headers).toMatch(/^\{.*\}$/);
    expect(headers).toContain('x-a=>1');
    expect(headers).toContain('x-b=>"two words"');
    const keys = headers!.slice(1, -1).split(/,(?=[^,]*=>)/).map((pair) => pair.split('=>')[0]!);
    expect(keys).toEqual([...keys].sort(compareBytewise));
  });

  it('the formatter on its own: empty, NULL values, quotes and backslashes', () => {
    expect(materializeMapText('')).toBe('{}');
    expect(materializeMapText('"b"=>"two words", "a"=>NULL, "c"=>"NULL", "d"=>"", "e"=>"say \\"hi\\"", "f"=>"x=>y"')).toBe(
      '{a=>NULL,b=>"two words",c=>"NULL",d=>"",e=>"say \\"hi\\"",f=>"x=>y"}',
    );
  });
});

describe('the formatters', () => {
  it('sort keys by UTF-8 bytes, not UTF-16 units, and leave strings as written', () => {
    expect(materializeJsonText('{"\uffff": 1, "😀": 2, "a b": "x\\"y"}')).toBe('{"a b":"x\\"y","\uffff":1,"😀":2}');
    expect(normalizeNumber('-0.000')).toBe('0');
    expect(normalizeNumber('1e+20')).toBe('1e+20');
  });
});

describe('a map cast to text', () => {
  it('reads as Materialize prints maps, in SQL too (headers::text)', async () => {
    expect(await text(`SELECT '"b"=>"two words", "a"=>"1", "c"=>NULL, "d"=>""'::hstore::text`)).toEqual(['{a=>1,b=>"two words",c=>NULL,d=>""}']);
    const [headers] = await text(`SELECT headers::text FROM fmt_hook`);
    expect(headers).toContain('x-b=>"two words"');
  });
});

describe('numeric', () => {
  it('prints without trailing zeros, whatever its scale (Materialize trims them)', async () => {
    expect(await text(`SELECT x FROM (VALUES (1.50::numeric), (2.00::numeric(10,2)), (-0.10), (10), (NULL::numeric)) AS v(x)`)).toEqual(['1.5', '2', '-0.1', '10', null]);
    expect(await text(`SELECT round(10.0 / 4, 4)`)).toEqual(['2.5']);
  });
});
