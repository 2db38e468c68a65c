/**
 * deployPlan: the compiled project against the deployed state → what to create, replace, drop or
 * leave alone. Pure: no database, so `--dry-run` and watch mode plan the same way a deploy does.
 *
 * Rules (mz-deploy's, see DESIGN.md):
 * - A model's state checksum covers its SQL and its upstream state checksums, so a change anywhere
 *   upstream replaces everything downstream of it. Secrets and clusters are converged in place
 *   (ALTER SECRET; clusters only created), so they do not propagate.
 * - Views, materialized views and indexes are replaced by DROP then CREATE, descendants first
 *   down, parents first up; never with CASCADE, so nothing outside the plan disappears.
 * - Sources and connections hold data: replacing or dropping one requires `--full-refresh <name>`
 *   (which also covers what depends on it).
 */
import { hash } from 'node:crypto';
import type { CompiledNode, CompiledProject } from '../compile.ts';
import { ProjectError } from '../errors.ts';
import { descendants, orderGraph } from '../graph.ts';
import type { ManifestKind } from '../model-config.ts';
import { PROJECT_FILE } from '../project-config.ts';
import type { DeployedModel, DeployedState } from './deploy-state.ts';

export type DeployAction = 'create' | 'replace' | 'drop' | 'unchanged';

export interface PlannedAction {
  readonly model: string;
  readonly action: DeployAction;
  readonly kind: ManifestKind;
  /** Why, for people: "new", "changed", "upstream stg_x changed", "full refresh"… */
  readonly reason: string;
  /** The compiled node (absent for drops of models no longer in the project). */
  readonly node?: CompiledNode;
  /** What is deployed now (absent for creates). */
  readonly deployed?: DeployedModel;
  /** Whether a replace runs DROP + CREATE (false: converged in place, e.g. ALTER SECRET). */
  readonly dropsFirst: boolean;
  /** State checksum the model will have once deployed. */
  readonly stateChecksum?: string;
}

export interface DeployPlan {
  /** Contract order: drops (dependents first), then every planned project model in deploy order. */
  readonly actions: readonly PlannedAction[];
  /** Objects to DROP before creating, dependents first: drops and drop-first replaces. */
  readonly dropOrder: readonly PlannedAction[];
  /** Creates and replaces, grouped by graph depth: each group can run in parallel. */
  readonly createLevels: readonly (readonly PlannedAction[])[];
  /** Objects found in the database but not in the state, adopted as they are (no DDL). */
  readonly adopted: readonly PlannedAction[];
  /** Models the state forgets without DDL (clusters removed from the project are never dropped). */
  readonly forgotten: readonly DeployedModel[];
  /** Things users should know that do not stop the deploy. */
  readonly notes: readonly string[];
  /** Reasons the deploy must not run (durable objects, missing dependencies). */
  readonly refusals: readonly ProjectError[];
}

export interface PlanInput {
  readonly project: CompiledProject;
  readonly state: DeployedState;
  /** Selected node names; all when undefined. */
  readonly selected?: ReadonlySet<string>;
  /** `--full-refresh` names. */
  readonly fullRefresh?: ReadonlySet<string>;
  /** Secrets whose current value differs from the deployed fingerprint. */
  readonly changedSecretValues?: ReadonlySet<string>;
  /** Objects that exist in the database (see catalogKey), to converge with a state that missed them. */
  readonly existing?: ReadonlySet<string>;
  /**
   * Models the state records but the database no longer has (dropped by hand, or by a CASCADE):
   * recreated, as if never deployed. See missingFromCatalog.
   */
  readonly missing?: ReadonlySet<string>;
}

const DURABLE: ReadonlySet<ManifestKind> = new Set(['source', 'connection']);
const IN_PLACE: ReadonlySet<ManifestKind> = new Set(['secret', 'cluster']);

export function isDurable(kind: ManifestKind): boolean {
  return DURABLE.has(kind);
}

/** The key of an object in `existing`: clusters and indexes by name, the rest by schema.name. */
export function catalogKey(kind: ManifestKind, schema: string, name: string): string {
  if (kind === 'cluster') return `cluster:${name}`;
  if (kind === 'index') return `index:${name}`;
  return `${schema}.${name}`;
}

/**
 * Every node's state checksum, in deploy order: its SQL checksum with the state checksums of the
 * dependencies that propagate (everything but secrets and clusters). `pinned` gives the checksum
 * a node keeps whatever its SQL says: with a selection, a model left out is what is deployed, so
 * its descendants are planned from its deployed state (an excluded, edited source must not
 * replace everything downstream of it, and again when the edit is reverted).
 */
export function stateChecksums(project: CompiledProject, pinned?: (name: string) => string | undefined): Map<string, string> {
  const checksums = new Map<string, string>();
  for (const name of project.order) {
    const fixed = pinned?.(name);
    checksums.set(name, fixed ?? nodeStateChecksum(project, name, checksums));
  }
  return checksums;
}

/** One node's state checksum from its SQL and the (already computed) checksums upstream. */
function nodeStateChecksum(project: CompiledProject, name: string, checksums: ReadonlyMap<string, string>): string {
  const node = project.nodes.get(name)!;
  let upstream = '';
  for (const dependency of node.dependsOn) {
    const dependencyNode = project.nodes.get(dependency);
    if (!dependencyNode || IN_PLACE.has(dependencyNode.kind)) continue;
    upstream += `${dependency}=${checksums.get(dependency)};`;
  }
  return upstream === '' ? node.checksum : hash('sha256', `${node.checksum}|${upstream}`, 'hex');
}

const deployableCache = new WeakMap<CompiledProject, CompiledProject>();

/**
 * The project as a deploy sees it: data tests exist in the target only when their failures are
 * stored (a materialized view of the failing rows); the others are queries models:test runs.
 * A test whose storing is switched off is then absent, so a deploy drops its view.
 */
export function deployableProject(project: CompiledProject): CompiledProject {
  const cached = deployableCache.get(project);
  if (cached) return cached;
  const skipped = (name: string) => {
    const node = project.nodes.get(name);
    return node?.kind === 'test' && !node.test?.storeFailures;
  };
  let result = project;
  if ([...project.nodes.keys()].some(skipped)) {
    const keep = (names: readonly string[]) => names.filter((name) => !skipped(name));
    const nodes = new Map([...project.nodes].filter(([name]) => !skipped(name)));
    result = {
      ...project,
      nodes,
      order: keep(project.order),
      dependencies: new Map([...project.dependencies].filter(([name]) => !skipped(name))),
      dependents: new Map([...project.dependents].filter(([name]) => !skipped(name)).map(([name, dependents]) => [name, keep(dependents)])),
    };
  }
  deployableCache.set(project, result);
  return result;
}

export function deployPlan(input: PlanInput): DeployPlan {
  const { state } = input;
  const project = deployableProject(input.project);
  const fullRefresh = input.fullRefresh ?? new Set<string>();
  const existing = input.existing;
  const selection = input.selected;
  const checksums = stateChecksums(project, selection ? (name) => (selection.has(name) ? undefined : state.get(name)?.stateChecksum) : undefined);
  const notes: string[] = [];
  const refusals: ProjectError[] = [];
  const adopted: PlannedAction[] = [];
  const forgotten: DeployedModel[] = [];

  for (const name of fullRefresh) {
    if (!project.nodes.has(name) && !state.has(name)) {
      refusals.push(new ProjectError(`--full-refresh ${name}: no model of that name in the project or in the deployed state`, undefined, 'name a model, e.g. --full-refresh segment_source'));
    }
  }
  // Full refresh of a model covers everything downstream of it, durable or not.
  const refreshCovered = descendants(project.dependents, [...fullRefresh].filter((name) => project.nodes.has(name)));
  for (const name of fullRefresh) refreshCovered.add(name);

  // 1. Each considered node: compare with what is deployed.
  const considered = input.selected ? project.order.filter((name) => input.selected!.has(name)) : project.order;
  const byName = new Map<string, PlannedAction>();
  const reasonOf = (node: CompiledNode, deployed: DeployedModel, recreatedUpstream: readonly string[]): string => {
    if (deployed.kind !== node.kind) return `was a ${deployed.kind}, now a ${node.kind}`;
    if (deployed.schema !== node.schema) return `moved from schema ${deployed.schema} to ${node.schema}`;
    if (deployed.checksum !== node.checksum) return 'changed';
    return recreatedUpstream.length ? `upstream ${recreatedUpstream.join(', ')} replaced` : 'upstream changed';
  };
  const missing = input.missing ?? new Set<string>();
  const plan = (node: CompiledNode, forcedReason?: string): PlannedAction => {
    const deployed = missing.has(node.name) ? undefined : state.get(node.name);
    const stateChecksum = checksums.get(node.name)!;
    const base = { model: node.name, kind: node.kind, node, stateChecksum } as const;
    if (!deployed && missing.has(node.name)) {
      if (isDurable(node.kind)) notes.push(`${node.kind} ${node.name} was deployed but is gone from the target (dropped outside the runner?): recreated, empty — the events it had ingested are gone with it`);
      return { ...base, action: 'create', reason: 'missing from the target: recreated', dropsFirst: false };
    }
    if (!deployed) {
      const exists = existing?.has(catalogKey(node.kind, node.schema, node.name)) ?? false;
      if (!exists) return { ...base, action: 'create', reason: 'new', dropsFirst: false };
      if (node.kind === 'cluster' || isDurable(node.kind)) {
        const action: PlannedAction = { ...base, action: 'unchanged', reason: 'exists, not recorded: adopted as it is', dropsFirst: false };
        adopted.push(action);
        if (isDurable(node.kind)) notes.push(`${node.kind} ${node.name} existed but was not recorded as deployed; adopted as it is (if its definition differs, --full-refresh ${node.name} recreates it, discarding its data)`);
        return action;
      }
      // Views, indexes: recreate to be sure of the definition; secrets: create-if-absent + ALTER.
      return { ...base, action: node.kind === 'secret' ? 'create' : 'replace', reason: 'exists, not recorded: recreated', dropsFirst: node.kind !== 'secret', deployed: synthesizeDeployed(node) };
    }
    const forced = forcedReason ?? (fullRefresh.has(node.name) ? 'full refresh' : undefined);
    if (node.kind === 'cluster' && deployed.kind === 'cluster') {
      if (deployed.checksum !== node.checksum) {
        notes.push(
          `cluster ${node.name}: its definition changed, but a deploy only creates clusters that are absent and never drops one; apply the change with ALTER CLUSTER ${node.name} SET (…)`,
        );
      }
      return { ...base, action: 'unchanged', reason: '', dropsFirst: false, deployed, stateChecksum: deployed.stateChecksum };
    }
    if (node.kind === 'secret' && deployed.kind === 'secret' && deployed.schema === node.schema && !forced) {
      if (deployed.stateChecksum === stateChecksum && !input.changedSecretValues?.has(node.name)) {
        return { ...base, action: 'unchanged', reason: '', dropsFirst: false, deployed };
      }
      return { ...base, action: 'replace', reason: 'value converged with ALTER SECRET', dropsFirst: false, deployed };
    }
    // An upstream model recreated on request (--full-refresh) takes its dependents with it, even
    // though their own state is unchanged: the DROP would fail on them otherwise.
    const recreatedUpstream = node.dependsOn.filter((dependency) => {
      const planned = byName.get(dependency);
      return planned?.action === 'replace' && planned.dropsFirst;
    });
    if (deployed.stateChecksum === stateChecksum && !forced && recreatedUpstream.length === 0) {
      return { ...base, action: 'unchanged', reason: '', dropsFirst: false, deployed };
    }
    return { ...base, action: 'replace', reason: forced ?? reasonOf(node, deployed, recreatedUpstream), dropsFirst: true, deployed };
  };
  for (const name of considered) byName.set(name, plan(project.nodes.get(name)!));

  // 2. With a selection, deployed descendants of a replaced model are replaced too: the DROP would
  //    otherwise fail on them (no CASCADE), or they would keep reading a dropped object.
  if (input.selected) {
    const replaced = [...byName.values()].filter((action) => action.action === 'replace' && action.dropsFirst).map((action) => action.model);
    const outside = descendants(project.dependents, replaced);
    for (const name of project.order) {
      if (!outside.has(name) || byName.has(name) || !state.has(name)) continue;
      // Recreated from its compiled SQL over the new upstream: that is the state it will have.
      checksums.set(name, nodeStateChecksum(project, name, checksums));
      byName.set(name, plan(project.nodes.get(name)!, 'upstream replaced (outside the selection)'));
    }
  }

  // 3. Durable objects are never dropped implicitly.
  for (const action of byName.values()) {
    if (action.action !== 'replace' || !action.dropsFirst || !action.deployed) continue;
    const durable = isDurable(action.kind) || isDurable(action.deployed.kind);
    if (durable && !refreshCovered.has(action.model)) refusals.push(durableRefusal(action, 'redeploying'));
  }

  // 4. Every dependency of a model to create must be deployed, or be created first. A stored test
  //    selected through one model it reads but also reading one that is not there waits instead.
  for (const action of [...byName.values()]) {
    if (action.action === 'unchanged') continue;
    const absent = action.node!.dependsOn.filter((dependency) => !byName.has(dependency) && !state.has(dependency));
    if (action.kind === 'test' && absent.length) {
      byName.delete(action.model);
      notes.push(`test ${action.model} not deployed: it also reads ${absent.join(', ')}, which is neither deployed nor selected`);
      continue;
    }
    for (const dependency of action.node!.dependsOn) {
      if (byName.has(dependency) || state.has(dependency)) continue;
      refusals.push(
        new ProjectError(
          `${action.model} depends on ${dependency}, which is neither deployed nor selected`,
          { file: action.node!.path },
          `select it too: --select +${action.model}`,
        ),
      );
    }
  }

  // 5. Orphans: deployed, no longer in the project. Left alone when deploying a selection.
  const drops: PlannedAction[] = [];
  const orphans = [...state.values()].filter((deployed) => !project.nodes.has(deployed.name));
  if (orphans.length && input.selected) {
    notes.push(`${orphans.length} deployed model(s) no longer in the project left in place (${orphans.map((orphan) => orphan.name).join(', ')}): deploy without --select/--exclude to drop them`);
  } else {
    for (const deployed of orphans) {
      if (deployed.kind === 'cluster') {
        forgotten.push(deployed);
        notes.push(`cluster ${deployed.name} is no longer in the project: left in place, no longer tracked (DROP CLUSTER ${deployed.name} removes it)`);
        continue;
      }
      const gone = missing.has(deployed.name);
      const action: PlannedAction = { model: deployed.name, action: 'drop', kind: deployed.kind, reason: gone ? 'removed from the project (already gone from the target)' : 'removed from the project', deployed, dropsFirst: true };
      if (isDurable(deployed.kind) && !fullRefresh.has(deployed.name) && !gone) refusals.push(durableRefusal(action, 'dropping'));
      drops.push(action);
    }
  }

  // Drops run dependents first, using the dependencies recorded at deploy time (what the database has).
  const toDrop = [...drops, ...[...byName.values()].filter((action) => action.action === 'replace' && action.dropsFirst)];
  const dropOrder = reverseDependencyOrder(toDrop);
  const planned = [...byName.values()];
  const levels = new Map<number, PlannedAction[]>();
  for (const action of planned) {
    if (action.action !== 'create' && action.action !== 'replace') continue;
    const depth = project.depth.get(action.model) ?? 0;
    let level = levels.get(depth);
    if (!level) levels.set(depth, (level = []));
    level.push(action);
  }
  const createLevels = [...levels.entries()].sort(([a], [b]) => a - b).map(([, level]) => level.sort((a, b) => a.model.localeCompare(b.model)));
  const order = new Map(project.order.map((name, index) => [name, index]));
  planned.sort((a, b) => order.get(a.model)! - order.get(b.model)!);
  return { actions: [...reverseDependencyOrder(drops), ...planned], dropOrder, createLevels, adopted, forgotten, notes, refusals };
}

function durableRefusal(action: PlannedAction, doing: 'redeploying' | 'dropping'): ProjectError {
  const what = action.deployed?.kind ?? action.kind;
  const why = doing === 'dropping' ? 'was removed from the project' : action.reason === 'changed' ? 'changed' : `changed (${action.reason})`;
  return new ProjectError(
    `${what} ${action.model} ${why}: ${doing} it discards every event it ingested`,
    action.node ? { file: action.node.path } : { file: PROJECT_FILE },
    doing === 'dropping'
      ? `restore the model, or drop it on purpose with --full-refresh ${action.model}`
      : `revert the change, or recreate it on purpose with --full-refresh ${action.model} (its data is lost; dependents are recreated)`,
  );
}

/** Models the state records as deployed whose object the catalog does not have. */
export function missingFromCatalog(state: DeployedState, existing: ReadonlySet<string>): Set<string> {
  const missing = new Set<string>();
  for (const deployed of state.values()) {
    if (!existing.has(catalogKey(deployed.kind, deployed.schema, deployed.name))) missing.add(deployed.name);
  }
  return missing;
}

/** A stand-in state entry for an object found in the database but missing from the state. */
function synthesizeDeployed(node: CompiledNode): DeployedModel {
  return { name: node.name, kind: node.kind, schema: node.schema, parent: node.parent ?? null, dependsOn: node.dependsOn, checksum: '', stateChecksum: '', secretFingerprint: null, deployedAt: '' };
}

/** Dependents before what they depend on, by recorded dependencies; ties by name. */
function reverseDependencyOrder(actions: readonly PlannedAction[]): PlannedAction[] {
  const byName = new Map(actions.map((action) => [action.model, action]));
  const dependencies = new Map<string, readonly string[]>();
  for (const action of actions) {
    const recorded = action.deployed?.dependsOn ?? [];
    dependencies.set(action.model, recorded.filter((name) => byName.has(name) && name !== action.model));
  }
  const result = orderGraph({ dependencies });
  const order = result.ok ? result.graph.order : [...byName.keys()].sort();
  return [...order].reverse().map((name) => byName.get(name)!);
}
