/**
 * What every CLI entry point shares: the common flags, error printing and exit codes. Entry
 * points stay thin: parse flags, call the runner, print.
 */
import path from 'node:path';
import { Command, Option } from 'commander';
import pc from 'picocolors';
import { ProjectError, ProjectErrors } from '../runner/errors.ts';

export interface ProjectOptions {
  readonly projectDir: string;
  readonly target?: string;
  readonly vars?: string;
  readonly select?: string[];
  readonly exclude?: string[];
}

/** Adds --project-dir, --target and --vars. */
export function withProjectOptions(command: Command): Command {
  return command
    .option('--project-dir <dir>', 'project root (the folder with project.yml)', process.cwd())
    .option('-t, --target <name>', "target from project.yml (default: project.yml's default_target, else local)")
    .option('--vars <yaml>', `override vars, as a YAML or JSON object, e.g. '{"kafka_enabled": true}'`);
}

/** Adds --select and --exclude (repeatable; each may hold several space-separated selectors). */
export function withSelectionOptions(command: Command): Command {
  return command
    .addOption(new Option('-s, --select <selectors...>', 'models to include: name, +name, name+, tag:x, path:models/dir, kind:view'))
    .addOption(new Option('-x, --exclude <selectors...>', 'models to leave out, same syntax as --select'));
}

export function projectRoot(options: ProjectOptions): string {
  return path.resolve(options.projectDir);
}

/** Runs `main`, printing project errors as `file:line:col: message` with their fix, exit code 1. */
export async function runCli(main: () => Promise<void> | void): Promise<void> {
  try {
    await main();
  } catch (error) {
    process.exitCode = 1;
    if (error instanceof ProjectErrors) {
      console.error(pc.red(`${error.errors.length} error${error.errors.length === 1 ? '' : 's'}:`));
      for (const each of error.errors) console.error(formatError(each));
    } else if (error instanceof ProjectError) {
      console.error(formatError(error));
    } else {
      console.error(pc.red('internal error:'), error instanceof Error ? (error.stack ?? error.message) : String(error));
    }
  }
}

function formatError(error: ProjectError): string {
  const [first, ...rest] = error.format().split('\n');
  return [pc.red(`error: ${first}`), ...rest.map((line) => pc.dim(line))].join('\n');
}

export function formatMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}
