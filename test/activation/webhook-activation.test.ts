/**
 * Webhook activations against the local server: SUBSCRIBE … ENVELOPE UPSERT followed, each change
 * delivered once (by id), signed, retried on 429/5xx, refused rows reported with their key, and a
 * restart that sends exactly what changed while the worker was down.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/local-server.ts';
import pg from 'pg';
import { CheckpointStore } from '../../scripts/activation/checkpoint-store.ts';
import { bindTo, runWorker, startWebhookReceiver, until, type WebhookReceiver } from './helpers.ts';

const SECRET = 'test-hook-secret';
const DECLARATION = `model: mart
key: [id]
destination: webhook
webhook:
  url_env: HOOK_URL
  secret_env: HOOK_SECRET
  batch_size: 2
`;

let db: TestServer;
let table = 0;

beforeAll(async () => {
  db = await startTestServer();
});
afterAll(async () => {
  await db?.close();
});

/** The environment a worker reads the receiver's URL and secret from (the declaration's url_env, secret_env). */
type HookEnv = { HOOK_URL: string; HOOK_SECRET: string };

/**
 * Runs `test` with a receiver of its own, closed after it: the tests run at once (they mostly wait
 * on retries, a lease and a resubscription), each with its own receiver, table and view, so no test
 * sees another's requests.
 */
async function withReceiver(test: (receiver: WebhookReceiver, env: HookEnv) => Promise<void>): Promise<void> {
  const receiver = await startWebhookReceiver(SECRET);
  try {
    await test(receiver, { HOOK_URL: receiver.url, HOOK_SECRET: SECRET });
  } finally {
    await receiver.close();
  }
}

/** A fresh table and materialized view per test (names differ: the checkpoint is per activation). */
async function freshMart(rows: string): Promise<{ name: string; source: string }> {
  table++;
  const source = `src_${table}`;
  const name = `mart_${table}`;
  await db.query(`CREATE TABLE ${source} (id int, name text, score int)`);
  if (rows) await db.query(`INSERT INTO ${source} VALUES ${rows}`);
  await db.query(`CREATE MATERIALIZED VIEW ${name} AS SELECT id, name, score FROM ${source} WHERE score >= 10`);
  return { name, source };
}

function worker(env: HookEnv, name: string, declaration = DECLARATION) {
  return runWorker([bindTo(name, declaration, name)], { connection: { connectionString: db.server.pgUrl }, env });
}

describe.concurrent('webhook activation', () => {
  it('delivers the snapshot, then upserts, updates and deletes, each once, signed, with op, key, row and timestamp', () =>
    withReceiver(async (receiver, env) => {
      const { name, source } = await freshMart(`(1, 'a', 10), (2, 'b', 20), (3, 'c', 5)`);
      const running = worker(env, name);
      try {
        await until(() => receiver.unique().size === 2, 'the snapshot');
        await db.query(`UPDATE ${source} SET score = 11 WHERE id = 1`);
        await until(() => receiver.unique().size === 3, 'the update');
        await db.query(`UPDATE ${source} SET score = 1 WHERE id = 2`); // leaves the mart
        await db.query(`INSERT INTO ${source} VALUES (4, 'd', 40)`);
        await until(() => receiver.unique().size === 5, 'the delete and the insert');
      } finally {
        await running.stop();
      }
      expect(receiver.requests.every((request) => request.signatureValid)).toBe(true);
      const changes = [...receiver.unique().values()];
      expect(receiver.accepted()).toHaveLength(changes.length); // nothing sent twice
      const summary = changes.map((change) => [change.op, change.key, change.row]);
      expect(summary).toEqual(
        expect.arrayContaining([
          ['upsert', { id: 1 }, { id: 1, name: 'a', score: 10 }],
          ['upsert', { id: 2 }, { id: 2, name: 'b', score: 20 }],
          ['upsert', { id: 1 }, { id: 1, name: 'a', score: 11 }],
          // A delete carries the row as it was last delivered.
          ['delete', { id: 2 }, { id: 2, name: 'b', score: 20 }],
          ['upsert', { id: 4 }, { id: 4, name: 'd', score: 40 }],
        ]),
      );
      expect(changes.every((change) => /^\d{13,}$/.test(change.mz_timestamp))).toBe(true);
      // batch_size 2: the 2-row snapshot went in one request.
      expect(JSON.parse(receiver.requests[0]!.body)).toMatchObject({ activation: name, changes: [{ op: 'upsert' }, { op: 'upsert' }] });
    }));

  it('retries 500 and 429 (honouring Retry-After) with the same ids, and delivers once', () =>
    withReceiver(async (receiver, env) => {
      const { name, source } = await freshMart(`(1, 'a', 10)`);
      receiver.failNext([500, 503]);
      receiver.failNext([429], { 'retry-after': '0' });
      const running = worker(env, name);
      try {
        await until(() => receiver.unique().size === 1, 'the snapshot after three failures');
        receiver.failNext([502]);
        await db.query(`INSERT INTO ${source} VALUES (2, 'b', 20)`);
        await until(() => receiver.unique().size === 2, 'the insert after a failure');
      } finally {
        await running.stop();
      }
      expect(receiver.requests.map((request) => request.status)).toEqual([500, 503, 429, 200, 502, 200]);
      expect(new Set(receiver.requests.slice(0, 4).map((request) => request.changes[0]!.id)).size).toBe(1);
      expect(running.events.filter((event) => event.type === 'retrying')).toHaveLength(4);
      expect(receiver.accepted()).toHaveLength(2);
    }));

  it('reports a 4xx with the row key and the receiver’s answer, delivers the rest of the batch, and goes on', () =>
    withReceiver(async (receiver, env) => {
      const { name, source } = await freshMart(`(1, 'a', 10), (2, 'bad', 20), (3, 'c', 30)`);
      receiver.respond = (changes) => (changes.some((change) => change.row.name === 'bad') ? { status: 422, body: 'name "bad" is not allowed' } : { status: 200 });
      const running = worker(env, name);
      try {
        await until(() => running.events.some((event) => event.type === 'delivered'), 'the snapshot');
        await db.query(`INSERT INTO ${source} VALUES (4, 'd', 40)`);
        await until(() => receiver.unique().size === 3, 'the insert after the refusal');
      } finally {
        await running.stop();
      }
      expect([...receiver.unique().values()].map((change) => change.key.id).sort()).toEqual([1, 3, 4]);
      const failed = running.events.flatMap((event) => (event.type === 'failed' ? [event.failure] : []));
      expect(failed).toEqual([expect.objectContaining({ keyText: '[2]', status: 422, reason: '422: name "bad" is not allowed' })]);
      const stored = await db.query<{ key_text: string; status: number; reason: string }>(`SELECT key_text, status, reason FROM segment_materialize_activations.failures WHERE activation = $1`, [name]);
      expect(stored).toEqual([{ key_text: '[2]', status: 422, reason: '422: name "bad" is not allowed' }]);
    }));

  it('a restart sends exactly what changed while no worker ran, nothing twice', () =>
    withReceiver(async (receiver, env) => {
      const { name, source } = await freshMart(`(1, 'a', 10), (2, 'b', 20), (3, 'c', 30)`);
      let running = worker(env, name);
      await until(() => receiver.unique().size === 3, 'the snapshot');
      await running.stop();
      await db.query(`UPDATE ${source} SET name = 'a2' WHERE id = 1`);
      await db.query(`DELETE FROM ${source} WHERE id = 3`);
      await db.query(`INSERT INTO ${source} VALUES (4, 'd', 40)`);
      running = worker(env, name);
      try {
        await until(() => receiver.unique().size === 6, 'the changes made while down');
        await new Promise((resolve) => setTimeout(resolve, 500));
      } finally {
        await running.stop();
      }
      const after = [...receiver.unique().values()].slice(3).map((change) => [change.op, change.key.id]);
      expect(after.sort()).toEqual([['delete', 3], ['upsert', 1], ['upsert', 4]].sort());
      expect(receiver.accepted()).toHaveLength(6);
      expect(running.events.find((event) => event.type === 'following')).toMatchObject({ delivered: 3 });
    }));

  it('a wrong secret is refused by the receiver and reported, not retried', () =>
    withReceiver(async (receiver, env) => {
      const { name } = await freshMart(`(1, 'a', 10)`);
      const running = runWorker([bindTo(name, DECLARATION, name)], { connection: { connectionString: db.server.pgUrl }, env: { ...env, HOOK_SECRET: 'wrong' } });
      try {
        await until(() => running.events.some((event) => event.type === 'failed'), 'the refusal');
      } finally {
        await running.stop();
      }
      expect(receiver.requests.map((request) => request.status)).toEqual([401]);
      const failure = running.events.find((event) => event.type === 'failed');
      expect(JSON.stringify(failure)).not.toContain('wrong');
    }));

  it('two workers on one activation: one delivers, the other waits and takes over when it stops', () =>
    withReceiver(async (receiver, env) => {
      const { name, source } = await freshMart(`(1, 'a', 10)`);
      const first = worker(env, name);
      await until(() => receiver.unique().size === 1, 'the first worker');
      const second = worker(env, name);
      try {
        await until(() => second.events.some((event) => event.type === 'waiting'), 'the second to wait');
        await first.stop();
        await until(() => second.events.some((event) => event.type === 'following'), 'the second to take over', 20_000);
        await db.query(`INSERT INTO ${source} VALUES (2, 'b', 20)`);
        await until(() => receiver.unique().size === 2, 'the insert through the second worker');
      } finally {
        await first.stop();
        await second.stop();
      }
      expect(receiver.accepted()).toHaveLength(2);
    }));

  it('a blue/green swap of the schema resumes on the new version without re-sending unchanged rows', () =>
    withReceiver(async (receiver, env) => {
      await db.query(`CREATE TABLE bg_src (id int, name text, score int)`);
      await db.query(`INSERT INTO bg_src VALUES (1, 'a', 10), (2, 'b', 20)`);
      await db.query(`CREATE SCHEMA bg`);
      await db.query(`CREATE SCHEMA bg_deploy`);
      await db.query(`CREATE MATERIALIZED VIEW bg.mart AS SELECT id, name, score FROM public.bg_src WHERE score >= 10`);
      // The new version: the same rows, one column computed differently for id 2.
      await db.query(`CREATE MATERIALIZED VIEW bg_deploy.mart AS SELECT id, CASE WHEN id = 2 THEN 'B' ELSE name END AS name, score FROM public.bg_src WHERE score >= 10`);
      const running = runWorker([bindTo('bg_mart', DECLARATION, 'mart', 'bg')], { connection: { connectionString: db.server.pgUrl }, env });
      try {
        await until(() => receiver.unique().size === 2, 'the snapshot');
        await db.query(`ALTER SCHEMA bg SWAP WITH bg_deploy`);
        await until(() => running.events.some((event) => event.type === 'resubscribing'), 'the resubscription');
        await until(() => receiver.unique().size === 3, 'the changed row of the new version');
        await db.query(`INSERT INTO bg_src VALUES (3, 'c', 30)`);
        await until(() => receiver.unique().size === 4, 'an insert after the swap');
      } finally {
        await running.stop();
      }
      const changes = [...receiver.unique().values()].map((change) => [change.op, change.row.id, change.row.name]);
      expect(changes).toEqual([['upsert', 1, 'a'], ['upsert', 2, 'b'], ['upsert', 2, 'B'], ['upsert', 3, 'c']]);
      expect(receiver.accepted()).toHaveLength(4);
    }));
});

describe('the checkpoint schema', () => {
  it('is created once: a worker starting again only reads the catalog (DDL, even IF NOT EXISTS, moves it and re-plans kept views)', async () => {
    const client = new pg.Client({ connectionString: db.server.pgUrl });
    await client.connect();
    let catalogChanges = 0;
    const stopListening = db.server.onChange((what) => {
      if (what === 'catalog') catalogChanges++;
    });
    try {
      await CheckpointStore.ensureSchema(client);
      catalogChanges = 0;
      await CheckpointStore.ensureSchema(client);
      expect(catalogChanges).toBe(0);
      // A table gone (dropped by hand): created again.
      await client.query(`DROP TABLE segment_materialize_activations.totals`);
      catalogChanges = 0;
      await CheckpointStore.ensureSchema(client);
      expect(catalogChanges).toBeGreaterThan(0);
      const { rows } = await client.query(`SELECT count(*)::int AS n FROM segment_materialize_activations.totals`);
      expect(rows[0].n).toBe(0);
    } finally {
      stopListening();
      await client.end();
    }
  });
});
