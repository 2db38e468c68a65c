/**
 * SUBSCRIBE on the local server, as Materialize documents it (sql/subscribe, declare, fetch):
 * cursors read with FETCH (waiting, or within a timeout), COPY (SUBSCRIBE …) TO STDOUT streaming
 * until canceled or UP TO, the snapshot, PROGRESS rows, ENVELOPE UPSERT, temporal filters whose
 * rows leave with time — and a subscription never blocking webhook appends. Own cases.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post, startTestServer, type TestServer } from '../helpers/local-server.ts';
import { errorFields, RawWireClient } from '../helpers/raw-wire.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
  await t.sql.query(`CREATE SOURCE clicks FROM WEBHOOK BODY FORMAT JSON`);
  await t.sql.query(`CREATE MATERIALIZED VIEW clicks_per_page AS SELECT body->>'page' AS page, count(*) AS clicks FROM clicks GROUP BY 1`);
  await t.sql.query(`CREATE TABLE notes (id int, note text)`);
});
afterAll(async () => {
  await t?.close();
});

const click = (page: string) => post(t.server.webhookUrl('clicks'), JSON.stringify({ page }));

async function client(): Promise<pg.Client> {
  const connection = new pg.Client(t.server.pgUrl);
  await connection.connect();
  return connection;
}

describe('DECLARE … CURSOR FOR SUBSCRIBE and FETCH', () => {
  it('the snapshot first, then one batch per change; FETCH waits without a timeout, returns empty after one', async () => {
    await click('home');
    const c = await client();
    try {
      await c.query('BEGIN');
      expect((await c.query('DECLARE feed CURSOR FOR SUBSCRIBE clicks_per_page')).command).toBe('DECLARE');
      const snapshot = await c.query(`FETCH ALL feed WITH (timeout = '0s')`);
      expect(snapshot.fields.map((field) => [field.name, field.dataTypeID])).toEqual([
        ['mz_timestamp', 1700],
        ['mz_diff', 20],
        ['page', 25],
        ['clicks', 20],
      ]);
      expect(snapshot.rows.map((row) => [row.mz_diff, row.page, row.clicks])).toEqual([['1', 'home', '1']]);

      setTimeout(() => void click('home'), 50);
      const change = await c.query('FETCH ALL feed');
      const timestamps = new Set(change.rows.map((row) => row.mz_timestamp));
      expect(timestamps.size).toBe(1);
      expect(Number([...timestamps][0])).toBeGreaterThan(Number(snapshot.rows[0].mz_timestamp));
      expect(change.rows.map((row) => [row.mz_diff, row.clicks]).sort()).toEqual([
        ['-1', '1'],
        ['1', '2'],
      ]);

      const started = performance.now();
      expect((await c.query(`FETCH ALL feed WITH (timeout = '150ms')`)).rows).toEqual([]);
      expect(performance.now() - started).toBeGreaterThanOrEqual(140);
      expect((await c.query('CLOSE feed')).command).toBe('CLOSE');
      expect((await c.query('COMMIT')).command).toBe('COMMIT');
      expect((await c.query(`SELECT clicks FROM clicks_per_page WHERE page = 'home'`)).rows).toEqual([{ clicks: '2' }]);
    } finally {
      await c.end();
    }
  });

  it('FETCH n returns at most n; a cursor outside a transaction is refused', async () => {
    const c = await client();
    try {
      await expect(c.query('DECLARE loose CURSOR FOR SUBSCRIBE clicks_per_page')).rejects.toThrow('DECLARE CURSOR can only be used in transaction blocks');
      await c.query('BEGIN');
      await c.query(`DECLARE few CURSOR FOR SUBSCRIBE (SELECT generate_series(1, 5) AS n)`);
      expect((await c.query('FETCH 2 few')).rows.map((row) => row.n)).toEqual([1, 2]);
      expect((await c.query('FETCH few')).rows.map((row) => row.n)).toEqual([3]);
      await c.query('ROLLBACK');
    } finally {
      await c.end();
    }
  });

  it('an open cursor, even a waiting FETCH, never blocks webhook appends or other sessions', async () => {
    const c = await client();
    try {
      await c.query('BEGIN');
      await c.query('DECLARE waiting CURSOR FOR SUBSCRIBE (SELECT count(*) AS n FROM notes)');
      await c.query(`FETCH ALL waiting WITH (timeout = '0s')`);
      const fetching = c.query('FETCH ALL waiting');
      const started = performance.now();
      expect((await click('elsewhere')).status).toBe(200);
      expect(await t.query(`SELECT count(*)::int AS n FROM clicks WHERE body->>'page' = 'elsewhere'`)).toEqual([{ n: 1 }]);
      expect(performance.now() - started).toBeLessThan(2_000);
      await t.sql.query(`INSERT INTO notes VALUES (1, 'wakes the fetch')`);
      expect((await fetching).rows.map((row) => [row.mz_diff, row.n]).sort()).toEqual([
        ['-1', '0'],
        ['1', '1'],
      ]);
      await c.query('COMMIT');
    } finally {
      await c.end();
    }
  });

  it('WITH (SNAPSHOT = false) skips the current rows; WITH (PROGRESS) adds mz_progressed and progress rows', async () => {
    const c = await client();
    try {
      await c.query('BEGIN');
      await c.query(`DECLARE changes_only CURSOR FOR SUBSCRIBE clicks_per_page WITH (SNAPSHOT = false, PROGRESS)`);
      const first = await c.query(`FETCH ALL changes_only WITH (timeout = '0s')`);
      expect(first.fields.map((field) => field.name)).toEqual(['mz_timestamp', 'mz_progressed', 'mz_diff', 'page', 'clicks']);
      expect(first.rows[0]).toMatchObject({ mz_progressed: true, mz_diff: null, page: null, clicks: null });
      expect(first.rows.filter((row) => !row.mz_progressed)).toEqual([]);
      await click('pricing');
      const rows = (await c.query(`FETCH ALL changes_only WITH (timeout = '1s')`)).rows;
      const data = rows.filter((row) => !row.mz_progressed);
      expect(data.map((row) => [row.mz_diff, row.page, row.clicks])).toEqual([['1', 'pricing', '1']]);
      await c.query('COMMIT');
    } finally {
      await c.end();
    }
  });

  it('ENVELOPE UPSERT (KEY (…)): mz_state, key columns first, upserts and deletes', async () => {
    const c = await client();
    try {
      await t.sql.query(`INSERT INTO notes VALUES (7, 'first')`);
      await c.query('BEGIN');
      await c.query(`DECLARE upserts CURSOR FOR SUBSCRIBE (SELECT note, id FROM notes WHERE id = 7) ENVELOPE UPSERT (KEY (id))`);
      const snapshot = await c.query(`FETCH ALL upserts WITH (timeout = '0s')`);
      expect(snapshot.fields.map((field) => field.name)).toEqual(['mz_timestamp', 'mz_state', 'id', 'note']);
      expect(snapshot.rows.map((row) => [row.mz_state, row.id, row.note])).toEqual([['upsert', 7, 'first']]);
      await t.sql.query(`UPDATE notes SET note = 'second' WHERE id = 7`);
      expect((await c.query(`FETCH ALL upserts WITH (timeout = '1s')`)).rows.map((row) => [row.mz_state, row.id, row.note])).toEqual([['upsert', 7, 'second']]);
      await t.sql.query(`DELETE FROM notes WHERE id = 7`);
      expect((await c.query(`FETCH ALL upserts WITH (timeout = '1s')`)).rows.map((row) => [row.mz_state, row.id, row.note])).toEqual([['delete', 7, null]]);
      await c.query('COMMIT');
    } finally {
      await c.end();
    }
  });

  it('ENVELOPE DEBEZIUM (KEY (…)): before_ and after_ values, insert / upsert / delete', async () => {
    const c = await client();
    try {
      await c.query('BEGIN');
      await c.query(`DECLARE history CURSOR FOR SUBSCRIBE (SELECT id, note FROM notes WHERE id = 8) ENVELOPE DEBEZIUM (KEY (id)) WITH (SNAPSHOT = false)`);
      const empty = await c.query(`FETCH ALL history WITH (timeout = '0s')`);
      expect(empty.fields.map((field) => field.name)).toEqual(['mz_timestamp', 'mz_state', 'id', 'before_note', 'after_note']);
      const states: unknown[][] = [];
      for (const sql of [`INSERT INTO notes VALUES (8, 'a')`, `UPDATE notes SET note = 'b' WHERE id = 8`, `DELETE FROM notes WHERE id = 8`]) {
        await t.sql.query(sql);
        states.push(...(await c.query(`FETCH ALL history WITH (timeout = '1s')`)).rows.map((row) => [row.mz_state, row.id, row.before_note, row.after_note]));
      }
      expect(states).toEqual([
        ['insert', 8, null, 'a'],
        ['upsert', 8, 'a', 'b'],
        ['delete', 8, 'b', null],
      ]);
      await c.query('COMMIT');
    } finally {
      await c.end();
    }
  });

  it('WITHIN TIMESTAMP ORDER BY sorts each batch', async () => {
    const c = await client();
    try {
      await c.query('BEGIN');
      await c.query(`DECLARE sorted CURSOR FOR SUBSCRIBE (SELECT id, note FROM notes WHERE id BETWEEN 30 AND 39) WITHIN TIMESTAMP ORDER BY id DESC WITH (SNAPSHOT = false)`);
      await c.query(`FETCH ALL sorted WITH (timeout = '0s')`);
      await t.sql.query(`INSERT INTO notes VALUES (31, 'x'), (35, 'y'), (33, 'z')`);
      expect((await c.query(`FETCH ALL sorted WITH (timeout = '1s')`)).rows.map((row) => row.id)).toEqual([35, 33, 31]);
      await c.query('COMMIT');
    } finally {
      await c.end();
    }
  });

  it('a temporal filter’s rows leave as time passes, with no write', async () => {
    await t.sql.query(`CREATE TABLE expiring (id int, until timestamptz)`);
    await t.sql.query(`INSERT INTO expiring VALUES (1, now() + interval '1 second'), (2, now() + interval '1 hour')`);
    const c = await client();
    try {
      await c.query('BEGIN');
      await c.query(`DECLARE live CURSOR FOR SUBSCRIBE (SELECT id FROM expiring WHERE mz_now() <= until)`);
      expect((await c.query(`FETCH ALL live WITH (timeout = '0s')`)).rows.map((row) => row.id).sort()).toEqual([1, 2]);
      const gone = await c.query(`FETCH ALL live WITH (timeout = '4s')`);
      expect(gone.rows.map((row) => [row.mz_diff, row.id])).toEqual([['-1', 1]]);
      await c.query('COMMIT');
    } finally {
      await c.end();
    }
  });

  it('a hundred subscribers of one view each get the change', async () => {
    const clients = await Promise.all(Array.from({ length: 100 }, () => client()));
    try {
      // All at once: subscribers arriving while the view is being set up share that setup.
      await Promise.all(
        clients.map(async (c, index) => {
          await c.query('BEGIN');
          await c.query(`DECLARE many${index} CURSOR FOR SUBSCRIBE clicks_per_page WITH (SNAPSHOT = false)`);
        }),
      );
      const fetches = clients.map((c, index) => c.query(`FETCH ALL many${index}`));
      await click('crowd');
      const results = await Promise.all(fetches);
      expect(results.every((result) => result.rows.length === 1 && result.rows[0].page === 'crowd')).toBe(true);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  }, 30_000);
});

describe('COPY (SUBSCRIBE …) TO STDOUT', () => {
  it('streams the snapshot and each change as COPY rows until canceled; the connection is usable after', async () => {
    const raw = await RawWireClient.connect(t.server.host, t.server.pgPort);
    try {
      await t.sql.query(`INSERT INTO notes VALUES (20, 'tab\there')`);
      raw.query(`COPY (SUBSCRIBE (SELECT id, note FROM notes WHERE id BETWEEN 20 AND 29)) TO STDOUT`);
      const start = await raw.next();
      expect(start.type).toBe('H');
      const snapshot = await raw.next();
      expect(snapshot.type).toBe('d');
      expect(snapshot.body.toString('utf8')).toMatch(/^\d+\t1\t20\ttab\\there\n$/);
      await t.sql.query(`INSERT INTO notes VALUES (21, NULL)`);
      const change = await raw.next();
      expect(change.body.toString('utf8')).toMatch(/^\d+\t1\t21\t\\N\n$/);

      await raw.cancel(t.server.host, t.server.pgPort);
      const messages = await raw.until('Z');
      expect(errorFields(messages.find((message) => message.type === 'E')!)).toMatchObject({ C: '57014', M: 'canceling statement due to user request' });
      expect(messages[messages.length - 1]!.body.toString()).toBe('I');
      raw.query('SELECT 1');
      expect((await raw.until('Z')).map((message) => message.type)).toEqual(['T', 'D', 'C', 'Z']);
    } finally {
      raw.close();
    }
  });

  it('ends by itself at UP TO, with CopyDone', async () => {
    const raw = await RawWireClient.connect(t.server.host, t.server.pgPort);
    try {
      raw.query(`COPY (SUBSCRIBE (SELECT 1 AS one) UP TO ${Date.now() + 400}) TO STDOUT`);
      const messages = await raw.until('Z', 5_000);
      expect(messages.map((message) => message.type)).toEqual(['H', 'd', 'c', 'C', 'Z']);
      expect(messages[3]!.body.toString('utf8')).toBe('COPY 1\0');
    } finally {
      raw.close();
    }
  });

  it('a Kafka produce changes a subscribed result like a webhook does', async () => {
    await t.sql.query(`CREATE SECRET kafka_pw AS 'pw'`);
    await t.sql.query(`CREATE CONNECTION kafka_local TO KAFKA (BROKER 'b:9092', SECURITY PROTOCOL PLAINTEXT)`);
    await t.sql.query(`CREATE SOURCE kafka_raw FROM KAFKA CONNECTION kafka_local (TOPIC 'subscribed') FORMAT BYTES`);
    const c = await client();
    try {
      await c.query('BEGIN');
      await c.query(`DECLARE produced CURSOR FOR SUBSCRIBE (SELECT convert_from(data, 'utf8') AS message FROM kafka_raw) WITH (SNAPSHOT = false)`);
      const fetching = c.query('FETCH ALL produced');
      await fetch(`http://${t.server.host}:${t.server.httpPort}/topics/subscribed`, { method: 'POST', body: 'hello' });
      expect((await fetching).rows.map((row) => row.message)).toEqual(['hello']);
      await c.query('COMMIT');
    } finally {
      await c.end();
    }
  });

  it('errors in Materialize’s words: an unknown relation, AS OF before the subscription; the extended protocol streams too', async () => {
    const c = await client();
    try {
      await expect(c.query('SUBSCRIBE TO nowhere_at_all')).rejects.toThrow("unknown catalog item 'nowhere_at_all'");
      await expect(c.query(`SUBSCRIBE clicks_per_page AS OF 1`)).rejects.toThrow(/^Timestamp \(1\) is not valid for all inputs/);
      // Over the extended protocol (a named prepared statement) it streams as over the simple one.
      const prepared = await c.query({ name: 'prepared_subscribe', text: `SUBSCRIBE clicks_per_page UP TO ${Date.now() + 300}` });
      expect(prepared.command).toBe('SUBSCRIBE');
      expect(prepared.fields.map((field) => field.name)).toEqual(['mz_timestamp', 'mz_diff', 'page', 'clicks']);
      await expect(c.query({ text: 'SUBSCRIBE TO nowhere_at_all', values: [] , queryMode: 'extended' } as pg.QueryConfig)).rejects.toThrow("unknown catalog item 'nowhere_at_all'");
      await expect(c.query('SELECT 1; SUBSCRIBE clicks_per_page')).rejects.toThrow(/SUBSCRIBE in a query string with other statements is not supported by the local server/);
      expect((await c.query('SELECT $1::int AS n', [1])).rows).toEqual([{ n: 1 }]);
    } finally {
      await c.end();
    }
  });
});
