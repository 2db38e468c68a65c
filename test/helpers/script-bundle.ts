/**
 * A project script as a node command line for tests: the script bundled with esbuild
 * (scripts/local/engine/typescript-thread.ts bundleTypeScript: one file with the packages it uses,
 * and a chunk beside it for each module the script loads with import()) and run by plain node.
 *
 * Why not tsx, as `npm run …` does: tsx's loader costs ~1.2 s of CPU per process on this machine
 * (a hooks thread, a transform round trip per module) against ~0.1 s for node to load the bundle,
 * and the suite starts a few hundred scripts. What the script does is the same code: each module
 * keeps its own `import.meta.url`, and `process.argv[1]` is set back to the script's own path
 * before its modules run, so main-module checks and the names a script gives itself hold.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundleTypeScript } from '../../scripts/local/engine/typescript-thread.ts';
import { REPO_ROOT } from './temp-project.ts';

const bundles = new Map<string, Promise<string>>();

/** `scripts/<script>` bundled (once per test process), as the file node runs. */
export function scriptBundle(script: string): Promise<string> {
  return entryPointBundle(path.join('scripts', script));
}

/** Any entry point of the repository (`bench/run.ts`, `scripts/local.ts`…) bundled, as the file node runs. */
export function entryPointBundle(fromRepositoryRoot: string): Promise<string> {
  const source = path.join(REPO_ROOT, fromRepositoryRoot);
  let bundle = bundles.get(source);
  if (!bundle) {
    bundle = bundleTypeScript(pathToFileURL(source), `process.argv[1] = ${JSON.stringify(source)};`);
    bundles.set(source, bundle);
  }
  return bundle;
}

/**
 * The node arguments that run a command's entry point bundled, from the tsx arguments package.json
 * gives it (node's own flags kept): how the docs test runs each command's `--help`.
 */
export async function helpArguments(tsxArguments: readonly string[]): Promise<string[]> {
  const entryPoint = tsxArguments.find((argument) => argument.endsWith('.ts'));
  if (!entryPoint) throw new Error(`no .ts entry point in: tsx ${tsxArguments.join(' ')}`);
  return [...tsxArguments.filter((argument) => argument.startsWith('--')), await entryPointBundle(entryPoint)];
}
