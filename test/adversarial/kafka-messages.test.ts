/**
 * The Kafka path with messages a producer should never send: not UTF-8, not JSON, JSON that is not
 * an object, nesting past the check's depth, text jsonb cannot store. None of them may make the
 * staging views or marts fail; each lands in segment_kafka_dead_letter with its reason.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deployProject } from '../helpers/deploy.ts';
import { startTestServer, type TestServer } from '../helpers/local-server.ts';
import { copyOfSeedProject } from '../helpers/temp-project.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
  const report = await deployProject(t, copyOfSeedProject(), { vars: '{"kafka_enabled": true}', env: { KAFKA_SASL_PASSWORD: 'kafka-test-password' } });
  expect(report.results.filter((result) => result.status !== 'done')).toEqual([]);
});
afterAll(async () => {
  await t?.close();
});

async function produce(body: string | Buffer): Promise<void> {
  const response = await fetch(`http://${t.server.host}:${t.server.httpPort}/topics/segment-events`, { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body) });
  expect(response.status).toBe(200);
}

const event = (messageId: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ messageId, type: 'track', event: 'Kafka Event', userId: 'k-user', receivedAt: '2026-11-23T10:00:00.000Z', ...extra });

function nestedObject(levels: number): string {
  return '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
}

it('bad messages go to the dead letter with a reason; good ones (odd but valid) reach the staging views and marts', async () => {
  const good = [
    event('kafka-good-1'),
    event('kafka-good-2', { properties: { text: 'quote " brace { bracket [ tilde ~ hash #', emoji: '😀 \ud83d\ude00', n: -12.5e3, list: [1, [2, [3]], { x: null }], empty: {}, none: [] } }),
    ` \n${event('kafka-good-3', { nested: JSON.parse(nestedObject(9)) })}\n`,
    event('kafka-good-4', { escaped: 'tab\\t newline\\n unicode \\u00e9 pair \\ud83d\\ude00' }).replace(/\\\\/g, '\\'),
  ];
  const bad: Array<[string | Buffer, string]> = [
    ['not json at all', 'not a JSON object'],
    ['[{"messageId":"in-array"}]', 'not a JSON object'],
    ['"just a string"', 'not a JSON object'],
    ['{"messageId":"cut-off"', 'not valid JSON, or nested more than 12 levels deep'],
    ['{"messageId":"trailing",}', 'not valid JSON, or nested more than 12 levels deep'],
    ['{"messageId":"bad-escape \\q"}', 'not valid JSON, or nested more than 12 levels deep'],
    ['{"messageId":"nul \\u0000"}', 'not valid JSON, or nested more than 12 levels deep'],
    ['{"messageId":"lone \\ud83d"}', 'not valid JSON, or nested more than 12 levels deep'],
    ['{1:"number key"}', 'not valid JSON, or nested more than 12 levels deep'],
    ['{~:#}', 'not valid JSON, or nested more than 12 levels deep'],
    ['{"messageId":"big","n":1e999}', 'not valid JSON, or nested more than 12 levels deep'],
    [nestedObject(20), 'not valid JSON, or nested more than 12 levels deep'],
    [Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 'not valid UTF-8 (or holds a NUL byte)'],
    [Buffer.from('{"a":"nul\u0000byte"}'), 'not valid UTF-8 (or holds a NUL byte)'],
  ];
  for (const message of good) await produce(message);
  for (const [message] of bad) await produce(message);

  // Every view over the Kafka source still reads; the good events are there, once.
  const ids = await t.query<{ message_id: string }>(`SELECT message_id FROM analytics.stg_segment_events WHERE message_id LIKE 'kafka-good-%' ORDER BY 1`);
  expect(ids.map((row) => row.message_id)).toEqual(['kafka-good-1', 'kafka-good-2', 'kafka-good-3', 'kafka-good-4']);
  expect(await t.query(`SELECT count(*)::int AS n FROM analytics.stg_segment_tracks WHERE message_id LIKE 'kafka-good-%'`)).toEqual([{ n: 4 }]);
  for (const mart of ['track_event_counts', 'daily_active_users', 'events_per_minute', 'user_profiles', 'page_views_by_url']) {
    await expect(t.query(`SELECT * FROM analytics.${mart}`)).resolves.toBeInstanceOf(Array);
  }
  const [second] = await t.query<{ text: string }>(`SELECT body->'properties'->>'text' AS text FROM analytics.segment_events_json WHERE body->>'messageId' = 'kafka-good-2'`);
  expect(second!.text).toBe('quote " brace { bracket [ tilde ~ hash #');

  const dead = await t.query<{ reason: string; data: Buffer }>(`SELECT reason, data FROM analytics.segment_kafka_dead_letter`);
  expect(dead).toHaveLength(bad.length);
  const byMessage = new Map(dead.map((row) => [row.data.toString('hex'), row.reason]));
  for (const [message, reason] of bad) expect([message.toString(), byMessage.get(Buffer.from(message).toString('hex'))]).toEqual([message.toString(), reason]);
});
