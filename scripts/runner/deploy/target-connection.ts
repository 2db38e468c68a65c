/**
 * Reaching a target's database.
 *
 * - `local`: if a local server (`npm run local`, `npm run dev`) holds the target's data directory,
 *   deploy through its wire port; otherwise start the local server in this process on that data
 *   directory (free ports, loopback only) for the length of the deploy.
 * - `materialize`: a Postgres wire connection with TLS as the target's `sslmode` asks.
 */
import type { ResolvedTarget } from '../project-config.ts';
import { readLock } from '../../local/data-dir-lock.ts';
import { LOCAL_DATABASE, LOCAL_USER } from '../../local/engine.ts';
import { startLocalServer, type LocalServer } from '../../local/local-server.ts';
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

async function connectLocal(target: ResolvedTarget, options: ConnectOptions): Promise<TargetConnection> {
  const dataDir = target.dataDir!;
  const running = readLock(dataDir);
  if (running && running.pgPort > 0) {
    return localServerConnection(running.host, running.pgPort, `local server (pid ${running.pid}) at ${running.host}:${running.pgPort}`);
  }
  const server: LocalServer = await startLocalServer({ dataDir, pgPort: 0, httpPort: 0, ...(options.log ? { log: options.log } : {}) });
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
