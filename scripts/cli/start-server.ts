/** Starting the local server from a command (local, dev): a lock held by another server is a user error, not a crash. */
import path from 'node:path';
import pc from 'picocolors';
import { announceMemoryServer, DataDirLockedError } from '../local/data-dir-lock.ts';
import { PortInUseError, startLocalServer, type LocalServer, type LocalServerOptions } from '../local/local-server.ts';
import { formatMs } from './common.ts';

/** The started server, or undefined after printing why not (exit code 1). Prints the ready line. */
/**
 * `announceFor`: with `memory`, the project's data directory, beside which the server announces
 * itself so that models:deploy to the local target finds it (data-dir-lock.ts).
 */
export async function startServerForCommand(options: LocalServerOptions & { announceFor?: string }): Promise<LocalServer | undefined> {
  const started = performance.now();
  let server: LocalServer;
  try {
    server = await startLocalServer({
      ...options,
      log: (line) => console.log(pc.dim(line)),
      // Nothing can be served without it: say why and stop, rather than answer every request with an error.
      onDatabaseLost: (reason) => {
        console.error(pc.red(`error: ${reason.message}`));
        process.exit(1);
      },
    });
  } catch (error) {
    if (error instanceof DataDirLockedError || error instanceof PortInUseError) {
      console.error(pc.red(`error: ${error.message}`));
      process.exitCode = 1;
      return undefined;
    }
    throw error;
  }
  if (options.memory && options.announceFor) {
    const announcement = announceMemoryServer(options.announceFor, { host: server.host, pgPort: server.pgPort, httpPort: server.httpPort });
    const stop = server.stop.bind(server);
    server = { ...server, stop: () => stop().finally(() => announcement.release()) };
  }
  const where = server.dataDir ? path.relative(process.cwd(), server.dataDir) || '.' : 'memory (nothing is kept)';
  console.log(`${pc.green('local Materialize ready')} in ${formatMs(performance.now() - started)} — data: ${where}`);
  console.log(`  SQL       psql "${server.pgUrl}"`);
  return server;
}
