/** Runs one of the project's scripts, keeping the exit code and both outputs whatever the outcome. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { REPO_ROOT } from './temp-project.ts';
import { scriptBundle } from './script-bundle.ts';
import { WASM_BASELINE_ONLY } from './wasm-baseline.ts';

const run = promisify(execFile);

export interface ScriptResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Node's arguments that run `scripts/<script>` with `args` (bundled: see script-bundle.ts; the flag: vitest.config.ts). */
export async function scriptArgs(script: string, ...args: readonly string[]): Promise<string[]> {
  return [WASM_BASELINE_ONLY, await scriptBundle(script), ...args];
}

/** `scripts/<script>` with `args`, colours off; `env` is added to this process's environment. */
export async function runScript(script: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ScriptResult> {
  const argv = await scriptArgs(script, ...args);
  try {
    const { stdout, stderr } = await run(process.execPath, argv, {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...options.env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
