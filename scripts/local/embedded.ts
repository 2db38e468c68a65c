/**
 * The local server as the rest of the project uses it: start one inside a command (the runner's
 * embedded target, unit tests' scratch server), or find the one that holds a data directory. The
 * runner imports this file and nothing else of scripts/local/.
 *
 * The server itself (PGlite, the wire and HTTP servers: ~120 modules) is loaded when a command
 * first starts one, not when the command loads: most commands never do (a deploy to a running
 * server, function:deploy, models:test against a target's server), and loading it cost each of
 * them ~0.3 s of CPU before its first line ran.
 */
import type { LocalServer, LocalServerOptions } from './local-server.ts';

export type { LocalServer, LocalServerOptions } from './local-server.ts';
export { LOCAL_DATABASE, LOCAL_USER } from './engine/database-identity.ts';
export { DataDirLockedError, describeHolder, readLock, readMemoryServer } from './data-dir-lock.ts';

/** Starts a local server in this process (local-server.ts startLocalServer), loading it first. */
export async function startLocalServer(options: LocalServerOptions = {}): Promise<LocalServer> {
  const { startLocalServer: start } = await import('./local-server.ts');
  return start(options);
}
