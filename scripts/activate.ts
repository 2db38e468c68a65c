/** npm run activate — the activation worker: model changes → Segment calls or signed webhooks. */
import { Command, Option } from 'commander';
import pg from 'pg';
import pc from 'picocolors';
import { compileProject } from './runner/compile.ts';
import { ProjectError } from './runner/errors.ts';
import { connectTarget } from './runner/deploy/target-connection.ts';
import { projectRoot, runCli, withProjectOptions, type ProjectOptions } from './cli/common.ts';
import { bindActivations, loadActivations, selectActivations } from './activation/declarations.ts';
import { readCheckpointSummaries } from './activation/checkpoint-store.ts';
import { formatActivationEvent } from './activation/activation-output.ts';
import { ActivationWorker } from './activation/worker.ts';

const program = withProjectOptions(new Command('activate'))
  .description(
    "Follow each activation (activations/*.yml) with SUBSCRIBE … ENVELOPE UPSERT and deliver every change of its model — rows that appear, change or leave — as Segment calls or signed webhooks, once per change, checkpointed in the target (schema segment_materialize_activations). Runs until Ctrl-C; a restart resumes from the checkpoint.",
  )
  .addOption(new Option('-s, --select <names...>', 'activations to run, by activation name or by model name (default: all enabled)'))
  .addOption(new Option('-x, --exclude <names...>', 'activations to leave out, same names as --select'))
  .option('--list', 'print the activations and what their checkpoints say (sent, refused, last timestamp, who runs them), then exit')
  .addHelpText(
    'after',
    `
Environment:
  SEGMENT_WRITE_KEY      write key of the Segment source the calls are sent as (activations to Segment)
  SEGMENT_TRACKING_URL   base URL of the Tracking API (default https://api.segment.io; npm run dev
                         points it at its local stand-in)
  webhook secrets and URLs: the variables each activation names (secret_env, url_env)

Two workers on one activation: one delivers, the other waits for its lease. Split activations
across workers with --select to scale out. Guide: docs/activation.md

Examples:
  npm run activate
  npm run activate -- --select user_profile_traits
  npm run activate -- --target production --list`,
  );

await runCli(async () => {
  program.parse();
  const options = program.opts<ProjectOptions & { select?: string[]; exclude?: string[]; list?: boolean }>();
  const root = projectRoot(options);
  const { select: _select, exclude: _exclude, ...compileOptions } = options;
  const project = compileProject(root, compileOptions);
  const declared = loadActivations(root);
  const selected = selectActivations(declared, options.select, options.exclude);
  const bound = bindActivations(selected, project);
  if (declared.length === 0) {
    console.log('no activations: declare them as activations/<name>.yml (docs/activation.md)');
    return;
  }
  const connection = await connectTarget(project.target, {
    log: (line) => console.error(pc.dim(line)),
    whenNoLocalServer: () => {
      throw new ProjectError(`no local server is running for target ${project.target.name}`, undefined, 'start one with npm run local (or npm run dev, which runs the activations itself), then run npm run activate again');
    },
  });
  if (options.list) {
    try {
      await printList(connection.config, declared, new Set(bound.map((each) => each.activation.name)));
    } finally {
      await connection.close();
    }
    return;
  }
  if (bound.length === 0) {
    console.log('no activation selected (all disabled, or left out by --select/--exclude)');
    await connection.close();
    return;
  }
  let stoppedByError = false;
  const worker = new ActivationWorker(bound, {
    connection: connection.config,
    onEvent: (event) => {
      if (event.type === 'error' && event.retryInMs === null) stoppedByError = true;
      (event.type === 'error' || event.type === 'failed' ? console.error : console.log)(formatActivationEvent(event));
    },
  });
  console.log(`activating ${pc.bold(project.name)} on ${pc.bold(project.target.name)}: ${connection.description} ${pc.dim(`(${bound.length} activation${bound.length === 1 ? '' : 's'}; Ctrl-C stops)`)}`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    console.log(pc.dim(`${signal}: stopping… (a batch in flight stays in the checkpoint and is sent again by the next run)`));
    void worker.stop();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  await worker.run();
  await connection.close();
  if (stoppedByError) process.exitCode = 1;
  if (stopping) console.log('stopped');
});

async function printList(config: pg.ClientConfig, declared: ReturnType<typeof loadActivations>, selected: ReadonlySet<string>): Promise<void> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    const summaries = new Map((await readCheckpointSummaries(client)).map((summary) => [summary.activation, summary]));
    for (const activation of declared) {
      const summary = summaries.get(activation.name);
      const where = activation.destination.kind === 'segment' ? `segment ${activation.destination.segment.call}` : 'webhook';
      const state = !activation.enabled ? pc.dim('disabled') : !selected.has(activation.name) ? pc.dim('not selected') : '';
      console.log(`${pc.bold(activation.name)}  ${activation.model} → ${where} ${state}`);
      if (!summary) console.log(pc.dim('  never run on this target'));
      else {
        console.log(
          pc.dim(
            `  ${summary.changes} change${summary.changes === 1 ? '' : 's'} sent in ${summary.batches} batch${summary.batches === 1 ? '' : 'es'}, ${summary.failed} refused; last timestamp ${summary.lastTimestamp ?? '-'} at ${summary.lastCommittedAt ?? '-'}; ${summary.holder ? `running: ${summary.holder}` : 'no worker running'}`,
          ),
        );
      }
    }
  } finally {
    await client.end().catch(() => {});
  }
}
