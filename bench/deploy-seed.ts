/**
 * Deploys the repository's seed project into a bench's local server, as `npm run models:deploy`
 * would (no environment: secrets take their local defaults). `select` deploys one model alone, with
 * the clusters and secrets it may need (a lone webhook source, for ingest baselines).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LocalServer } from '../scripts/local/local-server.ts';
import { compileProject, type CompiledProject } from '../scripts/runner/compile.ts';
import { Deployer } from '../scripts/runner/deploy/deployer.ts';
import { localServerConnection } from '../scripts/runner/deploy/target-connection.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function deploySeed(server: LocalServer, select?: string): Promise<CompiledProject> {
  const project = compileProject(REPO_ROOT, { env: {} });
  const deployer = await Deployer.open(project, { connection: localServerConnection(server.host, server.pgPort, 'bench') });
  try {
    const selected = select ? new Set([...project.nodes.keys()].filter((name) => name === select || project.nodes.get(name)!.kind === 'cluster' || project.nodes.get(name)!.kind === 'secret')) : undefined;
    await deployer.deploy({ project, ...(selected ? { selected } : {}) });
  } finally {
    await deployer.close();
  }
  return project;
}
