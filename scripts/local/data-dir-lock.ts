/**
 * One server per data directory. Two PGlite instances writing one directory would corrupt it, so the
 * server takes `<data-dir>.lock` (created exclusively) before opening the database. The lock also
 * tells other tools where the running server listens, so the runner can deploy through it.
 */
import { closeSync, mkdirSync, openSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { processIdentity } from '../shared/process-identity.ts';

export interface LockInfo {
  pid: number;
  host: string;
  pgPort: number;
  httpPort: number;
  startedAt: string;
  /** The command that holds it (local.ts, dev.ts, models-deploy.ts…), for messages. */
  command?: string;
  /** Which process this pid was (boot id and start time): a pid reused after a restart is not it. */
  processStart?: string;
  /** A server that lives only as long as one command (a models:deploy's own): not to deploy through. */
  ephemeral?: boolean;
}

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockInfo,
  ) {
    super(
      holder.pgPort > 0
        ? `another local server (${describeHolder(holder)}) is using ${dataDir}: postgres://${holder.host}:${holder.pgPort}, ` +
            `webhooks http://${holder.host}:${holder.httpPort}. Stop it first, or pass --data-dir <other> or --memory.`
        : `another process (${describeHolder(holder)}) is using ${dataDir} and has not started listening yet (a server starting, or a models:deploy running one inside itself). ` +
            `Wait for it to finish, or pass --data-dir <other> or --memory. If no such process exists, remove ${lockPath(dataDir)}.`,
    );
  }
}

/**
 * The data directory as one path, whatever way it was spelled: symbolic links resolved (PGlite's
 * file system layer cannot open a linked directory, and two spellings must share one lock).
 */
export function canonicalDataDir(dataDir: string): string {
  const absolute = path.resolve(dataDir);
  try {
    return realpathSync(absolute);
  } catch {
    // Not there yet: resolve the parent, which usually is.
    try {
      return path.join(realpathSync(path.dirname(absolute)), path.basename(absolute));
    } catch {
      return absolute;
    }
  }
}

export function lockPath(dataDir: string): string {
  return `${canonicalDataDir(dataDir)}.lock`;
}

export function describeHolder(holder: LockInfo): string {
  return `${holder.command ? `${holder.command}, ` : ''}pid ${holder.pid}, since ${holder.startedAt}`;
}

/** Whether the process that wrote `info` is still running (not just some process with its pid). */
function isAlive(info: LockInfo): boolean {
  try {
    process.kill(info.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (info.processStart === undefined) return true;
  const now = processIdentity(info.pid);
  return now === undefined || now === info.processStart;
}

function readInfo(file: string): LockInfo | null {
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
    return isAlive(info) ? info : null;
  } catch {
    return null;
  }
}

/** The server holding the lock on a data directory, if one is running. */
export function readLock(dataDir: string): LockInfo | null {
  return readInfo(lockPath(dataDir));
}

function currentCommand(): string {
  return path.basename(process.argv[1] ?? 'node');
}

/**
 * `npm run local -- --memory` (and dev) has no data directory to lock, so it announces itself
 * beside the project's: `<data-dir>.memory-server.json`. A deploy to the local target finds it
 * there instead of starting a server of its own on disk (which the running one would not see).
 */
export function memoryServerPath(dataDir: string): string {
  return `${canonicalDataDir(dataDir)}.memory-server.json`;
}

export function announceMemoryServer(dataDir: string, info: Omit<LockInfo, 'pid' | 'startedAt' | 'command' | 'processStart'>): { release(): void } {
  const file = memoryServerPath(dataDir);
  mkdirSync(path.dirname(file), { recursive: true });
  const mine: LockInfo = { ...info, pid: process.pid, startedAt: new Date().toISOString(), command: currentCommand(), ...optionalIdentity() };
  const partial = `${file}.${process.pid}.partial`;
  writeFileSync(partial, JSON.stringify(mine));
  renameSync(partial, file);
  return {
    release() {
      // Only ours: a newer memory server may have announced itself since.
      if (readInfo(file)?.pid === process.pid) rmSync(file, { force: true });
    },
  };
}

export function readMemoryServer(dataDir: string): LockInfo | null {
  return readInfo(memoryServerPath(dataDir));
}

function optionalIdentity(): { processStart?: string } {
  const identity = processIdentity(process.pid);
  return identity === undefined ? {} : { processStart: identity };
}

export interface DataDirLock {
  /** Records where the server listens, once it does. */
  update(info: Omit<LockInfo, 'pid' | 'startedAt'>): void;
  release(): void;
}

export function acquireLock(dataDir: string, options: { ephemeral?: boolean } = {}): DataDirLock {
  const file = lockPath(dataDir);
  mkdirSync(path.dirname(file), { recursive: true });
  const startedAt = new Date().toISOString();
  const own = { pid: process.pid, startedAt, command: currentCommand(), ...optionalIdentity(), ...(options.ephemeral ? { ephemeral: true } : {}) };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, JSON.stringify({ ...own, host: '', pgPort: 0, httpPort: 0 } satisfies LockInfo));
      closeSync(fd);
      let released = false;
      return {
        update(info) {
          // Written aside and renamed over: the lock file never disappears, even for a moment.
          const partial = `${file}.${process.pid}.partial`;
          writeFileSync(partial, JSON.stringify({ ...info, ...own } satisfies LockInfo));
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
      // The process that held it is gone (killed, or the machine restarted and its pid now
      // belongs to another program): the lock is stale.
      rmSync(file, { force: true });
    }
  }
  throw new Error(`could not lock ${dataDir}: ${file} keeps reappearing`);
}
