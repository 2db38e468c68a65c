/**
 * Group commit of webhook appends: many requests at once to one source, mixed good and bad, each
 * answered for itself — signed ones appended, a wrong signature refused, a body PostgreSQL refuses
 * (which fails a grouped statement and sends its requests one by one), bad JSON — and exactly the
 * acknowledged rows in the source, with grouping shown to have happened.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPerRequest, arrayLiteral } from '../../scripts/local/http/webhook/grouped-append.ts';
import { hmacHex, post, startTestServer, type TestServer } from '../helpers/local-server.ts';

const SECRET = 'grouped-secret';
let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
  await t.sql.query(`CREATE SECRET grouped_key AS '${SECRET}'`);
  await t.sql.query(`CREATE SOURCE signed FROM WEBHOOK BODY FORMAT JSON ARRAY INCLUDE HEADER 'x-tag' AS tag INCLUDE HEADERS
    CHECK (WITH (BODY BYTES, HEADERS, SECRET grouped_key BYTES AS key) constant_time_eq(decode(headers->'x-signature', 'hex'), hmac(body, key, 'sha1')))`);
  await t.sql.query(`CREATE SOURCE plain FROM WEBHOOK BODY FORMAT TEXT`);
});
afterAll(async () => {
  await t?.close();
});

type Sent = { body: string; signature: string; tag: string; expect: number };

describe('grouped webhook appends', () => {
  it('answers each of 300 mixed requests from 16 senders for itself and keeps exactly the acknowledged rows', async () => {
    const requests: Sent[] = [];
    for (let index = 0; index < 300; index++) {
      const kind = index % 10;
      let body = JSON.stringify(kind === 3 ? [{ n: index, a: 1 }, { n: index, a: 2 }] : { n: index });
      let signature = hmacHex(SECRET, body);
      let status = 200;
      if (kind === 5) signature = hmacHex('wrong', body), (status = 400);
      if (kind === 7) body = `{"n": ${index}, "nul": "\\u0000"}`, (signature = hmacHex(SECRET, body)), (status = 400); // jsonb refuses \u0000
      if (kind === 9) body = `{"n": ${index},}`, (signature = hmacHex(SECRET, body)), (status = 400);
      requests.push({ body, signature, tag: `t${index}`, expect: status });
    }
    // Sixteen senders each sending one request after another, as a loaded destination does: while
    // one statement runs, the others' requests gather into the next group.
    const answers: Array<{ status: number; text: string }> = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < requests.length) {
          const index = next++;
          const request = requests[index]!;
          answers[index] = await post(t.server.webhookUrl('signed'), request.body, { 'x-signature': request.signature, 'x-tag': request.tag, 'content-type': 'application/json' });
        }
      }),
    );
    expect(answers.map((answer) => answer.status)).toEqual(requests.map((request) => request.expect));
    expect(answers.filter((answer, index) => requests[index]!.expect === 400 && index % 10 === 5).every((answer) => answer.text === 'failed to validate the request')).toBe(true);
    expect(answers[7]!.text).toMatch(/^failed to deserialize body as Jsonb: /);

    const rows = await t.query<{ n: number; tag: string; has_headers: boolean }>(`SELECT (body->>'n')::int AS n, tag, headers->'x-tag' = tag AS has_headers FROM signed ORDER BY 1`);
    const accepted = requests.map((request, index) => ({ request, index })).filter(({ request }) => request.expect === 200);
    const expected = accepted.flatMap(({ index }) => (index % 10 === 3 ? [index, index] : [index]));
    expect(rows.map((row) => row.n)).toEqual(expected);
    expect(rows.every((row) => row.tag === `t${row.n}` && row.has_headers)).toBe(true);
  });

  it('groups TEXT bodies too, one row each, and requests do wait together', async () => {
    const before = t.server.webhookStats.grouped;
    const bodies = Array.from({ length: 320 }, (_, index) => `line ${index} with "quotes" and \\ backslash`);
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < bodies.length) expect((await post(t.server.webhookUrl('plain'), bodies[next++]!)).status).toBe(200);
      }),
    );
    const rows = await t.query<{ body: string }>(`SELECT body FROM plain`);
    expect(rows.map((row) => row.body).sort()).toEqual([...bodies].sort());
    // Requests waited together and were appended together.
    expect(t.server.webhookStats.grouped - before).toBeGreaterThan(0);
  });

  it('rewrites only the CHECK bindings to read each request row', () => {
    const check = `SELECT (x = 'a')::boolean AS ok, true AS secrets_found FROM (SELECT $1::bytea AS body, $2::hstore AS headers, $3::timestamptz AS mz_received_at) AS mz_check_bindings`;
    expect(checkPerRequest(check)).toBe(`SELECT (x = 'a')::boolean AS ok, true AS secrets_found FROM (SELECT r.body::bytea AS body, r.headers::hstore AS headers, r.received_at::timestamptz AS mz_received_at) AS mz_check_bindings`);
    // '$1' written in the expression itself: not grouped rather than risk rewriting a string.
    expect(checkPerRequest(check.replace("'a'", "'$1'"))).toBeNull();
    expect(checkPerRequest('SELECT $1 AS ok')).toBeNull();
    expect(arrayLiteral(['a"b', 'c\\d', null])).toBe('{"a\\"b","c\\\\d",NULL}');
  });
});
