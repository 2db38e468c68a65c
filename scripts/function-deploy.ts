/** npm run function:deploy — create or update the destination function, and optionally connect it to a source. */
import { Command } from 'commander';
import pc from 'picocolors';
import { buildBundle } from '../functions/build/build-bundle.ts';
import { connectDestination, SourceNotFoundError, type ConnectResult } from '../functions/deploy/connect-destination.ts';
import { DEFAULT_DISPLAY_NAME, deployFunction, type DeployResult } from '../functions/deploy/deploy-function.ts';
import { Redactor } from '../functions/deploy/redact.ts';
import { DEFAULT_API_URL, PaginationError, PublicApiError, SegmentPublicApi } from '../functions/deploy/segment-public-api.ts';
import { SETTINGS_DOCUMENTATION } from '../functions/delivery/settings.ts';
import { runCli } from './cli/common.ts';
import { destinationSettings, type DestinationSettings } from './runner/destination-settings.ts';

const program = new Command('function:deploy')
  .description(
    "Build the function and create it in the workspace through Segment's Public API, or update its code and settings when a destination function with the same display name exists; with --source, also connect it to that source as a destination whose webhookUrl and sharedSecret come from the deployed models. Idempotent: nothing is sent when everything is current.",
  )
  .option('--dry-run', 'look everything up and say what would happen; change nothing')
  .option('--json', 'print what was (or would be) created, updated or unchanged as JSON')
  .option('--display-name <name>', 'the function’s name in the workspace', DEFAULT_DISPLAY_NAME)
  .option('--source <source>', 'connect the function to this Segment source (id, slug or name)')
  .option('--name <name>', 'the destination’s name on the source (default: the display name)')
  .option('--enable', 'enable the destination (a new one is enabled unless --disable)')
  .option('--disable', 'disable the destination')
  .option('--target <target>', 'project.yml target whose deployed webhook source gives webhookUrl and whose secret gives sharedSecret (default: the default target)')
  .option('--webhook-source <model>', 'the webhook source model (default: project.yml’s segment.webhook_source, else the only one)')
  .option('--webhook-url <url>', 'use this webhookUrl instead of the URL the target reports')
  .option('--force-settings', 'send the settings even when Segment’s (masked) answer looks current, e.g. after rotating to a secret with the same last four characters')
  .option('--project-dir <dir>', 'the models project', process.cwd())
  .addHelpText(
    'after',
    `
Environment:
  SEGMENT_API_TOKEN   a Public API token with Functions and Sources/Destinations write access (required; never printed)
  SEGMENT_API_URL     the API base URL (default ${DEFAULT_API_URL}; e.g. the EU endpoint)
  (and the secret's variable from project.yml, e.g. SEGMENT_WEBHOOK_SECRET, for --source on a non-local target)

Examples:
  SEGMENT_API_TOKEN=… npm run function:deploy
  SEGMENT_API_TOKEN=… npm run function:deploy -- --dry-run
  SEGMENT_API_TOKEN=… SEGMENT_WEBHOOK_SECRET=… npm run function:deploy -- --source my-website --target production`,
  );

interface Options {
  dryRun?: boolean;
  json?: boolean;
  displayName: string;
  source?: string;
  name?: string;
  enable?: boolean;
  disable?: boolean;
  target?: string;
  webhookSource?: string;
  webhookUrl?: string;
  forceSettings?: boolean;
  projectDir: string;
}

/** Everything printed goes through it: it knows the token and, once read, the sensitive settings. */
const redactor = new Redactor();

await runCli(async () => {
  program.parse();
  const options = program.opts<Options>();
  const token = process.env.SEGMENT_API_TOKEN;
  redactor.add(token);
  if (!token) return fail('SEGMENT_API_TOKEN is not set', 'create a Public API token in Segment (Settings → Access Management → Tokens) and export SEGMENT_API_TOKEN=…');
  if (options.enable && options.disable) return fail('--enable and --disable both given', 'pass one of them, or neither to keep the destination as it is');
  if (!options.source && (options.name || options.enable || options.disable || options.target || options.webhookSource || options.webhookUrl || options.forceSettings)) {
    return fail('--name, --enable, --disable, --target, --webhook-source, --webhook-url and --force-settings only apply with --source', 'add --source <id, slug or name>');
  }
  const log = (line: string) => {
    if (!options.json) console.log(pc.dim(redactor.redact(line)));
  };
  const sensitive = new Set<string>(SETTINGS_DOCUMENTATION.filter((setting) => 'sensitive' in setting && setting.sensitive).map((setting) => setting.name));
  const baseUrl = process.env.SEGMENT_API_URL || DEFAULT_API_URL;
  try {
    // Settings first: a missing secret or an undeployed source fails before anything changes in Segment.
    const settings = options.source
      ? await destinationSettings(options.projectDir, { ...(options.target ? { target: options.target } : {}), ...(options.webhookSource ? { webhookSource: options.webhookSource } : {}), ...(options.webhookUrl ? { webhookUrl: options.webhookUrl } : {}), log })
      : undefined;
    const sent = settings ? { webhookUrl: settings.webhookUrl, sharedSecret: settings.sharedSecret, signatureAlgorithm: settings.signatureAlgorithm } : undefined;
    if (sent) redactor.add(...Object.entries(sent).filter(([key]) => sensitive.has(key)).map(([, value]) => value));
    const built = await buildBundle();
    const api = new SegmentPublicApi(token, baseUrl, fetch, undefined, redactor);
    const fn = await deployFunction(api, built.code, { displayName: options.displayName, dryRun: options.dryRun ?? false });
    let destination: ConnectResult | undefined;
    if (options.source && settings && sent) {
      destination = await connectDestination(api, {
        fn,
        source: options.source,
        name: options.name ?? options.displayName,
        enabled: options.enable ? true : options.disable ? false : undefined,
        settings: sent,
        sensitive,
        dryRun: options.dryRun ?? false,
        forceSettings: options.forceSettings ?? false,
      });
    }
    if (options.json) console.log(JSON.stringify(redactor.redactDeep(jsonReport(fn, destination, settings, options)), null, 2));
    else printReport(fn, destination, settings, baseUrl, options);
  } catch (error) {
    if (error instanceof PaginationError) return fail(error.message, 'Segment’s list did not end: run again later, and report it to Segment if it persists');
    if (error instanceof PublicApiError) {
      const hint = error.status === 401 || error.status === 403 ? 'check SEGMENT_API_TOKEN (a workspace token with Functions and Destinations access) and SEGMENT_API_URL' : error.status === 429 ? 'Segment is rate-limiting this workspace: run again in a minute' : undefined;
      return fail(error.message, hint);
    }
    if (error instanceof SourceNotFoundError) return fail(error.message, 'pass the source id, slug or name as Segment shows it (Connections → Sources)');
    throw redactor.redactError(error);
  }
});

function printReport(fn: DeployResult, destination: ConnectResult | undefined, settings: DestinationSettings | undefined, baseUrl: string, options: Options): void {
  const print = (line: string) => console.log(redactor.redact(line));
  const color = (action: string) => (action === 'unchanged' ? pc.dim(action) : pc.green(action));
  const dry = options.dryRun ? pc.dim(' — dry run, nothing changed') : '';
  print(`${color(fn.action)} destination function "${fn.displayName}"${fn.id ? ` (${fn.id})` : ''} at ${baseUrl}${dry}`);
  if (!destination || !settings) return;
  const what = destination.changed.length && destination.action !== 'unchanged' ? pc.dim(` (${destination.changed.join(', ')})`) : '';
  print(`${color(destination.action)} its destination on source ${destination.source.slug} (${destination.source.id})${destination.destinationId ? `, destination ${destination.destinationId}` : ''}${what}${dry}`);
  print(pc.dim(`  webhookUrl ${settings.webhookUrl} (from ${settings.urlFrom}), sharedSecret [secret], signatureAlgorithm ${settings.signatureAlgorithm}`));
}

function jsonReport(fn: DeployResult, destination: ConnectResult | undefined, settings: DestinationSettings | undefined, options: Options): unknown {
  return {
    dryRun: options.dryRun ?? false,
    function: { action: fn.action, id: fn.id ?? null, displayName: fn.displayName },
    destination: destination && settings
      ? {
          action: destination.action,
          id: destination.destinationId ?? null,
          source: { id: destination.source.id, slug: destination.source.slug },
          changed: destination.changed,
          settings: { webhookUrl: settings.webhookUrl, sharedSecret: '[secret]', signatureAlgorithm: settings.signatureAlgorithm },
        }
      : null,
  };
}

function fail(message: string, fix: string | undefined): void {
  console.error(pc.red(`error: ${redactor.redact(message)}`));
  if (fix) console.error(pc.dim(`  fix: ${redactor.redact(fix)}`));
  process.exitCode = 1;
}
