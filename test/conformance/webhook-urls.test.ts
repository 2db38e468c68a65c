/**
 * A webhook source's URL follows its current database, schema and name, as in Materialize: renames
 * of the schema and the source in one transaction move it at commit, the old URL answers 404, and
 * mz_internal.mz_webhook_sources reports the new one. Own cases.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { post, startTestServer, type TestServer } from '../helpers/local-server.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

it('ALTER SCHEMA … RENAME and ALTER SOURCE … RENAME in one transaction move the URL at commit', async () => {
  await t.sql.query(`CREATE SCHEMA staging_hooks`);
  await t.sql.query(`CREATE SOURCE staging_hooks.inbound FROM WEBHOOK BODY FORMAT TEXT`);
  const oldUrl = t.server.webhookUrl('inbound', 'staging_hooks');
  expect((await post(oldUrl, 'before')).status).toBe(200);

  await t.sql.query('BEGIN');
  await t.sql.query(`ALTER SCHEMA staging_hooks RENAME TO live_hooks`);
  await t.sql.query(`ALTER SOURCE live_hooks.inbound RENAME TO events`);
  await t.sql.query('COMMIT');

  const newUrl = t.server.webhookUrl('events', 'live_hooks');
  expect(await post(oldUrl, 'lost?')).toEqual({ status: 404, text: `no object was found at the path "'materialize.staging_hooks.inbound'"` });
  expect((await post(newUrl, 'after')).status).toBe(200);
  expect(await t.query(`SELECT body FROM live_hooks.events ORDER BY body`)).toEqual([{ body: 'after' }, { body: 'before' }]);
  expect(await t.query(`SELECT name, url FROM mz_internal.mz_webhook_sources`)).toEqual([{ name: 'events', url: newUrl }]);
});

it('a rename rolled back leaves the URL where it was', async () => {
  await t.sql.query(`CREATE SOURCE kept FROM WEBHOOK BODY FORMAT TEXT`);
  await t.sql.query('BEGIN');
  await t.sql.query(`ALTER SOURCE kept RENAME TO moved`);
  await t.sql.query('ROLLBACK');
  expect((await post(t.server.webhookUrl('kept'), 'still here')).status).toBe(200);
  expect((await post(t.server.webhookUrl('moved'), 'never')).status).toBe(404);
});
