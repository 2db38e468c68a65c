/**
 * In-place deploys and objects that are not the project's (issue 28, item 3): a view, materialized
 * view or index made by hand over a model the deploy must drop (a replace is DROP then CREATE, a
 * removed model is dropped) is found before any DDL and the deploy refused, naming it, in a dry run
 * too; nothing is changed and it keeps answering. The deploy's scratch schema is never dropped
 * with CASCADE either.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { compileProject } from '../../scripts/runner/compile.ts';
import { blueGreenPlan, type CatalogSnapshot } from '../../scripts/runner/deploy/blue-green/blue-green-plan.ts';
import { deployPlan, stateChecksums } from '../../scripts/runner/deploy/deploy-plan.ts';
import { SCRATCH_SCHEMA } from '../../scripts/runner/deploy/deploy-validate.ts';
import { catalogIds, changes, deployProject, emptySeedServer, refusal } from '../helpers/deploy.ts';
import { serverForTests } from '../helpers/local-server.ts';
import { copyOfSeedProject, removeFile, tempProject } from '../helpers/temp-project.ts';

const t = serverForTests();
beforeEach(async () => {
  await t.query(`DROP SCHEMA IF EXISTS ${SCRATCH_SCHEMA} CASCADE`);
  await emptySeedServer(t);
});

/** The recorded state, row by row (a refused deploy must not append to it). */
async function stateRows(): Promise<unknown[]> {
  return t.query(`SELECT * FROM segment_materialize.deployments ORDER BY 1, 2, 3`);
}

function editTrackEventCounts(root: string): void {
  const file = path.join(root, 'models/marts/track_event_counts.sql');
  writeFileSync(file, readFileSync(file, 'utf8').replace('count(*) AS events,', 'count(*) AS events,\n  1 AS one,'));
}

async function schemaExists(name: string): Promise<boolean> {
  return (await t.query(`SELECT 1 FROM mz_catalog.mz_schemas WHERE name = '${name}'`)).length > 0;
}

describe('in-place deploys and objects outside the project', () => {
  it('refuses before any DDL to replace a model a hand-made view, materialized view and index read, naming them; the dry run says the same', async () => {
    const root = copyOfSeedProject();
    await deployProject(t, root);
    await t.query(`CREATE VIEW public.my_report AS SELECT * FROM analytics.track_event_counts`);
    await t.query(`CREATE MATERIALIZED VIEW public.my_report_mv AS SELECT event, events FROM analytics.track_event_counts`);
    await t.query(`CREATE INDEX my_report_mv_idx ON public.my_report_mv (event)`);
    editTrackEventCounts(root);
    const ids = await catalogIds(t);
    const state = await stateRows();

    const dry = await refusal(deployProject(t, root, { dryRun: true }));
    const text = await refusal(deployProject(t, root));
    expect(text).toBe(dry);
    expect(text).toMatch(/^3 errors:/);
    expect(text).toContain(
      'models/marts/track_event_counts.sql: materialize.public.my_report (view) is not part of this project and reads analytics.track_event_counts, which this deploy drops and recreates (changed): the DROP would fail on it part-way through the deploy',
    );
    expect(text).toContain('materialize.public.my_report_mv (materialized view) is not part of this project and reads analytics.track_event_counts');
    expect(text).toContain('materialize.public.my_report_mv_idx (index) is not part of this project and reads analytics.track_event_counts');
    expect(text).toContain('fix: drop materialize.public.my_report, deploy, then create it again; or move it into the project as a model');
    expect(text).toContain('Nothing was changed');
    // The project's own dependents (the mart's index) are not named.
    expect(text).not.toMatch(/track_event_counts_event_idx|analytics_tests/);

    // Nothing changed: same objects, same state, no scratch schema made, and the reports answer.
    expect(await catalogIds(t)).toEqual(ids);
    expect(await stateRows()).toEqual(state);
    expect(await schemaExists(SCRATCH_SCHEMA)).toBe(false);
    expect(await t.query(`SELECT * FROM public.my_report`)).toEqual([]);
    expect(await t.query(`SELECT * FROM public.my_report_mv`)).toEqual([]);

    // The fix the refusal gives works.
    await t.query(`DROP VIEW public.my_report`);
    await t.query(`DROP INDEX public.my_report_mv_idx`);
    await t.query(`DROP MATERIALIZED VIEW public.my_report_mv`);
    const applied = await deployProject(t, root);
    expect(changes(applied)).toEqual({ track_event_counts: 'replace', track_event_counts_event_idx: 'replace' });
    expect(applied.results.every((result) => result.status === 'done')).toBe(true);
  });

  it('refuses to drop a model removed from the project that a hand-made view reads', async () => {
    const root = copyOfSeedProject();
    await deployProject(t, root);
    await t.query(`CREATE VIEW public.url_report AS SELECT url FROM analytics.page_views_by_url`);
    removeFile(root, 'models/marts/page_views_by_url.sql');
    const ids = await catalogIds(t);
    const state = await stateRows();

    const text = await refusal(deployProject(t, root));
    expect(text).toContain(
      'materialize.public.url_report (view) is not part of this project and reads analytics.page_views_by_url, which this deploy drops (removed from the project): the DROP would fail on it part-way through the deploy',
    );
    expect(await catalogIds(t)).toEqual(ids);
    expect(await stateRows()).toEqual(state);
    expect(await t.query(`SELECT * FROM public.url_report`)).toEqual([]);
  });

  it('a hand-made view over a model left as it is does not stop a deploy', async () => {
    const root = copyOfSeedProject();
    await deployProject(t, root);
    await t.query(`CREATE VIEW public.url_report AS SELECT url FROM analytics.page_views_by_url`);
    editTrackEventCounts(root);
    const applied = await deployProject(t, root);
    expect(applied.results.every((result) => result.status === 'done')).toBe(true);
    expect(await t.query(`SELECT * FROM public.url_report`)).toEqual([]);
  });
});

describe('the scratch schema where queries are checked', () => {
  it('is never dropped with CASCADE: a leftover one read by a hand-made view is refused, not emptied', async () => {
    const root = copyOfSeedProject();
    await deployProject(t, root);
    // What a deploy stopped mid-validation leaves (a scratch copy of a model), and a view over it.
    await t.query(`CREATE SCHEMA ${SCRATCH_SCHEMA}`);
    await t.query(`CREATE VIEW ${SCRATCH_SCHEMA}.track_event_counts AS SELECT 1 AS n`);
    await t.query(`CREATE VIEW public.scratch_reader AS SELECT n FROM ${SCRATCH_SCHEMA}.track_event_counts`);
    editTrackEventCounts(root);
    const ids = await catalogIds(t);
    const state = await stateRows();

    const text = await refusal(deployProject(t, root));
    expect(text).toContain(`schema ${SCRATCH_SCHEMA}`);
    expect(text).toContain(`materialize.public.scratch_reader (view) reads ${SCRATCH_SCHEMA}.track_event_counts`);
    expect(await t.query(`SELECT n FROM public.scratch_reader`)).toEqual([{ n: 1 }]);
    expect(await catalogIds(t)).toEqual(ids);
    expect(await stateRows()).toEqual(state);

    // Once nothing else reads it, the leftover is emptied (its own views only) and the deploy runs.
    await t.query(`DROP VIEW public.scratch_reader`);
    const applied = await deployProject(t, root);
    expect(applied.validated).toBeGreaterThan(0);
    expect(applied.results.every((result) => result.status === 'done')).toBe(true);
    expect(await schemaExists(SCRATCH_SCHEMA)).toBe(false);
  });

  it('a leftover scratch schema holding something no deploy made is refused, naming it', async () => {
    const root = copyOfSeedProject();
    await deployProject(t, root);
    await t.query(`CREATE SCHEMA ${SCRATCH_SCHEMA}`);
    await t.query(`CREATE VIEW ${SCRATCH_SCHEMA}.someones_view AS SELECT 1 AS n`);
    editTrackEventCounts(root);
    const text = await refusal(deployProject(t, root));
    expect(text).toContain(`it holds materialize.${SCRATCH_SCHEMA}.someones_view (view), which no deploy created`);
    expect(await t.query(`SELECT n FROM ${SCRATCH_SCHEMA}.someones_view`)).toEqual([{ n: 1 }]);
  });
});

describe('blue/green: a staging name taken by something else', () => {
  it('names what is there and does not tell users to DROP … CASCADE it', () => {
    const project = compileProject(
      tempProject({
        'project.yml': 'name: p\nfolders:\n  ingest: { schema: ingest, cluster: ingest_cluster }\n  analytics: { schema: analytics, cluster: compute }\n',
        'models/ingest/ingest_cluster.sql': "---\nkind: cluster\n---\n(SIZE = '25cc')\n",
        'models/ingest/hooks.sql': '---\nkind: source\n---\nFROM WEBHOOK BODY FORMAT JSON\n',
        'models/analytics/compute.sql': "---\nkind: cluster\n---\n(SIZE = '25cc')\n",
        'models/analytics/orders.sql': "---\nkind: materialized_view\n---\nSELECT body->>'id' AS id FROM {{ref.hooks}}\n",
      }),
    );
    const catalog: CatalogSnapshot = {
      schemas: new Map([['ingest', 'u10'], ['analytics', 'u11'], ['analytics_deploy', 'u12']]),
      clusters: new Set(['compute', 'ingest_cluster', 'compute_deploy']),
      clusterIds: new Map(),
      objects: [
        { id: 'u50', schema: 'analytics_deploy', name: 'their_view', type: 'view', cluster: null },
        { id: 'u51', schema: 'public', name: 'their_mv', type: 'materialized-view', cluster: 'compute_deploy' },
      ],
    };
    const plan = blueGreenPlan({
      project,
      plan: deployPlan({ project, state: new Map() }),
      catalog,
      stateChecksums: stateChecksums(project),
      deployedSchemas: new Map(),
      stagedByUs: false,
    });
    const messages = plan.refusals.map((error) => error.format());
    const schema = messages.find((message) => message.startsWith('project.yml: schema analytics_deploy exists'))!;
    expect(schema).toContain('schema analytics_deploy exists and is not a staged deploy of this project (it holds view analytics_deploy.their_view)');
    expect(schema).toMatch(/fix: it may be someone else's: find out who uses it and what reads its objects \(mz_internal\.mz_object_dependencies\) before removing anything/);
    expect(schema).toContain('DROP SCHEMA analytics_deploy without CASCADE');
    const cluster = messages.find((message) => message.startsWith('project.yml: cluster compute_deploy exists'))!;
    expect(cluster).toContain('(it runs materialized view public.their_mv)');
    for (const message of [schema, cluster]) expect(message).not.toMatch(/CASCADE, then/);
  });
});
