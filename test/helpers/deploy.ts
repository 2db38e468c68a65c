/** Deploying a project on disk to an in-process local server, as models:deploy does. */
import { compileProject, type CompileOptions } from '../../scripts/runner/compile.ts';
import { ProjectError, ProjectErrors } from '../../scripts/runner/errors.ts';
import { Deployer, type DeployReport, type DeployRequest } from '../../scripts/runner/deploy/deployer.ts';
import { selectNodes } from '../../scripts/runner/select.ts';
import { localServerConnection, type TargetConnection } from '../../scripts/runner/deploy/target-connection.ts';
import type { TestServer } from './local-server.ts';

export interface DeployOptions extends CompileOptions {
  readonly select?: string[];
  readonly exclude?: string[];
  readonly fullRefresh?: string[];
  readonly dryRun?: boolean;
  readonly threads?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly leaseWaitMs?: number;
}

/** The connection a Deployer needs to reach `server` instead of the project's target. */
export function connectionTo(server: TestServer): TargetConnection {
  return localServerConnection(server.server.host, server.server.pgPort, 'test server');
}

/** Compiles `root` and deploys it to `server` with a fresh Deployer (state read from the database). */
export async function deployProject(server: TestServer, root: string, options: DeployOptions = {}): Promise<DeployReport> {
  const project = compileProject(root, options);
  const deployer = await Deployer.open(project, { connection: connectionTo(server), threads: options.threads ?? 4, ...(options.leaseWaitMs !== undefined ? { leaseWaitMs: options.leaseWaitMs } : {}) });
  try {
    const selected = options.select || options.exclude ? selectNodes(project, options.select, options.exclude) : undefined;
    const request: DeployRequest = {
      project,
      ...(selected ? { selected } : {}),
      fullRefresh: new Set(options.fullRefresh ?? []),
      dryRun: options.dryRun ?? false,
      ...(options.env ? { env: options.env } : {}),
    };
    return await deployer.deploy(request);
  } finally {
    await deployer.close();
  }
}

/** model → action, for the plan's changes (unchanged models left out). */
export function changes(report: DeployReport): Record<string, string> {
  return Object.fromEntries(report.plan.actions.filter((action) => action.action !== 'unchanged').map((action) => [action.model, action.action]));
}

/** Object ids of every user relation, secret, connection, index and cluster: they change when an object is recreated. */
export async function catalogIds(server: TestServer): Promise<Map<string, string>> {
  const rows = await server.query<{ name: string; id: string }>(
    `SELECT name, id FROM mz_catalog.mz_sources UNION ALL SELECT name, id FROM mz_catalog.mz_views
     UNION ALL SELECT name, id FROM mz_catalog.mz_materialized_views UNION ALL SELECT name, id FROM mz_catalog.mz_secrets
     UNION ALL SELECT name, id FROM mz_catalog.mz_indexes UNION ALL SELECT name, id FROM mz_catalog.mz_clusters`,
  );
  return new Map(rows.map((row) => [row.name, row.id]));
}

/** Drops everything a seed deploy creates (its schemas, clusters and recorded state), so the next test starts empty. */
export async function emptySeedServer(server: TestServer): Promise<void> {
  // Not public itself (the local server's extensions live there): what a test created in it.
  for (const schema of ['segment_materialize', 'segment', 'analytics', 'analytics_tests']) await server.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  const leftovers = await server.query<{ kind: string; name: string }>(
    `SELECT upper(replace(o.type, '-', ' ')) AS kind, o.name FROM mz_catalog.mz_objects o JOIN mz_catalog.mz_schemas s ON s.id = o.schema_id
      WHERE s.name = 'public' AND o.id LIKE 'u%' AND o.type <> 'index'`,
  );
  for (const object of leftovers) await server.query(`DROP ${object.kind} IF EXISTS public."${object.name}" CASCADE`);
  for (const cluster of await server.query<{ name: string }>(`SELECT name FROM mz_catalog.mz_clusters WHERE name <> 'quickstart'`)) {
    await server.query(`DROP CLUSTER "${cluster.name}" CASCADE`);
  }
}

/** The text users see for what `promise` threw (as runCli prints it); any other error is thrown again. */
export async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ProjectError || error instanceof ProjectErrors) return error.format();
    throw error;
  }
  throw new Error('expected the deploy to be refused');
}
