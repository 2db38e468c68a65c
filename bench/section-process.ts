/**
 * One bench section in a process of its own: `npm run bench` starts bench/run.ts again with
 * `--section <title>` for each section and relays what the child prints, line by line, through
 * this process's console.log (so that --markdown files each line under its section).
 *
 * Why a process each: every section starts its own local server, as a user's `npm run local` is a
 * process of its own. Run one after another in one process, each section inherited the heap, the
 * JIT state and the garbage of every section before it: the activation's ingest cost, measured last
 * after ~12 minutes of other sections, read +28% where the same section alone read +2…+11%, and the
 * session-cost ratio moved between 76% and 103% with what ran before it.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * Runs `script` with `args` in a new node process with this process's own node flags (tsx's
 * loader, --single-threaded-gc), relaying each line of its standard output to `printLine`; its
 * standard error goes to this process's. Rejects when the child fails, naming the section.
 */
export async function runSectionProcess(
  title: string,
  script: string,
  args: readonly string[],
  printLine: (line: string) => void = (line) => console.log(line),
): Promise<void> {
  const child = spawn(process.execPath, [...process.execArgv, script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
  lines.on('line', printLine);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
  });
  if (code !== 0) throw new Error(`bench section "${title}" failed (${signal ? `killed by ${signal}` : `exit code ${code}`}): its error is printed above`);
}
