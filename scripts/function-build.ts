/** npm run function:build — the Segment Destination Function as one plain script. */
import path from 'node:path';
import { Command } from 'commander';
import pc from 'picocolors';
import { buildBundle, BUNDLE_PATH } from '../functions/build/build-bundle.ts';
import { formatMs, runCli } from './cli/common.ts';

const program = new Command('function:build')
  .description('Bundle functions/ (the Segment handlers and the delivery core) into one plain script for Segment: no import, require or export; top-level onTrack … onBatch; settings documented in its header.')
  .option('--out <file>', 'where to write it', BUNDLE_PATH)
  .addHelpText('after', '\nThen paste the file into a Segment Destination Function, or run npm run function:deploy.\n\nExamples:\n  npm run function:build');

await runCli(async () => {
  program.parse();
  const options = program.opts<{ out: string }>();
  const built = await buildBundle(path.resolve(options.out));
  console.log(`${pc.green('built')} ${path.relative(process.cwd(), built.path)} (${(built.bytes / 1024).toFixed(1)} KB) in ${formatMs(built.ms)}`);
});
