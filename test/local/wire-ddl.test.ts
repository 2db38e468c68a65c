/**
 * Materialize statements over the Postgres wire protocol: translation, Materialize's error texts,
 * the catalog relations, both query protocols, several clients, transactions and the webhook queue.
 */
import { createHmac } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post, startTestServer, type TestServer } from '../helpers/local-server.ts';

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({ idleInTransactionTimeoutMs: 1_500 });
}, 60_000);

afterAll(async () => {
  await t?.close();
});

async function errorOf(promise: Promise<unknown>): Promise<{ message: string; code: string; where?: string }> {
  try {
    await promise;
  } catch (error) {
    const { message, code, where } = error as { message: string; code: string; where?: string };
    return { message, code, ...(where ? { where } : {}) };
  }
  throw new Error('expected the statement to fail');
}

async function catalogSnapshot() {
  return {
    clusters: await t.query('SELECT name FROM mz_catalog.mz_clusters ORDER BY name'),
    sources: await t.query('SELECT name, type FROM mz_catalog.mz_sources ORDER BY name'),
    views: await t.query('SELECT name FROM mz_catalog.mz_views ORDER BY name'),
    materialized: await t.query('SELECT name FROM mz_catalog.mz_materialized_views ORDER BY name'),
    secrets: await t.query('SELECT name FROM mz_catalog.mz_secrets ORDER BY name'),
    indexes: await t.query('SELECT name FROM mz_catalog.mz_indexes ORDER BY name'),
  };
}

describe('Materialize DDL', () => {
  it('creates the seed pipeline objects and reports Materialize command tags', async () => {
    const cluster = await t.sql.query(`CREATE CLUSTER "webhooks_cluster" (SIZE = '25cc')`);
    expect(cluster.command).toBe('CREATE');
    await t.sql.query(`CREATE SECRET IF NOT EXISTS "public"."seg_secret" AS 'abc'`);
    await t.sql.query(`CREATE SECRET IF NOT EXISTS "public"."seg_secret" AS 'ignored'`);
    await t.sql.query(`CREATE SOURCE "public"."seg" IN CLUSTER "webhooks_cluster"
      -- a comment between clauses
      FROM WEBHOOK BODY FORMAT JSON ARRAY INCLUDE HEADER 'event-type' AS event_type INCLUDE HEADERS
      CHECK (WITH (BODY BYTES, HEADERS, SECRET "public"."seg_secret" BYTES AS validation_secret)
        constant_time_eq(decode(headers->'x-signature', 'hex'), hmac(body, validation_secret, 'sha1')))`);
    await t.sql.query(`CREATE MATERIALIZED VIEW "public"."seg_events" IN CLUSTER "webhooks_cluster" AS
      SELECT DISTINCT ON (body->>'messageId') body->>'messageId' AS message_id, event_type FROM seg ORDER BY body->>'messageId'`);
    await t.sql.query(`CREATE VIEW seg_tracks AS SELECT * FROM seg_events WHERE event_type = 'track'`);
    await t.sql.query(`CREATE INDEX seg_events_idx IN CLUSTER "webhooks_cluster" ON "public"."seg_events" (message_id)`);
    await t.sql.query(`CREATE DEFAULT INDEX ON seg_tracks`);

    expect(await catalogSnapshot()).toMatchObject({
      clusters: [{ name: 'quickstart' }, { name: 'webhooks_cluster' }],
      sources: [{ name: 'seg', type: 'webhook' }],
      views: [{ name: 'seg_tracks' }],
      materialized: [{ name: 'seg_events' }],
      secrets: [{ name: 'seg_secret' }],
      indexes: [{ name: 'seg_events_idx' }, { name: 'seg_tracks_primary_idx' }],
    });
    const [webhook] = await t.query<{ name: string; url: string }>('SELECT name, url FROM mz_internal.mz_webhook_sources');
    expect(webhook).toEqual({ name: 'seg', url: t.server.webhookUrl('seg') });
    // mz_secrets shows names only.
    expect(Object.keys((await t.query('SELECT * FROM mz_catalog.mz_secrets'))[0]!)).toEqual(['id', 'oid', 'schema_id', 'name', 'owner_id', 'privileges']);
  });

  it('materialized views are current when read', async () => {
    expect(await t.query('SELECT * FROM seg_events')).toEqual([]);
    // Through the webhook (a client's INSERT into a source is refused, as in Materialize).
    const body = JSON.stringify([{ messageId: 'm1' }, { messageId: 'm1' }]);
    const signature = createHmac('sha1', 'abc').update(body).digest('hex');
    expect((await post(t.server.webhookUrl('seg'), body, { 'x-signature': signature, 'event-type': 'track' })).status).toBe(200);
    expect(await t.query('SELECT * FROM seg_tracks')).toEqual([{ message_id: 'm1', event_type: 'track' }]);
  });

  it('SHOW commands list objects with Materialize column names', async () => {
    expect(await t.query('SHOW SOURCES')).toEqual([{ name: 'seg', type: 'webhook', cluster: 'webhooks_cluster', comment: '' }]);
    expect(await t.query('SHOW MATERIALIZED VIEWS')).toEqual([{ name: 'seg_events', cluster: 'webhooks_cluster', comment: '' }]);
    expect(await t.query('SHOW VIEWS')).toEqual([{ name: 'seg_tracks', comment: '' }]);
    expect(await t.query('SHOW SECRETS')).toEqual([{ name: 'seg_secret', comment: '' }]);
    expect((await t.query<{ name: string }>('SHOW CLUSTERS')).map((row) => row.name)).toEqual(['quickstart', 'webhooks_cluster']);
    await t.sql.query('SET CLUSTER = webhooks_cluster');
    expect(await t.query('SHOW CLUSTER')).toEqual([{ cluster: 'webhooks_cluster' }]);
    await t.sql.query('SET CLUSTER TO quickstart');
  });

  it('errors use Materialize texts and leave the catalog unchanged', async () => {
    const before = await catalogSnapshot();
    expect(await errorOf(t.sql.query(`CREATE CLUSTER webhooks_cluster (SIZE = '25cc')`))).toEqual({
      message: "cluster 'webhooks_cluster' already exists",
      code: '42710',
    });
    expect((await errorOf(t.sql.query(`CREATE SOURCE seg FROM WEBHOOK BODY FORMAT TEXT`))).message).toBe(
      'source "materialize.public.seg" already exists',
    );
    expect((await errorOf(t.sql.query(`CREATE SOURCE x IN CLUSTER nowhere FROM WEBHOOK BODY FORMAT TEXT`))).message).toBe(
      "unknown cluster 'nowhere'",
    );
    expect((await errorOf(t.sql.query(`CREATE SOURCE x FROM WEBHOOK BODY FORMAT XML`))).message).toBe(
      'Expected one of BYTES, JSON or TEXT, found XML',
    );
    expect((await errorOf(t.sql.query(`CREATE SOURCE x FROM WEBHOOK BODY FORMAT TEXT CHECK (WITH (SECRET missing) true)`))).message).toBe(
      "unknown catalog item 'missing'",
    );
    const badCheck = await errorOf(t.sql.query(`CREATE SOURCE x FROM WEBHOOK BODY FORMAT TEXT CHECK (no_such_function(body))`));
    expect(badCheck.message).toMatch(/^invalid CHECK expression: function no_such_function\(text\) does not exist/);
    expect((await errorOf(t.sql.query(`CREATE SOURCE x FROM WEBHOOK BODY FORMAT TEXT CHECK (mz_now() IS NOT NULL)`))).message).toBe(
      'expression provided in CHECK is not deterministic',
    );
    expect((await errorOf(t.sql.query(`DROP SOURCE seg`))).message).toBe(
      'cannot drop source "seg": still depended upon by materialized view "seg_events"',
    );
    expect((await errorOf(t.sql.query(`DROP VIEW seg_events`))).message).toBe(
      'materialize.public.seg_events is not a view',
    );
    expect((await errorOf(t.sql.query(`DROP SECRET seg_secret`))).message).toBe(
      'cannot drop secret "seg_secret": still depended upon by source "seg"',
    );
    expect((await errorOf(t.sql.query(`CREATE MATERIALIZED VIEW broken AS SELECT nope FROM seg`))).message).toBe(
      'column "nope" does not exist',
    );
    // A failing statement in a multi-statement query rolls back the ones before it.
    await errorOf(t.sql.query(`CREATE SECRET s_multi AS 'x'; CREATE CLUSTER webhooks_cluster (SIZE = '25cc')`));
    expect(await catalogSnapshot()).toEqual(before);
  });

  it('translation details never leak into errors (no PL/pgSQL context)', async () => {
    const error = await errorOf(t.sql.query(`DROP SOURCE nothing_here`));
    expect(error).toEqual({ message: "unknown catalog item 'nothing_here'", code: '42704' });
  });

  it('the extended query protocol works for translated statements too', async () => {
    const result = await t.sql.query({ name: 'make-secret', text: `CREATE SECRET prepared_secret AS 'p'` });
    expect(result.command).toBe('CREATE');
    expect(await t.query(`SELECT name FROM mz_catalog.mz_secrets WHERE name = $1`, ['prepared_secret'])).toEqual([
      { name: 'prepared_secret' },
    ]);
    const failure = await errorOf(t.sql.query({ name: 'bad-drop', text: `DROP SECRET not_there` }));
    expect(failure).toEqual({ message: "unknown catalog item 'not_there'", code: '42704' });
  });

  it('ALTER SECRET converges the value; RENAME keeps dependents working; DROP … CASCADE removes them', async () => {
    await t.sql.query(`ALTER SECRET seg_secret AS 'rotated'`);
    const [secret] = await t.query<{ value: string }>(`SELECT convert_from(value, 'UTF8') AS value FROM mz_local.secrets WHERE name = 'seg_secret'`);
    expect(secret!.value).toBe('rotated');
    await t.sql.query(`ALTER MATERIALIZED VIEW seg_events RENAME TO seg_events_v2`);
    expect(await t.query('SELECT count(*)::int AS n FROM seg_tracks')).toEqual([{ n: 1 }]);
    await t.sql.query(`ALTER MATERIALIZED VIEW seg_events_v2 RENAME TO seg_events`);
    await t.sql.query(`CREATE SOURCE to_drop FROM WEBHOOK BODY FORMAT TEXT`);
    await t.sql.query(`CREATE MATERIALIZED VIEW on_to_drop AS SELECT body FROM to_drop`);
    await t.sql.query(`CREATE INDEX on_to_drop_idx ON on_to_drop (body)`);
    await t.sql.query(`DROP SOURCE to_drop CASCADE`);
    const names = (await t.query<{ name: string }>(`SELECT name FROM mz_local.show_objects`)).map((row) => row.name);
    expect(names).not.toContain('to_drop');
    expect(names).not.toContain('on_to_drop');
    expect(names).not.toContain('on_to_drop_idx');
    await t.sql.query(`DROP SOURCE IF EXISTS to_drop`);
  });

  it('unsupported Materialize features say so instead of failing oddly', async () => {
    // (ALTER SCHEMA … SWAP is supported now: test/conformance/swap-and-hydration.test.ts; naming a schema that is not there says so.)
    expect((await errorOf(t.sql.query(`ALTER SCHEMA public SWAP WITH other`))).message).toBe("unknown schema 'other'");
    expect((await errorOf(t.sql.query(`CREATE SINK s FROM seg INTO KAFKA CONNECTION k (TOPIC 't')`))).code).toBe('0A000');
  });

  it('Materialize functions: constant_time_eq, try_parse_monotonic_iso8601_timestamp, hmac, mz_now', async () => {
    const [row] = await t.query(`SELECT
      constant_time_eq('a'::bytea, 'a'::bytea) AS bytes_equal,
      constant_time_eq('a', 'b') AS text_equal,
      try_parse_monotonic_iso8601_timestamp('2024-05-06T07:08:09.123Z') AS parsed,
      try_parse_monotonic_iso8601_timestamp('2024-05-06T07:08:09Z') AS no_millis,
      try_parse_monotonic_iso8601_timestamp('2024-13-06T07:08:09.123Z') AS bad_month,
      encode(hmac('body', 'key', 'sha1'), 'hex') AS signature,
      mz_now() <= now() AS now_ok`);
    expect(row).toEqual({
      bytes_equal: true,
      text_equal: false,
      parsed: new Date('2024-05-06T07:08:09.123Z'),
      no_millis: null,
      bad_month: null,
      signature: createHmac('sha1', 'key').update('body').digest('hex'),
      now_ok: true,
    });
  });

  it('plain PostgreSQL passes through untouched', async () => {
    await t.sql.query('CREATE TABLE plain (id int PRIMARY KEY, note text)');
    await t.sql.query('INSERT INTO plain VALUES ($1, $2)', [1, 'one']);
    expect(await t.query('SELECT * FROM plain')).toEqual([{ id: 1, note: 'one' }]);
    expect(await t.query('SHOW TABLES')).toEqual([{ name: 'plain', comment: '' }]);
  });
});

describe('sessions and the shared queue', () => {
  it('a parameterized read is not reported as a write; a parameterized INSERT is', async () => {
    await t.sql.query(`CREATE TABLE IF NOT EXISTS public.noted_writes (n int)`);
    const seen: string[] = [];
    const unsubscribe = t.server.onChange((what) => seen.push(what));
    try {
      await t.sql.query(`SELECT $1::int AS n`, [1]);
      await t.sql.query({ name: 'named_read', text: `SELECT count(*) FROM public.noted_writes WHERE n = $1`, values: [1] });
      await t.sql.query({ name: 'named_read', text: `SELECT count(*) FROM public.noted_writes WHERE n = $1`, values: [2] });
      expect(seen).toEqual([]);
      await t.sql.query(`INSERT INTO public.noted_writes VALUES ($1)`, [1]);
      expect(seen).toContain('write');
    } finally {
      unsubscribe();
    }
  });

  it('serves several clients at once, and another client waits for an open transaction', async () => {
    const other = new pg.Client(t.server.pgUrl);
    await other.connect();
    await t.sql.query('CREATE TABLE shared (n int)');
    await t.sql.query('BEGIN');
    await t.sql.query('INSERT INTO shared VALUES (1)');
    let otherDone = false;
    const otherInsert = other.query('INSERT INTO shared VALUES (2)').then(() => (otherDone = true));
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(otherDone).toBe(false);
    await t.sql.query('ROLLBACK');
    await otherInsert;
    expect(await t.query('SELECT n FROM shared')).toEqual([{ n: 2 }]);
    const insertMany = async (client: pg.Client, first: number) => {
      for (let n = first; n < first + 10; n++) await client.query('INSERT INTO shared VALUES ($1)', [n]);
    };
    await Promise.all([insertMany(t.sql, 0), insertMany(other, 10)]);
    expect(await t.query('SELECT count(*)::int AS n FROM shared')).toEqual([{ n: 21 }]);
    await other.end();
  });

  it('a webhook append never lands inside a client transaction: it waits, then commits on its own', async () => {
    await t.sql.query(`CREATE SOURCE queued FROM WEBHOOK BODY FORMAT TEXT`);
    await t.sql.query('BEGIN');
    await t.sql.query(`INSERT INTO plain VALUES (99, 'in transaction')`);
    const pending = post(t.server.webhookUrl('queued'), 'after the transaction');
    await new Promise((resolve) => setTimeout(resolve, 150));
    await t.sql.query('ROLLBACK');
    expect((await pending).status).toBe(200);
    expect(await t.query('SELECT body FROM queued')).toEqual([{ body: 'after the transaction' }]);
    expect(await t.query('SELECT * FROM plain WHERE id = 99')).toEqual([]);
  });

  it('a session idle in a transaction is ended, so appends are not blocked forever', async () => {
    const idle = new pg.Client(t.server.pgUrl);
    idle.on('error', () => {});
    await idle.connect();
    await idle.query('BEGIN');
    await idle.query(`INSERT INTO plain VALUES (100, 'never committed')`);
    const started = Date.now();
    const response = await post(t.server.webhookUrl('queued'), 'unblocked');
    expect(response.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(await t.query('SELECT * FROM plain WHERE id = 100')).toEqual([]);
    await idle.end().catch(() => {});
  });
});
