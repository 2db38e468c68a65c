/** npm run function:deploy — create or update the destination function in a Segment workspace. */
import { Command } from 'commander';
import pc from 'picocolors';
import { buildBundle } from '../functions/build/build-bundle.ts';
import { DEFAULT_DISPLAY_NAME, deployFunction } from '../functions/deploy/deploy-function.ts';
import { DEFAULT_API_URL, PublicApiError, SegmentPublicApi } from '../functions/deploy/segment-public-api.ts';
import { runCli } from './cli/common.ts';

const program = new Command('function:deploy')
  .description(
    "Build the function and create it in the workspace through Segment's Public API, or update its code and settings when a destination function with the same display name exists. Idempotent: nothing is sent when both are current.",
  )
  .option('--dry-run', 'look the function up and say what would happen; change nothing')
  .option('--display-name <name>', 'the function’s name in the workspace', DEFAULT_DISPLAY_NAME)
  .addHelpText(
    'after',
    `
Environment:
  SEGMENT_API_TOKEN   a Public API token with Functions write access (required; never printed)
  SEGMENT_API_URL     the API base URL (default ${DEFAULT_API_URL}; e.g. the EU endpoint)

Examples:
  SEGMENT_API_TOKEN=… npm run function:deploy
  SEGMENT_API_TOKEN=… npm run function:deploy -- --dry-run`,
  );

await runCli(async () => {
  program.parse();
  const options = program.opts<{ dryRun?: boolean; displayName: string }>();
  const token = process.env.SEGMENT_API_TOKEN;
  if (!token) {
    console.error(pc.red('error: SEGMENT_API_TOKEN is not set'));
    console.error(pc.dim('  fix: create a Public API token in Segment (Settings → Access Management → Tokens) and export SEGMENT_API_TOKEN=…'));
    process.exitCode = 1;
    return;
  }
  const baseUrl = process.env.SEGMENT_API_URL || DEFAULT_API_URL;
  const built = await buildBundle();
  const api = new SegmentPublicApi(token, baseUrl);
  try {
    const result = await deployFunction(api, built.code, { displayName: options.displayName, dryRun: options.dryRun ?? false });
    const color = result.action === 'unchanged' ? pc.dim : pc.green;
    console.log(`${color(result.action)} destination function "${result.displayName}"${result.id ? ` (${result.id})` : ''} at ${baseUrl}${options.dryRun ? pc.dim(' — dry run, nothing changed') : ''}`);
  } catch (error) {
    if (error instanceof PublicApiError) {
      console.error(pc.red(`error: ${error.message}`));
      if (error.status === 401 || error.status === 403) console.error(pc.dim('  fix: check SEGMENT_API_TOKEN (a workspace token with Functions access) and SEGMENT_API_URL'));
      process.exitCode = 1;
      return;
    }
    throw error;
  }
});
