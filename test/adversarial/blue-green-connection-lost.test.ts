/**
 * The target dies while a blue/green deploy stages its new version: the deploy says so plainly —
 * the connection was lost, at which step, with the database's own error rather than the one the
 * cleanup then got — and how to go on, with no "internal error" and no stack trace.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { exited, spawnTracked, startServerProcess } from '../helpers/server-process.ts';
import { copyOfSeedProject } from '../helpers/temp-project.ts';
import { scriptArgs } from '../helpers/run-script.ts';

async function deployProcess(project: string, extra: string[] = []) {
  return spawnTracked(await scriptArgs('models-deploy.ts', '--project-dir', project, ...extra));
}

it('a server killed while blue/green stages: a plain message naming the step and what to do, no internal error or stack', async () => {
  const project = copyOfSeedProject();
  const server = await startServerProcess(['--memory', '--project-dir', project]);
  const first = await deployProcess(project);
  expect(await exited(first)).toBe(0);

  // A dedup change: every analytics model is staged again, long enough to kill the server meanwhile.
  const staging = path.join(project, 'models/staging/stg_segment_events.sql');
  writeFileSync(staging, readFileSync(staging, 'utf8').replace('SELECT DISTINCT ON', 'SELECT /* v2 */ DISTINCT ON'));
  const deploy = await deployProcess(project, ['--blue-green', '--poll', '50ms']);
  let output = '';
  let armed = false;
  const killed = new Promise<void>((resolve) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      // A little after staging begins: amid the models' CREATEs rather than at the first statement.
      if (!armed && /staging \d+ models/.test(output)) {
        armed = true;
        setTimeout(() => {
          server.child.kill('SIGKILL');
          resolve();
        }, 150);
      }
    };
    deploy.stdout!.on('data', onData);
    deploy.stderr!.on('data', onData);
  });
  const code = await exited(deploy);
  await killed;
  await exited(server.child);

  expect(code).toBe(1);
  expect(output).not.toMatch(/internal error/);
  expect(output).not.toMatch(/^\s+at /m);
  expect(output).toMatch(/lost the connection to the target \(local\) while staging the new version/);
  // The cause, not what the cleanup got afterwards.
  expect(output).toMatch(/Connection terminated|connection error|ECONNRESET|not queryable/);
  expect(output).toMatch(/production is untouched/);
  expect(output).toMatch(/--blue-green --abort/);
  expect(output).toMatch(/run .*again/);
}, 180_000);
