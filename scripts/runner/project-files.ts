/**
 * Finding and reading the project's templates: models/**.sql and macros/**.sql. A model's name is
 * its file stem, unique across folders; a macro's name is its path under macros/ without `.sql`.
 */
import { closeSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { ProjectError, throwIfAny } from './errors.ts';

export const MODELS_DIR = 'models';
export const MACROS_DIR = 'macros';
/** Singular data tests: one SELECT of failing rows per file, named by file stem like models. */
export const TESTS_DIR = 'tests';

export type TemplateRole = 'model' | 'macro' | 'test';
const ROLE_DIR: Record<TemplateRole, string> = { model: MODELS_DIR, macro: MACROS_DIR, test: TESTS_DIR };
const TEMPLATE_EXTENSION = '.sql';
const MODEL_NAME = /^[a-z_][a-z0-9_]*$/;

export interface TemplateFile {
  /** Model name (file stem) or macro name (path under macros/ without extension). */
  readonly name: string;
  /** Path relative to the project root, `/`-separated: what errors print. */
  readonly path: string;
  /** Folder relative to models/ (or macros/), `/`-separated, '' at the top. */
  readonly folder: string;
  readonly text: string;
}

/**
 * Every template under one of the project's folders, as compile, deploy and watch all read it.
 *
 * Symbolic links are followed, to folders and to files, and every real folder is read once: the
 * plain tree first, then the links in path order, so a folder is known by its own path before any
 * link to it. A link to a folder already read (a loop such as `models/a/loop -> ..`, or a second
 * link to one folder) adds nothing and is named in `repeatedLinks`. A link that cannot be followed
 * (it points nowhere, or at itself) is an error naming it: its models must not vanish from the
 * project without a word, or the next deploy would drop them.
 */
export interface TemplateListing {
  /** Template paths relative to the root, `/`-separated, sorted so that every run sees the same order. */
  readonly files: string[];
  /** Every folder read: its real path → the project-relative path it is read as. */
  readonly folders: Map<string, string>;
  /** Links to folders already read, not read again. */
  readonly repeatedLinks: RepeatedLink[];
  readonly errors: ProjectError[];
}

export interface RepeatedLink {
  /** The link (or a folder reached through one), project-relative. */
  readonly path: string;
  /** The real path of the folder it leads to. */
  readonly real: string;
  /** The project-relative path its folder is read as. */
  readonly readAs: string;
}

export function scanTemplates(root: string, dir: string): TemplateListing {
  const found: string[] = [];
  const folders = new Map<string, string>();
  const repeatedLinks: RepeatedLink[] = [];
  const errors: ProjectError[] = [];
  const links: { absolute: string; relative: string; name: string }[] = [];
  const role = dir === MODELS_DIR ? 'model' : dir === TESTS_DIR ? 'test' : 'macro';

  const addFile = (name: string, relative: string): void => {
    if (name.endsWith(TEMPLATE_EXTENSION)) found.push(relative);
    else if (name.toLowerCase().endsWith(TEMPLATE_EXTENSION)) {
      // x.SQL would be skipped without a word on a case-sensitive file system: say so instead.
      throw new ProjectError(
        `'${name}' ends in '${name.slice(-TEMPLATE_EXTENSION.length)}', so it is not read as a ${role}`,
        { file: relative },
        `rename it to ${name.slice(0, -TEMPLATE_EXTENSION.length)}${TEMPLATE_EXTENSION} (lower case)`,
      );
    }
  };
  // A plain walk: measurably faster than readdirSync's `recursive` option on 10,000 files. Real
  // paths are computed once per walk: below a real folder, a plain folder's is its parent's + name.
  const walk = (absolute: string, real: string, relative: string): void => {
    const readAs = folders.get(real);
    if (readAs !== undefined) {
      repeatedLinks.push({ path: relative, real, readAs });
      return;
    }
    folders.set(real, relative);
    for (const entry of readdirSync(absolute, { withFileTypes: true })) {
      const childRelative = `${relative}/${entry.name}`;
      if (entry.isDirectory()) walk(path.join(absolute, entry.name), path.join(real, entry.name), childRelative);
      else if (entry.isSymbolicLink()) links.push({ absolute: path.join(absolute, entry.name), relative: childRelative, name: entry.name });
      else addFile(entry.name, childRelative);
    }
  };

  const top = path.join(root, dir);
  let topReal: string;
  try {
    topReal = realpathSync(top);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !isLink(top)) return { files: found, folders, repeatedLinks, errors };
    if (code !== 'ENOENT' && code !== 'ELOOP') throw error;
    errors.push(unfollowableLink(dir, readlinkSafe(top), code, role));
    return { files: found, folders, repeatedLinks, errors };
  }
  walk(top, topReal, dir);
  while (links.length) {
    // The link first in path order: the same choice whatever order the file system lists them in.
    links.sort((a, b) => (a.relative < b.relative ? 1 : a.relative > b.relative ? -1 : 0));
    const link = links.pop()!;
    let stat;
    let real;
    try {
      stat = statSync(link.absolute);
      real = realpathSync(link.absolute);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Emacs marks a file being edited with a dangling link named .#<file>: not a template.
      if (link.name.startsWith('.#')) continue;
      errors.push(unfollowableLink(link.relative, readlinkSafe(link.absolute), code, role));
      continue;
    }
    if (stat.isDirectory()) walk(link.absolute, real, link.relative);
    else addFile(link.name, link.relative);
  }
  return { files: found.sort(), folders, repeatedLinks, errors };
}

/** Relative paths of every template under `dir`, sorted; links are followed as scanTemplates says. */
export function listTemplates(root: string, dir: string): string[] {
  const listing = scanTemplates(root, dir);
  throwIfAny(listing.errors);
  for (const link of listing.repeatedLinks) warnRepeatedLink(root, link);
  return listing.files;
}

const warnedLinks = new Set<string>();

/**
 * A link to a folder already read is not an error (a loop must not fail every compile, and every
 * save in watch mode), but it is said, once per process, on stderr as the commands print errors.
 */
function warnRepeatedLink(root: string, link: RepeatedLink): void {
  const key = `${root}\0${link.path}`;
  if (warnedLinks.has(key)) return;
  warnedLinks.add(key);
  console.warn(
    `warning: ${link.path}: leads through a symbolic link to ${link.real}, which the project already reads as ${link.readAs}; its templates are read once, as ${link.readAs}/…\n` +
      '  fix: remove the link that leads there (it adds nothing), or point it at a folder the project does not read otherwise',
  );
}

function unfollowableLink(relative: string, target: string, code: string | undefined, role: string): ProjectError {
  if (code === 'ELOOP') {
    return new ProjectError(`symbolic link to ${target}, a loop of links that leads to no file: what it was meant to hold cannot be read`, { file: relative }, 'point the link at a real folder or file, or remove it');
  }
  const why = code === 'ENOENT' ? 'which does not exist' : `which cannot be read (${code ?? 'unknown error'})`;
  return new ProjectError(
    `symbolic link to ${target}, ${why}: the ${role}s it leads to cannot be read`,
    { file: relative },
    `restore ${target}, or point the link at where it is now; remove the link only if what it led to should leave the project${role === 'model' ? ' (the next deploy then drops its models)' : ''}`,
  );
}

function readlinkSafe(file: string): string {
  try {
    return readlinkSync(file);
  } catch {
    return '(unreadable link)';
  }
}

function isLink(file: string): boolean {
  try {
    return lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

export function readTemplate(root: string, relativePath: string, kind: TemplateRole): TemplateFile {
  return describeTemplate(relativePath, readSmallFile(path.join(root, relativePath)), kind);
}

/** One buffer reused for every template read (most are a few kilobytes). */
const readBuffer = Buffer.allocUnsafe(64 * 1024);

/**
 * A file's text as UTF-8: read into the shared buffer when it fits, which skips readFileSync's
 * stat and per-file allocation (≈ 20 ms of 80 for 10,000 models here); a larger file is read whole.
 */
function readSmallFile(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const length = readSync(fd, readBuffer, 0, readBuffer.length, 0);
    if (length < readBuffer.length) return readBuffer.toString('utf8', 0, length);
  } finally {
    closeSync(fd);
  }
  return readFileSync(file, 'utf8');
}

/**
 * Source text as the compiler sees it: a UTF-8 byte-order mark dropped and CRLF line endings made
 * LF. A Windows checkout (git's autocrlf) must compile to the same SQL and checksums as a Linux
 * one, or every deploy from it would replace views and refuse sources as "changed".
 */
export function normalizeSourceText(text: string): string {
  const withoutBom = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  return withoutBom.includes('\r') ? withoutBom.replace(/\r\n?/g, '\n') : withoutBom;
}

export function describeTemplate(relativePath: string, rawText: string, kind: TemplateRole): TemplateFile {
  const text = normalizeSourceText(rawText);
  const dir = ROLE_DIR[kind];
  const inner = relativePath.slice(dir.length + 1, -TEMPLATE_EXTENSION.length);
  const slash = inner.lastIndexOf('/');
  const stem = inner.slice(slash + 1);
  const folder = slash === -1 ? '' : inner.slice(0, slash);
  if (kind !== 'macro' && !MODEL_NAME.test(stem)) {
    throw new ProjectError(
      `'${stem}' is not a valid ${kind} name`,
      { file: relativePath },
      `name ${kind} files with lower-case letters, digits and _ (the name becomes a SQL identifier)`,
    );
  }
  return { name: kind === 'macro' ? inner : stem, path: relativePath, folder, text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text };
}

/** Model names must be unique across folders: two files with one stem are an error naming both. */
export function checkUniqueModelNames(files: readonly TemplateFile[]): ProjectError[] {
  const seen = new Map<string, TemplateFile>();
  const errors: ProjectError[] = [];
  for (const file of files) {
    const first = seen.get(file.name);
    if (first) {
      errors.push(
        new ProjectError(
          `${isModel(first) && isModel(file) ? 'model ' : ''}name '${file.name}' is used by two files: ${first.path} and ${file.path}`,
          { file: file.path, line: 1 },
          'rename one of them: models and singular tests are named by their file stem',
        ),
      );
    } else {
      seen.set(file.name, file);
    }
  }
  return errors;
}

function isModel(file: TemplateFile): boolean {
  return file.path.startsWith(`${MODELS_DIR}/`);
}

export interface FrontMatterSplit {
  /** The YAML between the `---` lines, or undefined when the file has none. */
  readonly frontMatter: string | undefined;
  /** The template after the front matter. */
  readonly body: string;
  /** Lines before the body starts, so body line N is file line N + bodyLineOffset. */
  readonly bodyLineOffset: number;
}

/**
 * A model may start with a YAML front-matter block between two `---` lines. (`---` also opens a
 * SQL line comment, so editors still highlight the file as SQL.)
 */
export function splitFrontMatter(file: TemplateFile): FrontMatterSplit {
  const text = file.text;
  if (!/^---[ \t]*\r?\n/.test(text)) return { frontMatter: undefined, body: text, bodyLineOffset: 0 };
  const firstNewline = text.indexOf('\n');
  const closing = /^---[ \t]*(?:\r?\n|$)/m;
  closing.lastIndex = 0;
  const rest = text.slice(firstNewline + 1);
  const match = closing.exec(rest);
  if (!match) {
    throw new ProjectError('front matter opened with --- is never closed', { file: file.path, line: 1, column: 1 }, 'end the config block with a line holding only ---');
  }
  const frontMatter = rest.slice(0, match.index);
  const bodyStart = firstNewline + 1 + match.index + match[0].length;
  const bodyLineOffset = countNewlines(text, 0, bodyStart);
  return { frontMatter, body: text.slice(bodyStart), bodyLineOffset };
}

function countNewlines(text: string, from: number, to: number): number {
  let count = 0;
  for (let index = text.indexOf('\n', from); index !== -1 && index < to; index = text.indexOf('\n', index + 1)) count++;
  return count;
}
