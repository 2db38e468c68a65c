/** npm run local — the Materialize-compatible local server (PGlite, Postgres wire, webhook API). */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import pc from 'picocolors';
import { runCli } from './cli/common.ts';
import { parseDuration, parseMilliseconds, parsePort } from './cli/ports.ts';
import { DEFAULT_HOST, DEFAULT_HTTP_PORT, DEFAULT_PG_PORT } from './local/local-server.ts';
import { startServerForCommand } from './cli/start-server.ts';
import { loadProjectConfig, LOCAL_DATA_DIR } from './runner/project-config.ts';
import { DEFAULT_CONSOLE_PORT } from './console/console-server.ts';
import { startConsoleForCommand } from './cli/start-console-output.ts';
import { urlHost } from './local/reachable-host.ts';

/** The data directory of the project's first local target, else the default. */
function projectDataDir(projectDir: string): string {
  if (!existsSync(path.join(projectDir, 'project.yml'))) return path.resolve(projectDir, LOCAL_DATA_DIR);
  const config = loadProjectConfig(projectDir);
  const local = Object.values(config.targets).find((target) => target.type === 'local');
  return path.resolve(projectDir, (local && 'data_dir' in local ? local.data_dir : undefined) ?? LOCAL_DATA_DIR);
}

const program = new Command('local')
  .description(
    'Run the local Materialize stand-in: PGlite (pgcrypto, hstore) behind the Postgres wire protocol and Materialize\'s webhook HTTP API. Stops cleanly on Ctrl-C / SIGTERM.',
  )
  .option('--project-dir <dir>', 'project root; its local target names the data directory', process.cwd())
  .option('--data-dir <dir>', `where the database lives (default: the local target's data_dir, else ${LOCAL_DATA_DIR})`)
  .option('--memory', 'keep everything in memory; nothing survives a restart')
  .option('--host <host>', 'interface to listen on', DEFAULT_HOST)
  .option('--pg-port <port>', 'Postgres wire protocol port', parsePort, DEFAULT_PG_PORT)
  .option('--http-port <port>', 'webhook HTTP API port', parsePort, DEFAULT_HTTP_PORT)
  .option('--idle-in-transaction-timeout <ms>', 'end SQL sessions idle inside a transaction this long (they block webhook appends)', parseMilliseconds, 120_000)
  .option('--no-keep-materialized-views', 'compute every materialized view on each read instead of keeping its results between writes (the old behaviour; for comparison)')
  .option('--console-port <port>', 'port of the console (lineage, live rows, webhook request log, SQL shell)', parsePort, DEFAULT_CONSOLE_PORT)
  .option('--no-console', 'do not serve the console')
  .option('--shared-buffers <size>', `PostgreSQL's shared_buffers, e.g. 32MB (default: $LOCAL_SERVER_SHARED_BUFFERS, else 128MB); a smaller one starts faster and holds fewer pages in its cache`)
  .option('--hydration-delay <duration>', 'report each new materialized view and index as hydrating for this long (mz_hydration_statuses, mz_wallclock_global_lag), to exercise tools that wait for hydration, e.g. 5s', parseDuration, 0)
  .addHelpText(
    'after',
    `
Connect:   psql "postgres://materialize@127.0.0.1:6875/materialize"
Webhooks:  POST http://127.0.0.1:6876/api/webhook/materialize/public/<source>
Kafka:     POST http://127.0.0.1:6876/topics/<topic>   (each body: one row of every source on the topic)

Examples:
  npm run local
  npm run local -- --memory --pg-port 0 --http-port 0`,
  );

await runCli(async () => {
  program.parse();
  const options = program.opts<{
    projectDir: string;
    dataDir?: string;
    memory?: boolean;
    host: string;
    pgPort: number;
    httpPort: number;
    idleInTransactionTimeout: number;
    hydrationDelay: number;
    keepMaterializedViews: boolean;
    console: boolean;
    consolePort: number;
    sharedBuffers?: string;
  }>();
  const projectDir = path.resolve(options.projectDir);
  const dataDir = options.memory ? undefined : path.resolve(options.dataDir ?? projectDataDir(projectDir));
  const server = await startServerForCommand({
    // In memory, announced beside the project's data directory so models:deploy finds it.
    ...(dataDir ? { dataDir } : { memory: true, announceFor: path.resolve(options.dataDir ?? projectDataDir(projectDir)) }),
    host: options.host,
    pgPort: options.pgPort,
    httpPort: options.httpPort,
    idleInTransactionTimeoutMs: options.idleInTransactionTimeout,
    hydrationDelayMs: options.hydrationDelay,
    keepMaterializedViews: options.keepMaterializedViews,
    ...(options.sharedBuffers ? { sharedBuffers: options.sharedBuffers } : {}),
  });
  if (!server) return;
  const consoleHandle = options.console ? await startConsoleForCommand(server, { port: options.consolePort, projectRoot: projectDir }) : null;
  if (options.console && !consoleHandle) {
    await server.stop();
    return;
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      // A statement that cannot be interrupted holds the stop: a second signal does not wait for it.
      // A data directory recovers on the next start like after a crash (acknowledged appends are
      // kept, docs/local-server.md); in memory, everything goes, as it would anyway.
      console.error(pc.yellow(`${signal} again: exiting now, without waiting for the running statement`));
      process.exit(1);
    }
    stopping = true;
    console.log(pc.dim(`${signal}: stopping… (${signal} again exits at once)`));
    const stats = server.webhookStats;
    try {
      await consoleHandle?.stop();
      await server.stop();
    } catch (error) {
      console.error(pc.red(`error while stopping: ${(error as Error).message}`));
      process.exit(1);
    }
    console.log(`stopped; ${stats.accepted} webhook requests accepted (${stats.rows} rows), ${stats.rejected} rejected this run`);
    process.exit(0);
  };
  // Handlers before the rest of the ready message: whoever waits for it may signal at once.
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  console.log(`  webhooks  ${server.webhookBaseUrl}/materialize/public/<source>`);
  console.log(`  kafka     http://${urlHost(server.host)}:${server.httpPort}/topics/<topic>`);
  console.log(pc.dim('  Ctrl-C to stop'));
});
