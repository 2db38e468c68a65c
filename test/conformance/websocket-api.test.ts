/**
 * Materialize's WebSocket API (doc: integrations/websocket-api) on the local server: authenticate,
 * run statements in a session (a transaction across requests), get typed rows, errors that stop a
 * request, one ReadyForQuery per request — and SUBSCRIBE streaming Row messages as a webhook
 * changes the result, which is what lets a browser follow a view. Own cases.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { post, startTestServer, type TestServer } from '../helpers/local-server.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
  await t.sql.query(`CREATE SOURCE visits FROM WEBHOOK BODY FORMAT JSON`);
  await t.sql.query(`CREATE MATERIALIZED VIEW visits_per_page AS SELECT body->>'page' AS page, count(*) AS visits FROM visits GROUP BY 1`);
});
afterAll(async () => {
  await t?.close();
});

interface Message {
  type: string;
  payload: unknown;
}

/** A session: messages arrive into an inbox; `until` waits for the next one of a type. */
async function open(): Promise<{ send(body: unknown): void; until(type: string, timeoutMs?: number): Promise<Message[]>; close(): void }> {
  const socket = new WebSocket(`ws://${t.server.host}:${t.server.httpPort}/api/experimental/sql`);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const inbox: Message[] = [];
  let wake: (() => void) | null = null;
  socket.on('message', (data) => {
    inbox.push(JSON.parse(data.toString()) as Message);
    wake?.();
  });
  const until = async (type: string, timeoutMs = 5_000): Promise<Message[]> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = inbox.findIndex((message) => message.type === type);
      if (index !== -1) return inbox.splice(0, index + 1);
      if (Date.now() > deadline) throw new Error(`no ${type} within ${timeoutMs} ms; got ${JSON.stringify(inbox)}`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
  };
  socket.send(JSON.stringify({ user: 'materialize', password: '' }));
  expect(await until('ReadyForQuery')).toEqual([{ type: 'ReadyForQuery', payload: 'I' }]);
  return { send: (body) => socket.send(JSON.stringify(body)), until, close: () => socket.close() };
}

it('statements in a session: typed rows, tags, one ReadyForQuery per request, a transaction across requests', async () => {
  const session = await open();
  try {
    session.send({ query: `SELECT 1 AS one, 'x' AS text_value; CREATE TABLE ws_t (a int)` });
    expect(await session.until('ReadyForQuery')).toEqual([
      { type: 'CommandStarting', payload: { has_rows: true, is_streaming: false } },
      { type: 'Rows', payload: { columns: [{ name: 'one', type_oid: 23, type_len: 4, type_mod: -1 }, { name: 'text_value', type_oid: 25, type_len: -1, type_mod: -1 }] } },
      { type: 'Row', payload: [1, 'x'] },
      { type: 'CommandComplete', payload: 'SELECT 1' },
      { type: 'CommandStarting', payload: { has_rows: false, is_streaming: false } },
      { type: 'CommandComplete', payload: 'CREATE TABLE' },
      { type: 'ReadyForQuery', payload: 'I' },
    ]);
    session.send({ query: 'BEGIN' });
    expect((await session.until('ReadyForQuery')).pop()).toEqual({ type: 'ReadyForQuery', payload: 'T' });
    session.send({ queries: [{ query: 'INSERT INTO ws_t VALUES ($1)', params: ['5'] }] });
    await session.until('ReadyForQuery');
    session.send({ query: 'COMMIT' });
    expect((await session.until('ReadyForQuery')).pop()).toEqual({ type: 'ReadyForQuery', payload: 'I' });
    expect(await t.query('SELECT a FROM ws_t')).toEqual([{ a: 5 }]);

    session.send({ query: 'SELECT * FROM not_here; SELECT 2' });
    expect(await session.until('ReadyForQuery')).toEqual([
      { type: 'Error', payload: { message: "unknown catalog item 'not_here'", code: '42P01' } },
      { type: 'ReadyForQuery', payload: 'I' },
    ]);
  } finally {
    session.close();
  }
});

it('SUBSCRIBE streams the snapshot, then a Row per change as webhooks arrive', async () => {
  await post(t.server.webhookUrl('visits'), '{"page": "/"}');
  const session = await open();
  try {
    session.send({ query: 'SUBSCRIBE visits_per_page' });
    const start = await session.until('Row');
    expect(start.slice(0, 2)).toEqual([
      { type: 'CommandStarting', payload: { has_rows: true, is_streaming: true } },
      {
        type: 'Rows',
        payload: {
          columns: [
            { name: 'mz_timestamp', type_oid: 1700, type_len: -1, type_mod: -1 },
            { name: 'mz_diff', type_oid: 20, type_len: 8, type_mod: -1 },
            { name: 'page', type_oid: 25, type_len: -1, type_mod: -1 },
            // The relation's own columns carry no size here (-1); the metadata columns do.
            { name: 'visits', type_oid: 20, type_len: -1, type_mod: -1 },
          ],
        },
      },
    ]);
    expect((start[2]!.payload as unknown[]).slice(1)).toEqual([1, '/', 1]);
    await post(t.server.webhookUrl('visits'), '{"page": "/"}');
    const changes = [...(await session.until('Row')), ...(await session.until('Row'))].map((message) => (message.payload as unknown[]).slice(1));
    expect(changes.sort()).toEqual([
      [-1, '/', 1],
      [1, '/', 2],
    ]);
  } finally {
    session.close();
  }
});

it('refuses what the API does not take, and a first message that is not authentication', async () => {
  const session = await open();
  try {
    session.send({ query: 'FETCH ALL c' });
    expect(await session.until('ReadyForQuery')).toEqual([
      { type: 'Error', payload: { message: 'unsupported via this API: FETCH', code: '0A000' } },
      { type: 'ReadyForQuery', payload: 'I' },
    ]);
  } finally {
    session.close();
  }
  const socket = new WebSocket(`ws://${t.server.host}:${t.server.httpPort}/api/experimental/sql`);
  await new Promise((resolve) => socket.once('open', resolve));
  socket.send(JSON.stringify({ query: 'SELECT 1' }));
  const [code, reason] = await new Promise<[number, string]>((resolve) => socket.once('close', (closeCode, closeReason) => resolve([closeCode, closeReason.toString()])));
  expect(code).toBe(1008);
  expect(reason).toMatch(/^authenticate first/);
});
