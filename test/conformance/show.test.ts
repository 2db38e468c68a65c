/**
 * SHOW statements as Materialize's documentation gives them (sql/show-*.md): column names and
 * order, `comment` columns, LIKE/WHERE filters, SHOW CREATE with quoted, fully qualified names,
 * and Materialize's type names in SHOW COLUMNS. Own cases.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/local-server.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
  await t.sql.query(`CREATE CLUSTER hooks (SIZE '25cc')`);
  await t.sql.query(`CREATE SECRET hook_key AS 'k'`);
  await t.sql.query(`CREATE SOURCE orders_hook IN CLUSTER hooks FROM WEBHOOK BODY FORMAT JSON INCLUDE HEADER 'x-shop' AS shop INCLUDE HEADERS`);
  await t.sql.query(`CREATE SOURCE raw_hook IN CLUSTER hooks FROM WEBHOOK BODY FORMAT BYTES`);
  await t.sql.query(`CREATE MATERIALIZED VIEW order_counts IN CLUSTER hooks AS SELECT shop, count(*) AS orders FROM orders_hook GROUP BY shop`);
  await t.sql.query(`CREATE VIEW big_shops AS SELECT shop FROM order_counts WHERE orders > 10`);
  await t.sql.query(`CREATE INDEX order_counts_shop_idx IN CLUSTER hooks ON order_counts (shop)`);
  await t.sql.query(`CREATE TABLE notes (id bigint NOT NULL, note text)`);
});
afterAll(async () => {
  await t?.close();
});

describe('listings', () => {
  it('SHOW SOURCES / MATERIALIZED VIEWS / VIEWS / SECRETS / TABLES / INDEXES / OBJECTS', async () => {
    expect(await t.query('SHOW SOURCES')).toEqual([
      { name: 'orders_hook', type: 'webhook', cluster: 'hooks', comment: '' },
      { name: 'raw_hook', type: 'webhook', cluster: 'hooks', comment: '' },
    ]);
    expect(await t.query('SHOW MATERIALIZED VIEWS IN CLUSTER hooks')).toEqual([{ name: 'order_counts', cluster: 'hooks', comment: '' }]);
    expect(await t.query('SHOW VIEWS FROM public')).toEqual([{ name: 'big_shops', comment: '' }]);
    expect(await t.query('SHOW SECRETS')).toEqual([{ name: 'hook_key', comment: '' }]);
    expect(await t.query('SHOW TABLES')).toEqual([{ name: 'notes', comment: '' }]);
    expect(await t.query('SHOW INDEXES')).toEqual([{ name: 'order_counts_shop_idx', on: 'order_counts', cluster: 'hooks', key: '{shop}', comment: '' }]);
    expect((await t.query<{ name: string; type: string }>('SHOW OBJECTS')).map((row) => `${row.name}:${row.type}`)).toEqual([
      'big_shops:view',
      'hook_key:secret',
      'notes:table',
      'order_counts:materialized-view',
      'order_counts_shop_idx:index',
      'orders_hook:source',
      'raw_hook:source',
    ]);
  });

  it('LIKE filters on the first column, WHERE on any', async () => {
    expect(await t.query(`SHOW SOURCES LIKE 'raw%'`)).toEqual([{ name: 'raw_hook', type: 'webhook', cluster: 'hooks', comment: '' }]);
    expect(await t.query(`SHOW OBJECTS WHERE type = 'view'`)).toEqual([{ name: 'big_shops', type: 'view', comment: '' }]);
  });

  it('a default index is keyed by every column of its relation (materialized_views.slt: `{?column?}`)', async () => {
    await t.query(`CREATE VIEW unnamed_pair AS SELECT 1, 'x' AS "two words"`);
    await t.query(`CREATE DEFAULT INDEX IN CLUSTER hooks ON unnamed_pair`);
    expect(await t.query(`SHOW INDEXES ON unnamed_pair`)).toEqual([
      { name: 'unnamed_pair_primary_idx', on: 'unnamed_pair', cluster: 'hooks', key: '{?column?,"two words"}', comment: '' },
    ]);
    await t.query(`DROP VIEW unnamed_pair CASCADE`);
    // ON names one relation: the others' indexes are not listed, and an unknown name fails.
    expect((await t.query<{ name: string }>(`SHOW INDEXES ON order_counts`)).map((row) => row.name)).toEqual(['order_counts_shop_idx']);
    await expect(t.query(`SHOW INDEXES ON no_such_view`)).rejects.toThrow("unknown catalog item 'no_such_view'");
  });

  it('SHOW SCHEMAS, SHOW DATABASES, SHOW search_path', async () => {
    expect((await t.query<{ name: string }>('SHOW SCHEMAS')).map((row) => row.name)).toContain('public');
    expect(await t.query('SHOW DATABASES')).toEqual([{ name: 'materialize', comment: '' }]);
    expect(await t.query('SHOW search_path')).toEqual([{ search_path: 'public' }]);
  });
});

describe('SHOW COLUMNS', () => {
  it('a webhook source: body, then headers (a map), then the INCLUDE HEADER columns; nullability as declared', async () => {
    expect(await t.query('SHOW COLUMNS FROM orders_hook')).toEqual([
      { name: 'body', nullable: false, type: 'jsonb', comment: '' },
      { name: 'headers', nullable: false, type: 'map', comment: '' },
      { name: 'shop', nullable: true, type: 'text', comment: '' },
    ]);
    expect(await t.query('SHOW COLUMNS FROM raw_hook')).toEqual([{ name: 'body', nullable: false, type: 'bytea', comment: '' }]);
  });

  it('a table and a view, with LIKE; an unknown name in Materialize’s words', async () => {
    expect(await t.query(`SHOW COLUMNS FROM notes`)).toEqual([
      { name: 'id', nullable: false, type: 'bigint', comment: '' },
      { name: 'note', nullable: true, type: 'text', comment: '' },
    ]);
    expect(await t.query(`SHOW COLUMNS FROM order_counts LIKE 'ord%'`)).toEqual([{ name: 'orders', nullable: true, type: 'bigint', comment: '' }]);
    await expect(t.sql.query('SHOW COLUMNS FROM no_such_thing')).rejects.toThrow("unknown catalog item 'no_such_thing'");
  });
});

describe('SHOW CREATE', () => {
  it('names fully qualified in `name`, quoted in `create_sql`', async () => {
    expect(await t.query('SHOW CREATE SOURCE raw_hook')).toEqual([
      { name: 'materialize.public.raw_hook', create_sql: 'CREATE SOURCE "materialize"."public"."raw_hook" IN CLUSTER "hooks" FROM WEBHOOK BODY FORMAT BYTES' },
    ]);
    expect(await t.query('SHOW CREATE MATERIALIZED VIEW order_counts')).toEqual([
      {
        name: 'materialize.public.order_counts',
        create_sql:
          'CREATE MATERIALIZED VIEW "materialize"."public"."order_counts" IN CLUSTER "hooks" WITH (REFRESH = ON COMMIT) AS SELECT shop, count(*) AS orders FROM orders_hook GROUP BY shop',
      },
    ]);
    expect(await t.query('SHOW CREATE INDEX order_counts_shop_idx')).toEqual([
      { name: 'materialize.public.order_counts_shop_idx', create_sql: 'CREATE INDEX "order_counts_shop_idx" IN CLUSTER "hooks" ON "materialize"."public"."order_counts" (shop)' },
    ]);
    expect(await t.query('SHOW CREATE TABLE notes')).toEqual([
      { name: 'materialize.public.notes', create_sql: 'CREATE TABLE "materialize"."public"."notes" ("id" bigint NOT NULL, "note" text)' },
    ]);
    const [view] = await t.query<{ name: string; create_sql: string }>('SHOW CREATE VIEW big_shops');
    expect(view!.name).toBe('materialize.public.big_shops');
    expect(view!.create_sql).toMatch(/^CREATE VIEW "materialize"\."public"\."big_shops" AS SELECT shop FROM order_counts WHERE \(?orders > 10\)?$/);
  });

  it('the wrong kind or a missing name is an error', async () => {
    await expect(t.sql.query('SHOW CREATE VIEW order_counts')).rejects.toThrow('materialize.public.order_counts is not a view');
    await expect(t.sql.query('SHOW CREATE SOURCE gone')).rejects.toThrow("unknown catalog item 'gone'");
  });
});
