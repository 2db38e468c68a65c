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
 *
 * Nothing that is not the project's is ever dropped (blue-green-dependents.ts): objects elsewhere
 * reading what is swapped would follow the old version and go with it, so the deploy is refused
 * before any DDL while there are any; the old version, or a staged one, is dropped object by
 * object and then the empty schema and cluster, without CASCADE — one that appeared meanwhile
 * stops the drop with an error, and the old version is kept (`--abort` drops it once resolved).
 *
 * A lost connection is reported as such, at the step it happened, with what the next run does
 * (connectionLost below): never as whatever the cleanup then got.
 */
import type { CompiledProject } from '../../compile.ts';
import { ProjectError, throwIfAny } from '../../errors.ts';
import { PROJECT_FILE } from '../../project-config.ts';
import { quoteIdentifier } from '../../../shared/sql-scan.ts';
import type { ActionResult } from '../deploy-execute.ts';
import { describeFailure, isConnectionLost, type DeployFailure } from '../deploy-errors.ts';
import { stateChecksums, type DeployPlan } from '../deploy-plan.ts';
import { deployedModelOf, type DeployedModel, type DeployedState, type StateStore } from '../deploy-state.ts';
import type { SqlSession } from '../sql-session.ts';
import { dropObjectStatement, dropOrder, foreignDependents, objectsIn, qualifiedName, readObjectGraph, typeName, type GraphObject, type ObjectGraph } from './blue-green-dependents.ts';
import { BlueGreenMarker, type StagedDeploy } from './blue-green-marker.ts';
import { blueGreenPlan, dropContainersStatements, stagingName, type BlueGreenPlan, type CatalogGrant, type CatalogSnapshot } from './blue-green-plan.ts';
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
  /** Set when a failed staging could not be dropped afterwards: why (the next run or --abort drops it). */
  readonly stagingKept?: string;
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

/** Where a blue/green deploy is: what a lost connection interrupted. */
type Step =
  | { readonly kind: 'read' }
  | { readonly kind: 'drop-earlier'; readonly what: string }
  | { readonly kind: 'in-place' }
  | { readonly kind: 'staging'; readonly doing: string }
  | { readonly kind: 'wait' }
  | { readonly kind: 'promote' }
  | { readonly kind: 'finish'; readonly doing: string }
  | { readonly kind: 'abort' };

export async function runBlueGreen(context: BlueGreenContext, options: BlueGreenOptions): Promise<BlueGreenReport> {
  const progress: { step: Step } = { step: { kind: 'read' } };
  try {
    return await run(context, options, progress);
  } catch (error) {
    if (isConnectionLost(error)) throw connectionLost(context.project, progress.step, error as Error);
    throw error;
  }
}

async function run(context: BlueGreenContext, options: BlueGreenOptions, progress: { step: Step }): Promise<BlueGreenReport> {
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
  const ours = ownNames(context, current?.deploy);

  if (options.mode === 'abort') {
    if (!current) return finish({ outcome: 'nothing-staged' });
    const what = current.phase === 'kept-old' ? 'the old version kept by --keep-old' : 'the staged deploy';
    throwIfAny(stagingBlockers(await readObjectGraph(session), current.deploy, ours, what, 'then abort again: npm run models:deploy -- --blue-green --abort'));
    if (options.dryRun) return finish({ outcome: 'dry-run' });
    progress.step = { kind: 'abort' };
    await dropStaging(session, current.deploy, ours, what, 'then abort again: npm run models:deploy -- --blue-green --abort', log);
    await marker.record('done', current.deploy);
    return finish({ outcome: 'aborted' });
  }

  const catalog = await readCatalog(session);
  const graph = await readObjectGraph(session);
  // A swap that committed before the deploy was stopped: finish it.
  if (current?.phase === 'staged' && swapCommitted(current.deploy, catalog)) {
    notes.push('the swap of an earlier run had committed: its state is recorded now and the old version dropped');
    if (options.dryRun) return finish({ outcome: 'dry-run' });
    progress.step = { kind: 'finish', doing: 'recording the state of the promoted version' };
    await recordPromoted(context, current.deploy);
    await cleanUp(session, marker, current.deploy, ours, options.keepOld, log, progress);
    return finish({ outcome: 'promoted' });
  }

  const checksums = stateChecksums(project);
  const deployedSchemas = new Map([...context.state.values()].map((deployed) => [deployed.name, { schema: deployed.schema, kind: deployed.kind }]));
  const plan = blueGreenPlan({ project, plan: context.plan, catalog, stateChecksums: checksums, deployedSchemas, stagedByUs: current !== undefined, dependencies: graph.dependencies });
  const sameAsStaged = current?.phase === 'staged' && sameVersion(current.deploy, plan);
  // What an earlier run left and this one drops first: the old version kept by --keep-old, a
  // staging stopped midway, or a staged deploy of another version of the project.
  const earlier = current && !sameAsStaged ? current : undefined;
  const earlierWhat =
    earlier?.phase === 'kept-old' ? 'the old version kept by an earlier --keep-old' : earlier?.phase === 'staging' ? 'what an earlier deploy had staged when it stopped' : 'the deploy staged earlier';

  // Refused before any DDL: the plan's refusals, objects elsewhere reading what is swapped, and
  // objects elsewhere reading what an earlier run left, which this one would drop.
  throwIfAny([
    ...plan.refusals,
    ...(plan.empty ? [] : readersOfSwapped(graph, plan, project)),
    ...(earlier ? stagingBlockers(graph, earlier.deploy, ours, earlierWhat, 'then deploy again') : []),
  ]);
  if (options.dryRun) return finish({ outcome: 'dry-run', plan });

  if (options.mode === 'promote' && !sameAsStaged) {
    if (current?.phase !== 'staged') throw new ProjectError('nothing is staged to promote', undefined, 'stage first: npm run models:deploy -- --blue-green --no-promote');
    throw new ProjectError(
      'the staged deploy is not the project as it is now (a model changed since it was staged)',
      undefined,
      'stage it again: npm run models:deploy -- --blue-green (the staged version is rebuilt), or --abort',
    );
  }
  if (earlier) {
    notes.push(
      earlier.phase === 'kept-old'
        ? `the old version kept by an earlier --keep-old (${earlier.deploy.schemas.map(stagingName).join(', ')}) was dropped first`
        : earlier.phase === 'staging'
          ? 'an earlier deploy stopped while staging: what it had built was dropped first'
          : 'a deploy staged earlier for another version of the project was dropped',
    );
    progress.step = { kind: 'drop-earlier', what: earlierWhat };
    await dropStaging(session, earlier.deploy, ours, earlierWhat, 'then deploy again', log);
    await marker.record('done', earlier.deploy);
  }
  if (plan.empty) {
    // Nothing view-like changed: nothing goes offline, so the ordinary deploy is the blue/green one.
    progress.step = { kind: 'in-place' };
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
    progress.step = { kind: 'in-place' };
    inPlace = plan.inPlace.length ? await context.applyInPlace(subPlan(context.plan, new Set(plan.inPlace.map((action) => action.model)))) : [];
    if (inPlace.some((result) => result.status === 'failed')) return finish({ outcome: 'failed', plan, inPlace });
    // Recorded before the first staging statement: staging objects left by a stop are ours.
    const intended: StagedDeploy = {
      schemas: plan.schemas,
      clusters: plan.clusters,
      stagingSchemaIds: {},
      liveFingerprint: '',
      records: plan.staged.map(({ node, stateChecksum }) => deployedModelOf(node, stateChecksum)),
      removed: [],
      stagedAt: new Date().toISOString(),
    };
    progress.step = { kind: 'staging', doing: 'recording that staging begins' };
    await marker.record('staging', intended);
    const built = await stage(context, plan, log, progress);
    staged = built.staged;
    if (built.failure) {
      let stagingKept: string | undefined;
      try {
        await dropStaging(session, intended, ownNames(context, intended), 'the staged version', 'then drop it: npm run models:deploy -- --blue-green --abort', log);
        await marker.record('done', built.deploy ?? intended);
      } catch (error) {
        // The failure is what matters; the staged version stays marked as ours for the next run.
        stagingKept = error instanceof ProjectError ? error.message : `${(error as Error).message ?? String(error)}`;
      }
      return finish({ outcome: 'failed', plan, inPlace, staged, failure: built.failure, ...(stagingKept !== undefined ? { stagingKept } : {}) });
    }
    deploy = built.deploy!;
    progress.step = { kind: 'staging', doing: 'recording that the new version is staged' };
    await marker.record('staged', deploy);
  }

  progress.step = { kind: 'wait' };
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
  progress.step = { kind: 'promote' };
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
  progress.step = { kind: 'finish', doing: 'recording the state of the promoted version' };
  await recordPromoted(context, deploy);
  await cleanUp(session, marker, deploy, ours, options.keepOld, log, progress);
  return finish({ outcome: 'promoted', plan, inPlace, staged, readiness: waited.readiness, waitedMs: waited.elapsedMs, promoteMs });
}

/** Creates live schemas that do not exist yet, the staging schemas and clusters, then every staged model. */
async function stage(
  context: BlueGreenContext,
  plan: BlueGreenPlan,
  log: (line: string) => void,
  progress: { step: Step },
): Promise<{ staged: number; deploy?: StagedDeploy; failure?: DeployFailure }> {
  const { session, project } = context;
  log(`staging ${plan.staged.length} models into ${plan.schemas.map(stagingName).join(', ')}${plan.clusters.length ? ` on ${plan.clusters.map(stagingName).join(', ')}` : ''}…`);
  for (const step of plan.steps) {
    if (step.step !== 'create_schema' && step.step !== 'create_cluster' && step.step !== 'grant') continue;
    progress.step = { kind: 'staging', doing: `running ${step.sql.split('\n')[0]}` };
    await session.query(step.sql);
  }
  progress.step = { kind: 'staging', doing: 'reading the catalog' };
  const after = await readCatalog(session);
  const fingerprint = liveFingerprint(after, plan.schemas, plan.clusters);
  let staged = 0;
  for (const each of plan.staged) {
    progress.step = { kind: 'staging', doing: `creating ${each.node.kind.replace('_', ' ')} ${each.node.name} in ${stagingName(each.node.schema)}, ${staged} of ${plan.staged.length} created` };
    try {
      await session.query(each.sql);
      staged++;
    } catch (error) {
      // The session is gone: nothing to tell about the model (runBlueGreen says what happened).
      if (isConnectionLost(error)) throw error;
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

async function cleanUp(
  session: SqlSession,
  marker: BlueGreenMarker,
  deploy: StagedDeploy,
  ours: ReadonlySet<string>,
  keepOld: boolean,
  log: (line: string) => void,
  progress: { step: Step },
): Promise<void> {
  const names = [...deploy.schemas, ...deploy.clusters].map(stagingName).join(', ');
  if (keepOld) {
    progress.step = { kind: 'finish', doing: 'recording that the old version is kept' };
    await marker.record('kept-old', deploy);
    log(`the old version is kept as ${names} (dropped by the next blue/green deploy, or by hand)`);
    return;
  }
  progress.step = { kind: 'finish', doing: `dropping the old version (${names})` };
  try {
    await dropStaging(session, deploy, ours, `the old version (${names})`, 'then drop the old version: npm run models:deploy -- --blue-green --abort', log);
  } catch (error) {
    if (!(error instanceof ProjectError)) throw error;
    // Kept, and known to be ours: --abort or the next deploy drops it once nothing else reads it.
    await marker.record('kept-old', deploy);
    throw new ProjectError(`promoted: ${[...deploy.schemas, ...deploy.clusters].join(', ')} now serve the new version, but ${error.message}`, error.location, error.fix);
  }
  await marker.record('done', deploy);
}

/** Names of the project's models, recorded or staged: what the project may drop in a staging schema. */
function ownNames(context: BlueGreenContext, deploy: StagedDeploy | undefined): Set<string> {
  return new Set([
    ...context.project.nodes.keys(),
    ...context.state.keys(),
    ...(deploy?.records ?? []).map((record) => record.name),
    ...(deploy?.removed ?? []).map((removed) => removed.name),
  ]);
}

/**
 * Why the staging schemas and clusters of `deploy` cannot be dropped without taking something else
 * along: objects elsewhere reading them, objects in them that are not the project's, objects of
 * other schemas running on the staging clusters. `what` names them for people.
 */
function stagingBlockers(graph: ObjectGraph, deploy: Pick<StagedDeploy, 'schemas' | 'clusters'>, ours: ReadonlySet<string>, what: string, then: string): ProjectError[] {
  const schemas = new Set(deploy.schemas.map(stagingName));
  const clusters = new Set(deploy.clusters.map(stagingName));
  const inside = objectsIn(graph, schemas);
  const isInside = (object: GraphObject) => object.inCurrentDatabase && object.schema !== null && schemas.has(object.schema);
  const problems: string[] = [];
  for (const { object, reads } of foreignDependents(graph, inside.map((object) => object.id), isInside)) {
    problems.push(`${qualifiedName(object)} (${typeName(object)}) reads ${reads.map((read) => `${read.schema}.${read.name}`).join(', ')}`);
  }
  for (const object of inside) if (!ours.has(object.name)) problems.push(`${qualifiedName(object)} (${typeName(object)}) is not this project's`);
  for (const object of graph.objects.values()) {
    if (object.cluster !== null && clusters.has(object.cluster) && !isInside(object)) problems.push(`${qualifiedName(object)} (${typeName(object)}) runs on cluster ${object.cluster}`);
  }
  if (problems.length === 0) return [];
  return [
    new ProjectError(
      `${what} was not dropped, as that would drop objects that are not this project's with it: ${problems.join('; ')}`,
      undefined,
      `drop those objects or recreate them elsewhere (over the live version), or move them into the project as models; ${then}`,
    ),
  ];
}

/**
 * Drops the staging schemas and clusters of `deploy` (a staged version, or the old one after a
 * swap): first checks nothing else would go with them, then drops each object, dependents first,
 * then the emptied schemas and clusters — all without CASCADE, so an object that appears between
 * the check and the drop makes the drop fail rather than vanish. Refusals and failed drops are
 * ProjectErrors; what was dropped stays dropped (the next drop continues).
 */
async function dropStaging(session: SqlSession, deploy: Pick<StagedDeploy, 'schemas' | 'clusters'>, ours: ReadonlySet<string>, what: string, then: string, log: (line: string) => void): Promise<void> {
  const graph = await readObjectGraph(session);
  throwIfAny(stagingBlockers(graph, deploy, ours, what, then));
  const schemas = new Set(deploy.schemas.map(stagingName));
  const statements = [
    ...dropOrder(objectsIn(graph, schemas), graph.dependencies).map((object) => dropObjectStatement(object, object.schema!)),
    ...dropContainersStatements(deploy.schemas, deploy.clusters),
  ];
  for (const sql of statements) {
    try {
      await session.query(sql);
    } catch (error) {
      if (isConnectionLost(error)) throw error;
      throw new ProjectError(
        `${what} was not fully dropped: ${sql} failed: ${(error as Error).message} (something that is not this project's reads it or was created in it meanwhile; nothing was dropped with CASCADE)`,
        undefined,
        `look at what depends on it; drop or move those objects, ${then}`,
      );
    }
  }
  log(`dropped ${[...deploy.schemas, ...deploy.clusters].map(stagingName).join(', ')}`);
}

/**
 * Objects outside the swapped schemas (and their staging copies) that read objects in them: at the
 * swap they would follow the old version into the staging schema and be dropped with it (on
 * Materialize a sink too). Refused, naming each with the project file of what it reads.
 */
function readersOfSwapped(graph: ObjectGraph, plan: BlueGreenPlan, project: CompiledProject): ProjectError[] {
  const swapped = new Set([...plan.schemas, ...plan.schemas.map(stagingName)]);
  const roots = objectsIn(graph, new Set(plan.schemas)).map((object) => object.id);
  const isOwn = (object: GraphObject) => object.inCurrentDatabase && object.schema !== null && swapped.has(object.schema);
  return foreignDependents(graph, roots, isOwn).map(({ object, reads }) => {
    const model = reads.map((read) => project.nodes.get(read.name)).find((node) => node !== undefined && plan.schemas.includes(node.schema));
    return new ProjectError(
      `${qualifiedName(object)} (${typeName(object)}) reads ${reads.map((read) => `${read.schema}.${read.name}`).join(', ')}, which blue/green would swap, and is not part of this project: after the swap it would read the old version, and dropping the old version would take it along`,
      { file: model?.path ?? PROJECT_FILE },
      `drop ${qualifiedName(object)} and create it again after the deploy, or move it into the project as a model (it is then deployed with what it reads); nothing was changed`,
    );
  });
}

/**
 * A lost connection to the target, told as what it means for the deploy: the step it interrupted,
 * the database's own error, what state the target is in, and what the next run does.
 */
function connectionLost(project: CompiledProject, step: Step, error: Error): ProjectError {
  const lost = `lost the connection to the target (${project.target.name})`;
  const again = 'npm run models:deploy -- --blue-green';
  const cause = error.message;
  switch (step.kind) {
    case 'read':
      return new ProjectError(`${lost} while reading its catalog, before any change: ${cause}`, undefined, `run ${again} again once the target is reachable`);
    case 'drop-earlier':
      return new ProjectError(
        `${lost} while dropping ${step.what}, before staging: ${cause}; production is untouched`,
        undefined,
        `run ${again} again once the target is reachable: it drops the rest first (or ${again} --abort to only drop it)`,
      );
    case 'in-place':
      return new ProjectError(
        `${lost} while applying the additive changes in place, before staging: ${cause}; production is untouched`,
        undefined,
        `run ${again} again once the target is reachable: what was applied is recognised and the rest applied`,
      );
    case 'staging':
      return new ProjectError(
        `${lost} while staging the new version (${step.doing}): ${cause}; production is untouched: nothing was swapped`,
        undefined,
        `run ${again} again once the target is reachable: what was staged is dropped and built again; or drop it with ${again} --abort`,
      );
    case 'wait':
      return new ProjectError(
        `${lost} while waiting for the staged version to hydrate: ${cause}; production is untouched: nothing was swapped`,
        undefined,
        `run ${again} again once the target is reachable: the staged version is reused and waited on; or drop it with ${again} --abort`,
      );
    case 'promote':
      return new ProjectError(
        `${lost} while promoting: ${cause}; the swap is one transaction, so either it committed whole or nothing was swapped`,
        undefined,
        `run ${again} again once the target is reachable: it sees which, and finishes the promotion either way (or ${again} --abort, if it did not commit)`,
      );
    case 'finish':
      return new ProjectError(
        `${lost} after the swap, while ${step.doing}: ${cause}; the new version is live`,
        undefined,
        `run ${again} again once the target is reachable: it records the promotion and drops the old version`,
      );
    case 'abort':
      return new ProjectError(`${lost} while dropping the staged deploy: ${cause}`, undefined, `run ${again} --abort again once the target is reachable: it drops the rest`);
  }
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

