/**
 * The console server as `npm run local` runs it (no browser): the project on disk against the
 * deployed state, followed as another process deploys; the request log with each rejection's
 * reason; the event stream; the SQL API and the WebSocket API passed through to the local server;
 * a model's template and SQL; no secret anywhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startConsole, type RunningConsole } from '../../scripts/console/start-console.ts';
import { deployProject } from '../helpers/deploy.ts';
import { hmacHex, post, startTestServer, type TestServer } from '../helpers/local-server.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeFiles } from '../helpers/temp-project.ts';
import { startServerProcess } from '../helpers/server-process.ts';

const SECRET = 'console-server-secret-value';
let t: TestServer;
let root: string;
let running: RunningConsole;

const env = { ...process.env, HOOK_SECRET: SECRET };

beforeAll(async () => {
  t = await startTestServer({ maxBodyBytes: 1024 });
  // Kept for the whole file (the console reads templates from disk); removed in afterAll.
  root = mkdtempSync(path.join(tmpdir(), 'segmat-console-server-'));
  writeFiles(root, {
    'project.yml': `name: console_server\ntargets:\n  local: { type: local, host: ${t.server.host}, port: ${t.server.pgPort} }\ndefaults:\n  schema: shop\nsecrets:\n  hook_secret: HOOK_SECRET\n`,
    'models/hook_secret.sql': '---\nkind: secret\n---\n',
    'models/hooks.sql':
      "---\nkind: source\n---\nFROM WEBHOOK BODY FORMAT JSON ARRAY INCLUDE HEADERS\nCHECK (WITH (BODY BYTES, HEADERS, SECRET {{ref.hook_secret}} BYTES AS key)\n  constant_time_eq(decode(headers->'x-signature', 'hex'), hmac(body, key, 'sha1')))\n",
    'models/orders.sql': "---\nkind: materialized_view\n---\nSELECT body->>'id' AS id, body->>'type' AS type FROM {{ref.hooks}}\n",
  });
  running = await startConsole(t.server, { port: 0, projectRoot: root, compileOptions: { env } });
}, 60_000);

afterAll(async () => {
  await running?.stop();
  await t?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

const getJson = async <T>(path: string): Promise<T> => (await fetch(new URL(path, running.url))).json() as Promise<T>;
type Graph = { project: string; nodes: Array<{ name: string; status: string }>; counts: Record<string, number | null> };
const statuses = async () => Object.fromEntries((await getJson<Graph>('/console/api/graph')).nodes.map((node) => [node.name, node.status]));
const hookUrl = () => t.server.webhookUrl('hooks', 'shop');

describe('console server (npm run local)', () => {
  it('shows the project on disk, then follows a deploy made by another process', async () => {
    expect(await statuses()).toEqual({ hook_secret: 'not_deployed', hooks: 'not_deployed', orders: 'not_deployed' });
    await deployProject(t, root, { env });
    await expect.poll(statuses, { timeout: 5_000 }).toEqual({ hook_secret: 'deployed', hooks: 'deployed', orders: 'deployed' });
  });

  it('records every webhook request with the reason of each rejection, and counts rows', async () => {
    const good = JSON.stringify([{ id: 'o1', type: 'track' }, { id: 'o2', type: 'track' }]);
    expect((await post(hookUrl(), good, { 'x-signature': hmacHex(SECRET, good) })).status).toBe(200);
    expect((await post(hookUrl(), good, { 'x-signature': hmacHex('wrong', good) })).status).toBe(400);
    expect((await post(hookUrl(), good)).status).toBe(400);
    const broken = '[{"id": "o3", }]';
    expect((await post(hookUrl(), broken, { 'x-signature': hmacHex(SECRET, broken) })).status).toBe(400);
    expect((await post(t.server.webhookUrl('hoks', 'shop'), good)).status).toBe(404);
    expect((await post(hookUrl(), 'x'.repeat(2048))).status).toBe(413);
    const log = await getJson<{ recent: Array<{ target: string; status: number; events: number; eventTypes: string[]; reason?: string }>; targets: Array<{ target: string; statuses: Record<string, number> }> }>('/console/api/requests');
    expect(log.recent.map((request) => [request.target, request.status, request.events, request.reason ?? null])).toEqual([
      ['shop.hooks', 200, 2, null],
      ['shop.hooks', 400, 0, "signature does not match: check the function's sharedSecret (it must equal the source's secret) and that it signs the exact body"],
      ['shop.hooks', 400, 0, "no 'x-signature' header: the request is not signed — send it through the destination function (it signs every request), or sign the body yourself"],
      ['shop.hooks', 400, 0, 'not valid JSON at byte 14: trailing comma'],
      ['shop.hoks', 404, 0, "no webhook source materialize.shop.hoks: check the URL's database/schema/source (webhook sources here: shop.hooks)"],
      ['shop.hooks', 413, 0, 'body of 2.0 kB is over the 1.0 kB limit: send smaller batches'],
    ]);
    expect(log.recent[0]!.eventTypes).toEqual(['track']);
    expect(log.targets.find((target) => target.target === 'shop.hooks')!.statuses).toEqual({ 200: 1, 400: 3, 413: 1 });
    await expect.poll(async () => (await getJson<Graph>('/console/api/graph')).counts, { timeout: 5_000 }).toMatchObject({ hooks: 2, orders: 2 });
    // The rejection reasons never carry the secret or a signature.
    expect(JSON.stringify(log)).not.toContain(SECRET);
    expect(JSON.stringify(log)).not.toContain(hmacHex('wrong', good));
  });

  it('streams new requests to open pages', async () => {
    const controller = new AbortController();
    const response = await fetch(new URL('/console/api/events', running.url), { signal: controller.signal });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const reader = response.body!.getReader();
    await post(hookUrl(), '[]', { 'x-signature': 'nope' });
    let text = '';
    while (!text.includes('event: requests')) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    const data = JSON.parse(/event: requests\ndata: (.*)\n/.exec(text)![1]!) as { records: Array<{ status: number }> };
    expect(data.records.map((record) => record.status)).toEqual([400]);
  });

  it('passes the SQL API and the WebSocket API through to the local server', async () => {
    const response = await fetch(new URL('/api/sql', running.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'SELECT count(*) AS n FROM shop.orders; SELECT * FROM nope' }) });
    const body = (await response.json()) as { results: Array<{ rows?: unknown[][]; error?: { message: string; code: string } }> };
    expect(body.results[0]!.rows).toEqual([[2]]);
    expect(body.results[1]!.error).toEqual({ message: "unknown catalog item 'nope'", code: '42P01' });

    const socket = new WebSocket(new URL('/api/experimental/sql', running.url.replace('http', 'ws')));
    const messages: Array<{ type: string; payload: unknown }> = [];
    await new Promise<void>((resolve, reject) => {
      socket.on('open', () => socket.send(JSON.stringify({ user: 'materialize', password: '' })));
      socket.on('message', (data) => {
        const message = JSON.parse(String(data)) as { type: string; payload: unknown };
        messages.push(message);
        if (message.type === 'ReadyForQuery' && messages.filter((m) => m.type === 'ReadyForQuery').length === 1) socket.send(JSON.stringify({ query: 'SELECT id FROM shop.orders ORDER BY id' }));
        else if (message.type === 'ReadyForQuery') resolve();
      });
      socket.on('error', reject);
    });
    socket.close();
    expect(messages.filter((message) => message.type === 'Row').map((message) => message.payload)).toEqual([['o1'], ['o2']]);
  });

  it("serves a model's template, SQL and dependencies, and never a secret", async () => {
    const orders = await getJson<{ template: string; sql: string; dependsOn: string[]; kind: string }>('/console/api/node/orders');
    expect(orders.kind).toBe('materialized_view');
    expect(orders.template).toContain('{{ref.hooks}}');
    expect(orders.sql).toContain('CREATE MATERIALIZED VIEW');
    expect(orders.dependsOn).toEqual(['hooks']);
    const secret = await getJson<{ sql: string }>('/console/api/node/hook_secret');
    expect(JSON.stringify(secret)).not.toContain(SECRET);
    expect(JSON.stringify(await getJson('/console/api/graph'))).not.toContain(SECRET);
    const missing = await fetch(new URL('/console/api/node/nothing', running.url));
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'no model named nothing in the project' });
  });

  it('serves the page and its bundle', async () => {
    const page = await fetch(running.url);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('/assets/app.js');
    const script = await fetch(new URL('/assets/app.js', running.url));
    expect(script.headers.get('content-type')).toContain('javascript');
    expect((await script.text()).length).toBeGreaterThan(10_000);
    expect((await fetch(new URL('/assets/app.css', running.url))).status).toBe(200);
  });
});

describe('npm run local as a process', () => {
  it("prints the console's URL and serves the project of the directory it runs in", async () => {
    const server = await startServerProcess(['--memory']);
    try {
      await expect.poll(() => /console\s+(http:\/\/\S+)/.exec(server.output())?.[1], { timeout: 10_000 }).toBeDefined();
      const url = /console\s+(http:\/\/\S+)/.exec(server.output())![1]!;
      const graph = (await (await fetch(new URL('/console/api/graph', url))).json()) as Graph;
      expect(graph.project).toBe('segment_materialize');
      expect(graph.nodes.map((node) => node.name)).toContain('user_profiles');
      // Nothing is deployed in a fresh in-memory server.
      expect(new Set(graph.nodes.map((node) => node.status))).toEqual(new Set(['not_deployed']));
    } finally {
      server.child.kill('SIGTERM');
    }
  }, 60_000);
});
