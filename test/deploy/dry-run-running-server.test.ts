/**
 * `models:deploy --dry-run` on a local target whose deployment lives in a running server, not in a
 * data directory: a server run in memory for the project (npm run local -- --memory), or one named
 * by host/port in project.yml. CI detects changes with dry runs, so the plan must be against what
 * that server holds — never "create everything" — and the dry run must write nothing there.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { announceMemoryServer } from '../../scripts/local/data-dir-lock.ts';
import { catalogIds, deployProject, emptySeedServer } from '../helpers/deploy.ts';
import { serverForTests } from '../helpers/local-server.ts';
import { runScript } from '../helpers/run-script.ts';
import { copyOfSeedProject } from '../helpers/temp-project.ts';

const t = serverForTests();
afterEach(async () => {
  await emptySeedServer(t);
});

interface PlanJson {
  actions: Array<{ model: string; action: string }>;
}

async function dryRun(root: string): Promise<Record<string, string>> {
  const result = await runScript('models-deploy.ts', ['--dry-run', '--json', '--project-dir', root], { cwd: root });
  expect(result.stderr).not.toMatch(/error/);
  expect(result.code).toBe(0);
  const plan = JSON.parse(result.stdout) as PlanJson;
  return Object.fromEntries(plan.actions.map((action) => [action.model, action.action]));
}

const stateRows = async () => (await t.query<{ n: string }>(`SELECT count(*)::text AS n FROM segment_materialize.deployments`))[0]!.n;

/** Deploys the seed project, then checks two dry runs against the server: unchanged, then one edit. */
async function expectDryRunsAgainstServer(root: string): Promise<void> {
  const deployed = await deployProject(t, root);
  expect(deployed.results.filter((result) => result.status === 'done')).toHaveLength(24);
  const ids = await catalogIds(t);
  const rows = await stateRows();

  const unchanged = await dryRun(root);
  expect(Object.keys(unchanged)).toHaveLength(24);
  expect(Object.entries(unchanged).filter(([, action]) => action !== 'unchanged')).toEqual([]);

  const file = path.join(root, 'models/staging/stg_segment_pages.sql');
  writeFileSync(file, readFileSync(file, 'utf8').replace('SELECT', 'SELECT 42 AS answer,'));
  const edited = await dryRun(root);
  expect(Object.fromEntries(Object.entries(edited).filter(([, action]) => action !== 'unchanged'))).toEqual({
    stg_segment_pages: 'replace',
    page_views_by_url: 'replace',
    page_views_by_url_url_idx: 'replace',
  });

  // Read-only: no DDL (every object keeps its id), no state row, no data directory.
  expect(await catalogIds(t)).toEqual(ids);
  expect(await stateRows()).toBe(rows);
  expect(existsSync(path.join(root, '.materialize/data'))).toBe(false);
}

describe('models:deploy --dry-run plans against the running local server', () => {
  it('a server in memory announced for the project (npm run local -- --memory)', async () => {
    const root = copyOfSeedProject();
    const announcement = announceMemoryServer(path.join(root, '.materialize/data'), { host: t.server.host, pgPort: t.server.pgPort, httpPort: t.server.httpPort });
    try {
      await expectDryRunsAgainstServer(root);
    } finally {
      announcement.release();
    }
  }, 60_000);

  it('a server named by host/port in project.yml', async () => {
    const root = copyOfSeedProject();
    const projectFile = path.join(root, 'project.yml');
    writeFileSync(projectFile, readFileSync(projectFile, 'utf8').replace('    data_dir: .materialize/data\n', `    data_dir: .materialize/data\n    host: ${t.server.host}\n    port: ${t.server.pgPort}\n`));
    await expectDryRunsAgainstServer(root);
  }, 60_000);

  it('with nothing running and no data directory, the plan creates everything and starts nothing', async () => {
    const root = copyOfSeedProject();
    const plan = await dryRun(root);
    expect(Object.values(plan).every((action) => action === 'create')).toBe(true);
    expect(existsSync(path.join(root, '.materialize'))).toBe(false);
  }, 60_000);

  it('a blue/green dry run with nothing running creates no data directory either', async () => {
    const root = copyOfSeedProject();
    const result = await runScript('models-deploy.ts', ['--blue-green', '--dry-run', '--json', '--project-dir', root], { cwd: root });
    expect(result.code).toBe(0);
    const plan = JSON.parse(result.stdout) as PlanJson;
    expect(plan.actions.length).toBeGreaterThan(0);
    expect(plan.actions.every((action) => action.action === 'create')).toBe(true);
    expect(existsSync(path.join(root, '.materialize'))).toBe(false);
  }, 60_000);
});
