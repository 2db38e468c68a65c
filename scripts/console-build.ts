/** npm run console:build — bundle the console's front end into dist/console (served by local and dev). */
import path from 'node:path';
import { Command } from 'commander';
import pc from 'picocolors';
import { runCli } from './cli/common.ts';
import { writeConsoleDist } from './console/console-bundle.ts';

const program = new Command('console:build')
  .description('Bundle the console (console/src: Preact, uPlot) with esbuild into dist/console. Optional: npm run local and npm run dev bundle it at start when dist/console is missing or a file it was built from has changed, and keep that bundle for the next start.')
  .addHelpText('after', '\nExample:\n  npm run console:build');

await runCli(async () => {
  program.parse();
  const started = performance.now();
  const { dir, bytes } = await writeConsoleDist();
  console.log(`${pc.green('console built')} in ${Math.round(performance.now() - started)} ms: ${path.relative(process.cwd(), dir)} (${(bytes / 1024).toFixed(0)} kB)`);
});
