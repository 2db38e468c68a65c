/** npm run dev — the local server and watch mode in one process. */
import { Command } from 'commander';
import pc from 'picocolors';
import { LOCAL_DATABASE } from './local/engine/database-identity.ts';
import { DEFAULT_HOST, DEFAULT_HTTP_PORT, DEFAULT_PG_PORT } from './local/local-server.ts';
import { startServerForCommand } from './cli/start-server.ts';
import { ProjectCompiler } from './runner/compile.ts';
import { Deployer } from './runner/deploy/deployer.ts';
import { localServerConnection } from './runner/deploy/target-connection.ts';
import { projectRoot, runCli, withProjectOptions, withSelectionOptions, type ProjectOptions } from './cli/common.ts';
import { startWatching } from './cli/watch-output.ts';
import { parseDuration, parsePort } from './cli/ports.ts';
import { DEFAULT_CONSOLE_PORT } from './console/console-server.ts';
import { startConsoleForCommand } from './cli/start-console-output.ts';
import { startDevActivations } from './activation/dev-activations.ts';

const program = withSelectionOptions(withProjectOptions(new Command('dev')))
  .description('Start the local server (Postgres wire + webhook API) on the local target\'s data directory, deploy the project to it, and redeploy on every save; data tests run after each deploy and failing ones are reported as events arrive. Ctrl-C stops both.')
  .option('--memory', 'keep the database in memory; nothing survives a restart')
  .option('--host <host>', 'interface to listen on', DEFAULT_HOST)
  .option('--pg-port <port>', 'Postgres wire protocol port', parsePort, DEFAULT_PG_PORT)
  .option('--http-port <port>', 'webhook HTTP API port', parsePort, DEFAULT_HTTP_PORT)
  .option('--store-failures', 'deploy every data test as a materialized view of its failing rows (in <schema>_tests), evaluated continuously')
  .option('--hydration-delay <duration>', 'report each new materialized view and index as hydrating for this long (see npm run local --help)', parseDuration, 0)
  .option('--console-port <port>', 'port of the console (lineage with deploy status, live rows, webhook request log, SQL shell)', parsePort, DEFAULT_CONSOLE_PORT)
  .option('--no-console', 'do not serve the console')
  .option('--no-tests', 'deploy only: do not run the data tests after each deploy nor follow them as events arrive')
  .option('--forward-segment-calls', "the Segment Tracking API stand-in forwards every call the activations send through the built Segment function (dist/functions) into the project's webhook source, as a real workspace would: the whole loop on a laptop")
  .addHelpText('after', '\nExamples:\n  npm run dev\n  npm run dev -- --memory --pg-port 0 --http-port 0');

await runCli(async () => {
  program.parse();
  const options = program.opts<ProjectOptions & { memory?: boolean; host: string; pgPort: number; httpPort: number; tests: boolean; hydrationDelay: number; console: boolean; consolePort: number; forwardSegmentCalls?: boolean }>();
  const root = projectRoot(options);
  const compiler = new ProjectCompiler(root, options);
  const project = compiler.compile();
  if (project.target.type !== 'local') {
    console.error(pc.red(`error: dev runs the local server, but target ${project.target.name} is a ${project.target.type} target`));
    console.error(pc.dim('  fix: use models:watch to watch and deploy to it, or pick a local target with --target'));
    process.exitCode = 1;
    return;
  }
  const server = await startServerForCommand({
    ...(options.memory ? { memory: true, announceFor: project.target.dataDir! } : { dataDir: project.target.dataDir! }),
    host: options.host,
    pgPort: options.pgPort,
    httpPort: options.httpPort,
    hydrationDelayMs: options.hydrationDelay,
  });
  if (!server) return;
  const sources = [...project.nodes.values()].filter((node) => node.kind === 'source' && /\bFROM\s+WEBHOOK\b/i.test(node.sql));
  for (const source of sources) console.log(`  webhook   ${server.webhookUrl(source.name, source.schema)}   (${source.name})`);
  if (sources.length === 0) console.log(`  webhooks  ${server.webhookBaseUrl}/${LOCAL_DATABASE}/<schema>/<source>`);

  const deployer = await Deployer.open(project, {
    connection: localServerConnection(server.host, server.pgPort, 'local server'),
  });
  const consoleHandle = options.console
    ? await startConsoleForCommand(server, { port: options.consolePort, watched: { deployedState: () => deployer.deployedState() } })
    : null;
  if (options.console && !consoleHandle) {
    await deployer.close();
    await server.stop();
    return;
  }
  consoleHandle?.board.setProject(project, await deployer.deployedState());
  const watcher = await startWatching(root, deployer, compiler, {
    ...options,
    localTarget: true,
    ...(consoleHandle ? { observer: consoleHandle.watchHooks } : {}),
  });
  const forwardCalls = options.forwardSegmentCalls ?? false;
  const activations = await startDevActivations(project, server, (line) => console.log(line), process.env, {
    forwardCalls,
    onStandIn: (standIn) => consoleHandle?.activations.useStandIn(standIn, { forwarding: forwardCalls }),
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      // As `npm run local`: a statement that cannot be interrupted does not hold a second signal.
      console.error(pc.yellow(`${signal} again: exiting now, without waiting for the running statement`));
      process.exit(1);
    }
    stopping = true;
    console.log(pc.dim(`${signal}: stopping… (${signal} again exits at once)`));
    try {
      await watcher.close();
      await activations?.stop();
      await deployer.close();
      await consoleHandle?.stop();
    } finally {
      await server.stop().catch((error: Error) => {
        console.error(pc.red(`error while stopping: ${error.message}`));
        process.exitCode = 1;
      });
    }
    console.log('stopped');
    process.exit(process.exitCode ?? 0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
});
