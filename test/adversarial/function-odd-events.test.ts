/**
 * Odd events through the built function, into the local server with the seed deployed: text that
 * Materialize cannot store, nesting past its parser's limit, and a batch holding one event the
 * server refuses to parse. One bad event must never cost its batch-mates.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle } from '../../functions/build/build-bundle.ts';
import { loadFunction, ValidationError, type Handlers } from '../../functions/harness/segment-sandbox.ts';
import { sampleEvents } from '../../functions/samples/segment-events.ts';
import { deployProject } from '../helpers/deploy.ts';
import { FaultServer } from '../helpers/fault-server.ts';
import { startTestServer, type TestServer } from '../helpers/local-server.ts';
import { copyOfSeedProject, temporaryDirectory } from '../helpers/temp-project.ts';

let t: TestServer;
let fn: Handlers;
let settings: Record<string, unknown>;

beforeAll(async () => {
  t = await startTestServer();
  await deployProject(t, copyOfSeedProject());
  fn = loadFunction({ code: (await buildBundle(path.join(temporaryDirectory('segmat-odd-'), 'fn.js'))).code });
  settings = { webhookUrl: t.server.webhookUrl('segment_source', 'segment'), sharedSecret: 'local-development-secret' };
});
afterAll(async () => {
  await t?.close();
});

function nested(levels: number): unknown {
  let value: unknown = 'bottom';
  for (let level = 0; level < levels; level++) value = { next: value };
  return value;
}

async function storedMessageIds(prefix: string): Promise<string[]> {
  const rows = await t.query<{ id: string }>(`SELECT body->>'messageId' AS id FROM segment.segment_source WHERE body->>'messageId' LIKE $1 ORDER BY 1`, [`${prefix}%`]);
  return rows.map((row) => row.id);
}

describe('text Materialize cannot store', () => {
  it('a lone surrogate or a NUL in one event: the whole batch is delivered, the bad characters replaced with U+FFFD', async () => {
    const events = sampleEvents(5, { runId: 'odd-text', types: ['track'] });
    events[1]!.properties = { title: 'truncated emoji \ud83d' };
    events[2]!.properties = { note: 'nul \u0000 inside', 'key \udc00': 'lone low surrogate in a key' };
    events[3]!.context = { ...(events[3]!.context as object), page: { title: 'a real emoji 😀 stays' } };
    expect(await fn.onBatch(events, settings)).toEqual(Array(5).fill({ status: 200 }));
    const ids = events.map((event) => event.messageId as string).sort();
    expect(await storedMessageIds('odd-text')).toEqual(ids);
    const [second] = await t.query<{ title: string }>(`SELECT body->'properties'->>'title' AS title FROM segment.segment_source WHERE body->>'messageId' = $1`, [events[1]!.messageId]);
    expect(second!.title).toBe('truncated emoji \ufffd');
    const [third] = await t.query<{ properties: Record<string, string> }>(`SELECT body->'properties' AS properties FROM segment.segment_source WHERE body->>'messageId' = $1`, [events[2]!.messageId]);
    expect(third!.properties).toEqual({ note: 'nul \ufffd inside', 'key \ufffd': 'lone low surrogate in a key' });
    const [fourth] = await t.query<{ title: string }>(`SELECT body->'context'->'page'->>'title' AS title FROM segment.segment_source WHERE body->>'messageId' = $1`, [events[3]!.messageId]);
    expect(fourth!.title).toBe('a real emoji 😀 stays');
  });

  it('onTrack with a lone surrogate delivers the repaired event', async () => {
    const [event] = sampleEvents(1, { runId: 'odd-single', types: ['track'] });
    event!.event = 'Cut \ud83d';
    await fn.onTrack(event, settings);
    expect(await storedMessageIds('odd-single')).toEqual([event!.messageId]);
  });
});

describe('nesting past the parser’s limit', () => {
  it('onTrack with an event nested 10,000 levels deep is a ValidationError naming the event, not a RangeError', async () => {
    const [event] = sampleEvents(1, { runId: 'odd-deep', types: ['track'] });
    event!.properties = nested(10_000) as Record<string, unknown>;
    const error = await fn.onTrack(event, settings).catch((caught: Error) => caught);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(new RegExp(`^event ${event!.messageId} cannot be delivered: it is nested more than 126 levels deep \\(at properties(\\.next)+\\)`));
    expect(await storedMessageIds('odd-deep')).toEqual([]);
  });

  it('the path of a value nested too deep names array positions and keys as written', async () => {
    const [event] = sampleEvents(1, { runId: 'odd-deep-array', types: ['track'] });
    let deep: unknown = 'bottom';
    for (let level = 0; level < 200; level++) deep = [0, deep];
    event!.properties = { items: deep };
    const error = await fn.onTrack(event, settings).catch((caught: Error) => caught);
    expect(error).toBeInstanceOf(ValidationError);
    // event (1) → properties (2) → items (3) → 124 arrays deeper reaches level 127.
    expect((error as Error).message).toContain(`(at properties.items${'[1]'.repeat(124)});`);
  });

  it('in a batch, only the deep event is rejected; 126 levels is still delivered', async () => {
    const events = sampleEvents(4, { runId: 'odd-batch-deep', types: ['track'] });
    events[0]!.properties = nested(200) as Record<string, unknown>;
    events[2]!.properties = nested(124) as Record<string, unknown>; // event → properties → 124 more = 126
    const statuses = (await fn.onBatch(events, settings)) as Array<{ status: number; errormessage?: string }>;
    expect(statuses.map((status) => status.status)).toEqual([400, 200, 200, 200]);
    expect(statuses[0]!.errormessage).toMatch(new RegExp(`^event ${events[0]!.messageId} cannot be delivered: it is nested more than 126 levels`));
    expect(await storedMessageIds('odd-batch-deep')).toEqual(events.slice(1).map((event) => event.messageId as string).sort());
  });
});

describe('a body the server cannot parse', () => {
  it('a batch answered 400 "failed to deserialize body" is split until the one event is isolated; the others are delivered', async () => {
    const server = new FaultServer({ secret: 'fault-secret' });
    const url = await server.start();
    try {
      // A stand-in for any content a Materialize version might refuse that the function cannot foresee.
      server.next = (body) => (body.includes('poison') ? { status: 400, body: 'failed to deserialize body as Jsonb: invalid type at line 1 column 9' } : { status: 200 });
      const events = sampleEvents(8, { runId: 'odd-split', types: ['track'] });
      events[5]!.properties = { marker: 'poison' };
      const statuses = (await fn.onBatch(events, { webhookUrl: url, sharedSecret: 'fault-secret' })) as Array<{ status: number; errormessage?: string }>;
      expect(statuses.map((status) => status.status)).toEqual([200, 200, 200, 200, 200, 400, 200, 200]);
      expect(statuses[5]!.errormessage).toBe(`event ${events[5]!.messageId} cannot be delivered: Materialize cannot parse it (400: failed to deserialize body as Jsonb: invalid type at line 1 column 9)`);
      expect(server.acceptedEvents().map((event) => event.messageId).sort()).toEqual(events.filter((_, index) => index !== 5).map((event) => event.messageId).sort());
    } finally {
      await server.stop();
    }
  });
});
