/**
 * The seed's activation, the whole loop on one machine, wired as `npm run dev --
 * --forward-segment-calls` wires it (startDevActivations with forwardCalls): signed events in →
 * analytics.high_value_customers → the worker → the Tracking API stand-in → the built Segment
 * function → the seed's webhook source. A customer whose net order revenue reaches the line is
 * identified with computed traits; a refund that takes them under it, and a delete request, send
 * the traits as null; each call comes back through the function as an identify carrying
 * context.materialize, which user_profiles leaves out (a person's own traits stay).
 */
import { cpSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevActivations } from '../../scripts/activation/dev-activations.ts';
import { startDevActivations } from '../../scripts/activation/dev-activations.ts';
import type { TrackingCall } from '../../scripts/activation/tracking-stand-in.ts';
import { compileProject } from '../../scripts/runner/compile.ts';
import { deployProject } from '../helpers/deploy.ts';
import { hmacHex, post, startTestServer, type TestServer } from '../helpers/local-server.ts';
import { copyOfSeedProject, REPO_ROOT } from '../helpers/temp-project.ts';
import { until } from './helpers.ts';

const SECRET = 'local-development-secret';
let t: TestServer;
let dev: DevActivations | null = null;
const logged: string[] = [];

beforeAll(async () => {
  t = await startTestServer();
  const root = copyOfSeedProject();
  cpSync(path.join(REPO_ROOT, 'activations'), path.join(root, 'activations'), { recursive: true });
  await deployProject(t, root);
  dev = await startDevActivations(compileProject(root, { env: {} }), t.server, (line) => logged.push(line), {}, { forwardCalls: true });
}, 90_000);

afterAll(async () => {
  await dev?.stop();
  await t?.close();
});

let sequence = 0;
async function send(events: Array<Record<string, unknown>>): Promise<void> {
  const body = JSON.stringify(events.map((event) => ({ messageId: `loop-${++sequence}`, timestamp: new Date(Date.UTC(2026, 10, 20, 10, sequence)).toISOString(), ...event })));
  const result = await post(t.server.webhookUrl('segment_source', 'segment'), body, { 'x-signature': hmacHex(SECRET, body) });
  expect(result.status).toBe(200);
}
const order = (userId: string, event: string, revenue: number) => ({ type: 'track', userId, event, properties: { order_id: `o-${sequence}`, revenue, currency: 'USD' } });

function callsFor(userId: string): TrackingCall[] {
  return dev!.standIn!.calls.map((each) => each.call).filter((call) => call.userId === userId && (call.context as { materialize?: { activation?: string } }).materialize?.activation === 'high_value_customers');
}

describe('the seed activation high_value_customers, through the stand-in and the function back into the webhook source', () => {
  it('identifies a customer who reaches the line, nulls the traits after a refund and after a delete request, and the calls come back as identifies user_profiles leaves out', async () => {
    expect(dev?.standIn).toBeTruthy();
    expect(logged.join('\n')).toMatch(/forward {3}each call through .*materialize-destination\.js → http:\/\/127\.0\.0\.1:\d+\/api\/webhook\/materialize\/segment\/segment_source/);
    await send([{ type: 'identify', userId: 'hv1', traits: { email: 'ada@example.com', name: 'Ada' } }, order('hv1', 'Order Completed', 180), order('hv2', 'Order Completed', 90), { type: 'track', userId: 'hv1', event: 'Checkout Started', properties: { revenue: 500 } }]);
    // Under the line (180, and a checkout that is not an order): nobody yet.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(callsFor('hv1')).toEqual([]);

    await send([order('hv1', 'Order Completed', 140), order('hv2', 'Order Completed', 400)]);
    const entered = await until(() => callsFor('hv1').find((call) => call.traits?.high_value_customer === true), 'hv1 identified as high value');
    expect(entered).toMatchObject({ type: 'identify', userId: 'hv1', traits: { high_value_customer: true, lifetime_value: 320, orders_completed: 2, orders_refunded: 0, last_order_at: expect.stringMatching(/^2026-11-20T10:\d\d:00/) } });
    await until(() => callsFor('hv2').find((call) => call.traits?.lifetime_value === 490), 'hv2 identified');

    // Forwarded through the function into the webhook source: the identify is an event like any other.
    const forwarded = await waitForRows(`SELECT user_id, traits->>'lifetime_value' AS value FROM analytics.stg_segment_identifies WHERE context->'materialize'->>'activation' = 'high_value_customers' AND user_id = 'hv1'`);
    expect(forwarded).toEqual([{ user_id: 'hv1', value: '320' }]);
    // The row can be read a moment before the forwarder hears its 200 (and another call may still
    // wait its turn in the forwarding queue): wait for what was received so far to be forwarded.
    await dev!.standIn!.forwarded();
    expect(dev!.standIn!.calls.filter((each) => each.call.userId === 'hv1').every((each) => each.forwarded?.ok === true)).toBe(true);
    // user_profiles keeps the person's own identify, not the computed traits sent back.
    expect(await t.query(`SELECT user_id, email FROM analytics.user_profiles WHERE user_id = 'hv1'`)).toEqual([{ user_id: 'hv1', email: 'ada@example.com' }]);

    // New data says so: a refund takes hv1 under the line → the traits go null (leaving the audience).
    await send([order('hv1', 'Order Refunded', -140)]);
    const left = await until(() => callsFor('hv1').find((call) => (call.context as { materialize: { op: string } }).materialize.op === 'delete'), 'hv1 leaving');
    expect(left.traits).toEqual({ high_value_customer: null, lifetime_value: null, orders_completed: null, orders_refunded: null, last_order_at: null });

    // A delete request (Segment's onDelete) takes hv2 out.
    await send([{ type: 'delete', userId: 'hv2' }]);
    const deleted = await until(() => callsFor('hv2').find((call) => (call.context as { materialize: { op: string } }).materialize.op === 'delete'), 'hv2 leaving');
    expect(deleted.traits?.high_value_customer).toBeNull();
    expect(await t.query(`SELECT user_id FROM analytics.high_value_customers ORDER BY 1`)).toEqual([]);
    // Each change once (by messageId, as Segment deduplicates), and forwarded once.
    await dev!.standIn!.forwarded();
    const ids = [...callsFor('hv1'), ...callsFor('hv2')].map((call) => call.messageId);
    expect(new Set(ids).size).toBe(4);
    const back = await t.query<{ n: number }>(`SELECT count(*)::int AS n FROM analytics.stg_segment_identifies WHERE context->'materialize'->>'activation' = 'high_value_customers'`);
    expect(back[0]!.n).toBe(4);
  }, 90_000);
});

async function waitForRows(sql: string): Promise<Record<string, unknown>[]> {
  const deadline = performance.now() + 15_000;
  for (;;) {
    const rows = await t.query(sql);
    if (rows.length > 0 || performance.now() > deadline) return rows;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
