/** npm run models:deploy — compile, plan against the deployed state, and apply only what changed. */
import { existsSync } from 'node:fs';
import { Command, Option } from 'commander';
import pc from 'picocolors';
import { compileProject, type CompiledProject } from './runner/compile.ts';
import { deployPlan } from './runner/deploy/deploy-plan.ts';
import { Deployer, type DeployReport } from './runner/deploy/deployer.ts';
import type { ActionResult } from './runner/deploy/deploy-execute.ts';
import { ProjectError, throwIfAny } from './runner/errors.ts';
import { connectTarget, localServerConnection, type TargetConnection } from './runner/deploy/target-connection.ts';
import { startLocalServer } from './local/embedded.ts';
import { selectNodes } from './runner/select.ts';
import { formatMs, projectRoot, runCli, withProjectOptions, withSelectionOptions, type ProjectOptions } from './cli/common.ts';
import { parseDuration, parseSeconds, parseThreads } from './cli/ports.ts';
import { blueGreenJson, formatBlueGreenDryRun, formatBlueGreenOutcome } from './cli/blue-green-output.ts';
import { formatOutcome, formatPlan, formatResult, planJson, reportJson } from './cli/deploy-output.ts';

const program = withSelectionOptions(withProjectOptions(new Command('models:deploy')))
  .description(
    'Compile the project, compare it with what the target has deployed, and apply only the difference: create new models, replace changed ones and everything downstream, drop removed ones. A second deploy of an unchanged project sends no DDL.',
  )
  .option('--dry-run', 'print the plan and the SQL it would run; touch nothing')
  .option('--json', 'print the plan (with --dry-run) or the result as JSON')
  .addOption(new Option('--full-refresh <models...>', 'recreate these sources/connections even though that discards the data they ingested (also drops removed ones)'))
  .option('--store-failures', 'deploy every data test as a materialized view of its failing rows (in <schema>_tests), evaluated continuously')
  .option('--threads <n>', 'models deployed in parallel at each depth of the graph', parseThreads, 4)
  .option('--lease-wait <seconds>', 'how long to wait for another deploy to the same target to finish', parseSeconds, 60)
  .option('--blue-green', 'zero downtime: build the changed schemas beside the live ones (<schema>_deploy on <cluster>_deploy), wait until hydrated, swap them in atomically, drop the old version')
  .option('--lag-threshold <duration>', 'blue/green: the staged objects are ready once hydrated and lagging less than this', parseDuration, 1000)
  .option('--timeout <duration>', 'blue/green: how long to wait for the staged objects (they stay staged after it)', parseDuration, 30 * 60_000)
  .option('--poll <duration>', 'blue/green: how often to check hydration and lag', parseDuration, 1000)
  .option('--no-promote', 'blue/green: stop once the staged version is ready (promote later with --promote)')
  .option('--promote', 'blue/green: finish a staged deploy (wait, swap, drop the old version)')
  .option('--abort', 'blue/green: drop a staged deploy; production is left as it is')
  .option('--keep-old', 'blue/green: keep the old version under the _deploy names after promoting')
  .addHelpText(
    'after',
    `
One deploy at a time per target: a deploy takes a lease in the target (segment_materialize.deploy_leases)
and another one waits for it (--lease-wait), or stops naming who holds it.

Targets: the default 'local' target deploys to the local server: through its port if one is running
on the project's data directory (npm run local / npm run dev), else embedded in this process.
--dry-run plans against that same server, read-only; only with none running and no data directory
is the plan "create everything" (and then nothing is started).

Blue/green (--blue-green): sources, secrets and connections must live in schemas apart from the
views and marts that change, and materialized views and indexes on clusters defined as models. A
deploy stopped at any step resumes from what the target shows when run again; --abort undoes it.

Examples:
  npm run models:deploy
  npm run models:deploy -- --blue-green
  npm run models:deploy -- --blue-green --dry-run --json
  npm run models:deploy -- --blue-green --no-promote && npm run models:deploy -- --blue-green --promote
  npm run models:deploy -- --dry-run
  npm run models:deploy -- --dry-run --json
  npm run models:deploy -- --select "stg_segment_tracks+"
  npm run models:deploy -- --target production --threads 8
  npm run models:deploy -- --full-refresh segment_source`,
  );

/** Nothing runs for the local target: the signal from connectTarget's whenNoLocalServer. */
class NoLocalServer extends Error {}

/** A connection to the local server that already serves the target, or undefined when none does (none is started). */
async function runningLocalServer(project: CompiledProject, log: ((line: string) => void) | undefined): Promise<TargetConnection | undefined> {
  try {
    return await connectTarget(project.target, {
      ...(log ? { log } : {}),
      whenNoLocalServer: () => {
        throw new NoLocalServer();
      },
    });
  } catch (error) {
    if (error instanceof NoLocalServer) return undefined;
    throw error;
  }
}

/** A local server in memory for this command only: what a target with nothing deployed holds. */
async function emptyServerInMemory(log: ((line: string) => void) | undefined): Promise<TargetConnection> {
  const server = await startLocalServer({ memory: true, pgPort: 0, httpPort: 0, ...(log ? { log } : {}) });
  return { ...localServerConnection(server.host, server.pgPort, 'an empty in-memory local server (nothing is deployed to the target yet)'), close: () => server.stop() };
}

await runCli(async () => {
  program.parse();
  const options = program.opts<
    ProjectOptions & {
      dryRun?: boolean;
      json?: boolean;
      fullRefresh?: string[];
      threads: number;
      leaseWait: number;
      blueGreen?: boolean;
      lagThreshold: number;
      timeout: number;
      poll: number;
      promote: boolean;
      abort?: boolean;
      keepOld?: boolean;
    }
  >();
  // --promote and --no-promote share one option value (true unless --no-promote): the flag itself
  // says "finish a staged deploy".
  const promoteStaged = process.argv.includes('--promote');
  const resumeFlag = promoteStaged ? '--promote' : options.abort ? '--abort' : undefined;
  if (!options.blueGreen && (resumeFlag || options.keepOld || process.argv.includes('--no-promote'))) {
    throw new ProjectError(`${resumeFlag ?? (options.keepOld ? '--keep-old' : '--no-promote')} belongs to a blue/green deploy`, undefined, 'add --blue-green');
  }
  const root = projectRoot(options);
  const started = performance.now();
  const project = compileProject(root, options);
  const selected = options.select || options.exclude ? selectNodes(project, options.select, options.exclude) : undefined;
  const fullRefresh = new Set(options.fullRefresh ?? []);
  const log = options.json ? undefined : (line: string) => console.error(pc.dim(line));

  // A dry run plans against what the target holds. A local target without a data directory may
  // still hold a deployment: a server named by host/port in project.yml, or one running in memory
  // for the project (npm run local -- --memory, dev --memory). The rule that finds it is the
  // deploy's own (connectTarget); only when it finds nothing is "create everything" the plan, and
  // nothing is started (which would create the data directory).
  let connection: TargetConnection | undefined;
  if (options.dryRun && project.target.type === 'local' && !existsSync(project.target.dataDir!)) {
    connection = await runningLocalServer(project, log);
    if (!connection && !options.blueGreen) {
      const plan = deployPlan({ project, state: new Map(), ...(selected ? { selected } : {}), fullRefresh });
      throwIfAny(plan.refusals);
      printPlan(plan, options.json);
      return;
    }
    // A blue/green plan reads the catalog it would swap: an empty server in memory stands for the
    // empty target, so that nothing (no data directory) is created by a dry run.
    if (!connection) connection = await emptyServerInMemory(log);
  }

  const deployer = await Deployer.open(project, { threads: options.threads, leaseWaitMs: options.leaseWait * 1000, ...(log ? { log } : {}), ...(connection ? { connection } : {}) });
  try {
    if (!options.json) {
      console.log(`${options.dryRun ? 'planning' : 'deploying'} ${pc.bold(project.name)} to ${pc.bold(project.target.name)}: ${deployer.description} ${pc.dim(`(compiled in ${formatMs(project.timings.totalMs)}, connected in ${formatMs(performance.now() - started - project.timings.totalMs)})`)}`);
    }
    if (options.blueGreen) {
      const request = { project, ...(selected ? { selected } : {}), fullRefresh, dryRun: options.dryRun ?? false, ...(options.json ? {} : { onResult: (result: ActionResult) => console.log(formatResult(result)) }) };
      const report = await deployer.deployBlueGreen(request, {
        mode: promoteStaged ? 'promote' : options.abort ? 'abort' : 'deploy',
        lagThresholdMs: options.lagThreshold,
        timeoutMs: options.timeout,
        pollMs: options.poll,
        promote: options.promote !== false || promoteStaged,
        keepOld: options.keepOld ?? false,
        dryRun: options.dryRun ?? false,
      });
      if (options.json) process.stdout.write(`${JSON.stringify(blueGreenJson(report), null, 2)}\n`);
      else for (const line of options.dryRun ? formatBlueGreenDryRun(report) : formatBlueGreenOutcome(report)) console.log(line);
      if (report.outcome === 'failed' || report.outcome === 'not-ready') process.exitCode = 1;
      return;
    }
    const report: DeployReport = await deployer.deploy({
      project,
      ...(selected ? { selected } : {}),
      fullRefresh,
      dryRun: options.dryRun ?? false,
      ...(options.json ? {} : { onResult: (result) => console.log(formatResult(result)) }),
    });
    if (options.dryRun) {
      printPlan(report.plan, options.json);
      return;
    }
    if (options.json) process.stdout.write(`${JSON.stringify(reportJson(report), null, 2)}\n`);
    else for (const line of formatOutcome(report)) console.log(line);
    if (report.results.some((result) => result.status === 'failed')) process.exitCode = 1;
  } finally {
    await deployer.close();
  }
});

function printPlan(plan: Parameters<typeof formatPlan>[0], json: boolean | undefined): void {
  if (json) process.stdout.write(`${JSON.stringify(planJson(plan), null, 2)}\n`);
  else for (const line of formatPlan(plan)) console.log(line);
}
