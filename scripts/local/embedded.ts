/**
 * The local server as the rest of the project uses it: start one inside a command (the runner's
 * embedded target, unit tests' scratch server), or find the one that holds a data directory. The
 * runner imports this file and nothing else of scripts/local/.
 */
export { startLocalServer, type LocalServer, type LocalServerOptions } from './local-server.ts';
export { LOCAL_DATABASE, LOCAL_USER } from './engine/engine.ts';
export { DataDirLockedError, describeHolder, readLock, readMemoryServer } from './data-dir-lock.ts';
