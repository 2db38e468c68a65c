/**
 * Reaching a target's database.
 *
 * - `local`: if a local server (`npm run local`, `npm run dev`) holds the target's data directory,
 *   deploy through its wire port; otherwise start the local server in this process on that data
 *   directory (free ports, loopback only) for the length of the deploy.
 * - `materialize`: a Postgres wire connection with TLS as the target's `sslmode` asks.
 */
import type { ResolvedTarget } from '../project-config.ts';
import { DataDirLockedError, describeHolder, LOCAL_DATABASE, LOCAL_USER, readLock, readMemoryServer, startLocalServer, type LocalServer } from '../../local/embedded.ts';
import type { SessionConfig } from './sql-session.ts';

export interface TargetConnection {
  readonly config: SessionConfig;
  /** For people: where the deploy goes, without credentials. */
  readonly description: string;
  /** Stops what this connection started (the embedded server), if anything. */
  close(): Promise<void>;
}

export interface ConnectOptions {
  readonly log?: (line: string) => void;
  /** How long to wait for another process that holds the local data directory (default 60 s). */
  readonly waitForDataDirMs?: number;
  /** What to do when no local server runs for the data directory (default: start one inside the command). */
  readonly whenNoLocalServer?: () => never;
}

export async function connectTarget(target: ResolvedTarget, options: ConnectOptions = {}): Promise<TargetConnection> {
  if (target.type === 'local') return connectLocal(target, options);
  const connection = target.connection!;
  const ssl =
    connection.sslmode === 'disable'
      ? false
      : connection.sslmode === 'require'
        ? // libpq's `require`: encrypted, certificate not verified.
          { rejectUnauthorized: false }
        : { rejectUnauthorized: true };
  const config: SessionConfig = connection.url
    ? { connectionString: connection.url, ssl, ...(connection.password ? { password: connection.password } : {}) }
    : {
        host: connection.host,
        port: connection.port,
        ...(connection.user ? { user: connection.user } : {}),
        ...(connection.password ? { password: connection.password } : {}),
        database: connection.database,
        ssl,
      };
  const where = connection.url ? redactUrl(connection.url) : `${connection.host}:${connection.port}/${connection.database}`;
  return { config, description: `${target.name} (${where}, sslmode=${connection.sslmode})`, close: async () => {} };
}

/**
 * In order: the server project.yml names (host/port); a server holding the data directory
 * (npm run local / dev); an in-memory one announced for it (npm run local -- --memory); else
 * one started in this process on the data directory. A process still starting up on the data
 * directory, or a models:deploy running its own server there, is waited for.
 */
async function connectLocal(target: ResolvedTarget, options: ConnectOptions): Promise<TargetConnection> {
  if (target.localServer) {
    const { host, port } = target.localServer;
    return localServerConnection(host, port, `local server at ${host}:${port} (target ${target.name} in project.yml)`);
  }
  const dataDir = target.dataDir!;
  const deadline = performance.now() + (options.waitForDataDirMs ?? 60_000);
  let told = false;
  for (;;) {
    const running = readLock(dataDir);
    if (running && running.pgPort > 0 && !running.ephemeral) {
      return localServerConnection(running.host, running.pgPort, `local server (${describeHolder(running)}) at ${running.host}:${running.pgPort}`);
    }
    if (!running) break;
    // Starting up, or another deploy's own server that stops when that deploy ends: wait.
    if (performance.now() > deadline) throw new DataDirLockedError(dataDir, running);
    if (!told) {
      told = true;
      options.log?.(`waiting for ${describeHolder(running)}, which is using ${dataDir}…`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const inMemory = readMemoryServer(dataDir);
  if (inMemory) {
    return localServerConnection(inMemory.host, inMemory.pgPort, `in-memory local server (${describeHolder(inMemory)}) at ${inMemory.host}:${inMemory.pgPort}`);
  }
  options.whenNoLocalServer?.();
  options.log?.(`no local server is running for ${dataDir}: starting one inside this command (npm run local keeps one running)`);
  let server: LocalServer;
  try {
    server = await startLocalServer({ dataDir, pgPort: 0, httpPort: 0, ephemeral: true, ...(options.log ? { log: options.log } : {}) });
  } catch (error) {
    if (error instanceof DataDirLockedError) return connectLocal(target, options); // lost a race to a starting server
    throw error;
  }
  return { ...localServerConnection(server.host, server.pgPort, `embedded local server on ${dataDir}`), close: () => server.stop() };
}

/** A connection to a local server listening on host:port, which this connection does not own. */
export function localServerConnection(host: string, port: number, description: string): TargetConnection {
  return { config: { host, port, user: LOCAL_USER, database: LOCAL_DATABASE }, description, close: async () => {} };
}

/** postgres://user:secret@host/db → postgres://user@host/db */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '(the URL in the target’s url_env, not a valid URL)';
  }
}
