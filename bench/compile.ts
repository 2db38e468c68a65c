/**
 * Compile figures: a generated project (BENCH_MODELS models, 10,000 by default) compiled cold, and
 * recompiled incrementally after one edit, as watch mode does.
 */
import { readFileSync, writeFileSync, mkdtempSync, rmSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ProjectCompiler } from '../scripts/runner/compile.ts';
import { buildManifest, writeTarget } from '../scripts/runner/manifest.ts';
import { generateProject } from './generate-project.ts';
import { median, percentile } from './stats.ts';

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

/** Compile figures: a generated 10,000-model project compiled cold, then recompiled after one edit. */
export function runCompileBench(): void {
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
