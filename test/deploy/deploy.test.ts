/**
 * models:deploy against the local server in-process: the plan, what reaches the database (object
 * ids show what was recreated), durable sources, failures and convergence, and the seed pipeline
 * end to end.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { catalogIds, changes, deployProject, emptySeedServer } from '../helpers/deploy.ts';
import { hmacHex, post, serverForTests } from '../helpers/local-server.ts';
import { copyOfSeedProject, removeFile, tempProject, writeFiles } from '../helpers/temp-project.ts';

const LOCAL_SECRET = 'local-development-secret';
const TRACK = JSON.parse(readFileSync(path.join(__dirname, '../fixtures/events/track.json'), 'utf8')) as Record<string, unknown>;

const t = serverForTests();

/** Empties the server between tests: drops every user object and the state. */
beforeEach(async () => {
  await emptySeedServer(t);
});

async function postEvents(events: Record<string, unknown>[], secret = LOCAL_SECRET): Promise<number> {
  const body = JSON.stringify(events);
  const response = await post(t.server.webhookUrl('segment_source', 'segment'), body, { 'content-type': 'application/json', 'x-signature': hmacHex(secret, body), 'event-type': 'track' });
  return response.status;
}

function track(messageId: string, event: string, userId: string): Record<string, unknown> {
  return { ...TRACK, messageId, event, userId };
}

describe('models:deploy on the seed project', () => {
  it('creates everything in dependency order, then a second deploy is all unchanged and sends no DDL', async () => {
    const root = copyOfSeedProject();
    const first = await deployProject(t, root);
    expect(first.results.every((result) => result.status === 'done' && result.action === 'create')).toBe(true);
    const order = first.results.map((result) => result.model);
    expect(order).toHaveLength(24);
    // Every model after each of its dependencies.
    for (const action of first.plan.actions) {
      for (const dependency of action.node!.dependsOn) expect(order.indexOf(dependency)).toBeLessThan(order.indexOf(action.model));
    }
    const ids = await catalogIds(t);
    expect([...ids.keys()]).toEqual(expect.arrayContaining(['segment_source', 'stg_segment_events', 'stg_segment_tracks', 'track_event_counts', 'track_event_counts_event_idx', 'webhooks_cluster', 'segment_webhook_secret']));
    const stateRows = (await t.query<{ n: string }>(`SELECT count(*)::text AS n FROM segment_materialize.deployments`))[0]!.n;

    const second = await deployProject(t, root);
    expect(second.plan.actions.map((action) => action.action)).toEqual(Array(24).fill('unchanged'));
    expect(second.ddlStatements).toBe(0);
    expect(second.results).toEqual([]);
    // Independent evidence: no object was recreated, and nothing was appended to the state.
    expect(await catalogIds(t)).toEqual(ids);
    expect((await t.query<{ n: string }>(`SELECT count(*)::text AS n FROM segment_materialize.deployments`))[0]!.n).toBe(stateRows);
  });

  it('replaces an edited staging model and exactly its descendants', async () => {
    const root = copyOfSeedProject();
    await deployProject(t, root);
    const before = await catalogIds(t);
    const file = path.join(root, 'models/staging/stg_segment_tracks.sql');
    writeFileSync(file, readFileSync(file, 'utf8').replace("e.body->>'event' AS event,", "e.body->>'event' AS event,\n  upper(e.body->>'event') AS event_upper,"));

    const report = await deployProject(t, root);
    // high_value_customers reads the tracks too (the seed's activation mart).
    expect(changes(report)).toEqual({
      stg_segment_tracks: 'replace',
      track_event_counts: 'replace',
      track_event_counts_event_idx: 'replace',
      high_value_customers: 'replace',
      high_value_customers_user_id_idx: 'replace',
    });
    expect(report.plan.actions.find((action) => action.model === 'track_event_counts')!.reason).toBe('upstream stg_segment_tracks replaced');
    const after = await catalogIds(t);
    const recreated = [...after.keys()].filter((name) => after.get(name) !== before.get(name)).sort();
    expect(recreated).toEqual(['high_value_customers', 'high_value_customers_user_id_idx', 'stg_segment_tracks', 'track_event_counts', 'track_event_counts_event_idx']);
    const columns = await t.query<{ column_name: string }>(`SELECT column_name FROM information_schema.columns WHERE table_name = 'stg_segment_tracks' AND column_name = 'event_upper'`);
    expect(columns).toHaveLength(1);
  });

  it('drops a deleted model (its index first) and leaves the rest alone', async () => {
    const root = copyOfSeedProject();
    await deployProject(t, root);
    removeFile(root, 'models/marts/page_views_by_url.sql');
    const report = await deployProject(t, root, { dryRun: true });
    expect(changes(report)).toEqual({ page_views_by_url_url_idx: 'drop', page_views_by_url: 'drop' });
    expect(report.plan.actions.slice(0, 2).map((action) => action.model)).toEqual(['page_views_by_url_url_idx', 'page_views_by_url']);
    expect((await catalogIds(t)).has('page_views_by_url')).toBe(true); // the dry run touched nothing

    const applied = await deployProject(t, root);
    expect(applied.results.map((result) => `${result.model}:${result.status}`)).toEqual(['page_views_by_url_url_idx:done', 'page_views_by_url:done']);
    const ids = await catalogIds(t);
    expect(ids.has('page_views_by_url')).toBe(false);
    expect(ids.has('page_views_by_url_url_idx')).toBe(false);
    expect(changes(await deployProject(t, root))).toEqual({});
  });

  it('refuses a changed source without --full-refresh, keeping its events; --full-refresh recreates it and its dependents', async () => {
    const root = copyOfSeedProject();
    await deployProject(t, root);
    expect(await postEvents([track('m1', 'Signed Up', 'u1'), track('m2', 'Signed Up', 'u2')])).toBe(200);
    const file = path.join(root, 'models/sources/segment_source.sql');
    writeFileSync(file, readFileSync(file, 'utf8').replace("INCLUDE HEADER 'event-type' AS event_type", "INCLUDE HEADER 'event-type' AS event_type\n  INCLUDE HEADER 'user-agent' AS user_agent"));

    const refused = deployProject(t, root);
    await expect(refused).rejects.toThrow(/source segment_source changed: redeploying it discards every event it ingested/);
    await expect(refused).rejects.toMatchObject({ location: { file: 'models/sources/segment_source.sql' }, fix: expect.stringContaining('--full-refresh segment_source') });
    expect(await t.query(`SELECT 1 FROM segment.segment_source`)).toHaveLength(2);

    const refreshed = await deployProject(t, root, { fullRefresh: ['segment_source'] });
    expect(refreshed.results.every((result) => result.status === 'done')).toBe(true);
    expect(changes(refreshed)).toMatchObject({ segment_source: 'replace', stg_segment_events: 'replace', stg_segment_tracks: 'replace', track_event_counts_event_idx: 'replace' });
    expect(changes(refreshed).segment_webhook_secret).toBeUndefined();
    expect(await t.query(`SELECT 1 FROM segment.segment_source`)).toHaveLength(0);
    expect(await postEvents([track('m3', 'Signed Up', 'u3')])).toBe(200);
    expect(await t.query(`SELECT user_agent FROM segment.segment_source`)).toEqual([{ user_agent: 'node' }]);
  });

  it('--full-refresh of an unchanged source recreates it and everything downstream, emptying it', async () => {
    const root = copyOfSeedProject();
    await deployProject(t, root);
    expect(await postEvents([track('f1', 'Before Refresh', 'u1')])).toBe(200);
    const report = await deployProject(t, root, { fullRefresh: ['segment_source'] });
    expect(report.results.every((result) => result.status === 'done')).toBe(true);
    expect(report.plan.actions.find((action) => action.model === 'segment_source')!.reason).toBe('full refresh');
    expect(changes(report)).toMatchObject({ segment_source: 'replace', stg_segment_events: 'replace', user_profiles_user_id_idx: 'replace' });
    expect(Object.keys(changes(report))).toHaveLength(21); // all but the secret and the cluster
    expect(await t.query(`SELECT 1 FROM analytics.stg_segment_events`)).toHaveLength(0);
    expect(changes(await deployProject(t, root))).toEqual({});
  });

  it('runs the pipeline end to end: deploy, POST signed events, read the marts', async () => {
    const root = copyOfSeedProject();
    await deployProject(t, root);
    const events = [track('a1', 'Order Completed', 'alice'), track('a2', 'Order Completed', 'bob'), track('a3', 'Signed Up', 'alice')];
    expect(await postEvents(events)).toBe(200);
    expect(await postEvents([events[0]!])).toBe(200); // a retry: deduplicated by messageId
    expect(await postEvents([events[1]!], 'wrong-secret')).toBe(400);

    const counts = await t.query<{ event: string; events: string; people: string }>(`SELECT event, events::text, people::text FROM analytics.track_event_counts ORDER BY event`);
    expect(counts).toEqual([
      { event: 'Order Completed', events: '2', people: '2' },
      { event: 'Signed Up', events: '1', people: '1' },
    ]);
    expect(await t.query(`SELECT 1 FROM segment.segment_source`)).toHaveLength(4);
  });
});

describe('failures and convergence', () => {
  it('a replace that would fail changes nothing: validated in a scratch schema before any DROP, every mart stays up; the fix deploys', async () => {
    const root = copyOfSeedProject();
    await deployProject(t, root);
    const before = await catalogIds(t);
    const tracks = path.join(root, 'models/staging/stg_segment_tracks.sql');
    const pages = path.join(root, 'models/staging/stg_segment_pages.sql');
    const original = readFileSync(tracks, 'utf8');
    writeFileSync(tracks, original.replace("e.body->>'event' AS event,", "e.body->>'event' AS event,\n  no_such_column AS broken,"));
    writeFileSync(pages, readFileSync(pages, 'utf8').replace('SELECT', 'SELECT 1 AS touched,'));

    const failed = await deployProject(t, root, { threads: 1 });
    expect(failed.rejected).toBe(true);
    const status = Object.fromEntries(failed.results.map((result) => [result.model, result.status]));
    expect(status).toEqual({
      stg_segment_tracks: 'failed',
      track_event_counts: 'skipped',
      track_event_counts_event_idx: 'skipped',
      high_value_customers: 'skipped',
      high_value_customers_user_id_idx: 'skipped',
      stg_segment_pages: 'skipped',
      page_views_by_url: 'skipped',
      page_views_by_url_url_idx: 'skipped',
    });
    const failure = failed.results.find((result) => result.status === 'failed')!.failure!;
    const brokenLine = readFileSync(tracks, 'utf8').split('\n').findIndex((line) => line.includes('no_such_column')) + 1;
    expect(failure).toMatchObject({ message: 'column "no_such_column" does not exist', code: '42703', location: { file: 'models/staging/stg_segment_tracks.sql', line: brokenLine } });
    expect(failure.sqlLine?.text).toContain('no_such_column AS broken');
    expect(failed.results.find((result) => result.model === 'page_views_by_url')!.skippedBecause).toBe('not applied: stg_segment_tracks failed validation, so nothing was changed');
    // Nothing was dropped or recreated: the same objects, and no scratch schema left behind.
    expect(await catalogIds(t)).toEqual(before);
    expect(await t.query(`SELECT 1 FROM mz_catalog.mz_schemas WHERE name = 'segment_materialize_scratch'`)).toHaveLength(0);
    expect(await t.query(`SELECT count(*) FROM analytics.track_event_counts`)).toHaveLength(1);

    writeFileSync(tracks, original);
    const fixed = await deployProject(t, root);
    expect(changes(fixed)).toEqual({ stg_segment_pages: 'replace', page_views_by_url: 'replace', page_views_by_url_url_idx: 'replace' });
    expect(fixed.results.every((result) => result.status === 'done')).toBe(true);
    expect(changes(await deployProject(t, root))).toEqual({});
  });

  it('a new model that fails to create leaves its siblings deployed and its descendants skipped; fixing it converges', async () => {
    const root = copyOfSeedProject();
    await deployProject(t, root);
    writeFileSync(path.join(root, 'models/marts/broken_mart.sql'), `---\nkind: materialized_view\n---\nSELECT nope FROM {{ ref.stg_segment_tracks }}\n`);
    writeFileSync(path.join(root, 'models/marts/broken_child.sql'), `SELECT * FROM {{ ref.broken_mart }}\n`);
    writeFileSync(path.join(root, 'models/marts/fine_sibling.sql'), `SELECT count(*) AS n FROM {{ ref.stg_segment_tracks }}\n`);
    const failed = await deployProject(t, root, { threads: 1 });
    expect(failed.rejected).toBe(false);
    const status = Object.fromEntries(failed.results.map((result) => [result.model, result.status]));
    expect(status).toEqual({ broken_mart: 'failed', broken_child: 'skipped', fine_sibling: 'done' });
    expect(failed.results.find((result) => result.model === 'broken_child')!.blockedBy).toBe('broken_mart');
    expect(failed.results.find((result) => result.status === 'failed')!.failure).toMatchObject({ code: '42703', location: { file: 'models/marts/broken_mart.sql', line: 4 } });

    writeFileSync(path.join(root, 'models/marts/broken_mart.sql'), `---\nkind: materialized_view\n---\nSELECT event FROM {{ ref.stg_segment_tracks }}\n`);
    expect(changes(await deployProject(t, root))).toEqual({ broken_mart: 'create', broken_child: 'create' });
  });

  it('converges when the state lost track of deployed objects: adopts the source (data kept), recreates the views', async () => {
    const root = copyOfSeedProject();
    await deployProject(t, root);
    expect(await postEvents([track('k1', 'Kept', 'u1')])).toBe(200);
    await t.query(`DELETE FROM segment_materialize.deployments`);

    const report = await deployProject(t, root);
    expect(report.results.every((result) => result.status === 'done')).toBe(true);
    const byModel = new Map(report.plan.actions.map((action) => [action.model, action]));
    expect(byModel.get('segment_source')).toMatchObject({ action: 'unchanged', reason: 'exists, not recorded: adopted as it is' });
    expect(byModel.get('webhooks_cluster')!.action).toBe('unchanged');
    expect(byModel.get('stg_segment_events')).toMatchObject({ action: 'replace', reason: 'exists, not recorded: recreated' });
    expect(byModel.get('segment_webhook_secret')!.action).toBe('create');
    expect(await t.query(`SELECT 1 FROM analytics.stg_segment_events`)).toHaveLength(1);
    expect(changes(await deployProject(t, root))).toEqual({});
  });

  it('converges a changed secret value with ALTER SECRET, and never writes the value anywhere', async () => {
    const root = copyOfSeedProject();
    await deployProject(t, root);
    const ids = await catalogIds(t);
    const newSecret = 'rotated-secret-value-123';
    const env = { ...process.env, SEGMENT_WEBHOOK_SECRET: newSecret };

    const plan = await deployProject(t, root, { env, dryRun: true });
    expect(changes(plan)).toEqual({ segment_webhook_secret: 'replace' });
    const report = await deployProject(t, root, { env });
    expect(report.ddlStatements).toBe(1);
    expect((await catalogIds(t)).get('segment_webhook_secret')).toBe(ids.get('segment_webhook_secret')); // altered, not recreated
    expect(await postEvents([track('s1', 'Rotated', 'u1')], LOCAL_SECRET)).toBe(400);
    expect(await postEvents([track('s2', 'Rotated', 'u1')], newSecret)).toBe(200);
    expect(changes(await deployProject(t, root, { env }))).toEqual({});

    const state = JSON.stringify(await t.query(`SELECT * FROM segment_materialize.deployments`));
    expect(state).not.toContain(newSecret);
    expect(state).not.toContain(LOCAL_SECRET);
    expect(JSON.stringify(report.plan.actions.map((action) => action.node?.sql))).not.toContain(newSecret);
  });

  it('refuses before any DDL when a model depends on one that is neither deployed nor selected', async () => {
    const root = copyOfSeedProject();
    await expect(deployProject(t, root, { select: ['stg_segment_tracks'] })).rejects.toThrow(/stg_segment_tracks depends on stg_segment_events, which is neither deployed nor selected/);
    expect((await catalogIds(t)).has('segment_source')).toBe(false);
  });
});

describe('plans on small projects', () => {
  const view = (body: string) => `---\nkind: view\n---\n${body}\n`;

  it('with --select, replaces deployed descendants outside the selection too, and leaves orphans alone', async () => {
    const root = tempProject({ 'models/a.sql': view('SELECT 1 AS x'), 'models/b.sql': view('SELECT x FROM {{ref.a}}'), 'models/c.sql': view('SELECT x FROM {{ref.b}}'), 'models/lonely.sql': view('SELECT 2 AS y') });
    await deployProject(t, root);
    writeFiles(root, { 'models/a.sql': view('SELECT 1 AS x, 2 AS z') });
    removeFile(root, 'models/lonely.sql');
    const report = await deployProject(t, root, { select: ['a'] });
    expect(changes(report)).toEqual({ a: 'replace', b: 'replace', c: 'replace' });
    expect(report.plan.actions.find((action) => action.model === 'c')!.reason).toBe('upstream replaced (outside the selection)');
    expect(report.plan.notes.join('\n')).toMatch(/1 deployed model\(s\) no longer in the project left in place \(lonely\)/);
    expect(changes(await deployProject(t, root))).toEqual({ lonely: 'drop' });
  });

  it('a model that changes kind is dropped as what it was and created as what it is', async () => {
    const root = tempProject({ 'models/a.sql': view('SELECT 1 AS x') });
    await deployProject(t, root);
    writeFiles(root, { 'models/a.sql': '---\nkind: materialized_view\n---\nSELECT 1 AS x\n' });
    const report = await deployProject(t, root);
    expect(report.plan.actions[0]).toMatchObject({ model: 'a', action: 'replace', reason: 'was a view, now a materialized_view' });
    expect(report.results[0]!.status).toBe('done');
    expect(await t.query(`SELECT name FROM mz_catalog.mz_materialized_views WHERE name = 'a'`)).toHaveLength(1);
  });

  it('points a materialized view error at the model file line, through the local server', async () => {
    const root = tempProject({ 'models/m.sql': '---\nkind: materialized_view\n---\n-- a comment line\nSELECT\n  1 AS x,\n  missing_col AS y\n' });
    const report = await deployProject(t, root);
    const failure = report.results[0]!.failure!;
    expect(failure.message).toBe('column "missing_col" does not exist');
    expect(failure.location).toEqual({ file: 'models/m.sql', line: 7 });
    expect(failure.sqlLine?.text.trim()).toBe('missing_col AS y');
  });
});
