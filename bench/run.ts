/**
 * npm run bench — prints one line per figure. Targets are printed beside the figures; nothing
 * here asserts on time (machines are noisy), the reader compares. `--markdown <file>` also writes
 * those lines as a Markdown page with the machine, date and commit (bench/markdown.ts). Each section
 * (bench/sections.ts) runs in a process of its own (bench/section-process.ts).
 */
import { Command, Option } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SERVER_GC_FLAG, usesSingleThreadedGc } from '../scripts/local/engine/gc-mode.ts';
import { benchEnvironment, commitInfo, FigureRecorder, machineInfo, renderBenchMarkdown } from './markdown.ts';
import { runSectionProcess } from './section-process.ts';
import { SECTIONS } from './sections.ts';

const program = new Command('bench')
  .description(
    'Measure the compiler, deploys and watch, the Segment function, the local server (webhook ingest, reads, SUBSCRIBE, the HTTP SQL API), kept materialized views, watch with data, blue/green, data tests, unit tests, the console and the activation worker; print one line per figure with its target. Nothing asserts on time.',
  )
  .option('--markdown <file>', 'also write the figures as a Markdown page, with the machine, date and commit (e.g. docs/benchmarks.md)')
  // What each section's own process is started with (bench/section-process.ts): not for people.
  .addOption(new Option('--section <title>', 'run only this section, in this process').hideHelp())
  .addHelpText(
    'after',
    '\nEnvironment:\n' +
      '  BENCH_MODELS            models in the generated compile project (default 10000)\n' +
      '  BENCH_MV_EVENTS         events for the materialized-view figures (default 100000)\n' +
      '  BENCH_KEPT_EVENTS       history sizes of the kept-view figures (issue 30), comma-separated (default 100000,1000000)\n' +
      '  BENCH_WATCH_EVENTS      events loaded for the watch-with-data figures (default 100000)\n' +
      '  BENCH_TEST_EVENTS       events for the data-test figures (default 100000)\n' +
      '  BENCH_WEBHOOK_REQUESTS  timed single-event webhook requests (default 10000)\n' +
      '  BENCH_WEBHOOK_BATCHES   timed 100-event batches (default 300)\n' +
      '  BENCH_ACTIVATION_EVENTS events timed from webhook event to Segment call (default 30)\n' +
      '  BENCH_ACTIVATION_INGEST_EVENTS  events per ingest run, without and with the worker (default 10000)\n' +
      '  BENCH_ACTIVATION_INGEST_ROUNDS  rounds of ingest runs, each a pair without and with the worker on each baseline (default 6)\n' +
      '  BENCH_ACTIVATION_FIGURES  which activation figures: latency,throughput,ingest (default all three)\n' +
      '  CHROMIUM_PATH           browser for the console figures (default /usr/bin/chromium; skipped if missing)\n' +
      '\nExamples:\n  npm run bench\n  npm run bench -- --markdown docs/benchmarks.md',
  );
program.parse();
const options = program.opts<{ markdown?: string; section?: string }>();
const markdownFile = options.section === undefined ? options.markdown : undefined;

// The local server runs in each section's process, as `npm run local` runs it: with the same Node flags.
function printNodeFlags(): void {
  console.log(
    usesSingleThreadedGc()
      ? `node: ${SERVER_GC_FLAG}, as the commands that host the local server run (scripts/local/engine/gc-mode.ts)`
      : `node: WITHOUT ${SERVER_GC_FLAG} — the local server's figures below are not those of npm run local (run npm run bench)`,
  );
}

if (options.section !== undefined) {
  // A section's own process (bench/section-process.ts): run it here, print its figures.
  const chosen = SECTIONS.find(([title]) => title === options.section);
  if (!chosen) throw new Error(`no bench section "${options.section}"; the sections: ${SECTIONS.map(([title]) => title).join('; ')}`);
  const run = await chosen[1]();
  await run();
} else {
  const started = new Date();
  // Read before the run: the figures are those of the code checked out when it started.
  const commit = markdownFile ? commitInfo(process.cwd()) : undefined;
  const recorder = markdownFile ? new FigureRecorder() : undefined;
  recorder?.teeConsole();
  recorder?.section('Setup');
  printNodeFlags();
  // Each section in a process of its own, its printed lines filed under its title.
  for (const [title] of SECTIONS) {
    recorder?.section(title);
    await runSectionProcess(title, import.meta.filename, ['--section', title]);
  }
  if (markdownFile && recorder && commit) {
    const report = { started, finished: new Date(), machine: machineInfo(), commit, environment: benchEnvironment(), sections: recorder.sections };
    mkdirSync(path.dirname(path.resolve(markdownFile)), { recursive: true });
    writeFileSync(markdownFile, renderBenchMarkdown(report));
    console.error(`wrote ${markdownFile}`);
  }
}
