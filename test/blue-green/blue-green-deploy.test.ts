/**
 * Blue/green deploys against the local server, with hydration made to take time
 * (hydrationDelayMs) so that the wait step really waits: zero failed or partial reads through a
 * deploy while events keep arriving (and how many fail in place), the new definition live right
 * after promote, the source untouched; --no-promote then --promote; --abort; a model that fails in
 * staging; a deploy stopped at each step converging when run again; the dry run's steps being
 * exactly the statements sent.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileProject } from '../../scripts/runner/compile.ts';
import type { BlueGreenOptions, BlueGreenReport } from '../../scripts/runner/deploy/blue-green/blue-green-run.ts';
import { Deployer } from '../../scripts/runner/deploy/deployer.ts';
import { catalogIds, connectionTo, deployProject } from '../helpers/deploy.ts';
import { hmacHex, post, serverForTests } from '../helpers/local-server.ts';
import { runScript, scriptArgs } from '../helpers/run-script.ts';
import { exited, spawnTracked } from '../helpers/server-process.ts';
import { copyOfSeedProject, tempProject } from '../helpers/temp-project.ts';

const HYDRATION_MS = 400;
const t = serverForTests({ hydrationDelayMs: HYDRATION_MS });

const OPTIONS: BlueGreenOptions = { mode: 'deploy', lagThresholdMs: 1000, timeoutMs: 20_000, pollMs: 50, promote: true, keepOld: false, dryRun: false };

/** A shop laid out for blue/green: ingestion in its own schema and cluster, analytics in another. */
function shop(name: string): string {
  return tempProject({
    'project.yml': `name: ${name}\ntargets:\n  local: { type: local, host: ${t.server.host}, port: ${t.server.pgPort} }\nfolders:\n  ingest: { schema: ${name}_ingest, cluster: ${name}_ingest_cluster }\n  analytics: { schema: ${name}, cluster: ${name}_cluster }\n`,
    [`models/ingest/${name}_ingest_cluster.sql`]: "---\nkind: cluster\n---\n(SIZE = '25cc')\n",
    'models/ingest/hooks.sql': '---\nkind: source\n---\nFROM WEBHOOK BODY FORMAT JSON ARRAY\n',
    [`models/analytics/${name}_cluster.sql`]: "---\nkind: cluster\n---\n(SIZE = '25cc')\n",
    'models/analytics/orders.sql': "SELECT body->>'id' AS id, (body->>'total')::numeric AS total FROM {{ref.hooks}}\n",
    'models/analytics/revenue.sql': '---\nkind: materialized_view\nindexes:\n  - columns: [orders]\n---\nSELECT count(*) AS orders, sum(total) AS revenue FROM {{ref.orders}}\n',
  });
}

function editOrders(root: string, change: (text: string) => string): void {
  const file = path.join(root, 'models/analytics/orders.sql');
  writeFileSync(file, change(readFileSync(file, 'utf8')));
}

async function send(schema: string, events: readonly object[]): Promise<void> {
  const response = await post(t.server.webhookUrl('hooks', `${schema}_ingest`), JSON.stringify(events), { 'content-type': 'application/json' });
  expect(response.status).toBe(200);
}

async function blueGreen(root: string, options: Partial<BlueGreenOptions> = {}, log?: (line: string) => void): Promise<BlueGreenReport> {
  const project = compileProject(root);
  const deployer = await Deployer.open(project, { connection: connectionTo(t), ...(log ? { log } : {}) });
  try {
    return await deployer.deployBlueGreen({ project, dryRun: options.dryRun ?? false }, { ...OPTIONS, ...options });
  } finally {
    await deployer.close();
  }
}

async function stagingObjects(): Promise<string[]> {
  const rows = await t.query<{ name: string }>(`SELECT name FROM mz_catalog.mz_schemas WHERE name LIKE '%\\_deploy' UNION ALL SELECT name FROM mz_catalog.mz_clusters WHERE name LIKE '%\\_deploy'`);
  return rows.map((row) => row.name).sort();
}

/**
 * Reads the mart every 10 ms until stopped: counts failed queries, and reads whose order count is
 * not what was acknowledged before the read began (empty or partial).
 */
function reader(schema: string, expectedOrders: () => number) {
  let stop = false;
  let reads = 0;
  let failed = 0;
  let partial = 0;
  const errors = new Set<string>();
  const done = (async () => {
    while (!stop) {
      const expected = expectedOrders();
      try {
        const rows = await t.query<{ orders: string }>(`SELECT orders FROM "${schema}".revenue`);
        reads++;
        if (rows.length !== 1 || Number(rows[0]!.orders) < expected) partial++;
      } catch (error) {
        failed++;
        errors.add((error as Error).message);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  return {
    stop: async () => {
      stop = true;
      await done;
      return { reads, failed, partial, errors: [...errors] };
    },
  };
}

describe('models:deploy --blue-green', () => {
  it('swaps a changed parse view and the mart over it in with no failed or partial read while events arrive; in place, reads fail', async () => {
    const root = shop('zd');
    await deployProject(t, root);
    let acknowledged = 0;
    const ingest = async (rounds: number) => {
      for (let round = 0; round < rounds; round++) {
        await send('zd', [{ id: `o${acknowledged}`, total: 1 }]);
        acknowledged++;
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
    };
    await ingest(5);
    const sourceId = (await catalogIds(t)).get('hooks');

    editOrders(root, (text) => text.replace('AS total', 'AS total, 2 AS version'));
    const watching = reader('zd', () => acknowledged);
    const arriving = ingest(30);
    const report = await blueGreen(root);
    await arriving;
    const blueGreenReads = await watching.stop();
    expect(report.outcome).toBe('promoted');
    expect(report.plan!.schemas).toEqual(['zd']);
    expect(report.plan!.clusters).toEqual(['zd_cluster']);
    // The wait step followed the two staged objects that hydrate (the mart and its index) until
    // both said hydrated. How long it waited is not asserted: the hydration delay runs from each
    // object's creation, and on a loaded machine the staging itself can take most of it.
    expect(report.readiness).toMatchObject({ status: 'ready', hydrated: 2, total: 2 });
    expect(blueGreenReads.reads).toBeGreaterThan(10);
    expect(blueGreenReads).toMatchObject({ failed: 0, partial: 0 });
    // The new definition is live, every event is there, the source was never touched.
    expect(await t.query(`SELECT DISTINCT version FROM zd.orders`)).toEqual([{ version: 2 }]);
    expect(await t.query(`SELECT orders FROM zd.revenue`)).toEqual([{ orders: String(acknowledged) }]);
    expect((await catalogIds(t)).get('hooks')).toBe(sourceId);
    expect(await stagingObjects()).toEqual([]);

    // The same change in place: the mart is dropped and recreated under the reader.
    editOrders(root, (text) => text.replace('2 AS version', '3 AS version'));
    const inPlace = reader('zd', () => acknowledged);
    await new Promise((resolve) => setTimeout(resolve, 30));
    await deployProject(t, root);
    const inPlaceReads = await inPlace.stop();
    console.log(`reads during a blue/green deploy: ${blueGreenReads.reads}, ${blueGreenReads.failed} failed; during an in-place deploy: ${inPlaceReads.reads}, ${inPlaceReads.failed} failed (${inPlaceReads.errors.join('; ')})`);
  });

  it('stops after staging with --no-promote, promotes later with --promote, and --abort leaves no _deploy object', async () => {
    const root = shop('staged');
    await deployProject(t, root);
    await send('staged', [{ id: 'a', total: 5 }]);
    editOrders(root, (text) => text.replace('AS total', 'AS total, 2 AS version'));

    const staged = await blueGreen(root, { promote: false });
    expect(staged.outcome).toBe('staged');
    expect(await stagingObjects()).toEqual(['staged_cluster_deploy', 'staged_deploy']);
    expect(await t.query(`SELECT column_name FROM information_schema.columns WHERE table_schema = 'staged' AND table_name = 'orders' AND column_name = 'version'`)).toEqual([]);
    const promoted = await blueGreen(root, { mode: 'promote' });
    expect(promoted.outcome).toBe('promoted');
    expect(promoted.staged).toBe(0); // resumed, not rebuilt
    expect(await t.query(`SELECT version FROM staged.orders`)).toEqual([{ version: 2 }]);
    expect(await stagingObjects()).toEqual([]);

    editOrders(root, (text) => text.replace('2 AS version', '3 AS version'));
    expect((await blueGreen(root, { promote: false })).outcome).toBe('staged');
    expect((await blueGreen(root, { mode: 'abort' })).outcome).toBe('aborted');
    expect(await stagingObjects()).toEqual([]);
    expect(await t.query(`SELECT version FROM staged.orders`)).toEqual([{ version: 2 }]);
    expect((await blueGreen(root, { mode: 'abort' })).outcome).toBe('nothing-staged');
  });

  it('a model that fails to create in staging leaves production untouched and serving', async () => {
    const root = shop('broken');
    await deployProject(t, root);
    await send('broken', [{ id: 'a', total: 5 }]);
    const before = await catalogIds(t);
    editOrders(root, (text) => text.replace('AS total', 'AS total, no_such_column AS oops'));
    const report = await blueGreen(root);
    expect(report.outcome).toBe('failed');
    expect(report.failure).toMatchObject({ model: 'orders', location: { file: 'models/analytics/orders.sql', line: 1 } });
    expect(report.failure!.message).toMatch(/no_such_column/);
    expect(await stagingObjects()).toEqual([]);
    expect(await t.query(`SELECT orders FROM broken.revenue`)).toEqual([{ orders: '1' }]);
    expect((await catalogIds(t)).get('revenue')).toBe(before.get('revenue'));
  });

  it('a deploy stopped at any step converges when run again', async () => {
    const root = shop('resumed');
    await deployProject(t, root);
    await send('resumed', [{ id: 'a', total: 5 }]);
    let version = 1;
    // Each stop is at a line the deploy logs: staging began, waiting, promoted (swap committed), dropped.
    for (const stopAt of [/^staging /, /^waiting: /, /^promoted /, /^dropped /]) {
      version++;
      editOrders(root, (text) => text.replace(/AS total.*FROM/, `AS total, ${version} AS version FROM`));
      await expect(
        blueGreen(root, {}, (line) => {
          if (stopAt.test(line)) throw new Error(`stopped at: ${line}`);
        }),
      ).rejects.toThrow(/stopped at/);
      const rerun = await blueGreen(root);
      expect(['promoted']).toContain(rerun.outcome);
      expect(await t.query(`SELECT DISTINCT version FROM resumed.orders`)).toEqual([{ version }]);
      expect(await t.query(`SELECT orders FROM resumed.revenue`)).toEqual([{ orders: '1' }]);
      expect(await stagingObjects()).toEqual([]);
      // The state matches the target: nothing left to do.
      expect((await blueGreen(root)).outcome).toBe('nothing-to-swap');
    }
  });

  it('models:deploy --blue-green killed with -9 while staging or waiting: the next run converges', async () => {
    const root = shop('killed');
    await deployProject(t, root);
    await send('killed', [{ id: 'a', total: 5 }]);
    let version = 1;
    for (const killAt of [/staging \d+ models/, /waiting: /]) {
      version++;
      editOrders(root, (text) => text.replace(/AS total.*FROM/, `AS total, ${version} AS version FROM`));
      const victim = spawnTracked(await scriptArgs('models-deploy.ts', '--project-dir', root, '--blue-green', '--poll', '50ms'));
      let output = '';
      await new Promise<void>((resolve, reject) => {
        const onData = (chunk: Buffer) => {
          output += chunk.toString();
          if (killAt.test(output)) {
            victim.kill('SIGKILL');
            resolve();
          }
        };
        victim.stdout!.on('data', onData);
        victim.stderr!.on('data', onData);
        victim.on('exit', () => reject(new Error(`the deploy ended before ${killAt}:\n${output}`)));
      });
      await exited(victim);
      const rerun = await blueGreen(root);
      expect(rerun.outcome).toBe('promoted');
      expect(await t.query(`SELECT DISTINCT version FROM killed.orders`)).toEqual([{ version }]);
      expect(await stagingObjects()).toEqual([]);
    }
  });

  it('the seed project is laid out for it: a parse-view change swaps analytics on analytics_cluster, never the ingestion side', async () => {
    const root = copyOfSeedProject();
    await deployProject(t, root);
    const body = JSON.stringify([{ type: 'track', event: 'Seeded', messageId: 'bg-1', userId: 'u1', receivedAt: '2026-11-23T10:00:00.000Z' }]);
    expect((await post(t.server.webhookUrl('segment_source', 'segment'), body, { 'x-signature': hmacHex('local-development-secret', body) })).status).toBe(200);
    const sourceId = (await catalogIds(t)).get('segment_source');
    const file = path.join(root, 'models/staging/stg_segment_tracks.sql');
    writeFileSync(file, readFileSync(file, 'utf8').replace("e.body->>'event' AS event,", "e.body->>'event' AS event,\n  upper(e.body->>'event') AS event_upper,"));
    const report = await blueGreen(root);
    expect(report.outcome).toBe('promoted');
    expect(report.plan!.schemas).toEqual(['analytics']);
    expect(report.plan!.clusters).toEqual(['analytics_cluster']);
    expect(await t.query(`SELECT event_upper FROM analytics.stg_segment_tracks`)).toEqual([{ event_upper: 'SEEDED' }]);
    expect(await t.query(`SELECT event, events FROM analytics.track_event_counts`)).toEqual([{ event: 'Seeded', events: '1' }]);
    expect((await catalogIds(t)).get('segment_source')).toBe(sourceId);
  });

  it('--dry-run --json lists the steps, and they are the statements then sent', async () => {
    const root = shop('dry');
    await deployProject(t, root);
    editOrders(root, (text) => text.replace('AS total', 'AS total, 2 AS version'));
    const result = await runScript('models-deploy.ts', ['--project-dir', root, '--blue-green', '--dry-run', '--json']);
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json.blue_green.schemas).toEqual(['dry']);
    expect(json.blue_green.clusters).toEqual(['dry_cluster']);
    expect(json.blue_green.steps.map((step: { step: string }) => step.step)).toEqual(['create_schema', 'create_cluster', 'create', 'create', 'create', 'wait', 'promote', 'cleanup', 'cleanup', 'cleanup', 'cleanup', 'cleanup']);
    // The old version is dropped object by object, dependents first, then the emptied schema and cluster: never CASCADE.
    expect(json.blue_green.steps.slice(7).map((step: { sql: string }) => step.sql)).toEqual([
      'DROP INDEX IF EXISTS "dry_deploy"."revenue_orders_idx"',
      'DROP MATERIALIZED VIEW IF EXISTS "dry_deploy"."revenue"',
      'DROP VIEW IF EXISTS "dry_deploy"."orders"',
      'DROP SCHEMA IF EXISTS "dry_deploy"',
      'DROP CLUSTER IF EXISTS "dry_cluster_deploy"',
    ]);
    expect(json.blue_green.steps[2].sql).toBe(`CREATE VIEW "dry_deploy"."orders" AS\nSELECT body->>'id' AS id, (body->>'total')::numeric AS total, 2 AS version FROM "dry_ingest"."hooks"`);
    expect(json.blue_green.steps[6].sql).toBe('BEGIN;\nALTER SCHEMA "dry" SWAP WITH "dry_deploy";\nALTER CLUSTER "dry_cluster" SWAP WITH "dry_cluster_deploy";\nCOMMIT;');
    expect(json.actions.filter((action: { action: string }) => action.action !== 'unchanged').map((action: { model: string }) => action.model)).toEqual(['orders', 'revenue', 'revenue_orders_idx']);
    // Stable: the same plan twice.
    expect((await runScript('models-deploy.ts', ['--project-dir', root, '--blue-green', '--dry-run', '--json'])).stdout).toBe(result.stdout);

    // The statements sent are those steps: every CREATE of the dry run is in the server's catalog after.
    const sent = await runScript('models-deploy.ts', ['--project-dir', root, '--blue-green', '--poll', '50ms']);
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(/promoted: dry, dry_cluster now serve the new version \(3 models staged/);
    const created = await t.query<{ create_sql: string }>(
      `SELECT m.create_sql FROM mz_catalog.mz_materialized_views m JOIN mz_catalog.mz_schemas s ON s.id = m.schema_id WHERE m.name = 'revenue' AND s.name = 'dry'`,
    );
    expect(created[0]!.create_sql).toBe(json.blue_green.steps[3].sql);
  });
});
