/** npm run models:compile — compile models to target/compiled/<model>.sql and target/manifest.json. */
import { Command } from 'commander';
import pc from 'picocolors';
import { compileProject } from './runner/compile.ts';
import { buildManifest, writeTarget } from './runner/manifest.ts';
import { selectNodes } from './runner/select.ts';
import { formatMs, projectRoot, runCli, withProjectOptions, withSelectionOptions, type ProjectOptions } from './cli/common.ts';

const program = withSelectionOptions(withProjectOptions(new Command('models:compile')))
  .description('Render every model and macro, check refs and the graph, and write target/manifest.json and target/compiled/<model>.sql.')
  .option('--json', 'print the manifest to stdout instead of a summary')
  .addHelpText('after', '\nExamples:\n  npm run models:compile\n  npm run models:compile -- --select "+user_profiles" --target production\n  npm run models:compile -- --vars \'{"kafka_enabled": true}\'');

await runCli(() => {
  program.parse();
  const options = program.opts<ProjectOptions & { json?: boolean }>();
  const root = projectRoot(options);
  const started = performance.now();
  const project = compileProject(root, options);
  const selected = options.select || options.exclude ? selectNodes(project, options.select, options.exclude) : undefined;
  const manifest = buildManifest(project, selected);
  const written = writeTarget(root, manifest);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(manifest, null, 2)}\n`);
    return;
  }
  const kinds = new Map<string, number>();
  for (const model of manifest.models) if (model.kind !== 'test') kinds.set(model.kind, (kinds.get(model.kind) ?? 0) + 1);
  const breakdown = [...kinds].map(([kind, count]) => `${count} ${kind}`).join(', ');
  const tests = manifest.models.filter((model) => model.kind === 'test').length;
  const total = performance.now() - started;
  console.log(
    `${pc.green('compiled')} ${manifest.models.length - tests} models (${breakdown})${tests ? ` and ${tests} test${tests === 1 ? '' : 's'}` : ''} for target ${pc.bold(project.target.name)} in ${formatMs(total)}` +
      pc.dim(` — read ${formatMs(project.timings.readMs)}, render ${formatMs(project.timings.renderMs)}, graph ${formatMs(project.timings.graphMs)}`),
  );
  if (project.disabled.length) console.log(pc.dim(`disabled: ${project.disabled.join(', ')}`));
  console.log(pc.dim(`wrote ${written.manifestPath}; ${written.written} compiled files written, ${written.unchanged} unchanged, ${written.removed} removed`));
});
