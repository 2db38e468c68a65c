/**
 * kill -9 of `npm run activate` in the middle of a batch, then a restart: the receiver ends with
 * every change exactly once by id (the interrupted batch is sent again with the same ids), and
 * changes made while the worker was dead are sent once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/local-server.ts';
import { REPO_ROOT, tempProject } from '../helpers/temp-project.ts';
import { startWebhookReceiver, until, type WebhookReceiver } from './helpers.ts';
import { scriptArgs } from '../helpers/run-script.ts';

const SECRET = 'kill-test-secret';
let db: TestServer;
let receiver: WebhookReceiver;

beforeAll(async () => {
  db = await startTestServer();
  receiver = await startWebhookReceiver(SECRET);
});
afterAll(async () => {
  await receiver?.close();
  await db?.close();
});

async function startWorker(root: string): Promise<{ child: ChildProcess; output: () => string }> {
  let output = '';
  // node itself (not the tsx binary, a wrapper that cannot pass SIGKILL on to its child).
  const child = spawn(process.execPath, await scriptArgs('activate.ts', '--project-dir', root), {
    cwd: REPO_ROOT,
    env: { ...process.env, NO_COLOR: '1', HOOK_URL: receiver.url, HOOK_SECRET: SECRET },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

it('kill -9 mid-batch and restart: every change exactly once by id, nothing lost', { timeout: 90_000 }, async () => {
  await db.query(`CREATE TABLE src_k (id int, name text, score int)`);
  await db.query(`INSERT INTO src_k SELECT i, 'n' || i, 10 + i FROM generate_series(1, 100) AS i`);
  await db.query(`CREATE MATERIALIZED VIEW mart_k AS SELECT id, name, score FROM src_k WHERE score >= 10`);
  const root = tempProject({
    'project.yml': `name: kill_test\ndefault_target: t\ntargets:\n  t:\n    type: local\n    host: 127.0.0.1\n    port: ${db.server.pgPort}\n`,
    'models/mart_k.sql': `---\nkind: materialized_view\n---\nSELECT id, name, score FROM src_k WHERE score >= 10\n`,
    'activations/kill_hook.yml': `model: mart_k\nkey: [id]\ndestination: webhook\nwebhook:\n  url_env: HOOK_URL\n  secret_env: HOOK_SECRET\n  batch_size: 10\n`,
  });
  // The first worker dies (kill -9) when the third request of the 100-row snapshot arrives.
  let first: Awaited<ReturnType<typeof startWorker>> | null = null;
  let requests = 0;
  receiver.respond = async () => {
    requests++;
    if (requests === 3 && first) first.child.kill('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 20));
    return { status: 200 };
  };
  first = await startWorker(root);
  await until(() => first!.child.exitCode !== null || first!.child.signalCode !== null, 'the kill', 60_000);
  // The worker sends up to four requests at once: those that arrived with the third are still in
  // their 20 ms answer when the kill is seen, and are recorded when it ends.
  await until(() => receiver.requests.length >= requests, 'the requests that arrived before the kill to be answered');
  const beforeRestart = receiver.unique().size;
  expect(beforeRestart, first.output()).toBeGreaterThan(0);
  expect(beforeRestart).toBeLessThan(100);
  // Changes while no worker runs.
  await db.query(`UPDATE src_k SET name = 'changed' WHERE id = 1`);
  await db.query(`DELETE FROM src_k WHERE id = 100`);
  receiver.respond = () => ({ status: 200 });
  const second = await startWorker(root);
  try {
    await until(() => receiver.unique().size >= 102, 'the restart to deliver the rest', 60_000);
    await db.query(`INSERT INTO src_k VALUES (101, 'new', 50)`);
    await until(() => receiver.unique().size >= 103, 'a change after the restart', 30_000);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  } finally {
    second.child.kill('SIGTERM');
    await until(() => second.child.exitCode !== null || second.child.signalCode !== null, 'the second worker to stop', 20_000);
  }
  const unique = [...receiver.unique().values()];
  // 100 snapshot rows + the update of 1 + the delete of 100 + the insert of 101, once each by id.
  expect(unique).toHaveLength(103);
  const byKey = (op: string, id: number) => unique.filter((change) => change.op === op && change.key.id === id);
  for (let id = 1; id <= 100; id++) expect(byKey('upsert', id).length, `snapshot row ${id}`).toBeGreaterThanOrEqual(1);
  expect(byKey('upsert', 1).map((change) => change.row.name).sort()).toEqual(['changed', 'n1']);
  expect(byKey('delete', 100)).toHaveLength(1);
  expect(byKey('upsert', 101)).toHaveLength(1);
  // What was re-sent after the kill carried the ids first sent: no (key, row) arrived under two ids.
  const distinctContent = new Set(receiver.accepted().map((change) => JSON.stringify([change.op, change.key, change.row])));
  expect(distinctContent.size).toBe(103);
  expect(receiver.accepted().length).toBeGreaterThanOrEqual(103);
  expect(receiver.requests.every((request) => request.signatureValid)).toBe(true);
  expect(second.output(), second.output()).toContain('re-sent');
});
