/**
 * One server per data directory. Two PGlite instances writing one directory would corrupt it, so the
 * server takes `<data-dir>.lock` (created exclusively) before opening the database. The lock also
 * tells other tools where the running server listens, so the runner can deploy through it.
 */
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';

export interface LockInfo {
  pid: number;
  host: string;
  pgPort: number;
  httpPort: number;
  startedAt: string;
}

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockInfo,
  ) {
    super(
      `another local server (pid ${holder.pid}) is using ${dataDir}: postgres://${holder.host}:${holder.pgPort}, ` +
        `webhooks http://${holder.host}:${holder.httpPort}. Stop it first, or pass --data-dir <other> or --memory.`,
    );
  }
}

export function lockPath(dataDir: string): string {
  return `${path.resolve(dataDir)}.lock`;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The server holding the lock on a data directory, if one is running. */
export function readLock(dataDir: string): LockInfo | null {
  try {
    const info = JSON.parse(readFileSync(lockPath(dataDir), 'utf8')) as LockInfo;
    return isAlive(info.pid) ? info : null;
  } catch {
    return null;
  }
}

export interface DataDirLock {
  /** Records where the server listens, once it does. */
  update(info: Omit<LockInfo, 'pid' | 'startedAt'>): void;
  release(): void;
}

export function acquireLock(dataDir: string): DataDirLock {
  const file = lockPath(dataDir);
  mkdirSync(path.dirname(file), { recursive: true });
  const startedAt = new Date().toISOString();
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, JSON.stringify({ pid: process.pid, host: '', pgPort: 0, httpPort: 0, startedAt } satisfies LockInfo));
      closeSync(fd);
      let released = false;
      return {
        update(info) {
          // Written aside and renamed over: the lock file never disappears, even for a moment.
          const partial = `${file}.${process.pid}.partial`;
          writeFileSync(partial, JSON.stringify({ ...info, pid: process.pid, startedAt } satisfies LockInfo));
          renameSync(partial, file);
        },
        release() {
          if (released) return;
          released = true;
          rmSync(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readLock(dataDir);
      if (holder) throw new DataDirLockedError(dataDir, holder);
      // The process that held it is gone (killed): the lock is stale.
      rmSync(file, { force: true });
    }
  }
  throw new Error(`could not lock ${dataDir}: ${file} keeps reappearing`);
}
