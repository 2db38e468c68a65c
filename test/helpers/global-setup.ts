/**
 * vitest's globalSetup: work every run needs once, done before the test workers start.
 *
 * - The local server's bootstrapped template. On a machine without one (a clean clone, as in CI)
 *   the first servers of every worker, and the deploy processes a file starts, each built it at
 *   the same time: three or four builds of ~10 s of CPU at the start of a run on 2 cores.
 * - Beside it (the build keeps one core busy; the other was idle), every command's `--help`, which
 *   the docs test compares with docs/cli-reference.md, collected into its cache as that test
 *   collects it. A failure here is left to the docs test, which collects again and says why.
 */
import { existsSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { openDatabase, templatePath } from '../../scripts/local/engine/engine.ts';
import { collectHelp } from '../../scripts/docs-cli-reference.ts';
import { helpArguments } from './script-bundle.ts';
import { WASM_BASELINE_ONLY } from './wasm-baseline.ts';

async function buildTemplateOnce(): Promise<void> {
  if (existsSync(templatePath())) return;
  const db = await openDatabase({ sharedBuffers: '16MB', log: (line) => console.log(`[template] ${line}`) });
  await db.close();
}

async function collectHelpOnce(): Promise<void> {
  await collectHelp({ cache: true, nodeArguments: helpArguments }).catch(() => {});
}

export default async function setup(): Promise<void> {
  // This process compiles no WebAssembly but the build's PGlite, which lives for seconds: V8's
  // optimising recompilation of it on background threads (the test workers go without it,
  // vitest.config.ts) took ~25% more CPU than the build itself needs (12 → 9-10 s, measured here).
  setFlagsFromString(WASM_BASELINE_ONLY);
  await Promise.all([buildTemplateOnce(), collectHelpOnce()]);
}
