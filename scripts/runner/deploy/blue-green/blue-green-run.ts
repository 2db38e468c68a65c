/**
 * Running a blue/green deploy: (1) additive actions in place, (2) the changed schemas rebuilt as
 * `<schema>_deploy` on `<cluster>_deploy` clusters, (3) wait until hydrated and caught up, (4) one
 * transaction swapping every schema and cluster, the state recorded, (5) the old version dropped.
 *
 * Every step leaves the target in a state the next run understands (blue-green-marker.ts): a
 * deploy stopped before the marker says `staged` left only staging objects, which the next run
 * drops and rebuilds; a staged deploy of the same project version is resumed at the wait; a swap
 * that committed is recognised by the live schema now having the staging schema's id, and is
 * finished (state recorded, old version dropped). A failure to build the new version drops it
 * and leaves production as it was.
 */
import type { CompiledProject } from '../../compile.ts';
import { ProjectError, throwIfAny } from '../../errors.ts';
import { quoteIdentifier } from '../../sql-scan.ts';
import type { ActionResult } from '../deploy-execute.ts';
import { describeFailure, type DeployFailure } from '../deploy-errors.ts';
import { stateChecksums, type DeployPlan } from '../deploy-plan.ts';
import { deployedModelOf, type DeployedModel, type DeployedState, type StateStore } from '../deploy-state.ts';
import type { SqlSession } from '../sql-session.ts';
import { BlueGreenMarker, type StagedDeploy } from './blue-green-marker.ts';
import { blueGreenPlan, stagingName, type BlueGreenPlan, type CatalogGrant, type CatalogSnapshot } from './blue-green-plan.ts';
import { waitUntilReady, type Readiness } from './blue-green-wait.ts';

export interface BlueGreenOptions {
  /** `deploy` (stage, wait, promote), `promote` (finish a staged deploy) or `abort` (drop it). */
  readonly mode: 'deploy' | 'promote' | 'abort';
  readonly lagThresholdMs: number;
  readonly timeoutMs: number;
  readonly pollMs: number;
  /** false: stop after the wait (--no-promote). */
  readonly promote: boolean;
  /** Keep the old version under the staging names after promoting (--keep-old). */
  readonly keepOld: boolean;
  readonly dryRun: boolean;
}

export type BlueGreenOutcome = 'nothing-to-swap' | 'dry-run' | 'staged' | 'promoted' | 'aborted' | 'nothing-staged' | 'failed' | 'not-ready';

export interface BlueGreenReport {
  readonly outcome: BlueGreenOutcome;
  /** The ordinary plan the blue/green one was made from. */
  readonly deployPlan: DeployPlan;
  readonly plan?: BlueGreenPlan;
  /** Results of the actions applied in place (and of the whole deploy when nothing was to swap). */
  readonly inPlace: readonly ActionResult[];
  readonly staged: number;
  readonly failure?: DeployFailure;
  readonly readiness?: Readiness;
  readonly waitedMs: number;
  /** How long the swap transaction took. */
  readonly promoteMs?: number;
  readonly notes: readonly string[];
  readonly ms: number;
}

export interface BlueGreenContext {
  readonly project: CompiledProject;
  readonly plan: DeployPlan;
  readonly state: DeployedState;
  readonly session: SqlSession;
  readonly store: StateStore;
  /** Applies part of the ordinary plan (the additive actions), recording state as a deploy does. */
  readonly applyInPlace: (plan: DeployPlan) => Promise<readonly ActionResult[]>;
  readonly log?: (line: string) => void;
}

export async function runBlueGreen(context: BlueGreenContext, options: BlueGreenOptions): Promise<BlueGreenReport> {
  const started = performance.now();
  const { session, project } = context;
  const log = context.log ?? (() => {});
  const notes: string[] = [];
  const marker = new BlueGreenMarker(session, project.name);
  const current = await marker.load();
  const base = { inPlace: [] as ActionResult[], staged: 0, waitedMs: 0, notes, deployPlan: context.plan };
  const finish = (report: Omit<BlueGreenReport, 'ms' | 'notes' | 'inPlace' | 'staged' | 'waitedMs' | 'deployPlan'> & Partial<BlueGreenReport>): BlueGreenReport => ({
    ...base,
    ...report,
    ms: performance.now() - started,
  });

  if (options.mode === 'abort') {
    if (!current) return finish({ outcome: 'nothing-staged' });
    if (options.dryRun) return finish({ outcome: 'dry-run' });
    await dropStaging(session, current.deploy, log);
    await marker.record('done', current.deploy);
    return finish({ outcome: 'aborted' });
  }

  const catalog = await readCatalog(session);
  // A swap that committed before the deploy was stopped: finish it.
  if (current?.phase === 'staged' && swapCommitted(current.deploy, catalog)) {
    notes.push('the swap of an earlier run had committed: its state is recorded now and the old version dropped');
    if (options.dryRun) return finish({ outcome: 'dry-run' });
    await recordPromoted(context, current.deploy);
    await cleanUp(session, marker, current.deploy, options.keepOld, log);
    return finish({ outcome: 'promoted' });
  }
  if ((current?.phase === 'kept-old' || current?.phase === 'staging') && !options.dryRun) {
    notes.push(
      current.phase === 'kept-old'
        ? `the old version kept by an earlier --keep-old (${current.deploy.schemas.map(stagingName).join(', ')}) was dropped first`
        : 'an earlier deploy stopped while staging: what it had built was dropped first',
    );
    await dropStaging(session, current.deploy, log);
    await marker.record('done', current.deploy);
  }

  const checksums = stateChecksums(project);
  const deployedSchemas = new Map([...context.state.values()].map((deployed) => [deployed.name, { schema: deployed.schema, kind: deployed.kind }]));
  const plan = blueGreenPlan({ project, plan: context.plan, catalog, stateChecksums: checksums, deployedSchemas, stagedByUs: current !== undefined });
  throwIfAny(plan.refusals);
  if (options.dryRun) return finish({ outcome: 'dry-run', plan });

  const sameAsStaged = current?.phase === 'staged' && sameVersion(current.deploy, plan);
  if (options.mode === 'promote' && !sameAsStaged) {
    if (!current) throw new ProjectError('nothing is staged to promote', undefined, 'stage first: npm run models:deploy -- --blue-green --no-promote');
    throw new ProjectError(
      'the staged deploy is not the project as it is now (a model changed since it was staged)',
      undefined,
      'stage it again: npm run models:deploy -- --blue-green (the staged version is rebuilt), or --abort',
    );
  }
  if (plan.empty && !current) {
    // Nothing view-like changed: nothing goes offline, so the ordinary deploy is the blue/green one.
    const results = await context.applyInPlace(context.plan);
    return finish({ outcome: 'nothing-to-swap', plan, inPlace: results });
  }

  let deploy: StagedDeploy;
  let inPlace: readonly ActionResult[] = [];
  let staged = 0;
  if (sameAsStaged) {
    deploy = current!.deploy;
    log(`resuming the deploy staged at ${deploy.stagedAt} (${deploy.schemas.map(stagingName).join(', ')})`);
  } else {
    if (current?.phase === 'staged') {
      notes.push('a deploy staged earlier for another version of the project was dropped');
      await dropStaging(session, current.deploy, log);
      await marker.record('done', current.deploy);
      if (plan.empty) return finish({ outcome: 'nothing-to-swap', plan, inPlace: await context.applyInPlace(context.plan) });
    }
    inPlace = plan.inPlace.length ? await context.applyInPlace(subPlan(context.plan, new Set(plan.inPlace.map((action) => action.model)))) : [];
    if (inPlace.some((result) => result.status === 'failed')) return finish({ outcome: 'failed', plan, inPlace });
    // Recorded before the first staging statement: staging objects left by a stop are ours.
    await marker.record('staging', { schemas: plan.schemas, clusters: plan.clusters, stagingSchemaIds: {}, liveFingerprint: '', records: [], removed: [], stagedAt: new Date().toISOString() });
    const built = await stage(context, plan, log);
    staged = built.staged;
    if (built.failure) {
      await dropStaging(session, { schemas: plan.schemas, clusters: plan.clusters }, log);
      await marker.record('done', built.deploy ?? { schemas: plan.schemas, clusters: plan.clusters, stagingSchemaIds: {}, liveFingerprint: '', records: [], removed: [], stagedAt: '' });
      return finish({ outcome: 'failed', plan, inPlace, staged, failure: built.failure });
    }
    deploy = built.deploy!;
    await marker.record('staged', deploy);
  }

  const waited = await waitUntilReady(session, {
    query: plan.steps.find((step) => step.step === 'wait')!.sql,
    lagThresholdMs: options.lagThresholdMs,
    timeoutMs: options.timeoutMs,
    pollMs: options.pollMs,
    onProgress: (readiness, elapsedMs) => log(`waiting: ${readiness.hydrated}/${readiness.total} hydrated, worst lag ${readiness.worstLagSeconds.toFixed(1)} s (${readiness.status}, ${(elapsedMs / 1000).toFixed(1)} s)`),
  });
  if (waited.readiness.status !== 'ready') {
    return finish({ outcome: 'not-ready', plan, inPlace, staged, readiness: waited.readiness, waitedMs: waited.elapsedMs });
  }
  if (!options.promote) return finish({ outcome: 'staged', plan, inPlace, staged, readiness: waited.readiness, waitedMs: waited.elapsedMs });

  // Production must be what it was when staging began: another promote or deploy since then
  // would be silently undone by this swap.
  const live = liveFingerprint(await readCatalog(session), deploy.schemas, deploy.clusters);
  if (live !== deploy.liveFingerprint) {
    throw new ProjectError(
      `production changed since this deploy was staged (${deploy.stagedAt}): objects in ${deploy.schemas.join(', ')} are not the ones staging saw`,
      undefined,
      'someone else deployed or promoted meanwhile: --abort this one and deploy again on top of theirs',
    );
  }
  const promoteStarted = performance.now();
  await session.query('BEGIN');
  try {
    for (const schema of deploy.schemas) await session.query(`ALTER SCHEMA ${quoteIdentifier(schema)} SWAP WITH ${quoteIdentifier(stagingName(schema))}`);
    for (const cluster of deploy.clusters) await session.query(`ALTER CLUSTER ${quoteIdentifier(cluster)} SWAP WITH ${quoteIdentifier(stagingName(cluster))}`);
    await session.query('COMMIT');
  } catch (error) {
    await session.query('ROLLBACK').catch(() => {});
    throw error;
  }
  const promoteMs = performance.now() - promoteStarted;
  log(`promoted in ${promoteMs.toFixed(1)} ms: ${[...deploy.schemas, ...deploy.clusters].join(', ')} swapped with their staged versions`);
  await recordPromoted(context, deploy);
  await cleanUp(session, marker, deploy, options.keepOld, log);
  return finish({ outcome: 'promoted', plan, inPlace, staged, readiness: waited.readiness, waitedMs: waited.elapsedMs, promoteMs });
}

/** Creates live schemas that do not exist yet, the staging schemas and clusters, then every staged model. */
async function stage(context: BlueGreenContext, plan: BlueGreenPlan, log: (line: string) => void): Promise<{ staged: number; deploy?: StagedDeploy; failure?: DeployFailure }> {
  const { session, project } = context;
  log(`staging ${plan.staged.length} models into ${plan.schemas.map(stagingName).join(', ')}${plan.clusters.length ? ` on ${plan.clusters.map(stagingName).join(', ')}` : ''}…`);
  for (const step of plan.steps) {
    if (step.step === 'create_schema' || step.step === 'create_cluster' || step.step === 'grant') await session.query(step.sql);
  }
  const after = await readCatalog(session);
  const fingerprint = liveFingerprint(after, plan.schemas, plan.clusters);
  let staged = 0;
  for (const each of plan.staged) {
    try {
      await session.query(each.sql);
      staged++;
    } catch (error) {
      return { staged, failure: describeFailure(project.root, each.node.name, each.node, each.sql, error) };
    }
  }
  const stagingSchemaIds = Object.fromEntries(plan.schemas.map((schema) => [schema, after.schemas.get(stagingName(schema)) ?? '']));
  const records: DeployedModel[] = plan.staged.map(({ node, stateChecksum }) => deployedModelOf(node, stateChecksum));
  const removed = plan.removed.map((name) => {
    const deployed = context.state.get(name)!;
    return { name, kind: deployed.kind, schema: deployed.schema };
  });
  return { staged, deploy: { schemas: plan.schemas, clusters: plan.clusters, stagingSchemaIds, liveFingerprint: fingerprint, records, removed, stagedAt: new Date().toISOString() } };
}

async function recordPromoted(context: BlueGreenContext, deploy: StagedDeploy): Promise<void> {
  await context.store.ensure();
  await context.store.record([...deploy.removed.map((dropped) => ({ dropped })), ...deploy.records.map((deployed) => ({ deployed }))]);
}

async function cleanUp(session: SqlSession, marker: BlueGreenMarker, deploy: StagedDeploy, keepOld: boolean, log: (line: string) => void): Promise<void> {
  if (keepOld) {
    await marker.record('kept-old', deploy);
    log(`the old version is kept as ${[...deploy.schemas, ...deploy.clusters].map(stagingName).join(', ')} (dropped by the next blue/green deploy, or by hand)`);
    return;
  }
  await dropStaging(session, deploy, log);
  await marker.record('done', deploy);
}

async function dropStaging(session: SqlSession, deploy: Pick<StagedDeploy, 'schemas' | 'clusters'>, log: (line: string) => void): Promise<void> {
  for (const schema of deploy.schemas) await session.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(stagingName(schema))} CASCADE`);
  for (const cluster of deploy.clusters) await session.query(`DROP CLUSTER IF EXISTS ${quoteIdentifier(stagingName(cluster))} CASCADE`);
  log(`dropped ${[...deploy.schemas, ...deploy.clusters].map(stagingName).join(', ')}`);
}

/** The ordinary plan restricted to `names` (the additive actions run in place). */
function subPlan(plan: DeployPlan, names: ReadonlySet<string>): DeployPlan {
  return {
    ...plan,
    actions: plan.actions.filter((action) => names.has(action.model)),
    dropOrder: plan.dropOrder.filter((action) => names.has(action.model)),
    createLevels: plan.createLevels.map((level) => level.filter((action) => names.has(action.model))).filter((level) => level.length > 0),
  };
}

function sameVersion(deploy: StagedDeploy, plan: BlueGreenPlan): boolean {
  const staged = new Map(deploy.records.map((record) => [record.name, record.stateChecksum]));
  return (
    deploy.schemas.join() === plan.schemas.join() &&
    deploy.clusters.join() === plan.clusters.join() &&
    plan.staged.length === staged.size &&
    plan.staged.every((each) => staged.get(each.node.name) === each.stateChecksum)
  );
}

function swapCommitted(deploy: StagedDeploy, catalog: CatalogSnapshot): boolean {
  return deploy.schemas.length > 0 && deploy.schemas.every((schema) => deploy.stagingSchemaIds[schema] !== '' && catalog.schemas.get(schema) === deploy.stagingSchemaIds[schema]);
}

/** Ids of the live schemas, clusters and every object in them: changes when anything is recreated or swapped. */
export function liveFingerprint(catalog: CatalogSnapshot, schemas: readonly string[], clusters: readonly string[]): string {
  const parts = [
    ...schemas.map((schema) => `schema ${schema}=${catalog.schemas.get(schema) ?? '-'}`),
    ...clusters.map((cluster) => `cluster ${cluster}=${catalog.clusterIds.get(cluster) ?? '-'}`),
    ...catalog.objects.filter((object) => schemas.includes(object.schema)).map((object) => `${object.schema}.${object.name}=${object.id}`),
  ];
  return parts.sort().join('\n');
}

export async function readCatalog(session: SqlSession): Promise<CatalogSnapshot> {
  const rows = await session.query<{ what: string; id: string; name: string; schema_name: string | null; type: string | null; cluster: string | null }>(
    `SELECT 'schema' AS what, s.id, s.name, NULL::text AS schema_name, NULL::text AS type, NULL::text AS cluster
       FROM mz_catalog.mz_schemas s JOIN mz_catalog.mz_databases d ON d.id = s.database_id WHERE d.name = current_database()
     UNION ALL
     SELECT 'cluster', c.id, c.name, NULL, NULL, NULL FROM mz_catalog.mz_clusters c
     UNION ALL
     SELECT 'object', o.id, o.name, s.name, o.type, c.name
       FROM mz_catalog.mz_objects o
       JOIN mz_catalog.mz_schemas s ON s.id = o.schema_id
       JOIN mz_catalog.mz_databases d ON d.id = s.database_id
       LEFT JOIN mz_catalog.mz_clusters c ON c.id = o.cluster_id
      WHERE o.id LIKE 'u%' AND d.name = current_database()
     UNION ALL
     SELECT 'role', r.id, r.name, NULL, NULL, NULL FROM mz_catalog.mz_roles r
     UNION ALL
     SELECT 'schema_grant', s.id, s.name, s.owner_id, p::text, NULL
       FROM mz_catalog.mz_schemas s JOIN mz_catalog.mz_databases d ON d.id = s.database_id, unnest(s.privileges) AS p
      WHERE d.name = current_database()
     UNION ALL
     SELECT 'cluster_grant', c.id, c.name, c.owner_id, p::text, NULL FROM mz_catalog.mz_clusters c, unnest(c.privileges) AS p`,
  );
  const schemas = new Map<string, string>();
  const clusterIds = new Map<string, string>();
  const objects: CatalogSnapshot['objects'][number][] = [];
  const grants: CatalogGrant[] = [];
  const roles = new Map<string, string>();
  for (const row of rows.rows) {
    if (row.what === 'schema') schemas.set(row.name, row.id);
    else if (row.what === 'cluster') clusterIds.set(row.name, row.id);
    else if (row.what === 'role') roles.set(row.id, row.name);
    else if (row.what === 'schema_grant' || row.what === 'cluster_grant') {
      grants.push({ kind: row.what === 'schema_grant' ? 'schema' : 'cluster', name: row.name, ownerId: row.schema_name ?? '', privilege: row.type ?? '' });
    } else objects.push({ id: row.id, schema: row.schema_name!, name: row.name, type: row.type!, cluster: row.cluster });
  }
  return { schemas, clusters: new Set(clusterIds.keys()), clusterIds, objects, grants, roles };
}

