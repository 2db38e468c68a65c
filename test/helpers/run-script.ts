/** Runs one of the project's scripts as users do (through tsx), keeping the exit code and both outputs whatever the outcome. */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { REPO_ROOT } from './temp-project.ts';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
/**
 * What tsx's binary runs in the node process it starts: its preflight and loader, by absolute path
 * (`--import tsx` alone would look for tsx from the working directory, often a temporary project).
 * Starting node with them directly skips the binary's own node process, half a second of CPU a
 * script on this machine.
 */
export const TSX_NODE_ARGS: readonly string[] = [
  '--require',
  path.join(path.dirname(require.resolve('tsx')), 'preflight.cjs'),
  '--import',
  pathToFileURL(require.resolve('tsx')).href,
];

export interface ScriptResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `scripts/<script>` with `args`, colours off; `env` is added to this process's environment. */
export async function runScript(script: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ScriptResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...TSX_NODE_ARGS, path.join(REPO_ROOT, 'scripts', script), ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...options.env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
