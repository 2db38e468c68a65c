/** npm run models:graph — the lineage of the models, as text or Mermaid. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import pc from 'picocolors';
import { compileProject } from './runner/compile.ts';
import { renderMermaid, renderText } from './runner/lineage.ts';
import { selectNodes } from './runner/select.ts';
import { projectRoot, runCli, withProjectOptions, withSelectionOptions, type ProjectOptions } from './cli/common.ts';

const program = withSelectionOptions(withProjectOptions(new Command('models:graph')))
  .description('Print the dependency graph: every model (and index) with its kind, file and upstream models, grouped by deploy depth; or a Mermaid flowchart.')
  .addOption(new Option('-f, --format <format>', 'text for the terminal, mermaid for docs').choices(['text', 'mermaid']).default('text'))
  .option('-o, --out <file>', 'write to a file instead of stdout (e.g. docs/lineage.mmd)')
  .addHelpText('after', '\nExamples:\n  npm run models:graph\n  npm run models:graph -- --select "stg_segment_events+" \n  npm run models:graph -- --format mermaid --out lineage.mmd');

await runCli(() => {
  program.parse();
  const options = program.opts<ProjectOptions & { format: 'text' | 'mermaid'; out?: string }>();
  const root = projectRoot(options);
  const project = compileProject(root, options);
  const selected = options.select || options.exclude ? selectNodes(project, options.select, options.exclude) : undefined;
  const output = options.format === 'mermaid' ? renderMermaid(project, selected) : renderText(project, selected);
  if (options.out) {
    const out = path.resolve(options.out);
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, output);
    console.log(`${pc.green('wrote')} ${options.out} (${selected?.size ?? project.order.length} nodes)`);
  } else {
    process.stdout.write(output);
  }
});
