/**
 * The docs cannot drift from the code:
 * - docs/cli-reference.md is what the commands' own `--help` prints (regenerated and compared);
 * - every `npm run <command>` the docs mention is a package.json script, and every `--flag` exists:
 *   after `npm run <command> --`, in that command's `--help`; elsewhere, in some command's `--help`
 *   (or it is one of the few flags of other programs listed below);
 * - every relative link resolves, to a file and to a heading in it;
 * - every file path the docs name in backticks (`scripts/…`, `test/…`) exists;
 * - every code block marked ```sh runnable runs and exits 0 (keep them fast and offline).
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { helpArguments } from '../helpers/script-bundle.ts';
import { collectHelp, flagsOf, readScripts, REFERENCE_FILE, renderReference, REPO_ROOT, slug, type CommandHelp } from '../../scripts/docs-cli-reference.ts';

const run = promisify(execFile);

/** Flags of programs other than this project's commands, which the docs mention on purpose. */
const OTHER_PROGRAMS_FLAGS = new Map<string, string>([
  ['--single-threaded-gc', 'node (package.json runs the server-hosting commands with it)'],
  ['--no-concurrent-marking', 'node (compared with --single-threaded-gc)'],
  ['--data-binary', 'curl'],
  ['--host-resolver-rules', 'chromium (the browser tests)'],
  ['--noEmit', 'tsc'],
]);

/** README.md and every page under docs/. */
function docFiles(): string[] {
  const files = ['README.md'];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(path.join(REPO_ROOT, dir)).sort()) {
      const relative = path.join(dir, entry);
      if (statSync(path.join(REPO_ROOT, relative)).isDirectory()) walk(relative);
      else if (entry.endsWith('.md')) files.push(relative);
    }
  };
  walk('docs');
  return files;
}

const docs = docFiles().map((file) => ({ file, text: readFileSync(path.join(REPO_ROOT, file), 'utf8') }));

interface CodeBlock {
  readonly file: string;
  readonly info: string;
  readonly body: string;
  readonly line: number;
}

function codeBlocks(file: string, text: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const open = /^(\s*)(```+)(.*)$/.exec(lines[index]!);
    if (!open) continue;
    const body: string[] = [];
    let end = index + 1;
    while (end < lines.length && !lines[end]!.trim().startsWith(open[2]!)) body.push(lines[end++]!);
    blocks.push({ file, info: open[3]!.trim(), body: body.join('\n'), line: index + 1 });
    index = end;
  }
  return blocks;
}

/** The text of code: fenced blocks line by line, and inline code spans. */
function codeTexts(text: string): string[] {
  const texts: string[] = [];
  let prose = text.replace(/^(\s*)(```+)[^\n]*\n([\s\S]*?)^\s*\2\s*$/gm, (_match, _indent, _fence, body: string) => {
    texts.push(...body.split('\n'));
    return '';
  });
  prose = prose.replace(/``([^`]|`[^`])+``|`[^`\n]+`/g, (span) => {
    texts.push(span.replace(/^`+|`+$/g, ''));
    return '';
  });
  return texts;
}

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}

let helps: CommandHelp[];
const scripts = readScripts();

beforeAll(async () => {
  // Each entry point bundled and run by plain node (test/helpers/script-bundle.ts: tsx costs ~1.5 s
  // of CPU per command); node's own flags in package.json's script are kept.
  // Usually read from the cache test/helpers/global-setup.ts filled before the workers started.
  helps = await collectHelp({ cache: true, nodeArguments: helpArguments });
}, 240_000);

describe('the CLI reference', () => {
  it(`${REFERENCE_FILE} is what the commands' --help prints (else: npm run docs:cli)`, () => {
    const current = readFileSync(path.join(REPO_ROOT, REFERENCE_FILE), 'utf8');
    expect(current, `${REFERENCE_FILE} is out of date: run npm run docs:cli and commit it`).toBe(renderReference(helps, scripts));
  });

  it('covers every command, and every command has --help', () => {
    expect(helps.map((help) => help.name)).toEqual(Object.keys(scripts).filter((name) => !['test', 'typecheck'].includes(name)));
    for (const help of helps) expect(flagsOf(help.help), help.name).toContain('--help');
  });
});

describe('what the docs mention exists', () => {
  it('every npm run <command> is a package.json script', () => {
    const problems: string[] = [];
    for (const { file, text } of docs) {
      for (const match of text.matchAll(/npm run ([\w:.-]+)/g)) {
        const name = match[1]!.replace(/[.:]+$/, '');
        if (!(name in scripts)) problems.push(`${file}:${lineOf(text, match.index)}: npm run ${name} is not a package.json script`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("every flag after `npm run <command> --` is in that command's --help", () => {
    const flagsByCommand = new Map(helps.map((help) => [help.name, flagsOf(help.help)]));
    const problems: string[] = [];
    let checked = 0;
    for (const { file, text } of docs) {
      for (const code of codeTexts(text)) {
        for (const match of code.matchAll(/npm run ([\w:-]+)(?: -s)? -- ([^#;|&>]*)/g)) {
          const flags = flagsByCommand.get(match[1]!);
          if (!flags) continue;
          for (const flag of match[2]!.matchAll(/(?<![\w-])(--?[A-Za-z][\w-]*)/g)) {
            checked++;
            if (!flags.has(flag[1]!)) problems.push(`${file}: \`${match[0].trim()}\`: ${match[1]} has no ${flag[1]}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(20);
  });

  it("every --flag the docs name is some command's (or one of the listed other programs')", () => {
    const known = new Set<string>(OTHER_PROGRAMS_FLAGS.keys());
    for (const help of helps) for (const flag of flagsOf(help.help)) known.add(flag);
    const problems: string[] = [];
    for (const { file, text } of docs) {
      for (const match of text.matchAll(/(?<![\w-])(--[A-Za-z][\w-]*)/g)) {
        if (!known.has(match[1]!)) problems.push(`${file}:${lineOf(text, match.index)}: ${match[1]} is no command's flag`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('every relative link resolves, to the file and to the heading', () => {
    const problems: string[] = [];
    for (const { file, text } of docs) {
      const prose = text.replace(/^(\s*)(```+)[^\n]*\n[\s\S]*?^\s*\2\s*$/gm, '');
      for (const match of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        const target = match[1]!;
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
        const [pathPart, anchor] = target.split('#') as [string, string | undefined];
        const resolved = pathPart ? path.join(path.dirname(path.join(REPO_ROOT, file)), decodeURIComponent(pathPart)) : path.join(REPO_ROOT, file);
        if (!existsSync(resolved)) {
          problems.push(`${file}: link ${target}: no such file`);
          continue;
        }
        if (anchor && resolved.endsWith('.md') && !headingSlugs(readFileSync(resolved, 'utf8')).has(anchor)) {
          problems.push(`${file}: link ${target}: no heading #${anchor} in ${path.relative(REPO_ROOT, resolved)}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('every repository path named in backticks exists', () => {
    const problems: string[] = [];
    let checked = 0;
    for (const { file, text } of docs) {
      for (const code of codeTexts(text)) {
        const named = /^((?:scripts|functions|bench|test|console|models|macros|tests|docs)\/[\w./-]*[\w/])$/.exec(code.trim());
        if (!named || named[1]!.includes('*') || /<|>/.test(named[1]!)) continue;
        checked++;
        if (!existsSync(path.join(REPO_ROOT, named[1]!))) problems.push(`${file}: \`${named[1]}\` does not exist`);
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(10);
  });
});

describe('runnable code blocks', () => {
  const runnable = docs.flatMap(({ file, text }) => codeBlocks(file, text)).filter((block) => /^(sh|bash)\s+runnable\b/.test(block.info));

  it('there are some', () => {
    expect(runnable.length).toBeGreaterThan(0);
  });

  for (const block of runnable) {
    it(`${block.file}:${block.line} runs`, async () => {
      const result = await run('bash', ['-euo', 'pipefail', '-c', block.body], { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 }).catch(
        (error: { stdout?: string; stderr?: string; message: string }) => {
          throw new Error(`${block.file}:${block.line} failed: ${error.message}\n${error.stdout ?? ''}\n${error.stderr ?? ''}`);
        },
      );
      expect(result.stdout.length + result.stderr.length).toBeGreaterThan(0);
    }, 60_000);
  }
});

/** GitHub's anchors of a page's headings (duplicates get -1, -2…). */
function headingSlugs(text: string): Set<string> {
  const slugs = new Set<string>();
  const prose = text.replace(/^(\s*)(```+)[^\n]*\n[\s\S]*?^\s*\2\s*$/gm, '');
  for (const match of prose.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(match[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1'));
    let candidate = base;
    for (let n = 1; slugs.has(candidate); n++) candidate = `${base}-${n}`;
    slugs.add(candidate);
  }
  return slugs;
}
