/**
 * models:deploy killed with -9 at points all through a replace (the lease, the scratch
 * validation, the drops, the creates, the state writes): whatever the point, the next deploy
 * starts at once (the dead holder's lease is taken over) and converges — every model deployed,
 * nothing left over, and a deploy after that has nothing to do.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { expect, it } from 'vitest';
import { exited, spawnTracked, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { copyOfSeedProject } from '../helpers/temp-project.ts';
import { scriptArgs } from '../helpers/run-script.ts';

async function deployProcess(project: string, extra: string[] = []) {
  return spawnTracked(await scriptArgs('models-deploy.ts', '--project-dir', project, '--json', ...extra));
}

/** A deploy run to its end; one still running after 60 s fails the test with what it and the server printed (a hang once took the file's whole 180 s and said nothing). */
async function deployToEnd(project: string, server: ServerProcess): Promise<{ code: number | null; report: { actions: Array<{ model: string; action: string; status: string }> } }> {
  const child = await deployProcess(project);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let timer: NodeJS.Timeout | undefined;
  const tooLong = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`a deploy still ran after 60 s\n--- its stdout:\n${stdout}\n--- its stderr:\n${stderr}\n--- the server's output (end):\n${server.output().slice(-4000)}`));
    }, 60_000);
  });
  try {
    const code = await Promise.race([exited(child), tooLong]);
    return { code, report: JSON.parse(stdout) as { actions: Array<{ model: string; action: string; status: string }> } };
  } finally {
    clearTimeout(timer);
  }
}

/** The objects the deploy made, by name, and whether a validation scratch schema was left behind. */
async function deployedObjects(client: pg.Client): Promise<{ names: string[]; scratchLeft: boolean; stagingSql: string }> {
  const objects = await client.query<{ name: string }>(
    `SELECT name FROM mz_catalog.mz_views UNION ALL SELECT name FROM mz_catalog.mz_materialized_views
     UNION ALL SELECT name FROM mz_catalog.mz_indexes UNION ALL SELECT name FROM mz_catalog.mz_sources ORDER BY 1`,
  );
  const scratch = await client.query(`SELECT name FROM mz_catalog.mz_schemas WHERE name = 'segment_materialize_scratch'`);
  const definition = await client.query<{ create_sql: string }>(`SELECT create_sql FROM mz_catalog.mz_materialized_views WHERE name = 'stg_segment_events'`);
  return { names: objects.rows.map((row) => row.name), scratchLeft: scratch.rows.length > 0, stagingSql: definition.rows[0]?.create_sql ?? '' };
}

it('kill -9 anywhere in a deploy: the next one starts at once and converges', async () => {
  const project = copyOfSeedProject();
  const server = await startServerProcess(['--memory', '--project-dir', project]);
  const first = await deployToEnd(project, server);
  expect(first.code).toBe(0);
  const expectedNames = first.report.actions
    .filter((action) => !['webhooks_cluster', 'analytics_cluster', 'segment_webhook_secret'].includes(action.model))
    .map((action) => action.model)
    .sort();

  const staging = path.join(project, 'models/staging/stg_segment_events.sql');
  const original = readFileSync(staging, 'utf8');
  const client = new pg.Client(server.pgUrl);
  await client.connect();
  try {
    // Each round edits the dedup view (18 models replaced), starts a deploy and kills it after a
    // growing delay; the delays span process start, lease, validation, drops and creates (the script
    // runs bundled, test/helpers/script-bundle.ts: node has loaded it within ~0.5 s).
    const delays = [250, 500, 800, 1_100, 1_500, 2_000];
    for (const [round, delay] of delays.entries()) {
      writeFileSync(staging, original.replace('SELECT DISTINCT ON', `SELECT /* round ${round} */ DISTINCT ON`));
      const victim = await deployProcess(project);
      await new Promise((resolve) => setTimeout(resolve, delay));
      victim.kill('SIGKILL');
      await exited(victim);

      const started = performance.now();
      const next = await deployToEnd(project, server);
      expect(next.code).toBe(0);
      expect(next.report.actions.every((action) => action.status === 'done' || action.status === 'unchanged')).toBe(true);
      // No waiting out the dead deploy's lease: far less than its 30 s time to live.
      expect(performance.now() - started).toBeLessThan(20_000);
      // Converged: every model there in this round's definition, nothing left over (read from the
      // catalog each round; one more deploy process per round would double the file's cost).
      const deployed = await deployedObjects(client);
      expect(deployed).toEqual({ names: expectedNames, scratchLeft: false, stagingSql: expect.stringContaining(`round ${round}`) });
    }
    // And the deploy state agrees with the catalog: a deploy after all that has nothing to do.
    const again = await deployToEnd(project, server);
    expect(again.report.actions.filter((action) => action.action !== 'unchanged')).toEqual([]);
  } finally {
    await client.end();
  }
  server.child.kill('SIGTERM');
  await exited(server.child);
}, 180_000);
