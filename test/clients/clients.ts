/**
 * Real clients against the local server: psql, Python's psycopg2 and psycopg 3, PgJDBC, spawned
 * as child processes (Debian's packages, installed by .ci/run). A client that is not installed
 * here skips its tests and says which package would bring it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian's python3, where python3-psycopg2 and python3-psycopg install (a pyenv shim may hide them). */
export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
/** Debian's libpgjava (libpostgresql-jdbc-java). */
export const PGJDBC_JAR = '/usr/share/java/postgresql.jar';

function runs(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore', timeout: 10_000 });
  return result.status === 0;
}

/** Why a client cannot run here (the package that brings it), or null when it can. */
export const missing = {
  psql: (): string | null => (runs('psql', ['--version']) ? null : 'psql is not installed (Debian: postgresql-client)'),
  psycopg2: (): string | null => (runs(PYTHON, ['-c', 'import psycopg2']) ? null : 'psycopg2 is not installed (Debian: python3-psycopg2)'),
  psycopg: (): string | null => (runs(PYTHON, ['-c', 'import psycopg']) ? null : 'psycopg 3 is not installed (Debian: python3-psycopg)'),
  jdbc: (): string | null => {
    if (!runs('java', ['-version'])) return 'java is not installed (Debian: default-jre-headless)';
    return existsSync(PGJDBC_JAR) ? null : `PgJDBC is not installed at ${PGJDBC_JAR} (Debian: libpgjava)`;
  },
};

/** Says once, on stderr, why a client's tests are skipped. */
export function reportSkip(client: string, reason: string | null): boolean {
  if (reason) process.stderr.write(`skipping the ${client} tests: ${reason}\n`);
  return reason !== null;
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a client to its end (killed after `timeoutMs`), with `input` on its stdin. */
export function run(command: string, args: string[], options: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, PGCONNECT_TIMEOUT: '5', ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} did not finish within ${options.timeoutMs ?? 15_000} ms\nstdout: ${stdout.slice(-2000)}\nstderr: ${stderr.slice(-2000)}`));
    }, options.timeoutMs ?? 15_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** psql with its startup file ignored, stopping at the first error unless told to go on. */
export function psql(url: string, args: string[], options: { input?: string; timeoutMs?: number; goOnAfterErrors?: boolean } = {}): Promise<Run> {
  return run('psql', [url, '-X', ...(options.goOnAfterErrors ? [] : ['-v', 'ON_ERROR_STOP=1']), ...args], options);
}
