/**
 * Deploy and watch figures, against the local server in this process (as `npm run dev` runs):
 * - watch latency, file write → the change queryable on the server, p50/p95 over 20 edits, for a
 *   leaf model and for a model with 20 descendants (targets: p50 < 100 ms and < 500 ms);
 * - a no-op deploy of a 1,000-model project: a fresh deployer reading the state from the database
 *   and planning, and the DDL statements it sent (targets: < 300 ms, zero DDL).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startLocalServer, type LocalServer } from '../scripts/local/local-server.ts';
import { compileProject } from '../scripts/runner/compile.ts';
import { Deployer } from '../scripts/runner/deploy/deployer.ts';
import { localServerConnection } from '../scripts/runner/deploy/target-connection.ts';
import { percentile } from './stats.ts';
import { ProjectWatcher, type WatchCycle } from '../scripts/runner/watch/project-watcher.ts';

const EDITS = 20;
const DESCENDANTS = 20;

function connectionTo(server: LocalServer) {
  return localServerConnection(server.host, server.pgPort, 'bench');
}

/** base ← leaf, and base ← hub ← d01…d20 (each dNN refs hub; d20 also refs d19 for depth). */
function writeWatchProject(root: string): void {
  const files: Record<string, string> = {
    'project.yml': 'name: watch_bench\n',
    'models/base.sql': "---\nkind: view\n---\nSELECT g AS id, 'label ' || g AS label FROM generate_series(1, 100) AS g\n",
    'models/leaf.sql': '---\nkind: view\n---\nSELECT id, label, 0 AS edit_0 FROM {{ref.base}}\n',
    'models/hub.sql': '---\nkind: view\n---\nSELECT id, label, 0 AS edit_0 FROM {{ref.base}}\n',
  };
  for (let index = 1; index <= DESCENDANTS; index++) {
    const name = `d${String(index).padStart(2, '0')}`;
    const kind = index % 4 === 0 ? 'materialized_view' : 'view';
    files[`models/${name}.sql`] = `---\nkind: ${kind}\n---\nSELECT h.id, h.label, count(*) OVER () AS total FROM {{ref.hub}} AS h\n`;
  }
  for (const [file, text] of Object.entries(files)) {
    const full = path.join(root, file);
    rmSync(full, { force: true });
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, text);
  }
}

async function watchLatency(server: LocalServer, sql: pg.Client): Promise<void> {
  const root = mkdtempSync(path.join(tmpdir(), 'segmat-watch-bench-'));
  try {
    writeWatchProject(root);
    const deployer = await Deployer.open(compileProject(root), { connection: connectionTo(server) });
    const waiters: Array<(cycle: WatchCycle) => void> = [];
    const watcher = new ProjectWatcher(root, deployer, { onCycle: (cycle) => waiters.shift()?.(cycle) });
    await watcher.start();
    try {
      for (const [model, expected] of [
        ['leaf', 1],
        ['hub', 1 + DESCENDANTS],
      ] as const) {
        const file = path.join(root, 'models', `${model}.sql`);
        const latencies: number[] = [];
        for (let edit = 1; edit <= EDITS; edit++) {
          const text = readFileSync(file, 'utf8').replace(/edit_\d+/, `edit_${edit}`);
          const cycle = new Promise<WatchCycle>((resolve) => waiters.push(resolve));
          const started = performance.now();
          writeFileSync(file, text);
          const done = await cycle;
          // Queryable: the new column is there, read through the wire protocol like any client.
          const check = await sql.query(`SELECT edit_${edit} FROM "public"."${model}" LIMIT 1`);
          latencies.push(performance.now() - started);
          const replaced = done.report?.results.filter((result) => result.status === 'done').length ?? 0;
          if (check.rows.length !== 1 || replaced !== expected) throw new Error(`edit ${edit} of ${model}: ${replaced} models redeployed, expected ${expected}`);
          // Give chokidar's per-file event window (~50 ms) time to pass, as between real saves.
          await new Promise((resolve) => setTimeout(resolve, 120));
        }
        const target = model === 'leaf' ? 100 : 500;
        const label = model === 'leaf' ? 'a leaf model' : `a model with ${DESCENDANTS} descendants`;
        console.log(
          `watch latency, ${label} (file write → change queryable): p50 ${percentile(latencies, 50).toFixed(0)} ms, p95 ${percentile(latencies, 95).toFixed(0)} ms over ${EDITS} edits (${expected} models redeployed each; target p50 < ${target} ms)`,
        );
      }
    } finally {
      await watcher.close();
      await deployer.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * `count` deployable models: chains of 10 views over a VALUES base, every third a materialized
 * view, every tenth with an index, a macro in each (the compile benchmark's project is built for
 * compiling, and its deep fan-in joins make a first deploy on PGlite take minutes).
 */
function writeDeployProject(root: string, count: number): void {
  const files: Record<string, string> = {
    'project.yml': 'name: deploy_bench\nvars:\n  weight: 3\n',
    'macros/audit_columns.sql': "'{{target.name}}' AS target_name,\n",
  };
  for (let index = 0; index < count; index++) {
    const name = `model_${String(index).padStart(4, '0')}`;
    const previous = `model_${String(index - 1).padStart(4, '0')}`;
    const kind = index % 3 === 0 ? 'materialized_view' : 'view';
    const indexes = index % 10 === 5 ? 'indexes:\n  - columns: [id]\n' : '';
    const from = index % 10 === 0 ? "(VALUES (1, 'a'), (2, 'b')) AS u (id, label)" : `{{ref.${previous}}} AS u`;
    files[`models/group_${Math.floor(index / 100)}/${name}.sql`] =
      `---\nkind: ${kind}\n${indexes}---\nSELECT\n  u.id,\n  u.label,\n  {{> audit_columns}}\n  u.id * {{vars.weight}} + ${index} AS score\nFROM ${from}\n`;
  }
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  }
}

async function noOpDeploy(server: LocalServer): Promise<void> {
  const root = mkdtempSync(path.join(tmpdir(), 'segmat-deploy-bench-'));
  try {
    writeDeployProject(root, 1000);
    const compileStarted = performance.now();
    const project = compileProject(root);
    const compileMs = performance.now() - compileStarted;
    const firstStarted = performance.now();
    const first = await Deployer.open(project, { connection: connectionTo(server) });
    const initial = await first.deploy({ project });
    await first.close();
    const failed = initial.results.filter((result) => result.status !== 'done');
    if (failed.length) throw new Error(`the first deploy of the 1,000-model project failed: ${failed[0]!.model}: ${failed[0]!.failure?.message}`);
    console.log(`deploy, first of a 1,000-model project: ${project.order.length} nodes in ${((performance.now() - firstStarted) / 1000).toFixed(1)} s (${initial.ddlStatements} DDL statements, 4 threads)`);

    const runs: Array<{ total: number; deploy: number; ddl: number }> = [];
    for (let run = 0; run < 5; run++) {
      const started = performance.now();
      const deployer = await Deployer.open(project, { connection: connectionTo(server) });
      const report = await deployer.deploy({ project });
      runs.push({ total: performance.now() - started, deploy: report.ms, ddl: report.ddlStatements });
      await deployer.close();
      if (report.plan.actions.some((action) => action.action !== 'unchanged')) throw new Error('a no-op deploy planned changes');
    }
    const totals = runs.map((run) => run.total);
    console.log(
      `deploy, no-op of a 1,000-model project: p50 ${percentile(totals, 50).toFixed(0)} ms (connect + state read + plan; of which plan and state ${percentile(runs.map((run) => run.deploy), 50).toFixed(0)} ms) + compile ${compileMs.toFixed(0)} ms, ${Math.max(...runs.map((run) => run.ddl))} DDL statements, over 5 runs (target < 300 ms, zero DDL)`,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export async function runDeployBench(): Promise<void> {
  const server = await startLocalServer({ memory: true, pgPort: 0, httpPort: 0 });
  const sql = new pg.Client(server.pgUrl);
  await sql.connect();
  try {
    await watchLatency(server, sql);
    await noOpDeploy(server);
  } finally {
    await sql.end();
    await server.stop();
  }
}
