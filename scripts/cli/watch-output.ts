/** What models:watch and dev print for each cycle: what changed, each model deployed, errors, timing. */
import pc from 'picocolors';
import type { ProjectCompiler } from '../runner/compile.ts';
import type { Deployer } from '../runner/deploy/deployer.ts';
import { ProjectWatcher, type WatchCycle } from '../runner/watch/project-watcher.ts';
import { formatMs, type ProjectOptions } from './common.ts';
import { formatOutcome, formatResult, summarize } from './deploy-output.ts';

export function formatCycleStart(changed: readonly string[]): string | undefined {
  if (changed.length === 0) return undefined;
  const shown = changed.length > 3 ? `${changed.slice(0, 3).join(', ')} and ${changed.length - 3} more` : changed.join(', ');
  return pc.cyan(`changed: ${shown}`);
}

export function formatCycle(cycle: WatchCycle): string[] {
  if (cycle.errors) {
    return [
      ...cycle.errors.map((error) => pc.red(`error: ${error.format()}`)),
      pc.yellow(`not deployed (${formatMs(cycle.totalMs)}); the deployed models are as they were — fix the error and save again`),
    ];
  }
  if (cycle.error) return [pc.red(`error: ${cycle.error.message}`), pc.yellow('still watching; the next save retries')];
  const report = cycle.report!;
  const summary = summarize(report);
  if (summary.created + summary.replaced + summary.dropped + summary.failed === 0 && cycle.changed.length) {
    return [pc.dim(`no model changed (compiled in ${formatMs(cycle.compileMs)})`)];
  }
  return formatOutcome(report).map((line) => line.replace(/ in ([\d.]+ ms)/, ` in ${formatMs(cycle.totalMs)} (compile ${formatMs(cycle.compileMs)})`));
}

/** Starts a watcher that prints every cycle; resolves after the first deploy, once watching. */
export async function startWatching(root: string, deployer: Deployer, compiler: ProjectCompiler, options: ProjectOptions): Promise<ProjectWatcher> {
  const watcher = new ProjectWatcher(root, deployer, {
    ...options,
    compiler,
    onCycleStart: (changed) => {
      const line = formatCycleStart(changed);
      if (line) console.log(line);
    },
    onResult: (result) => console.log(formatResult(result)),
    onCycle: (cycle) => {
      for (const line of formatCycle(cycle)) console.log(line);
    },
  });
  await watcher.start();
  console.log(pc.dim('watching models/, macros/ and project.yml — Ctrl-C to stop'));
  return watcher;
}
