/** Starting the console from a command (local, dev): a busy port is the user's to fix, not a crash. */
import pc from 'picocolors';
import type { LocalServer } from '../local/local-server.ts';
import { startConsole, type ConsoleOptions, type RunningConsole } from '../console/start-console.ts';

/** The running console, or undefined after printing why not (exit code 1). Prints its URL. */
export async function startConsoleForCommand(server: LocalServer, options: Omit<ConsoleOptions, 'log'>): Promise<RunningConsole | undefined> {
  try {
    const running = await startConsole(server, { ...options, log: (line) => console.log(pc.dim(line)) });
    console.log(`  console   ${running.url}`);
    return running;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      console.error(pc.red(`error: ${server.host}:${options.port} is already in use, so the console cannot listen there. Stop what uses it, pass --console-port <port> (0 picks a free one), or --no-console.`));
      process.exitCode = 1;
      return undefined;
    }
    throw error;
  }
}
