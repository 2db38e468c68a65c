/**
 * npm run bench — prints one line per figure. Targets are printed beside the figures; nothing
 * here asserts on time (machines are noisy), the reader compares. `--markdown <file>` also writes
 * those lines as a Markdown page with the machine, date and commit (bench/markdown.ts).
 */
import { Command } from 'commander';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ProjectCompiler } from '../scripts/runner/compile.ts';
import { buildManifest, writeTarget } from '../scripts/runner/manifest.ts';
import { generateProject } from './generate-project.ts';
import { runDeployBench } from './deploy.ts';
import { median, percentile } from './stats.ts';
import { runFunctionBench } from './function.ts';
import { runLocalServerBench } from './local-server.ts';
import { runSessionCostBench } from './session-cost.ts';
import { runSubscribeBench } from './subscribe.ts';
import { runDataTestsBench } from './data-tests.ts';
import { runUnitTestsBench } from './unit-tests.ts';
import { runBlueGreenBench } from './blue-green.ts';
import { runMaterializedViewsBench } from './materialized-views.ts';
import { runKeptViewsBench } from './kept-views.ts';
import { runWatchWithDataBench } from './watch-with-data.ts';
import { runConsoleBench } from './console.ts';
import { runActivationBench } from './activation.ts';
import { SERVER_GC_FLAG, usesSingleThreadedGc } from '../scripts/local/engine/gc-mode.ts';
import { benchEnvironment, commitInfo, FigureRecorder, machineInfo, renderBenchMarkdown } from './markdown.ts';

const program = new Command('bench')
  .description(
    'Measure the compiler, deploys and watch, the Segment function, the local server (webhook ingest, reads, SUBSCRIBE, the HTTP SQL API), kept materialized views, watch with data, blue/green, data tests, unit tests, the console and the activation worker; print one line per figure with its target. Nothing asserts on time.',
  )
  .option('--markdown <file>', 'also write the figures as a Markdown page, with the machine, date and commit (e.g. docs/benchmarks.md)')
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
      '  BENCH_ACTIVATION_INGEST_EVENTS  events per ingest run, without and with the worker (default 3000)\n' +
      '  BENCH_ACTIVATION_INGEST_ROUNDS  interleaved pairs of ingest runs, without and with the worker (default 10)\n' +
      '  BENCH_ACTIVATION_FIGURES  which activation figures: latency,throughput,ingest (default all three)\n' +
      '  CHROMIUM_PATH           browser for the console figures (default /usr/bin/chromium; skipped if missing)\n' +
      '\nExamples:\n  npm run bench\n  npm run bench -- --markdown docs/benchmarks.md',
  );
program.parse();
const markdownFile = program.opts<{ markdown?: string }>().markdown;
const started = new Date();
// Read before the run: the figures are those of the code checked out when it started.
const commit = markdownFile ? commitInfo(process.cwd()) : undefined;
const recorder = markdownFile ? new FigureRecorder() : undefined;
recorder?.teeConsole();
recorder?.section('Setup');

/** Runs one bench, its printed lines filed under `title` in the Markdown page. */
async function section(title: string, run: () => unknown): Promise<void> {
  recorder?.section(title);
  await run();
}

const MODEL_COUNT = Number(process.env.BENCH_MODELS ?? 10_000);
const EDITS = 20;

function totalBytes(dir: string): number {
  let bytes = 0;
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const stat = statSync(path.join(dir, entry));
    if (stat.isFile()) bytes += stat.size;
  }
  return bytes;
}

// The local server runs in this process, as `npm run local` runs it: with the same Node flags.
console.log(
  usesSingleThreadedGc()
    ? `node: ${SERVER_GC_FLAG}, as the commands that host the local server run (scripts/local/engine/gc-mode.ts)`
    : `node: WITHOUT ${SERVER_GC_FLAG} — the local server's figures below are not those of npm run local (run npm run bench)`,
);

/**
 * Compile figures. In a function of its own: what it builds (a 10,000-model project, ~270 MB of
 * heap) is released when it returns. Left in the module's top level, it stayed reachable from the
 * suspended module body through every later bench, and each collection of the local server's
 * process traced it.
 */
function runCompileBench(): void {
  const root = mkdtempSync(path.join(tmpdir(), 'segmat-bench-'));
  try {
    const generated = generateProject(root, MODEL_COUNT);
    const averageKb = totalBytes(path.join(root, 'models')) / MODEL_COUNT / 1024;

    // Cold: a fresh compiler with nothing cached, reading every file. The first run in the process
    // also pays for JIT warm-up, so it is printed on its own.
    const first = new ProjectCompiler(root).compile();
    const coldRuns: number[] = [];
    let project = first;
    for (let run = 0; run < 5; run++) {
      const started = performance.now();
      project = new ProjectCompiler(root).compile();
      coldRuns.push(performance.now() - started);
    }
    const nodes = project.order.length;
    console.log(`compile: ${MODEL_COUNT} models in ${median(coldRuns).toFixed(0)} ms (cold, median of 5; first in process ${first.timings.totalMs.toFixed(0)} ms; ${nodes} nodes with indexes, ${averageKb.toFixed(2)} KB/model; target < 500 ms)`);
    console.log(`compile phases: read+config ${project.timings.readMs.toFixed(0)} ms, render ${project.timings.renderMs.toFixed(0)} ms, graph ${project.timings.graphMs.toFixed(0)} ms`);

    const started = performance.now();
    const summary = writeTarget(root, buildManifest(project));
    console.log(`write target/: ${summary.written} compiled files + manifest in ${(performance.now() - started).toFixed(0)} ms (not part of the compile figure)`);

    // One edited model: change its SQL, recompile incrementally, as watch mode does.
    const compiler = new ProjectCompiler(root);
    compiler.compile();
    const editPath = path.join(root, generated.editableModel);
    const original = readFileSync(editPath, 'utf8');
    const editTimes: number[] = [];
    // The first edits of a session also pay for JIT compilation of the incremental path: shown
    // separately, then the steady state a watch session sees over the next EDITS edits.
    const WARMUP = 3;
    for (let edit = 0; edit < WARMUP + EDITS; edit++) {
      writeFileSync(editPath, original.replace('length(u0.label)', `length(u0.label) + ${edit + 1}`));
      const editStarted = performance.now();
      const result = compiler.recompile([generated.editableModel]);
      editTimes.push(performance.now() - editStarted);
      if (!result.nodes.get('model_05002')!.sql.includes(`+ ${edit + 1}`)) throw new Error('the edit did not reach the compiled SQL');
      if (result.timings.rendered !== 1) throw new Error(`an edit re-rendered ${result.timings.rendered} models instead of 1`);
    }
    const steady = editTimes.slice(WARMUP);
    console.log(
      `recompile after editing one model: p50 ${median(steady).toFixed(2)} ms, p95 ${percentile(steady, 95).toFixed(2)} ms over ${EDITS} edits of a ${MODEL_COUNT}-model project ` +
        `(first ${WARMUP} edits: ${editTimes.slice(0, WARMUP).map((ms) => ms.toFixed(1)).join(', ')} ms; target < 5 ms)`,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await section('Compile', runCompileBench);
await section('Deploy and watch', runDeployBench);
await section('Segment function', runFunctionBench);
await section('Local server: webhook ingest and the HTTP SQL API', runLocalServerBench);
await section('Local server: what a session per connection costs', runSessionCostBench);
await section('SUBSCRIBE', runSubscribeBench);
await section('Materialized views', runMaterializedViewsBench);
await section('Kept views at 100,000 and 1,000,000 events: temporal filters, count(DISTINCT), data tests, ingest', runKeptViewsBench);
await section('Watch with data', runWatchWithDataBench);
await section('Blue/green', runBlueGreenBench);
await section('Data tests', runDataTestsBench);
await section('Unit tests', runUnitTestsBench);
await section('Console', runConsoleBench);
await section('Activation', runActivationBench);

if (markdownFile && recorder && commit) {
  const report = { started, finished: new Date(), machine: machineInfo(), commit, environment: benchEnvironment(), sections: recorder.sections };
  mkdirSync(path.dirname(path.resolve(markdownFile)), { recursive: true });
  writeFileSync(markdownFile, renderBenchMarkdown(report));
  console.error(`wrote ${markdownFile}`);
}
