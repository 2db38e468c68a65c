/**
 * Runs a deploy plan against a database and records what it applied.
 *
 * Order: (1) the state records every object about to be dropped as dropped, before any DROP, so a
 * deploy that stops halfway never leaves the state claiming an object that is gone (one that is
 * still there is found in the catalog next time and recreated); (2) DROPs, dependents first, one
 * at a time; (3) CREATEs by graph depth, each depth's models in parallel on up to `threads`
 * sessions, each depth's successes recorded in one INSERT.
 *
 * A failure stops nothing that does not depend on it: the failed model's descendants are skipped,
 * everything else (its siblings included) still deploys, and the next deploy converges.
 *
 * Before all that (and before a dry run reports its plan), foreignDependentRefusals: objects that
 * are not the project's but read something the plan drops stop the deploy before any DDL, named.
 */
import type { CompiledProject } from '../compile.ts';
import { ProjectError } from '../errors.ts';
import { catalogKey, type DeployPlan, type PlannedAction, type DeployAction } from './deploy-plan.ts';
import { foreignDependents, qualifiedName, readObjectGraph, typeName, type GraphObject } from './blue-green/blue-green-dependents.ts';
import { createStatements, displayedStatements, dropStatement } from './deploy-sql.ts';
import { describeFailure, type DeployFailure } from './deploy-errors.ts';
import { redact } from './deploy-secrets.ts';
import { needsValidation, validatePlan } from './deploy-validate.ts';
import { deployedModelOf, type DeployedModel, type DeployedState, type StateChange, type StateStore } from './deploy-state.ts';
import type { SessionPool, SqlSession } from './sql-session.ts';
import type { ManifestKind } from '../model-config.ts';
import { quoteIdentifier } from '../../shared/sql-scan.ts';

export type ActionStatus = 'done' | 'failed' | 'skipped';

export interface ActionResult {
  readonly model: string;
  readonly action: DeployAction;
  readonly kind: ManifestKind;
  readonly reason: string;
  readonly status: ActionStatus;
  readonly ms: number;
  readonly failure?: DeployFailure;
  /** Skipped: the failed model upstream. */
  readonly blockedBy?: string;
  /** Skipped for another reason than a failure upstream (said in words). */
  readonly skippedBecause?: string;
}

export interface ExecuteInput {
  /** Project root: failures point at template files under it. */
  readonly root: string;
  readonly plan: DeployPlan;
  readonly pool: SessionPool;
  readonly store: StateStore;
  readonly state: DeployedState;
  /** Values of the secrets the plan creates or converges (never printed). */
  readonly secretValues: ReadonlyMap<string, string>;
  /** Fingerprints of those values, to record. */
  readonly secretFingerprints: ReadonlyMap<string, string>;
  readonly onResult?: (result: ActionResult) => void;
}

export interface ExecuteResult {
  readonly results: readonly ActionResult[];
  /** DDL statements sent (state-table writes not counted). */
  readonly ddlStatements: number;
  /** The state after this deploy, as recorded. */
  readonly state: DeployedState;
  /** Queries checked in the scratch schema before any DROP (0: nothing was to be dropped). */
  readonly validated: number;
  /** Validation failed: nothing was applied. */
  readonly rejected: boolean;
}

export async function executePlan(input: ExecuteInput): Promise<ExecuteResult> {
  const { plan, pool, store } = input;
  const state: DeployedState = new Map(input.state);
  const results: ActionResult[] = [];
  let ddlStatements = 0;
  const report = (result: ActionResult) => {
    results.push(result);
    input.onResult?.(result);
  };
  const work = plan.dropOrder.length + plan.createLevels.length + plan.adopted.length + plan.forgotten.length;
  if (work === 0) return { results, ddlStatements, state, validated: 0, rejected: false };

  const session = await pool.primary();
  await store.ensure();

  // (0) Before anything goes offline, every query to recreate is checked in a scratch schema.
  let validated = 0;
  if (needsValidation(plan)) {
    const checked = await validatePlan(session, input.root, plan, new Set(input.state.keys()));
    validated = checked.validated;
    if (checked.failures.length > 0) {
      const failedModels = new Set(checked.failures.map(({ action }) => action.model));
      for (const { action, failure } of checked.failures) report({ ...resultOf(action, 'failed', performance.now()), failure });
      const first = checked.failures[0]!.action.model;
      const untouched = [...plan.dropOrder.filter((action) => action.action === 'drop'), ...plan.createLevels.flat()];
      for (const action of untouched) {
        if (failedModels.has(action.model)) continue;
        report({ ...resultOf(action, 'skipped', performance.now()), skippedBecause: `not applied: ${first} failed validation, so nothing was changed` });
      }
      return { results, ddlStatements, state, validated, rejected: true };
    }
  }

  // (1) Everything about to be dropped, and the clusters no longer tracked, recorded first.
  const dropped: StateChange[] = [
    ...plan.dropOrder.map((action) => ({ dropped: { name: action.model, kind: action.deployed!.kind, schema: action.deployed!.schema } })),
    ...plan.forgotten.map((deployed) => ({ dropped: { name: deployed.name, kind: deployed.kind, schema: deployed.schema } })),
  ];
  await store.record(dropped);
  for (const action of plan.dropOrder) state.delete(action.model);
  for (const deployed of plan.forgotten) state.delete(deployed.name);

  // (2) Drops, dependents first.
  const failed = new Set<string>();
  for (const action of plan.dropOrder) {
    const sql = dropStatement(action.deployed!);
    const started = performance.now();
    try {
      ddlStatements++;
      await session.query(sql);
      if (action.action === 'drop') report(resultOf(action, 'done', started));
    } catch (error) {
      failed.add(action.model);
      report({ ...resultOf(action, 'failed', started), failure: describeFailure(input.root, action.model, action.node, sql, error) });
    }
  }

  // Objects found in the database and adopted as they are: recorded, no DDL.
  const adopted = plan.adopted.map((action) => deployedRecord(action, input));
  await store.record(adopted.map((deployed) => ({ deployed })));
  for (const deployed of adopted) state.set(deployed.name, deployed);

  // (3) Creates by depth; a failed model's descendants are skipped. Their schemas first: a model
  //     (or a test's stored failures, in <schema>_tests) may live in a schema not made yet.
  ddlStatements += await ensureSchemas(session, plan);
  const blocked = new Set<string>();
  const blockedBy = new Map<string, string>();
  for (const level of plan.createLevels) {
    const ready: PlannedAction[] = [];
    for (const action of level) {
      const upstream = action.node!.dependsOn.find((dependency) => failed.has(dependency) || blocked.has(dependency));
      if (failed.has(action.model)) continue; // its drop failed: already reported
      if (upstream !== undefined) {
        blocked.add(action.model);
        const root = blockedBy.get(upstream) ?? upstream;
        blockedBy.set(action.model, root);
        report({ ...resultOf(action, 'skipped', performance.now()), blockedBy: root });
        continue;
      }
      ready.push(action);
    }
    const applied: DeployedModel[] = [];
    await Promise.all(
      ready.map((action) =>
        pool.run(async (levelSession) => {
          const started = performance.now();
          const outcome = await applyCreate(levelSession, action, input);
          ddlStatements += outcome.statements;
          if (outcome.failure) {
            failed.add(action.model);
            report({ ...resultOf(action, 'failed', started), failure: outcome.failure });
          } else {
            applied.push(deployedRecord(action, input));
            report(resultOf(action, 'done', started));
          }
        }),
      ),
    );
    await store.record(applied.map((deployed) => ({ deployed })));
    for (const deployed of applied) state.set(deployed.name, deployed);
  }
  return { results, ddlStatements, state, validated, rejected: false };
}

/**
 * Objects that are not the project's (neither in the deployed state nor models of the project) and
 * read, directly or through other objects, something the plan drops: a model removed from the
 * project, or one replaced by DROP then CREATE. A view, materialized view, index or sink made by
 * hand over a model would make that DROP fail part-way through the deploy ("still depended
 * upon"), after earlier drops and creates ran; a CASCADE would take it along. So they are looked
 * for in the target's dependencies (blue-green-dependents.ts) before any DDL, and each is a
 * refusal naming it, what it reads and what to do.
 */
export async function foreignDependentRefusals(session: SqlSession, plan: DeployPlan, state: DeployedState, project: CompiledProject): Promise<ProjectError[]> {
  const dropped = plan.dropOrder.filter((action) => action.deployed && action.deployed.kind !== 'cluster');
  if (dropped.length === 0) return [];
  const graph = await readObjectGraph(session);
  // The session's database's objects by the key the plan uses (indexes by name, the rest by schema.name).
  const byKey = new Map<string, GraphObject[]>();
  for (const object of graph.objects.values()) {
    if (!object.inCurrentDatabase || object.schema === null) continue;
    const key = objectKey(object);
    byKey.set(key, [...(byKey.get(key) ?? []), object]);
  }
  const roots = new Map<string, PlannedAction>();
  for (const action of dropped) {
    const deployed = action.deployed!;
    const candidates = byKey.get(catalogKey(deployed.kind, deployed.schema, deployed.name)) ?? [];
    // An index: the one in the model's schema if several schemas have one of that name.
    const object = candidates.find((candidate) => candidate.schema === deployed.schema) ?? (deployed.kind === 'index' ? candidates[0] : undefined);
    if (object && (object.type === 'index') === (deployed.kind === 'index')) roots.set(object.id, action);
  }
  if (roots.size === 0) return [];
  const own = new Set<string>();
  for (const deployed of state.values()) own.add(catalogKey(deployed.kind, deployed.schema, deployed.name));
  for (const node of project.nodes.values()) own.add(catalogKey(node.kind, node.schema, node.name));
  const isOwn = (object: GraphObject) => object.inCurrentDatabase && object.schema !== null && own.has(objectKey(object));
  return foreignDependents(graph, roots.keys(), isOwn).map(({ object, reads }) => {
    const read = reads.map((each) => {
      const action = roots.get(each.id);
      const doing = action?.action === 'drop' ? 'drops (removed from the project)' : `drops and recreates (${action?.reason ?? 'replaced'})`;
      return `${each.schema}.${each.name}, which this deploy ${doing}`;
    });
    const model = reads.map((each) => roots.get(each.id)?.node).find((node) => node !== undefined);
    const name = qualifiedName(object);
    return new ProjectError(
      `${name} (${typeName(object)}) is not part of this project and reads ${read.join('; ')}: the DROP would fail on it part-way through the deploy (a deploy never drops with CASCADE, which would take it along)`,
      model ? { file: model.path } : undefined,
      `drop ${name}, deploy, then create it again; or move it into the project as a model (it is then redeployed with what it reads). Nothing was changed`,
    );
  });
}

function objectKey(object: GraphObject): string {
  return object.type === 'index' ? catalogKey('index', '', object.name) : catalogKey('view', object.schema ?? '', object.name);
}

/** Creates the schemas the plan's creates need that the database lacks; returns how many. */
async function ensureSchemas(session: SqlSession, plan: DeployPlan): Promise<number> {
  const needed = new Set<string>();
  for (const action of plan.createLevels.flat()) if (action.kind !== 'cluster' && action.kind !== 'index') needed.add(action.node!.schema);
  if (needed.size === 0) return 0;
  const present = await session.query<{ name: string }>(
    `SELECT s.name FROM mz_catalog.mz_schemas s JOIN mz_catalog.mz_databases d ON d.id = s.database_id WHERE d.name = current_database()`,
  );
  for (const row of present.rows) needed.delete(row.name);
  for (const schema of needed) await session.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(schema)}`);
  return needed.size;
}

async function applyCreate(session: SqlSession, action: PlannedAction, input: ExecuteInput): Promise<{ statements: number; failure?: DeployFailure }> {
  const secret = action.kind === 'secret' ? input.secretValues.get(action.model) : undefined;
  const statements = createStatements(action, secret);
  const shown = displayedStatements(action).slice(-statements.length);
  let sent = 0;
  for (let index = 0; index < statements.length; index++) {
    try {
      sent++;
      await session.query(statements[index]!);
    } catch (error) {
      const failure = describeFailure(input.root, action.model, action.node, shown[index], error);
      return { statements: sent, failure: secret === undefined ? failure : redactFailure(failure, secret) };
    }
  }
  return { statements: sent };
}

function redactFailure(failure: DeployFailure, secret: string): DeployFailure {
  // A very short value would redact half the message: withhold the text instead.
  const clean = (text: string | undefined) => (text === undefined ? undefined : secret.length < 4 ? '(withheld: the statement carried a secret value)' : redact(text, [secret]));
  return { ...failure, message: clean(failure.message)!, detail: clean(failure.detail), hint: clean(failure.hint) };
}

function resultOf(action: PlannedAction, status: ActionStatus, started: number): ActionResult {
  return { model: action.model, action: action.action, kind: action.kind, reason: action.reason, status, ms: performance.now() - started };
}

function deployedRecord(action: PlannedAction, input: ExecuteInput): DeployedModel {
  const node = action.node!;
  const fingerprint = node.kind === 'secret' ? (input.secretFingerprints.get(node.name) ?? action.deployed?.secretFingerprint ?? null) : null;
  return deployedModelOf(node, action.stateChecksum!, fingerprint);
}
