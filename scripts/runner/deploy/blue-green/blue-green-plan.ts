/**
 * Planning a blue/green deploy (pure: no database). Given the ordinary plan, it decides which
 * schemas and clusters to swap, which actions can safely run in place first, and the statements
 * that build the new version beside the live one:
 *
 * - Schemas to swap: every schema holding a view, materialized view, index or stored test that the
 *   plan creates, replaces or drops, closed downstream — an object reading a swapped object must be
 *   swapped too, or it would keep reading the old version and be dropped with it.
 * - Clusters to swap: those running the materialized views and indexes of those schemas.
 * - In place first: additive work that takes nothing offline (new clusters, secrets, sources,
 *   connections, secret values converged).
 * - Refused before any DDL, with the file and a fix: a source, secret or connection in a schema to
 *   swap (it cannot be rebuilt without losing data); an object in such a schema or cluster that is
 *   not this project's (it would be dropped with the old version); a cluster that is not a cluster
 *   model (its copy could not be created alike); a staging schema or cluster that exists and is not
 *   this project's staged deploy. (Objects elsewhere that read the swapped schemas are found by
 *   blue-green-run.ts, from the target's dependencies: blue-green-dependents.ts.)
 * - Cleanup: the old version's objects dropped one by one, dependents first, then the emptied
 *   schemas and clusters — never CASCADE, so nothing that is not the project's goes with them.
 */
import type { CompiledNode, CompiledProject } from '../../compile.ts';
import { ProjectError } from '../../errors.ts';
import type { ManifestKind } from '../../model-config.ts';
import { PROJECT_FILE } from '../../project-config.ts';
import { codeOnly, quoteIdentifier } from '../../../shared/sql-scan.ts';
import { deployableProject, type DeployPlan, type PlannedAction } from '../deploy-plan.ts';
import { dropObjectStatement, dropOrder } from './blue-green-dependents.ts';
import { escapeRegExp } from '../../../shared/regexp.ts';

export const STAGING_SUFFIX = '_deploy';

const SWAPPABLE: ReadonlySet<ManifestKind> = new Set(['view', 'materialized_view', 'index', 'test']);
const DURABLE_IN_SCHEMA: ReadonlySet<string> = new Set(['source', 'connection', 'secret', 'table', 'sink']);

/** What the target's catalog holds, as far as planning needs it. */
export interface CatalogSnapshot {
  /** Schema name → id. */
  readonly schemas: ReadonlyMap<string, string>;
  /** Cluster names, and name → id. */
  readonly clusters: ReadonlySet<string>;
  readonly clusterIds: ReadonlyMap<string, string>;
  /** Every user object: its schema, name, Materialize type and cluster. */
  readonly objects: readonly CatalogObject[];
  /** Privileges granted on schemas and clusters (mz_aclitem text: grantee=privileges/grantor), beside their owner. */
  readonly grants?: readonly CatalogGrant[];
  /** Role id → name (mz_roles). */
  readonly roles?: ReadonlyMap<string, string>;
}

export interface CatalogGrant {
  readonly kind: 'schema' | 'cluster';
  readonly name: string;
  readonly ownerId: string;
  readonly privilege: string;
}

export interface CatalogObject {
  readonly id: string;
  readonly schema: string;
  readonly name: string;
  readonly type: string;
  readonly cluster: string | null;
}

export interface BlueGreenStep {
  readonly step: 'in_place' | 'create_schema' | 'create_cluster' | 'grant' | 'create' | 'wait' | 'promote' | 'cleanup';
  readonly sql: string;
  /** For `create`: the model the statement creates. */
  readonly model?: string;
}

export interface BlueGreenPlan {
  readonly schemas: readonly string[];
  readonly clusters: readonly string[];
  /** Actions of the ordinary plan applied in place before staging (nothing goes offline). */
  readonly inPlace: readonly PlannedAction[];
  /** Every model of the swapped schemas, in deploy order, as it is created in staging. */
  readonly staged: readonly StagedNode[];
  /** Models the state records in swapped schemas that the project no longer has: gone after the swap. */
  readonly removed: readonly string[];
  readonly steps: readonly BlueGreenStep[];
  readonly refusals: readonly ProjectError[];
  /** Nothing to swap: the deploy has no view-like change. */
  readonly empty: boolean;
}

export interface StagedNode {
  readonly node: CompiledNode;
  /** The statement creating it in staging (schemas and clusters renamed to their staging copies). */
  readonly sql: string;
  /** The state checksum it records once promoted. */
  readonly stateChecksum: string;
}

export function stagingName(name: string): string {
  return `${name}${STAGING_SUFFIX}`;
}

export interface BlueGreenPlanInput {
  readonly project: CompiledProject;
  readonly plan: DeployPlan;
  readonly catalog: CatalogSnapshot;
  /** State checksums of every node (deployPlan's), recorded once promoted. */
  readonly stateChecksums: ReadonlyMap<string, string>;
  /** Models recorded as deployed, with their schema. */
  readonly deployedSchemas: ReadonlyMap<string, { schema: string; kind: ManifestKind }>;
  /** A staged deploy of this project exists (its staging objects are ours to replace). */
  readonly stagedByUs: boolean;
  /** Object id → ids it reads (readObjectGraph): the order the old version is dropped in. */
  readonly dependencies?: ReadonlyMap<string, readonly string[]>;
}

export function blueGreenPlan(input: BlueGreenPlanInput): BlueGreenPlan {
  const project = deployableProject(input.project);
  const { plan, catalog } = input;
  const refusals: ProjectError[] = [];

  // 1. Schemas holding a view-like change, closed downstream over the project's graph.
  const schemas = new Set<string>();
  for (const action of plan.actions) {
    if (action.action === 'unchanged' || !SWAPPABLE.has(action.kind)) continue;
    schemas.add(action.node?.schema ?? action.deployed!.schema);
  }
  let grew = true;
  while (grew) {
    grew = false;
    for (const name of project.order) {
      const node = project.nodes.get(name)!;
      if (schemas.has(node.schema) || node.kind === 'cluster') continue;
      if (node.dependsOn.some((dependency) => schemas.has(project.nodes.get(dependency)?.schema ?? '') && project.nodes.get(dependency)?.kind !== 'cluster')) {
        schemas.add(node.schema);
        grew = true;
      }
    }
  }
  // Nothing of them is live yet (a first deploy): nothing can go offline, so nothing to swap.
  if ([...schemas].every((schema) => !catalog.schemas.has(schema))) schemas.clear();
  const swapped = [...schemas].sort();
  const inSwapped = (node: CompiledNode) => node.kind !== 'cluster' && schemas.has(node.schema);

  // 2. What lives in them must be rebuildable.
  for (const node of project.nodes.values()) {
    if (inSwapped(node) && DURABLE_IN_SCHEMA.has(node.kind)) {
      refusals.push(
        new ProjectError(
          `blue/green would swap schema ${node.schema}, which holds ${node.kind} ${node.name}: a ${node.kind} cannot be rebuilt beside the live one without losing what it holds`,
          { file: node.path },
          `give sources, secrets and connections a schema of their own (schema: in their front matter or folder), apart from the views and marts that change`,
        ),
      );
    }
  }
  const projectObjects = new Set([...project.nodes.values()].map((node) => `${node.schema}.${node.name}`));
  for (const object of catalog.objects) {
    if (schemas.has(object.schema) && !projectObjects.has(`${object.schema}.${object.name}`) && !input.deployedSchemas.has(object.name)) {
      refusals.push(
        new ProjectError(
          `blue/green would swap schema ${object.schema}, which holds ${object.type} ${object.name} that is not in this project: it would be dropped with the old version`,
          { file: PROJECT_FILE },
          `move ${object.schema}.${object.name} to another schema, drop it, or add it to the project`,
        ),
      );
    }
  }

  // 3. Clusters of the swapped compute objects: project cluster models, hosting nothing else.
  const clusters = new Set<string>();
  for (const node of project.nodes.values()) {
    if (inSwapped(node) && (node.kind === 'materialized_view' || node.kind === 'index' || (node.kind === 'test' && node.cluster)) && node.cluster) clusters.add(node.cluster);
  }
  for (const cluster of clusters) {
    const model = project.nodes.get(cluster);
    if (!model || model.kind !== 'cluster') {
      refusals.push(
        new ProjectError(
          `blue/green needs to build a copy of cluster ${cluster} (it runs models in schema ${swapped.join(', ')}), but ${cluster} is not a cluster model of this project, so its size and replication are unknown`,
          { file: PROJECT_FILE },
          `add models/<folder>/${cluster}.sql with kind: cluster and its options (e.g. (SIZE = '25cc')), and run these models on it`,
        ),
      );
      continue;
    }
    const others = [...project.nodes.values()].filter((node) => node.cluster === cluster && node.kind !== 'cluster' && !inSwapped(node));
    const foreign = catalog.objects.filter((object) => object.cluster === cluster && !schemas.has(object.schema));
    for (const other of [...others.map((node) => `${node.kind} ${node.name}`), ...foreign.filter((object) => !others.some((node) => node.name === object.name)).map((object) => `${object.type} ${object.name}`)]) {
      refusals.push(
        new ProjectError(
          `blue/green would swap cluster ${cluster}, which also runs ${other} outside the swapped schemas (${swapped.join(', ')}): it would be dropped with the old cluster`,
          { file: model.path },
          `run sources and anything outside ${swapped.join(', ')} on another cluster (cluster: in their front matter)`,
        ),
      );
    }
  }
  const swappedClusters = [...clusters].sort();

  // 4. Staging names must be free, or ours.
  if (!input.stagedByUs) {
    for (const schema of swapped) {
      if (catalog.schemas.has(stagingName(schema))) refusals.push(stagingTaken('schema', stagingName(schema), catalog));
    }
    for (const cluster of swappedClusters) {
      if (catalog.clusters.has(stagingName(cluster))) refusals.push(stagingTaken('cluster', stagingName(cluster), catalog));
    }
  }

  // 5. The statements.
  const inPlace = plan.actions.filter((action) => {
    if (action.action === 'unchanged') return false;
    const node = action.node;
    if (node && inSwapped(node)) return false;
    if (!node && schemas.has(action.deployed!.schema)) return false;
    return true;
  });
  const staged: StagedNode[] = project.order
    .map((name) => project.nodes.get(name)!)
    .filter(inSwapped)
    .map((node) => ({ node, sql: stagedStatement(node.sql, schemas, clusters), stateChecksum: input.stateChecksums.get(node.name)! }));
  const removed = [...input.deployedSchemas].filter(([name, deployed]) => schemas.has(deployed.schema) && !project.nodes.has(name)).map(([name]) => name).sort();

  const steps: BlueGreenStep[] = [];
  for (const action of inPlace) steps.push({ step: 'in_place', sql: `-- ${action.action} ${action.kind} ${action.model} (in place: takes nothing offline)` });
  for (const schema of swapped) if (!catalog.schemas.has(schema)) steps.push({ step: 'create_schema', sql: `CREATE SCHEMA ${quoteIdentifier(schema)}` });
  for (const schema of swapped) steps.push({ step: 'create_schema', sql: `CREATE SCHEMA ${quoteIdentifier(stagingName(schema))}` });
  for (const cluster of swappedClusters) {
    const model = project.nodes.get(cluster);
    if (model?.kind === 'cluster') steps.push({ step: 'create_cluster', sql: renameClusterStatement(model.sql, cluster) });
  }
  // The staging copies get the privileges of the live schemas and clusters, so that whoever reads
  // or creates there today still can once they are swapped in.
  for (const sql of copiedGrants(catalog, new Set(swapped), new Set(swappedClusters))) steps.push({ step: 'grant', sql });
  for (const each of staged) steps.push({ step: 'create', sql: each.sql, model: each.node.name });
  if (swapped.length === 0) return { schemas: [], clusters: [], inPlace, staged: [], removed: [], steps, refusals, empty: true };
  steps.push({ step: 'wait', sql: readinessQuery(swapped.map(stagingName), swappedClusters.map(stagingName)) });
  steps.push({ step: 'promote', sql: promoteStatement(swapped, swappedClusters) });
  // The old version, now under the staging names: its objects one by one (dependents first), then
  // the empty schemas and clusters — never CASCADE, so nothing else can go with them.
  const old = catalog.objects.filter((object) => schemas.has(object.schema));
  for (const object of dropOrder(old, input.dependencies ?? new Map())) steps.push({ step: 'cleanup', sql: dropObjectStatement(object, stagingName(object.schema)) });
  for (const sql of dropContainersStatements(swapped, swappedClusters)) steps.push({ step: 'cleanup', sql });

  return { schemas: swapped, clusters: swappedClusters, inPlace, staged, removed, steps, refusals, empty: swapped.length === 0 };
}

const PRIVILEGE_NAMES: Readonly<Record<string, string>> = { U: 'USAGE', C: 'CREATE' };

/**
 * GRANT statements giving each staging schema and cluster the privileges its live counterpart has,
 * from mz_aclitem text (`grantee=UC/grantor`, an empty grantee being PUBLIC). The owner's own
 * privileges are left out (the deploying role owns the copies).
 */
export function copiedGrants(catalog: CatalogSnapshot, schemas: ReadonlySet<string>, clusters: ReadonlySet<string>): string[] {
  const statements: string[] = [];
  for (const grant of catalog.grants ?? []) {
    if (!(grant.kind === 'schema' ? schemas : clusters).has(grant.name)) continue;
    const match = /^([^=]*)=([A-Za-z]*)\/(.+)$/.exec(grant.privilege);
    if (!match || match[1] === grant.ownerId) continue;
    const grantee = match[1] === '' ? 'PUBLIC' : catalog.roles?.get(match[1]!);
    const privileges = [...match[2]!].map((letter) => PRIVILEGE_NAMES[letter]).filter((name): name is string => name !== undefined);
    if (!grantee || privileges.length === 0) continue;
    const target = `${grant.kind.toUpperCase()} ${quoteIdentifier(stagingName(grant.name))}`;
    statements.push(`GRANT ${privileges.join(', ')} ON ${target} TO ${grantee === 'PUBLIC' ? 'PUBLIC' : quoteIdentifier(grantee)}`);
  }
  return statements;
}

function stagingTaken(what: 'schema' | 'cluster', name: string, catalog: CatalogSnapshot): ProjectError {
  // What is there, named, so nobody has to drop it blind.
  const held = catalog.objects.filter((object) => (what === 'schema' ? object.schema === name : object.cluster === name));
  const shown = held.slice(0, 10).map((object) => `${object.type.replace(/-/g, ' ')} ${object.schema}.${object.name}`);
  const holds = held.length === 0 ? (what === 'schema' ? 'it is empty' : 'nothing runs on it') : `${what === 'schema' ? 'it holds' : 'it runs'} ${shown.join(', ')}${held.length > shown.length ? ` and ${held.length - shown.length} more` : ''}`;
  return new ProjectError(
    `${what} ${name} exists and is not a staged deploy of this project (${holds}): blue/green builds the new version under that name`,
    { file: PROJECT_FILE },
    // Not --abort: that drops only what this project's marker records, and nothing records this.
    `it may be someone else's: find out who uses it and what reads ${what === 'schema' ? 'its objects' : 'what runs on it'} (mz_internal.mz_object_dependencies) before removing anything; then drop ${what === 'schema' ? 'its objects' : 'what runs on it'} one by one and DROP ${what.toUpperCase()} ${name} without CASCADE (which would also drop whatever else reads them), and deploy again`,
  );
}

/**
 * A model's statement pointed at the staging copies: `"s".` → `"s_deploy".` for swapped schemas and
 * `IN CLUSTER "c"` → `IN CLUSTER "c_deploy"` for swapped clusters, in code only (never inside a
 * string or comment). References render as `"schema"."name"` (SqlRelation), so this is exact.
 */
export function stagedStatement(sql: string, schemas: ReadonlySet<string>, clusters: ReadonlySet<string>): string {
  const code = codeOnly(sql);
  const edits: Array<{ at: number; length: number; text: string }> = [];
  for (const schema of schemas) {
    const needle = `${quoteIdentifier(schema)}.`;
    for (let at = code.indexOf(needle); at !== -1; at = code.indexOf(needle, at + needle.length)) {
      edits.push({ at, length: needle.length, text: `${quoteIdentifier(stagingName(schema))}.` });
    }
  }
  for (const cluster of clusters) {
    const pattern = new RegExp(`\\bIN\\s+CLUSTER\\s+${escapeRegExp(quoteIdentifier(cluster))}`, 'gi');
    for (const match of code.matchAll(pattern)) {
      edits.push({ at: match.index!, length: match[0].length, text: `IN CLUSTER ${quoteIdentifier(stagingName(cluster))}` });
    }
  }
  edits.sort((a, b) => b.at - a.at);
  let result = sql;
  for (const edit of edits) result = result.slice(0, edit.at) + edit.text + result.slice(edit.at + edit.length);
  return result;
}

/** `CREATE CLUSTER "c" (…)` → `CREATE CLUSTER "c_deploy" (…)`: the same size and replication. */
export function renameClusterStatement(sql: string, cluster: string): string {
  return sql.replace(`CREATE CLUSTER ${quoteIdentifier(cluster)}`, `CREATE CLUSTER ${quoteIdentifier(stagingName(cluster))}`);
}

/** The staging schemas and clusters of `schemas` and `clusters`, once emptied: without CASCADE. */
export function dropContainersStatements(schemas: readonly string[], clusters: readonly string[]): string[] {
  return [
    ...schemas.map((schema) => `DROP SCHEMA IF EXISTS ${quoteIdentifier(stagingName(schema))}`),
    ...clusters.map((cluster) => `DROP CLUSTER IF EXISTS ${quoteIdentifier(stagingName(cluster))}`),
  ];
}

/** One transaction: every schema and cluster exchanged with its staging copy, or none. */
export function promoteStatement(schemas: readonly string[], clusters: readonly string[]): string {
  return [
    'BEGIN;',
    ...schemas.map((schema) => `ALTER SCHEMA ${quoteIdentifier(schema)} SWAP WITH ${quoteIdentifier(stagingName(schema))};`),
    ...clusters.map((cluster) => `ALTER CLUSTER ${quoteIdentifier(cluster)} SWAP WITH ${quoteIdentifier(stagingName(cluster))};`),
    'COMMIT;',
  ].join('\n');
}

/**
 * Per staged object: hydrated on every replica, and its lag; per staged cluster: replicas and
 * OOM kills in the last day. Read by the wait step (blue-green-wait.ts).
 */
export function readinessQuery(stagingSchemas: readonly string[], stagingClusters: readonly string[]): string {
  const schemaList = stagingSchemas.map((schema) => `'${schema.replace(/'/g, "''")}'`).join(', ') || 'NULL';
  const clusterList = stagingClusters.map((cluster) => `'${cluster.replace(/'/g, "''")}'`).join(', ') || 'NULL';
  return [
    `SELECT 'object' AS kind, o.id, o.name, c.name AS cluster,`,
    `       coalesce(bool_and(h.hydrated), false) AS hydrated, count(h.replica_id) AS replicas,`,
    `       max(extract(epoch FROM l.lag)) AS lag_seconds, 0 AS oom_kills`,
    `  FROM mz_catalog.mz_objects o`,
    `  JOIN mz_catalog.mz_schemas s ON s.id = o.schema_id`,
    `  LEFT JOIN mz_catalog.mz_clusters c ON c.id = o.cluster_id`,
    `  LEFT JOIN mz_internal.mz_hydration_statuses h ON h.object_id = o.id`,
    `  LEFT JOIN mz_internal.mz_wallclock_global_lag l ON l.object_id = o.id`,
    ` WHERE s.name IN (${schemaList}) AND o.type IN ('materialized-view', 'index')`,
    ` GROUP BY o.id, o.name, c.name`,
    `UNION ALL`,
    `SELECT 'cluster', c.id, c.name, c.name, true, count(DISTINCT r.id), 0,`,
    `       count(h.replica_id) FILTER (WHERE h.reason = 'oom-killed' AND h.occurred_at > now() - INTERVAL '1 day')`,
    `  FROM mz_catalog.mz_clusters c`,
    `  LEFT JOIN mz_catalog.mz_cluster_replicas r ON r.cluster_id = c.id`,
    `  LEFT JOIN mz_internal.mz_cluster_replica_status_history h ON h.replica_id = r.id`,
    ` WHERE c.name IN (${clusterList})`,
    ` GROUP BY c.id, c.name`,
  ].join('\n');
}
