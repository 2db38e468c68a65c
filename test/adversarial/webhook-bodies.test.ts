/**
 * Hostile and odd webhook bodies against the local server: deep nesting (which once wedged the
 * engine), text jsonb cannot hold, malformed JSON answered in serde_json's words as Materialize
 * does — and the server keeps answering HTTP and SQL after every one of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonScanError, scanJsonStream } from '../../scripts/local/sql/json-scan.ts';
import { hmacHex, post, startTestServer, type TestServer } from '../helpers/local-server.ts';

let t: TestServer;
const SECRET = 'adversarial-secret';

beforeAll(async () => {
  t = await startTestServer();
  await t.query(`CREATE SECRET adv_secret AS '${SECRET}'`);
  await t.query(`CREATE SOURCE adv_json FROM WEBHOOK BODY FORMAT JSON ARRAY`);
  await t.query(
    `CREATE SOURCE adv_signed FROM WEBHOOK BODY FORMAT JSON ARRAY INCLUDE HEADERS
       CHECK (WITH (BODY AS b BYTES, HEADERS, SECRET adv_secret AS s BYTES) constant_time_eq(decode(headers->'x-signature', 'hex'), hmac(b, s, 'sha1')))`,
  );
});
afterAll(async () => {
  await t?.close();
});

const deep = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

async function stillServing(): Promise<void> {
  const ok = await post(t.server.webhookUrl('adv_json'), '{"alive":true}');
  expect(ok.status).toBe(200);
  expect(await t.query(`SELECT 1 AS one`)).toEqual([{ one: 1 }]);
}

describe('deep nesting never reaches the engine', () => {
  it('a body nested 10,000 levels deep, twice, unsigned and signed: 400 recursion limit exceeded, the server keeps serving', async () => {
    const body = deep(10_000);
    for (let attempt = 0; attempt < 2; attempt++) {
      const unsigned = await post(t.server.webhookUrl('adv_json'), body);
      expect(unsigned).toEqual({ status: 400, text: 'failed to deserialize body as Jsonb: recursion limit exceeded at line 1 column 128' });
      // With a wrong signature the CHECK decides first, as in Materialize.
      const wrong = await post(t.server.webhookUrl('adv_signed'), body, { 'x-signature': '00' });
      expect(wrong).toEqual({ status: 400, text: 'failed to validate the request' });
      const signed = await post(t.server.webhookUrl('adv_signed'), body, { 'x-signature': hmacHex(SECRET, body) });
      expect(signed.status).toBe(400);
      expect(signed.text).toMatch(/recursion limit exceeded/);
    }
    await stillServing();
  });

  it('127 levels are stored; 128 are refused (serde_json’s limit), objects as arrays', async () => {
    expect((await post(t.server.webhookUrl('adv_json'), `[${deep(126)}]`)).status).toBe(200);
    expect((await post(t.server.webhookUrl('adv_json'), `[${deep(127)}]`)).text).toBe('failed to deserialize body as Jsonb: recursion limit exceeded at line 1 column 128');
    const objects = '{"a":'.repeat(128) + '1' + '}'.repeat(128);
    expect((await post(t.server.webhookUrl('adv_json'), objects)).text).toBe('failed to deserialize body as Jsonb: recursion limit exceeded at line 1 column 636');
    await stillServing();
  });
});

describe('text jsonb cannot hold, and malformed JSON, in serde_json’s words', () => {
  it.each([
    ['a lone leading surrogate', '[{"a":"x\\ud83d"}]', 'unexpected end of hex escape at line 1 column 15'],
    ['a lone trailing surrogate', '[{"a":"\\udc00"}]', 'lone leading surrogate in hex escape at line 1 column 13'],
    ['a NUL escape', '{"a":"\\u0000"}', 'unsupported Unicode escape sequence: \\u0000 cannot be stored at line 1 column 12'],
    ['a missing value', '{"a": }', 'expected value at line 1 column 7'],
    ['a trailing comma', '[1,2,]', 'trailing comma at line 1 column 6'],
    ['an unquoted key', '{a:1}', 'key must be a string at line 1 column 2'],
    ['a cut-off object', '{"a":1', 'EOF while parsing an object at line 1 column 6'],
    ['a raw control character', '["a\tb"]', 'control character (\\u0000-\\u001F) found while parsing a string at line 1 column 4'],
    ['a bad literal', '[tru]', 'expected ident at line 1 column 5'],
    ['a leading zero', '[01]', 'invalid number at line 1 column 3'],
    ['an error on a later line', '{"ok":1}\n{"ok":2}\n{"bad" 3}', 'expected `:` at line 3 column 8'],
  ])('%s: 400 with the position, nothing stored', async (_name, body, message) => {
    const before = await t.query(`SELECT count(*)::int AS n FROM adv_json`);
    const response = await post(t.server.webhookUrl('adv_json'), body);
    expect(response).toEqual({ status: 400, text: `failed to deserialize body as Jsonb: ${message}` });
    expect(await t.query(`SELECT count(*)::int AS n FROM adv_json`)).toEqual(before);
  });

  it('a paired surrogate escape and raw emoji are stored as the character they spell', async () => {
    expect((await post(t.server.webhookUrl('adv_json'), '{"pair":"\\ud83d\\ude00","raw":"😀"}')).status).toBe(200);
    expect(await t.query(`SELECT body->>'pair' AS pair, body->>'raw' AS raw FROM adv_json WHERE body ? 'pair'`)).toEqual([{ pair: '😀', raw: '😀' }]);
  });
});

describe('the scanner on its own', () => {
  it('finds each value of a stream and the elements of top-level arrays', () => {
    const text = ' [1, {"a": [2]}, "x"] {"b":null}\n7 "s" [] ';
    const spans = scanJsonStream(text);
    expect(spans.map((span) => [text.slice(span.start, span.end), span.arrayElements])).toEqual([
      ['[1, {"a": [2]}, "x"]', 3],
      ['{"b":null}', -1],
      ['7', -1],
      ['"s"', -1],
      ['[]', 0],
    ]);
  });

  it('reads numbers and strings whole, and fails where serde_json does inside them', () => {
    const text = '[-0.5e+10, 0, 12.25E-3, 7, "plain", "esc\\"aped\\u00e9", ""]';
    expect(scanJsonStream(text)).toEqual([{ start: 0, end: text.length, arrayElements: 7 }]);
    const failures = ['[1.]', '[1e]', '[-]', '[1.5.2]', '[1e+]', '["a\\x"]', '["open'].map((body) => {
      try {
        scanJsonStream(body);
        return 'accepted';
      } catch (error) {
        return (error as Error).message;
      }
    });
    expect(failures).toEqual([
      'invalid number at line 1 column 4',
      'invalid number at line 1 column 4',
      'invalid number at line 1 column 3',
      'expected `,` or `]` at line 1 column 5',
      'invalid number at line 1 column 5',
      'invalid escape at line 1 column 5',
      'EOF while parsing a string at line 1 column 6',
    ]);
  });

  it('counts columns in UTF-8 bytes, as serde_json does', () => {
    expect(() => scanJsonStream('["é", x]')).toThrow(new JsonScanError('expected value at line 1 column 8', 7));
  });

  it('scans a 2 MB body of 2,000 events in one pass', () => {
    const event = JSON.stringify({ messageId: 'm', properties: { list: [1, 2, { deep: [true, null, -1.5e3] }], text: 'ünïcödé \\"quoted\\"' } });
    const body = `[${Array(2_000).fill(event).join(',')}]`;
    expect(scanJsonStream(body)).toEqual([{ start: 0, end: body.length, arrayElements: 2_000 }]);
  });
});

describe('deep JSON in SQL', () => {
  it('a jsonb literal nested 10,000 levels deep is refused like Materialize’s parser does, twice, and the server keeps serving', async () => {
    const literal = deep(10_000);
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await t.query(`SELECT '${literal}'::jsonb AS j`).catch((caught: Error & { code?: string }) => caught);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error & { code?: string }).code).toBe('22P02');
      expect((error as Error).message).toBe('invalid input syntax for type jsonb: recursion limit exceeded at line 1 column 128');
    }
    expect(await t.query(`SELECT jsonb_typeof('${deep(100)}'::jsonb) AS kind`)).toEqual([{ kind: 'array' }]);
    await stillServing();
  });
});
