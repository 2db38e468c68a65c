/** npm run models:watch — redeploy what an edit changed, as you save. */
import { Command } from 'commander';
import pc from 'picocolors';
import { ProjectCompiler } from './runner/compile.ts';
import { Deployer } from './runner/deploy/deployer.ts';
import { projectRoot, runCli, withProjectOptions, withSelectionOptions, type ProjectOptions } from './cli/common.ts';
import { parseThreads } from './cli/ports.ts';
import { startWatching } from './cli/watch-output.ts';

const program = withSelectionOptions(withProjectOptions(new Command('models:watch')))
  .description(
    'Deploy the project, then watch models/, macros/, tests/ and project.yml: each save recompiles only what it touched, redeploys the changed models and their descendants, and runs the data tests reading them. Between saves, a test that starts failing because of new events is reported as it happens. Errors are printed with file:line and watching goes on. Ctrl-C stops.',
  )
  .option('--store-failures', 'deploy every data test as a materialized view of its failing rows (in <schema>_tests), evaluated continuously')
  .option('--threads <n>', 'models deployed in parallel at each depth of the graph', parseThreads, 4)
  .option('--no-tests', 'deploy only: do not run the data tests after each deploy nor follow them as events arrive')
  .addHelpText(
    'after',
    `
With the default local target, models:watch deploys through a running local server (npm run local)
or starts one inside this process. npm run dev does both in one command and prints the webhook URL.

Examples:
  npm run models:watch
  npm run models:watch -- --select "tag:marts"`,
  );

await runCli(async () => {
  program.parse();
  const options = program.opts<ProjectOptions & { threads: number; tests: boolean }>();
  const root = projectRoot(options);
  // Compiled here to open the target; the watcher goes on from this compile (no second one at start).
  const compiler = new ProjectCompiler(root, options);
  const project = compiler.compile();
  const deployer = await Deployer.open(project, { threads: options.threads, log: (line) => console.error(pc.dim(line)) });
  console.log(`watching ${pc.bold(project.name)} → ${pc.bold(project.target.name)}: ${deployer.description}`);
  const watcher = await startWatching(root, deployer, compiler, { ...options, localTarget: project.target.type === 'local' });
  const stop = async () => {
    await watcher.close();
    await deployer.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
});
