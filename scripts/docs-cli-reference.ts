/**
 * npm run docs:cli — writes docs/cli-reference.md from each command's own `--help`, so the
 * reference cannot say something the commands do not. test/docs/docs.test.ts regenerates it and
 * fails when the file differs (a flag added, renamed or reworded without `npm run docs:cli`).
 *
 * The commands are the package.json scripts run by tsx (every `scripts/*.ts` entry point and
 * `bench/run.ts`); each is started with `--help` as npm would start it. Two things keep the page
 * the same on every machine: commander is given a very wide terminal, so it never wraps (its
 * wrapping depends on the text, and a default like `--project-dir`'s is this checkout's absolute
 * path), and that path is then written as `.`.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Command } from 'commander';

const run = promisify(execFile);

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REFERENCE_FILE = 'docs/cli-reference.md';

/** Makes commander believe it writes to a 10,000-column terminal: one line per option. */
const WIDE_TERMINAL =
  "--import=data:text/javascript,Object.defineProperty(process.stdout,'isTTY',{value:true});Object.defineProperty(process.stdout,'columns',{value:10000})";

export interface CommandHelp {
  /** The npm script's name, e.g. `models:deploy`. */
  readonly name: string;
  /** What npm runs, e.g. `tsx scripts/models-deploy.ts`. */
  readonly script: string;
  /** Its `--help`, with this checkout's path written as `.`. */
  readonly help: string;
}

export interface ParsedHelp {
  readonly usage: string;
  readonly description: string;
  readonly options: readonly { readonly term: string; readonly description: string }[];
  /** What the command prints after its options (environment, notes, examples), as printed. */
  readonly after: string;
}

export function readScripts(root: string = REPO_ROOT): Record<string, string> {
  return (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
}

/** The package.json scripts that are this project's commands: entry points run by tsx. */
export function commandScripts(scripts: Record<string, string>): [string, string][] {
  return Object.entries(scripts).filter(([, command]) => /^tsx\s.*\.ts$/.test(command));
}

export interface CollectHelpOptions {
  readonly root?: string;
  readonly concurrency?: number;
  readonly cache?: boolean;
  /**
   * Node's arguments for what npm would hand tsx (e.g. `['--single-threaded-gc', 'scripts/local.ts']`),
   * when the caller has a cheaper way to run the same entry point (the tests run it bundled:
   * test/helpers/script-bundle.ts). Without it, tsx runs it, as `npm run` does.
   */
  readonly nodeArguments?: (tsxArguments: readonly string[]) => Promise<readonly string[]>;
}

/**
 * Each command's `--help`, in package.json's order, `concurrency` at a time. With `cache`, the
 * answers are kept under node_modules/.cache, keyed by a hash of every file that can change them
 * (scripts/, bench/, functions/, package.json, package-lock.json): starting fourteen tsx
 * processes costs 15–30 s of CPU on a 2-core machine, and the docs test asks on every run.
 */
export async function collectHelp(options: CollectHelpOptions = {}): Promise<CommandHelp[]> {
  const root = options.root ?? REPO_ROOT;
  const commands = commandScripts(readScripts(root));
  const cacheFile = options.cache ? path.join(root, 'node_modules', '.cache', 'segment-materialize', `cli-help-${sourceHash(root)}.json`) : undefined;
  if (cacheFile && existsSync(cacheFile)) return JSON.parse(readFileSync(cacheFile, 'utf8')) as CommandHelp[];
  const results: CommandHelp[] = new Array(commands.length);
  let next = 0;
  const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
  const env = { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined, NODE_OPTIONS: [process.env.NODE_OPTIONS, WIDE_TERMINAL].filter(Boolean).join(' ') };
  async function worker(): Promise<void> {
    while (next < commands.length) {
      const index = next++;
      const [name, script] = commands[index]!;
      const args = script.split(/\s+/).slice(1);
      const [file, argv] = options.nodeArguments ? [process.execPath, await options.nodeArguments(args)] : [tsx, args];
      const { stdout } = await run(file, [...argv, '--help'], { cwd: root, env, timeout: 120_000, maxBuffer: 4 * 1024 * 1024 }).catch((error: { stderr?: string; message: string }) => {
        throw new Error(`npm run ${name} -- --help failed: ${error.message}\n${error.stderr ?? ''}`);
      });
      results[index] = { name, script, help: normalise(stdout, root) };
    }
  }
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 2, commands.length) }, worker));
  if (cacheFile) {
    const dir = path.dirname(cacheFile);
    mkdirSync(dir, { recursive: true });
    // One answer per state of the sources: the older ones will not be asked for again.
    for (const old of readdirSync(dir)) if (/^cli-help-[0-9a-f]+\.json$/.test(old)) rmSync(path.join(dir, old), { force: true });
    writeFileSync(cacheFile, JSON.stringify(results));
  }
  return results;
}

/** A hash of every file a command's `--help` can depend on. */
export function sourceHash(root: string): string {
  const hash = createHash('sha256');
  const files: string[] = ['package.json', 'package-lock.json'];
  for (const dir of ['scripts', 'bench', 'functions']) {
    for (const entry of readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })) {
      if (!entry.split(path.sep).includes('node_modules')) files.push(path.join(dir, entry));
    }
  }
  for (const file of files.sort()) {
    const full = path.join(root, file);
    if (!statSync(full).isFile()) continue;
    hash.update(file).update('\0').update(readFileSync(full)).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

function normalise(text: string, root: string): string {
  return text
    .split(root)
    .join('.')
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .trim();
}

/** Splits commander's (unwrapped) help into usage, description, options and the text after them. */
export function parseHelp(help: string): ParsedHelp {
  const lines = help.split('\n');
  const usage = (lines[0] ?? '').replace(/^Usage:\s*/, '');
  let index = 1;
  const description: string[] = [];
  while (index < lines.length && lines[index] !== 'Options:') description.push(lines[index++]!);
  const options: { term: string; description: string }[] = [];
  if (lines[index] === 'Options:') index++;
  for (; index < lines.length && lines[index]!.startsWith('  '); index++) {
    const match = /^ {2}(\S.*?)(?: {2,}(.*))?$/.exec(lines[index]!);
    if (match) options.push({ term: match[1]!.trim(), description: (match[2] ?? '').trim() });
  }
  return { usage, description: description.join('\n').trim(), options, after: lines.slice(index).join('\n').trim() };
}

/** Every flag a command's help names: long and short forms (`--target`, `-t`, `--no-console`). */
export function flagsOf(help: string): Set<string> {
  const flags = new Set<string>();
  for (const option of parseHelp(help).options) {
    for (const part of option.term.split(/,\s*/)) {
      const flag = /^(--?[A-Za-z][\w-]*)/.exec(part.trim());
      if (flag) flags.add(flag[1]!);
    }
  }
  return flags;
}

/** The markdown page. */
export function renderReference(helps: readonly CommandHelp[], scripts: Record<string, string>): string {
  const out: string[] = [
    '# CLI reference',
    '',
    '<!-- Generated by `npm run docs:cli` from each command\'s own --help. Do not edit: test/docs/docs.test.ts fails when this page and the commands differ. -->',
    '',
    'Every command is an npm script. Options go after `--`: `npm run models:deploy -- --dry-run`.',
    "What follows is each command's own `--help` (the same text `npm run <command> -- --help` prints),",
    'with `.` for the folder you run it from.',
    '',
    '| Command | What it does |',
    '|---|---|',
  ];
  for (const help of helps) {
    const parsed = parseHelp(help.help);
    out.push(`| [\`${help.name}\`](#${slug(help.name)}) | ${cell(firstSentence(parsed.description))} |`);
  }
  const others = Object.entries(scripts).filter(([name]) => !helps.some((help) => help.name === name));
  if (others.length) {
    out.push('', 'Also in package.json, not commands of this project: ' + others.map(([name, command]) => `\`${name === 'test' ? 'npm test' : `npm run ${name}`}\` (\`${command}\`)`).join(', ') + '.');
  }
  for (const help of helps) {
    const parsed = parseHelp(help.help);
    out.push('', `## ${help.name}`, '', `\`npm run ${help.name} -- [options]\` runs \`${help.script}\`.`, '', prose(parsed.description));
    if (parsed.options.length) {
      out.push('', '| Option | Description |', '|---|---|');
      for (const option of parsed.options) out.push(`| \`${option.term.replace(/\|/g, '\\|')}\` | ${cell(option.description)} |`);
    }
    if (parsed.after) out.push('', '```text', parsed.after, '```');
  }
  out.push('');
  return out.join('\n');
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces as `-`. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function firstSentence(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const end = flat.search(/(?<!\be\.g|\bi\.e)\.(\s|$)/);
  return end === -1 ? flat : flat.slice(0, end + 1);
}

/** Help text as Markdown prose: `<` would start HTML, `*` emphasis. */
function prose(text: string): string {
  return text.replace(/</g, '&lt;').replace(/\*/g, '\\*');
}

/** A table cell: prose, and `|` would start a new cell. */
function cell(text: string): string {
  return prose(text).replace(/\|/g, '\\|');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const program = new Command('docs:cli')
    .description(`Write ${REFERENCE_FILE} from each command's own --help (the package.json scripts run by tsx).`)
    .option('--check', `write nothing; exit 1 when ${REFERENCE_FILE} differs from what the commands print`)
    .addHelpText('after', '\nExamples:\n  npm run docs:cli\n  npm run docs:cli -- --check');
  program.parse();
  const file = path.join(REPO_ROOT, REFERENCE_FILE);
  const page = renderReference(await collectHelp(), readScripts());
  if (program.opts<{ check?: boolean }>().check) {
    let current = '';
    try {
      current = readFileSync(file, 'utf8');
    } catch {
      // missing: differs
    }
    if (current !== page) {
      console.error(`${REFERENCE_FILE} is out of date: run npm run docs:cli`);
      process.exitCode = 1;
    } else {
      console.log(`${REFERENCE_FILE} is current`);
    }
  } else {
    writeFileSync(file, page);
    console.log(`wrote ${REFERENCE_FILE}`);
  }
}
