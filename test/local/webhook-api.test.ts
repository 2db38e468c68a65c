/**
 * Conformance of the webhook HTTP API with Materialize's documented behaviour (DESIGN.md and
 * src/environmentd/src/http/webhook.rs): formats, header rules, CHECK variants, status codes and
 * texts, atomic appends.
 */
import http from 'node:http';
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hmacHex, post, startTestServer, type TestServer } from '../helpers/local-server.ts';

const SECRET = 'webhook-test-secret';
let t: TestServer;
const url = (source: string) => t.server.webhookUrl(source);
const count = async (table: string) => Number((await t.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`))[0]!.n);

beforeAll(async () => {
  t = await startTestServer();
  await t.sql.query(`CREATE SECRET hook_secret AS '${SECRET}'`);
  await t.sql.query(`CREATE SECRET api_key AS 'key-123'`);
  // The seed's source: JSON ARRAY, hex HMAC-SHA1 over the body bytes, secret as bytes.
  await t.sql.query(`CREATE SOURCE signed FROM WEBHOOK BODY FORMAT JSON ARRAY
    INCLUDE HEADER 'event-type' AS event_type
    INCLUDE HEADERS
    CHECK (WITH (BODY BYTES, HEADERS, SECRET hook_secret BYTES AS validation_secret)
      constant_time_eq(decode(headers->'x-signature', 'hex'), hmac(body, validation_secret, 'sha1')))`);
  await t.sql.query(`CREATE SOURCE text_source FROM WEBHOOK BODY FORMAT TEXT`);
  await t.sql.query(`CREATE SOURCE ndjson FROM WEBHOOK BODY FORMAT JSON`);
  await t.sql.query(`CREATE SOURCE raw FROM WEBHOOK BODY FORMAT BYTES INCLUDE HEADER 'x-id' AS id BYTES INCLUDE HEADER 'x-note' AS note`);
  // base64 HMAC-SHA256, body and secret as text (no BYTES).
  await t.sql.query(`CREATE SOURCE b64 FROM WEBHOOK BODY FORMAT JSON
    CHECK (WITH (BODY AS request_body, HEADERS, SECRET hook_secret AS s)
      constant_time_eq(headers->'x-sig', encode(hmac(request_body, s, 'sha256'), 'base64')))`);
  await t.sql.query(`CREATE SOURCE keyed FROM WEBHOOK BODY FORMAT JSON
    CHECK (WITH (HEADERS, SECRET api_key) constant_time_eq(headers->'x-api-key', api_key))`);
  await t.sql.query(`CREATE SOURCE fresh FROM WEBHOOK BODY FORMAT JSON
    CHECK (WITH (HEADERS) (headers->'x-timestamp')::timestamptz > now() - INTERVAL '5 minutes')`);
  await t.sql.query(`CREATE SOURCE header_bytes FROM WEBHOOK BODY FORMAT TEXT
    CHECK (WITH (HEADERS BYTES AS h) h->'x-token' = '\\x6f6b'::bytea)`);
  await t.sql.query(`CREATE SOURCE allowed FROM WEBHOOK BODY FORMAT TEXT INCLUDE HEADERS ('x-a', 'x-b')`);
  await t.sql.query(`CREATE SOURCE blocked FROM WEBHOOK BODY FORMAT TEXT INCLUDE HEADERS (NOT 'authorization')`);
}, 60_000);

afterAll(async () => {
  await t?.close();
});

function signed(body: string, extra: Record<string, string> = {}) {
  return post(url('signed'), body, { 'x-signature': hmacHex(SECRET, body), 'event-type': 'track', ...extra });
}

describe('body formats', () => {
  it('JSON ARRAY: one row per element, a lone object is one row, [] is none, nested arrays stay whole', async () => {
    const before = await count('signed');
    expect(await signed(JSON.stringify([{ messageId: 'a1' }, { messageId: 'a2' }, { messageId: 'a3' }]))).toEqual({ status: 200, text: '' });
    expect((await signed(JSON.stringify({ messageId: 'a4' }))).status).toBe(200);
    expect((await signed('[]')).status).toBe(200);
    expect((await signed('[[1,2]]')).status).toBe(200);
    expect(await count('signed')).toBe(before + 5);
    const nested = await t.query<{ body: unknown }>(`SELECT body FROM signed WHERE jsonb_typeof(body) = 'array'`);
    expect(nested.map((row) => row.body)).toEqual([[1, 2]]);
  });

  it('JSON reads a stream of values: NDJSON lines are rows, an array stays one row', async () => {
    const before = await count('ndjson');
    expect((await post(url('ndjson'), '{"n":1}\n{"n":2}\n[3,4]\n')).status).toBe(200);
    expect((await post(url('ndjson'), '{"n":5}{"n":6} 7')).status).toBe(200);
    const rows = await t.query<{ body: unknown }>('SELECT body FROM ndjson');
    expect(rows.length).toBe(before + 6);
    expect(rows.map((row) => row.body)).toEqual(expect.arrayContaining([{ n: 1 }, { n: 2 }, [3, 4], 7]));
  });

  it('TEXT stores UTF-8 text and refuses invalid UTF-8 with 400', async () => {
    expect((await post(url('text_source'), 'héllo')).status).toBe(200);
    const invalid = await post(url('text_source'), Buffer.from([0x68, 0xff, 0xfe]));
    expect(invalid.status).toBe(400);
    expect(invalid.text).toMatch(/^failed to deserialize body as String: /);
    expect(await t.query('SELECT body FROM text_source')).toEqual([{ body: 'héllo' }]);
  });

  it('BYTES stores the body as received; INCLUDE HEADER columns in declaration order, BYTES or text', async () => {
    const body = Buffer.from([0, 1, 2, 255]);
    expect((await post(url('raw'), body, { 'x-id': 'abc', 'x-note': 'hi' })).status).toBe(200);
    expect((await post(url('raw'), body)).status).toBe(200);
    const rows = await t.query<{ body: Buffer; id: Buffer | null; note: string | null }>('SELECT * FROM raw ORDER BY note NULLS LAST');
    expect(rows[0]).toEqual({ body, id: Buffer.from('abc'), note: 'hi' });
    expect(rows[1]).toEqual({ body, id: null, note: null });
    const columns = await t.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'signed' ORDER BY ordinal_position`,
    );
    expect(columns.map((column) => column.column_name)).toEqual(['body', 'headers', 'event_type']);
  });

  it('malformed JSON is a 400 with the parse error, and nothing is stored', async () => {
    const before = await count('ndjson');
    const response = await post(url('ndjson'), '{"n": 1');
    expect(response.status).toBe(400);
    expect(response.text).toMatch(/^failed to deserialize body as Jsonb: /);
    expect(await count('ndjson')).toBe(before);
  });

  it('appends all rows of a request or none: one bad element (\\u0000, refused by jsonb) rejects the batch', async () => {
    const before = await count('signed');
    const response = await signed('[{"messageId":"ok-1"},{"messageId":"bad\\u0000"},{"messageId":"ok-2"}]');
    expect(response.status).toBe(400);
    expect(response.text).toMatch(/^failed to deserialize body as Jsonb: /);
    expect(await count('signed')).toBe(before);
  });
});

describe('headers', () => {
  it('lower-cases names; the headers column and INCLUDE HEADER see them', async () => {
    expect((await signed('{"messageId":"h1"}', { 'X-Custom': 'Value' })).status).toBe(200);
    const [row] = await t.query<{ custom: string; event_type: string }>(
      `SELECT headers->'x-custom' AS custom, event_type FROM signed WHERE body->>'messageId' = 'h1'`,
    );
    expect(row).toEqual({ custom: 'Value', event_type: 'track' });
  });

  it('a header sent twice is a 401', async () => {
    const status = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const request = http.request(url('text_source'), { method: 'POST' }, (response) => {
        let text = '';
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode!, text }));
      });
      request.on('error', reject);
      request.setHeader('x-dup', ['one', 'two']);
      request.end('body');
    });
    expect(status).toEqual({ status: 401, text: 'headers of request were invalid: x-dup provided more than once' });
  });

  it('INCLUDE HEADERS (…) keeps only the allowed names; (NOT …) drops the blocked ones', async () => {
    await post(url('allowed'), 'a', { 'x-a': '1', 'x-b': '2', 'x-c': '3' });
    await post(url('blocked'), 'b', { authorization: 'Bearer secret', 'x-keep': 'yes' });
    const [allowed] = await t.query<{ keys: string[] }>(`SELECT akeys(headers) AS keys FROM allowed`);
    expect(allowed!.keys.sort()).toEqual(['x-a', 'x-b']);
    const [blocked] = await t.query<{ auth: string | null; keep: string }>(
      `SELECT headers->'authorization' AS auth, headers->'x-keep' AS keep FROM blocked`,
    );
    expect(blocked).toEqual({ auth: null, keep: 'yes' });
  });
});

describe('CHECK', () => {
  it('hex HMAC-SHA1 over the exact body: right signature 200, wrong 400, missing 400', async () => {
    const body = '{"messageId":"c1"}';
    expect((await signed(body)).status).toBe(200);
    expect(await post(url('signed'), body, { 'x-signature': hmacHex('wrong', body) })).toEqual({
      status: 400,
      text: 'failed to validate the request',
    });
    expect((await post(url('signed'), body)).text).toBe('failed to validate the request');
    // Same JSON, different bytes: the signature covers the bytes, not the value.
    expect((await post(url('signed'), '{ "messageId": "c1" }', { 'x-signature': hmacHex(SECRET, body) })).status).toBe(400);
  });

  it('invalid hex in the signature is an error while validating, with no detail', async () => {
    expect(await post(url('signed'), '{}', { 'x-signature': 'not-hex!' })).toEqual({
      status: 400,
      text: 'error occurred while running validation',
    });
  });

  it('a bad signature on a malformed body is a validation failure: CHECK runs before parsing', async () => {
    expect(await post(url('signed'), '{oops', { 'x-signature': hmacHex('wrong', '{oops') })).toEqual({
      status: 400,
      text: 'failed to validate the request',
    });
  });

  it('base64 HMAC-SHA256 with text bindings', async () => {
    const body = '{"ok":true}';
    const signature = createHmac('sha256', SECRET).update(body).digest('base64');
    expect((await post(url('b64'), body, { 'x-sig': signature })).status).toBe(200);
    expect((await post(url('b64'), body, { 'x-sig': 'AAAA' })).status).toBe(400);
  });

  it('header equality with a secret (no BYTES)', async () => {
    expect((await post(url('keyed'), '{}', { 'x-api-key': 'key-123' })).status).toBe(200);
    expect((await post(url('keyed'), '{}', { 'x-api-key': 'key-124' })).status).toBe(400);
  });

  it('HEADERS BYTES gives a map of bytea values', async () => {
    expect((await post(url('header_bytes'), 'x', { 'x-token': 'ok' })).status).toBe(200);
    expect((await post(url('header_bytes'), 'x', { 'x-token': 'no' })).status).toBe(400);
  });

  it('now() in a CHECK is the receive time: a fresh timestamp passes, an old one fails', async () => {
    expect((await post(url('fresh'), '{}', { 'x-timestamp': new Date().toISOString() })).status).toBe(200);
    const old = new Date(Date.now() - 60 * 60 * 1000).toISOString();
    expect((await post(url('fresh'), '{}', { 'x-timestamp': old })).status).toBe(400);
  });

  it('a secret that has gone missing is a 404 "the required auth could not be found"', async () => {
    await t.sql.query(`CREATE SECRET doomed AS 'x'`);
    await t.sql.query(`CREATE SOURCE needs_doomed FROM WEBHOOK BODY FORMAT TEXT CHECK (WITH (SECRET doomed) doomed = 'x')`);
    expect((await post(url('needs_doomed'), 'a')).status).toBe(200);
    // A race Materialize can hit mid-deploy; here the row is removed under the source's feet.
    await t.sql.query(`DELETE FROM mz_local.secrets WHERE name = 'doomed'`);
    expect(await post(url('needs_doomed'), 'b')).toEqual({ status: 404, text: 'the required auth could not be found' });
  });
});

describe('routing and limits', () => {
  it('unknown source, database or schema: 404 naming the path', async () => {
    expect(await post(url('nope'), '{}')).toEqual({ status: 404, text: `no object was found at the path "'materialize.public.nope'"` });
    const otherDb = t.server.webhookUrl('signed').replace('/materialize/', '/otherdb/');
    expect((await post(otherDb, '{}')).status).toBe(404);
    expect((await post(`${t.server.webhookBaseUrl}/too/short`, '{}')).status).toBe(404);
  });

  it('percent-decodes the path segments', async () => {
    await t.sql.query(`CREATE SOURCE "odd name" FROM WEBHOOK BODY FORMAT TEXT`);
    expect((await post(url('odd name'), 'x')).status).toBe(200);
    const [row] = await t.query<{ url: string }>(`SELECT url FROM mz_internal.mz_webhook_sources WHERE name = 'odd name'`);
    expect(row!.url).toBe(`${t.server.webhookBaseUrl}/materialize/public/odd%20name`);
  });

  it('wrong method is a 405 with Allow: POST', async () => {
    const response = await fetch(url('signed'));
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });

  it('a body of exactly the limit is accepted, one byte more is a 413', async () => {
    const limit = 2 * 1024 * 1024;
    expect((await post(url('raw'), Buffer.alloc(limit, 1))).status).toBe(200);
    const over = await post(url('raw'), Buffer.alloc(limit + 1, 1));
    expect(over.status).toBe(413);
  });

  it('ALTER SOURCE … RENAME: the old URL is a 404, the new one works', async () => {
    await t.sql.query(`CREATE SOURCE before_rename FROM WEBHOOK BODY FORMAT TEXT`);
    expect((await post(url('before_rename'), 'x')).status).toBe(200);
    await t.sql.query(`ALTER SOURCE before_rename RENAME TO after_rename`);
    expect((await post(url('before_rename'), 'y')).status).toBe(404);
    expect((await post(url('after_rename'), 'z')).status).toBe(200);
    expect(await t.query('SELECT body FROM after_rename ORDER BY body')).toEqual([{ body: 'x' }, { body: 'z' }]);
  });

  it('2,000 concurrent requests: each is 200 or 429, and the rows equal the 200s', async () => {
    await t.sql.query(`CREATE SOURCE flood FROM WEBHOOK BODY FORMAT JSON`);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 2_000 });
    const results = await Promise.all(
      Array.from({ length: 2_000 }, (_, index) =>
        new Promise<number>((resolve) => {
          const request = http.request(url('flood'), { method: 'POST', agent }, (response) => {
            response.resume();
            response.on('end', () => resolve(response.statusCode!));
          });
          request.on('error', () => resolve(-1));
          request.end(JSON.stringify({ index }));
        }),
      ),
    );
    agent.destroy();
    const accepted = results.filter((status) => status === 200).length;
    expect(results.filter((status) => status !== 200 && status !== 429)).toEqual([]);
    expect(accepted).toBeGreaterThan(0);
    expect(await count('flood')).toBe(accepted);
  }, 60_000);
});

describe('Kafka produce endpoint', () => {
  beforeAll(async () => {
    await t.sql.query(`CREATE SECRET kafka_password AS 'pw'`);
    await t.sql.query(`CREATE CONNECTION kafka_conn TO KAFKA (BROKER 'broker:9092', SECURITY PROTOCOL = 'SASL_SSL',
      SASL MECHANISMS = 'SCRAM-SHA-256', SASL USERNAME = 'user', SASL PASSWORD = SECRET kafka_password)`);
    await t.sql.query(`CREATE SOURCE events_a FROM KAFKA CONNECTION kafka_conn (TOPIC 'events') FORMAT BYTES`);
    await t.sql.query(`CREATE SOURCE events_b FROM KAFKA CONNECTION kafka_conn (TOPIC 'events') FORMAT BYTES`);
  });

  const topicUrl = (topic: string) => `http://${t.server.host}:${t.server.httpPort}/topics/${topic}`;

  it('each body becomes one data row in every source on the topic', async () => {
    const response = await post(topicUrl('events'), '{"messageId":"k1"}');
    expect(response.status).toBe(200);
    expect(JSON.parse(response.text)).toEqual({ topic: 'events', sources: 2 });
    for (const table of ['events_a', 'events_b']) {
      const rows = await t.query<{ value: string }>(`SELECT convert_from(data, 'utf8') AS value FROM ${table}`);
      expect(rows).toEqual([{ value: '{"messageId":"k1"}' }]);
    }
  });

  it('basic auth, when sent, must match the connection; unknown topics are a 404', async () => {
    const auth = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    expect((await post(topicUrl('events'), 'x', { authorization: auth('user', 'pw') })).status).toBe(200);
    expect((await post(topicUrl('events'), 'x', { authorization: auth('user', 'nope') })).status).toBe(401);
    expect((await post(topicUrl('nothing-here'), 'x')).status).toBe(404);
  });
});
