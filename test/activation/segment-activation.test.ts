/**
 * Segment activations through @segment/analytics-node against the Tracking API stand-in: identify
 * with mapped traits, retraction (traits to null, or an "Audience Exited" track), 500/429 retried
 * with the same messageIds, a 400 reported with the row's key and the answer, and message ids
 * that are a pure function of (activation, key, timestamp).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageId } from '../../scripts/activation/changes.ts';
import { parseActivation } from '../../scripts/activation/declarations.ts';
import { segmentCalls } from '../../scripts/activation/segment-sender.ts';
import { startTrackingStandIn, type TrackingStandIn } from '../../scripts/activation/tracking-stand-in.ts';
import { startTestServer, type TestServer } from '../helpers/local-server.ts';
import { bindTo, runWorker, until } from './helpers.ts';

const WRITE_KEY = 'test-write-key';
let db: TestServer;
let table = 0;

beforeAll(async () => {
  db = await startTestServer();
});
afterAll(async () => {
  await db?.close();
});

/**
 * Runs `test` with a Tracking API stand-in of its own, closed after it: the tests run at once (the
 * retry test waits out analytics-node's backoff, ~6 s, the others take ~1 s together), each with
 * its own stand-in, table and view, so no test sees another's calls.
 */
async function withStandIn(test: (segment: TrackingStandIn) => Promise<void>): Promise<void> {
  const segment = await startTrackingStandIn({ writeKey: WRITE_KEY });
  try {
    await test(segment);
  } finally {
    await segment.close();
  }
}

async function freshMart(rows: string): Promise<{ name: string; source: string }> {
  table++;
  const source = `people_${table}`;
  const name = `audience_${table}`;
  await db.query(`CREATE TABLE ${source} (user_id text, email text, plan text, spend numeric, seen_at timestamptz)`);
  if (rows) await db.query(`INSERT INTO ${source} VALUES ${rows}`);
  await db.query(`CREATE MATERIALIZED VIEW ${name} AS SELECT user_id, email, plan, spend, seen_at FROM ${source} WHERE spend >= 100`);
  return { name, source };
}

const IDENTIFY = `model: audience
key: [user_id]
destination: segment
segment:
  call: identify
  user_id: user_id
  traits:
    email: email
    lifetimeSpend: spend
  timestamp: seen_at
`;

function worker(segment: TrackingStandIn, name: string, declaration = IDENTIFY, libraryRetries?: number) {
  return runWorker([bindTo(name, declaration, name)], { connection: { connectionString: db.server.pgUrl }, segment: { trackingUrl: segment.url, writeKey: WRITE_KEY, ...(libraryRetries === undefined ? {} : { libraryRetries }) } });
}

describe.concurrent('Segment activation', () => {
  it('identifies each row with its mapped traits, sets them to null when the row leaves, and sends nothing for unmapped columns', () =>
    withStandIn(async (segment) => {
      const { name, source } = await freshMart(`('u1', 'a@x.io', 'pro', 150, '2024-05-01 10:00:00+00'), ('u2', 'b@x.io', 'free', 50, NULL)`);
      const running = worker(segment, name);
      try {
        await until(() => segment.unique().size === 1, 'the snapshot');
        await db.query(`UPDATE ${source} SET plan = 'team' WHERE user_id = 'u1'`); // not mapped: no call
        await db.query(`UPDATE ${source} SET spend = 120 WHERE user_id = 'u2'`); // joins the audience
        await until(() => segment.unique().size === 2, 'u2 joining');
        await db.query(`UPDATE ${source} SET spend = 10 WHERE user_id = 'u1'`); // leaves
        await until(() => segment.unique().size === 3, 'u1 leaving');
        await new Promise((resolve) => setTimeout(resolve, 400));
      } finally {
        await running.stop();
      }
      const calls = segment.calls.map(({ call }) => [call.type, call.userId, call.traits, call.timestamp]);
      expect(calls).toEqual([
        ['identify', 'u1', { email: 'a@x.io', lifetimeSpend: 150 }, '2024-05-01T10:00:00.000Z'],
        ['identify', 'u2', { email: 'b@x.io', lifetimeSpend: 120 }, expect.any(String)],
        ['identify', 'u1', { email: null, lifetimeSpend: null }, expect.any(String)],
      ]);
      expect(segment.calls[2]!.call.context).toMatchObject({ materialize: { activation: name, op: 'delete' } });
    }));

  it('retries 500 and 429 with the same messageIds and delivers each call once', () =>
    withStandIn(async (segment) => {
      const { name, source } = await freshMart(`('u1', 'a@x.io', 'pro', 150, NULL), ('u2', 'b@x.io', 'pro', 250, NULL)`);
      segment.failNext([500]);
      segment.failNext([429], { retryAfterSeconds: 0 });
      // One retry inside analytics-node, not its default two: its backoff doubles from 1 s, and the
      // second wait (2-4 s) was most of this test's time; past it the sender still retries.
      const running = worker(segment, name, IDENTIFY, 1);
      try {
        await until(() => segment.unique().size === 2, 'the snapshot after two failures');
        segment.failNext([503, 503, 503, 503]); // past the library's own retries: the sender retries
        await db.query(`INSERT INTO ${source} VALUES ('u3', 'c@x.io', 'pro', 300, NULL)`);
        await until(() => segment.unique().size === 3, 'u3 after four failures');
      } finally {
        await running.stop();
      }
      expect(segment.calls).toHaveLength(3);
      expect(segment.requests).toBe(2 + 1 + 4 + 1);
      expect(running.events.some((event) => event.type === 'retrying')).toBe(true);
    }));

  it('reports a call Segment refuses (400) with the row key and the answer, and goes on', () =>
    withStandIn(async (segment) => {
      const { name, source } = await freshMart(`('u1', 'a@x.io', 'pro', 150, NULL)`);
      segment.failNext([400], { body: '{"success":false,"message":"event too large"}' });
      const running = worker(segment, name);
      try {
        await until(() => running.events.some((event) => event.type === 'failed'), 'the refusal');
        await db.query(`INSERT INTO ${source} VALUES ('u2', 'b@x.io', 'pro', 300, NULL)`);
        await until(() => segment.unique().size === 1, 'u2 after the refusal');
      } finally {
        await running.stop();
      }
      const failure = running.events.find((event) => event.type === 'failed');
      expect(failure).toMatchObject({ failure: { keyText: '["u1"]', status: 400, reason: expect.stringContaining('event too large') } });
      expect([...segment.unique().values()].map((call) => call.userId)).toEqual(['u2']);
    }));

  it('a track activation enters and exits an audience (on_delete: track)', () =>
    withStandIn(async (segment) => {
      const { name, source } = await freshMart(`('u1', 'a@x.io', 'pro', 150, NULL)`);
      const declaration = `model: audience
key: [user_id]
destination: segment
segment:
  call: track
  user_id: user_id
  event: Audience Entered
  properties: [plan, spend]
  on_delete: track
  delete_event: Audience Exited
`;
      const running = worker(segment, name, declaration);
      try {
        await until(() => segment.unique().size === 1, 'entering');
        await db.query(`DELETE FROM ${source} WHERE user_id = 'u1'`);
        await until(() => segment.unique().size === 2, 'exiting');
      } finally {
        await running.stop();
      }
      expect(segment.calls.map(({ call }) => [call.type, call.event, call.properties])).toEqual([
        ['track', 'Audience Entered', { plan: 'pro', spend: 150 }],
        ['track', 'Audience Exited', { plan: 'pro', spend: 150 }],
      ]);
    }));

  it('message ids depend only on activation, key, timestamp and slot', () => {
    const id = messageId('audience', '["u1"]', '1700000000000');
    expect(id).toBe(messageId('audience', '["u1"]', '1700000000000'));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    for (const other of [messageId('other', '["u1"]', '1700000000000'), messageId('audience', '["u2"]', '1700000000000'), messageId('audience', '["u1"]', '1700000000001'), messageId('audience', '["u1"]', '1700000000000', 'delete')]) {
      expect(other).not.toBe(id);
    }
    const activation = parseActivation('activations/audience.yml', IDENTIFY);
    if (activation.destination.kind !== 'segment') throw new Error('segment expected');
    const change = { op: 'upsert' as const, keyText: '["u1"]', key: { user_id: 'u1' }, row: { user_id: 'u1', email: 'a', spend: 1, seen_at: null }, rowHash: 'h', mzTimestamp: '1700000000000' };
    const [first] = segmentCalls('audience', activation.destination.segment, change);
    const [again] = segmentCalls('audience', activation.destination.segment, { ...change });
    expect(first!.messageId).toBe(id);
    expect(again).toEqual(first);
    expect(first!.timestamp.toISOString()).toBe('2023-11-14T22:13:20.000Z'); // no timestamp column value: the change's mz timestamp
  });
});
