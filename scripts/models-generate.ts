/** npm run models:generate — a sample JSON event → a parse-view model with typed columns. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import pc from 'picocolors';
import { compileProject } from './runner/compile.ts';
import { ProjectError } from './runner/errors.ts';
import { generateParseView, parseSample } from './runner/generate-model.ts';
import { projectRoot, runCli, withProjectOptions, type ProjectOptions } from './cli/common.ts';

const program = withProjectOptions(new Command('models:generate'))
  .description('Turn a sample JSON payload into a parse-view model: nested objects flattened to snake_case columns, types inferred (text, numeric, boolean, timestamp, jsonb).')
  .requiredOption('--from <sample.json>', 'a JSON object, an array of objects, or NDJSON')
  .requiredOption('--name <model>', 'name of the model to write (file stem)')
  .option('--ref <model>', 'model whose JSON column the view reads', 'stg_segment_events')
  .option('--column <column>', 'the JSON column of that model', 'body')
  .option('--type <eventType>', "keep only events of this Segment type (WHERE body->>'type' = …)")
  .option('--out <file>', 'where to write the model (default: models/staging/<name>.sql)')
  .option('--force', 'overwrite an existing file')
  .option('--print', 'print the model instead of writing it')
  .addHelpText('after', '\nExamples:\n  npm run models:generate -- --from test/fixtures/events/track.json --name stg_order_completed --type track\n  npm run models:generate -- --from sample.ndjson --name stg_checkout --print');

await runCli(() => {
  program.parse();
  const options = program.opts<ProjectOptions & { from: string; name: string; ref: string; column: string; type?: string; out?: string; force?: boolean; print?: boolean }>();
  const root = projectRoot(options);
  if (!/^[a-z_][a-z0-9_]*$/.test(options.name)) {
    throw new ProjectError(`'${options.name}' is not a valid model name`, undefined, 'use lower-case letters, digits and _, e.g. stg_order_completed');
  }
  const samplePath = path.resolve(options.from);
  if (!existsSync(samplePath)) throw new ProjectError(`sample file ${options.from} does not exist`);
  const samples = parseSample(readFileSync(samplePath, 'utf8'), options.from);
  const model = generateParseView(samples, { name: options.name, from: options.ref, column: options.column, eventType: options.type, sampleFile: options.from });
  if (options.print) {
    process.stdout.write(model);
    return;
  }
  const out = path.resolve(root, options.out ?? path.join('models', 'staging', `${options.name}.sql`));
  if (existsSync(out) && !options.force) {
    throw new ProjectError(`${path.relative(root, out)} already exists`, undefined, 'pass --force to overwrite it, or choose another --name');
  }
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, model);
  // Compile right away, so a wrong --ref or --column is reported now rather than at deploy.
  const project = compileProject(root, options);
  const node = project.nodes.get(options.name);
  console.log(`${pc.green('wrote')} ${path.relative(root, out)}: ${model.split('\n').filter((line) => / AS [a-z_0-9]+,?( |$)/.test(line)).length} columns, compiles with the project (${node?.dependsOn.join(', ')})`);
});
