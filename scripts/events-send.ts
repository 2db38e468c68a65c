/** npm run events:send — Segment events through the built function to a webhook URL. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import pc from 'picocolors';
import { buildBundle } from '../functions/build/build-bundle.ts';
import { loadFunction } from '../functions/harness/segment-sandbox.ts';
import { sendEvents } from '../functions/harness/send-events.ts';
import { sampleEvents } from '../functions/samples/segment-events.ts';
import { sampleTraffic } from '../functions/samples/traffic.ts';
import { formatMs, runCli } from './cli/common.ts';
import { loadProjectConfig } from './runner/project-config.ts';
import { ProjectError } from './runner/errors.ts';

const LOCAL_WEBHOOK = 'http://127.0.0.1:6876/api/webhook/materialize/segment/segment_source';

function count(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('a positive integer');
  return parsed;
}
function samplesKind(value: string): 'traffic' | 'every-type' {
  if (value === 'traffic' || value === 'every-type') return value;
  throw new InvalidArgumentError("'traffic' or 'every-type'");
}
function rate(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new InvalidArgumentError('events per second, 0 for unlimited');
  return parsed;
}

const program = new Command('events:send')
  .description('Send Segment Spec events (generated realistic traffic, samples of every type, or a file) through the built function — loaded as Segment runs it — to a webhook URL, and report how many were delivered, retried and rejected.')
  .option('--url <url>', 'webhook source URL', LOCAL_WEBHOOK)
  .option('--secret <secret>', "shared secret (default: $SEGMENT_WEBHOOK_SECRET, else project.yml's local_default for segment_webhook_secret)")
  .option('--file <events.ndjson>', 'events to send: NDJSON, or a JSON array (default: generated samples)')
  .option('--samples <kind>', "generated samples: 'traffic' (several hundred people over the last --days, a few dozen track events, a handful of deletes, 1% retried) or 'every-type' (each Spec type in turn)", samplesKind, 'traffic')
  .option('--count <n>', 'how many events (default 2000 traffic / 70 every-type; with --file, the file is repeated or cut to n)', count)
  .option('--days <n>', 'traffic samples: spread event times over the last n days', count, 7)
  .option('--batch <n>', 'onBatch with batches of n (1: the per-type handlers, one call per event)', count, 1)
  .option('--rate <r>', 'events per second (0: as fast as possible)', rate, 0)
  .option('--concurrency <n>', 'calls in flight at once', count, 8)
  .option('--settings <json>', "more function settings as JSON, e.g. '{\"signatureAlgorithm\":\"sha256\"}'")
  .option('--project-dir <dir>', 'project whose local_default secret to use', process.cwd())
  .addHelpText('after', '\nStart the local server first (npm run dev, or npm run local + npm run models:deploy).\n\nExamples:\n  npm run events:send\n  npm run events:send -- --count 10000 --batch 100\n  npm run events:send -- --samples every-type --count 14\n  npm run events:send -- --file events.ndjson --url https://<host>/api/webhook/materialize/segment/segment_source --secret "$SECRET"');

await runCli(async () => {
  program.parse();
  const options = program.opts<{ url: string; secret?: string; file?: string; samples: 'traffic' | 'every-type'; days: number; count?: number; batch: number; rate: number; concurrency: number; settings?: string; projectDir: string }>();
  const secret = options.secret || process.env.SEGMENT_WEBHOOK_SECRET || localDefaultSecret(path.resolve(options.projectDir));
  if (!secret) throw new ProjectError('no shared secret', undefined, 'pass --secret, or export SEGMENT_WEBHOOK_SECRET');
  const runId = `send-${Date.now().toString(36)}`;
  const events = options.file
    ? readEvents(path.resolve(options.file), options.count)
    : options.samples === 'traffic'
      ? sampleTraffic(options.count ?? 2_000, { runId, days: options.days, seed: Date.now() % 2_147_483_647 })
      : sampleEvents(options.count ?? 70, { runId });
  let extra: Record<string, unknown> = {};
  if (options.settings) {
    try {
      extra = JSON.parse(options.settings) as Record<string, unknown>;
    } catch (error) {
      throw new ProjectError(`--settings is not JSON: ${(error as Error).message}`, undefined, `pass an object, e.g. '{"batching": false}'`);
    }
  }
  const built = await buildBundle();
  const handlers = loadFunction({ code: built.code });
  console.log(`sending ${events.length} events to ${options.url} ${pc.dim(`(${options.batch === 1 ? 'one per call' : `onBatch of ${options.batch}`}, ${options.concurrency} in flight${options.rate ? `, ${options.rate}/s` : ''})`)}`);
  let lastReport = performance.now();
  const report = await sendEvents({
    handlers,
    events,
    settings: { webhookUrl: options.url, sharedSecret: secret, ...extra },
    batchSize: options.batch,
    concurrency: options.concurrency,
    rate: options.rate,
    onProgress: (sent) => {
      if (performance.now() - lastReport > 1000) {
        lastReport = performance.now();
        console.log(pc.dim(`  … ${sent}/${events.length}`));
      }
    },
  });
  const perSecond = Math.round((events.length / report.ms) * 1000);
  console.log(`${pc.green(`${report.delivered} delivered`)}, ${report.retried ? pc.yellow(`${report.retried} retried`) : '0 retried'}, ${report.rejected ? pc.red(`${report.rejected} rejected`) : '0 rejected'} in ${formatMs(report.ms)} (${perSecond} events/s)`);
  for (const failure of report.failures) console.log(`  ${failure.retried ? pc.yellow('retry') : pc.red('reject')} ×${failure.count}: ${failure.message}`);
  if (report.retried || report.rejected) process.exitCode = 1;
});

function localDefaultSecret(projectDir: string): string | undefined {
  if (!existsSync(path.join(projectDir, 'project.yml'))) return undefined;
  return loadProjectConfig(projectDir).secrets.segment_webhook_secret?.localDefault;
}

function readEvents(file: string, wanted: number | undefined): Array<Record<string, unknown>> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new ProjectError(`cannot read ${file}`, undefined, 'pass an NDJSON file of Segment events, or leave out --file for samples');
  }
  let events: Array<Record<string, unknown>>;
  if (text.trimStart().startsWith('[')) {
    events = JSON.parse(text) as Array<Record<string, unknown>>;
  } else {
    events = [];
    text.split('\n').forEach((line, index) => {
      if (!line.trim()) return;
      try {
        events.push(JSON.parse(line) as Record<string, unknown>);
      } catch (error) {
        throw new ProjectError(`not JSON: ${(error as Error).message}`, { file: path.relative(process.cwd(), file), line: index + 1 }, 'one JSON event per line (NDJSON)');
      }
    });
  }
  if (events.length === 0) throw new ProjectError(`${file} has no events`);
  if (!wanted) return events;
  return Array.from({ length: wanted }, (_, index) => events[index % events.length]!);
}
