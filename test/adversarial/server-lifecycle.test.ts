/**
 * The local server's life as a process: found by models:deploy when it runs in memory, stopped
 * with SIGTERM in the middle of keep-alive traffic (every request answered, none reset, the lock
 * and the announcement gone, the stopped line printed), and locks left by processes that are gone
 * — including a pid that now belongs to another program.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockPath, memoryServerPath } from '../../scripts/local/data-dir-lock.ts';
import { processIdentity } from '../../scripts/shared/process-identity.ts';
import { hmacHex } from '../helpers/local-server.ts';
import { exited, serverArgs, spawnTracked, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { scriptArgs } from '../helpers/run-script.ts';
import { copyOfSeedProject, REPO_ROOT, temporaryDirectory } from '../helpers/temp-project.ts';

const run = promisify(execFile);

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('a server running in memory for a seed project, with the seed deployed into it by models:deploy', () => {
  // One server and one deploy for the three tests below (each a process start of ~2.5 s): they run
  // in order, and the last stops the server.
  let server: ServerProcess;
  let project: string;
  let announcedBeforeDeploy: boolean;
  let deployed: { stdout: string };
  beforeAll(async () => {
    project = copyOfSeedProject();
    server = await startServerProcess(['--memory', '--project-dir', project]);
    announcedBeforeDeploy = existsSync(memoryServerPath(path.join(project, '.materialize/data')));
    deployed = await run(process.execPath, await scriptArgs('models-deploy.ts', '--project-dir', project), { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1' } });
  }, 60_000);
  afterAll(async () => {
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGTERM');
      await exited(server.child);
    }
  });

  it('models:deploy finds a server running in memory for the project, deploys into it, and creates no data directory', async () => {
    const dataDir = path.join(project, '.materialize/data');
    expect(announcedBeforeDeploy).toBe(true);
    expect(deployed.stdout).toMatch(new RegExp(`in-memory local server \\(local\\.ts, pid ${server.child.pid}, since [^)]+\\) at 127\\.0\\.0\\.1:\\d+`));
    expect(await query(server.pgUrl, `SELECT name FROM mz_catalog.mz_sources`)).toEqual([{ name: 'segment_source' }]);
    expect(existsSync(dataDir)).toBe(false);
    // Its shared buffers are the environment's (vitest.config.ts sets LOCAL_SERVER_SHARED_BUFFERS).
    expect(await query(server.pgUrl, `SHOW shared_buffers`)).toEqual([{ shared_buffers: '16MB' }]);
  });

  it('a webhook request signed for the seed is accepted by a server found through the announcement', async () => {
    // Guards the announcement's ports: they must be the server's real ones, not the 0 it was asked for.
    const body = JSON.stringify([{ messageId: 'announced', type: 'track', event: 'Found' }]);
    const response = await fetch(`${server.webhookBase}/materialize/segment/segment_source`, { method: 'POST', body, headers: { 'x-signature': hmacHex('local-development-secret', body) } });
    expect(response.status).toBe(200);
  });

  it('SIGTERM stops it (exit 0) and removes its announcement', async () => {
    server.child.kill('SIGTERM');
    expect(await exited(server.child)).toBe(0);
    expect(existsSync(memoryServerPath(path.join(project, '.materialize/data')))).toBe(false);
  });
});

describe('a server on a data directory whose lock names a pid that now belongs to another program (after a restart)', () => {
  // One server process for both tests below (a start is ~2.5 s): the first checks how it started,
  // the second stops it with SIGTERM.
  let dataDir: string;
  let server: ServerProcess;
  beforeAll(async () => {
    dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'segmat-stale-')), 'data');
    // This test's own pid is alive, but it is not the process that wrote the lock.
    writeFileSync(lockPath(dataDir), JSON.stringify({ pid: process.pid, host: '127.0.0.1', pgPort: 1, httpPort: 2, startedAt: '2026-01-01T00:00:00.000Z', command: 'local.ts', processStart: 'another-boot:12345' }));
    server = await startServerProcess(['--data-dir', dataDir, '--shared-buffers', '24MB']);
  }, 60_000);
  afterAll(async () => {
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGTERM');
      await exited(server.child);
    }
    if (dataDir) rmSync(path.dirname(dataDir), { recursive: true, force: true });
  });

  it('the lock is stale: the server starts, and the lock now names it', () => {
    expect(JSON.parse(readFileSync(lockPath(dataDir), 'utf8'))).toMatchObject({ pid: server.child.pid });
  });

  it('SIGTERM during keep-alive traffic: every request is answered (200, or 503 while draining), none reset; lock released, stopped line printed', async () => {
    // The flag wins over the environment's size.
    expect(await query(server.pgUrl, `SHOW shared_buffers`)).toEqual([{ shared_buffers: '24MB' }]);
    await query(server.pgUrl, `CREATE SOURCE hits FROM WEBHOOK BODY FORMAT JSON`);
    const url = `${server.webhookBase}/materialize/public/hits`;
    const outcomes = new Map<string, number>();
    const count = (what: string) => outcomes.set(what, (outcomes.get(what) ?? 0) + 1);
    let stop = false;
    let sent = 0;
    // fetch keeps connections alive between requests: the case that used to end in ECONNRESET.
    const worker = async () => {
      while (!stop) {
        sent++;
        try {
          const response = await fetch(url, { method: 'POST', body: JSON.stringify({ n: sent }) });
          await response.text();
          count(String(response.status));
        } catch (error) {
          const code = ((error as Error & { cause?: { code?: string } }).cause?.code ?? (error as Error).message) as string;
          count(code);
          // A new connection refused after the server stopped listening is expected; anything else is not.
          if (code === 'ECONNREFUSED') return;
        }
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    while ((outcomes.get('200') ?? 0) < 200) await new Promise((resolve) => setTimeout(resolve, 5));
    server.child.kill('SIGTERM');
    const code = await exited(server.child);
    stop = true;
    await Promise.all(workers);

    expect(code).toBe(0);
    expect(server.output()).toMatch(/SIGTERM: stopping…[\s\S]*stopped; \d+ webhook requests accepted/);
    expect(existsSync(lockPath(dataDir))).toBe(false);
    const unexpected = [...outcomes.keys()].filter((outcome) => !['200', '503', 'ECONNREFUSED'].includes(outcome));
    expect(unexpected.map((outcome) => `${outcome} ×${outcomes.get(outcome)}`)).toEqual([]);
  }, 60_000);
});

it('a lock held by a process that has not started listening names it and how to clear it', async () => {
  const dataDir = path.join(temporaryDirectory('segmat-starting-'), 'data');
  writeFileSync(lockPath(dataDir), JSON.stringify({ pid: process.pid, host: '', pgPort: 0, httpPort: 0, startedAt: '2026-11-23T10:00:00.000Z', command: 'models-deploy.ts', processStart: processIdentity(process.pid) }));
  const child = spawnTracked(await serverArgs('--data-dir', dataDir, '--pg-port', '0', '--http-port', '0'));
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  expect(await exited(child)).toBe(1);
  expect(stderr).toContain(`error: another process (models-deploy.ts, pid ${process.pid}, since 2026-11-23T10:00:00.000Z) is using ${dataDir} and has not started listening yet`);
  expect(stderr).toContain(`remove ${lockPath(dataDir)}`);
  expect(stderr).not.toMatch(/postgres:\/\/:0|internal error/);
}, 30_000);
