/**
 * Deploys against a target someone else has been changing: objects dropped by hand (alone or with
 * CASCADE) come back on the next deploy, because the catalog is read every time, not only the
 * runner's own state. The file shares one in-memory server, emptied before each test (every
 * schema, cluster and the recorded state and lease dropped), so each test starts from nothing.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, expect, it } from 'vitest';
import { catalogIds, changes, deployProject, emptySeedServer } from '../helpers/deploy.ts';
import { hmacHex, post, serverForTests } from '../helpers/local-server.ts';
import { copyOfSeedProject } from '../helpers/temp-project.ts';

const t = serverForTests();
beforeEach(async () => {
  await emptySeedServer(t);
  // What emptySeedServer leaves is what a new server starts with: no user object, no recorded state.
  expect(await t.query(`SELECT name FROM mz_catalog.mz_objects WHERE id LIKE 'u%'`)).toEqual([]);
  expect(await t.query(`SELECT name FROM mz_catalog.mz_schemas WHERE name NOT IN ('public', 'mz_catalog', 'mz_internal', 'information_schema', 'pg_catalog', 'mz_introspection', 'mz_unsafe')`)).toEqual([]);
});

it('a mart dropped by hand (with its index, CASCADE) is recreated by the next deploy, and only it', async () => {
  const root = copyOfSeedProject();
  await deployProject(t, root);
  const before = await catalogIds(t);
  await t.query(`DROP MATERIALIZED VIEW analytics.track_event_counts CASCADE`);

  const next = await deployProject(t, root);
  expect(changes(next)).toEqual({ track_event_counts: 'create', track_event_counts_event_idx: 'create' });
  expect(next.plan.actions.find((action) => action.model === 'track_event_counts')!.reason).toBe('missing from the target: recreated');
  const after = await catalogIds(t);
  expect(after.get('track_event_counts')).toBeDefined();
  expect(after.get('track_event_counts')).not.toBe(before.get('track_event_counts'));
  expect(after.get('stg_segment_tracks')).toBe(before.get('stg_segment_tracks'));
  expect(changes(await deployProject(t, root))).toEqual({});
});

it('an index dropped by hand is recreated; its mart is left alone', async () => {
  const root = copyOfSeedProject();
  await deployProject(t, root);
  const before = await catalogIds(t);
  await t.query(`DROP INDEX analytics.user_profiles_user_id_idx`);
  expect(changes(await deployProject(t, root))).toEqual({ user_profiles_user_id_idx: 'create' });
  expect((await catalogIds(t)).get('user_profiles')).toBe(before.get('user_profiles'));
});

it('the webhook source dropped with CASCADE: everything is recreated, with a note that its events are gone, and ingest works again', async () => {
  const root = copyOfSeedProject();
  const first = await deployProject(t, root);
  await t.query(`DROP SOURCE segment.segment_source CASCADE`);

  const next = await deployProject(t, root);
  const recreated = Object.keys(changes(next)).sort();
  const expected = first.results.map((result) => result.model).filter((name) => !['webhooks_cluster', 'analytics_cluster', 'segment_webhook_secret'].includes(name)).sort();
  expect(recreated).toEqual(expected);
  expect(next.results.every((result) => result.status === 'done')).toBe(true);
  expect(next.plan.notes.join('\n')).toMatch(/source segment_source was deployed but is gone from the target .*recreated, empty/);

  const body = JSON.stringify([{ messageId: 'after-cascade', type: 'track', event: 'Back', userId: 'u1', receivedAt: '2026-11-23T00:00:00.000Z' }]);
  const response = await post(t.server.webhookUrl('segment_source', 'segment'), body, { 'x-signature': hmacHex('local-development-secret', body) });
  expect(response.status).toBe(200);
  expect(await t.query(`SELECT event FROM analytics.stg_segment_tracks`)).toEqual([{ event: 'Back' }]);
});

it('a changed source left out by --exclude replaces nothing downstream, and neither does reverting it', async () => {
  const root = copyOfSeedProject();
  await deployProject(t, root);
  const before = await catalogIds(t);
  const sourceFile = path.join(root, 'models/sources/segment_source.sql');
  const original = readFileSync(sourceFile, 'utf8');
  writeFileSync(sourceFile, original.replace("INCLUDE HEADER 'event-type' AS event_type", "INCLUDE HEADER 'event-type' AS event_type\n  INCLUDE HEADER 'user-agent' AS user_agent"));

  const excluded = await deployProject(t, root, { exclude: ['segment_source'] });
  expect(changes(excluded)).toEqual({});
  expect(excluded.plan.refusals).toEqual([]);
  // An edit beside it still deploys, and only what it touches.
  const tracks = path.join(root, 'models/staging/stg_segment_tracks.sql');
  writeFileSync(tracks, readFileSync(tracks, 'utf8').replace('SELECT', 'SELECT 1 AS touched,'));
  expect(changes(await deployProject(t, root, { exclude: ['segment_source'] }))).toEqual({
    stg_segment_tracks: 'replace',
    track_event_counts: 'replace',
    track_event_counts_event_idx: 'replace',
    high_value_customers: 'replace',
    high_value_customers_user_id_idx: 'replace',
  });

  writeFileSync(sourceFile, original);
  expect(changes(await deployProject(t, root))).toEqual({});
  const after = await catalogIds(t);
  expect(after.get('stg_segment_events')).toBe(before.get('stg_segment_events'));
  expect(after.get('user_profiles')).toBe(before.get('user_profiles'));
});

it('two deploys at once take turns through the lease: both succeed, the second finds nothing to do', async () => {
  const root = copyOfSeedProject();
  const [one, two] = await Promise.all([deployProject(t, root), deployProject(t, root)]);
  const created = [one, two].map((report) => report.results.filter((result) => result.status === 'done').length).sort((a, b) => a - b);
  expect(created).toEqual([0, 24]);
  expect([one, two].every((report) => report.results.every((result) => result.status === 'done'))).toBe(true);
  expect(await t.query(`SELECT * FROM segment_materialize.deploy_leases`)).toEqual([]);
});

it('a lease held elsewhere makes a deploy wait, then stop naming the holder; a killed holder’s lease expires', async () => {
  const root = copyOfSeedProject();
  const pg = await import('pg');
  const { DeployLease } = await import('../../scripts/runner/deploy/deploy-lease.ts');
  const { PgSession } = await import('../../scripts/runner/deploy/sql-session.ts');
  const holder = new pg.default.Client(t.server.pgUrl);
  await holder.connect();
  await new DeployLease(new PgSession(holder), 'segment_materialize').acquire({ target: 'local', ttlMs: 1_500 });

  const stuck = await deployProject(t, root, { leaseWaitMs: 200 }).catch((error: Error) => error);
  expect(stuck).toBeInstanceOf(Error);
  expect((stuck as Error).message).toMatch(/^another deploy holds the lease on target local: .* pid \d+, since .* \(waited 0 s\)$/);
  expect(await t.query(`SELECT 1 FROM mz_catalog.mz_sources WHERE name = 'segment_source'`)).toHaveLength(0);

  // The holder dies (its connection gone, nothing renews the lease): the lease runs out and the
  // waiting deploy goes ahead.
  await holder.end();
  const report = await deployProject(t, root, { leaseWaitMs: 5_000 });
  expect(report.results.filter((result) => result.status === 'done')).toHaveLength(24);
});
