/**
 * `npm run bench -- --markdown <file>`: the figures the bench prints, written as a Markdown page
 * with the machine, the date and the commit they were measured on (docs/benchmarks.md is that
 * page). The bench's lines are recorded as they are printed, under the section that printed them;
 * nothing is reworded, so the page says exactly what the terminal said.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { format } from 'node:util';

export interface BenchSection {
  readonly title: string;
  readonly lines: string[];
  /**
   * The machine's 1-minute load average when the section started: a figure taken while other
   * work ran is slower for that reason, and the page says so beside it.
   */
  readonly loadAtStart?: number;
}

export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly nodeFlags: readonly string[];
}

export interface CommitInfo {
  /** Full hash, or null outside a git checkout. */
  readonly hash: string | null;
  /** Tracked files changed since that commit (the figures may include uncommitted work). */
  readonly dirty: boolean;
}

export interface BenchReport {
  readonly started: Date;
  readonly finished: Date;
  readonly machine: MachineInfo;
  readonly commit: CommitInfo;
  /** The bench's environment variables that were set (BENCH_*, CHROMIUM_PATH). */
  readonly environment: Readonly<Record<string, string>>;
  readonly sections: readonly BenchSection[];
}

/** Records the lines printed while the bench runs, each under the section running at the time. */
export class FigureRecorder {
  readonly sections: BenchSection[] = [];

  /** Lines printed from now on belong to `title`. */
  section(title: string): void {
    this.sections.push({ title, lines: [], loadAtStart: Math.round(os.loadavg()[0]! * 100) / 100 });
  }

  /** Records one printed line (console.log's arguments, formatted as console.log formats them). */
  record(...args: unknown[]): void {
    if (this.sections.length === 0) this.section('Setup');
    const text = stripAnsi(format(...args));
    for (const line of text.split('\n')) if (line.trim()) this.sections.at(-1)!.lines.push(line.trim());
  }

  /** Tees console.log into this recorder; returns the function that restores it. */
  teeConsole(): () => void {
    const original = console.log;
    console.log = (...args: unknown[]) => {
      original(...args);
      this.record(...args);
    };
    return () => {
      console.log = original;
    };
  }
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    os: `${os.type()} ${os.release()} (${os.arch()})`,
    node: process.version,
    nodeFlags: process.execArgv.filter((flag) => flag.startsWith('--') && !flag.startsWith('--import') && !flag.startsWith('--require')),
  };
}

export function commitInfo(cwd: string): CommitInfo {
  try {
    const hash = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return { hash, dirty: status.trim() !== '' };
  } catch {
    return { hash: null, dirty: false };
  }
}

/** The bench's own environment variables, as set for this run. */
export function benchEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of Object.keys(env).sort()) {
    if ((name.startsWith('BENCH_') || name === 'CHROMIUM_PATH') && env[name] !== undefined) picked[name] = env[name]!;
  }
  return picked;
}

/** The Markdown page: where and when the figures were measured, then each section's lines. */
export function renderBenchMarkdown(report: BenchReport): string {
  const { machine, commit } = report;
  const commitText = commit.hash ? `\`${commit.hash.slice(0, 12)}\`${commit.dirty ? ' with uncommitted changes' : ''}` : 'not a git checkout';
  const minutes = (report.finished.getTime() - report.started.getTime()) / 60_000;
  const environment = Object.entries(report.environment);
  const out: string[] = [
    '# Benchmarks',
    '',
    '<!-- Written by `npm run bench -- --markdown docs/benchmarks.md`; run it again rather than editing this page. -->',
    '',
    'The figures `npm run bench` printed, one line each, as printed. Targets are printed beside the figures;',
    'the bench asserts nothing on time (machines are noisy): compare runs on the same machine. How the local',
    "server's ingest figures are measured, and why the bench runs Node with `--single-threaded-gc`: see",
    '[design/measuring-ingest.md](design/measuring-ingest.md) and [design/single-threaded-gc.md](design/single-threaded-gc.md).',
    '',
    '| | |',
    '|---|---|',
    `| Date | ${report.started.toISOString().replace(/\.\d+Z$/, 'Z')} (${minutes.toFixed(1)} min) |`,
    `| Commit | ${commitText} |`,
    `| Machine | ${escapeCell(machine.cpu)}, ${machine.cores} cores, ${machine.memoryGiB} GiB |`,
    `| OS | ${escapeCell(machine.os)} |`,
    `| Node | ${machine.node}${machine.nodeFlags.length ? ` with \`${machine.nodeFlags.join(' ')}\`` : ''} |`,
    `| Environment | ${environment.length ? environment.map(([name, value]) => `\`${name}=${escapeCell(value)}\``).join(', ') : 'defaults (no BENCH_* variable set)'} |`,
  ];
  for (const section of report.sections) {
    if (section.lines.length === 0) continue;
    out.push('', `## ${section.title}`, '');
    if (section.loadAtStart !== undefined) out.push(`Load average at the start: ${section.loadAtStart.toFixed(2)} (${machine.cores} cores).`, '');
    for (const line of section.lines) out.push(`- ${escapeLine(line)}`);
  }
  out.push('');
  return out.join('\n');
}

function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** A printed line as a list item: `<` would start HTML, `*` and `_` emphasis. */
function escapeLine(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/</g, '&lt;').replace(/([*_`])/g, '\\$1');
}
