/** Runs one of the project's scripts as users do (through tsx), keeping the exit code and both outputs whatever the outcome. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './temp-project.ts';

const run = promisify(execFile);
// tsx's own binary: `node --import tsx` would look for tsx from the working directory (often a temporary project).
const TSX = path.join(REPO_ROOT, 'node_modules/.bin/tsx');

export interface ScriptResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `scripts/<script>` with `args`, colours off; `env` is added to this process's environment. */
export async function runScript(script: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ScriptResult> {
  try {
    const { stdout, stderr } = await run(TSX, [path.join(REPO_ROOT, 'scripts', script), ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...options.env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
