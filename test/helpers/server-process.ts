/** `npm run local` as a real process: node itself runs the server (so signals hit the server itself). */
import { spawn, type ChildProcess } from 'node:child_process';
import { REPO_ROOT } from './temp-project.ts';
import { scriptArgs } from './run-script.ts';

/** Node's arguments for `npm run local` with `args` (--console-port 0: servers started side by side must not all want 6874). */
export function serverArgs(...args: string[]): Promise<string[]> {
  return scriptArgs('local.ts', '--console-port', '0', ...args);
}
const children: ChildProcess[] = [];
/** Kills what the file started and left running: after each file (test/helpers/per-file-cleanup.ts). */
export function killTrackedChildren(): void {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

export interface ServerProcess {
  child: ChildProcess;
  pgUrl: string;
  webhookBase: string;
  output: () => string;
}

/** Starts `scripts/local.ts` with `args` (free ports unless given) and resolves once it is ready. */
export async function startServerProcess(args: string[]): Promise<ServerProcess> {
  const child = spawnTracked(await serverArgs('--pg-port', '0', '--http-port', '0', ...args));
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const sql = /psql "(postgres:\/\/[^"]+)"/.exec(output);
      const hooks = /webhooks\s+(http:\/\/\S+)\/materialize\/public\/<source>/.exec(output);
      if (sql && hooks) resolve({ child, pgUrl: sql[1]!, webhookBase: hooks[1]!, output: () => output });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`server exited (${code}) before it was ready:\n${output}`)));
  });
}

/** A node process in the repository, killed after the file's tests if still running. */
export function spawnTracked(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...env } });
  children.push(child);
  return child;
}

export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.on('exit', (code) => resolve(code));
  });
}
