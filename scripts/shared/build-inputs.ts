/**
 * What an esbuild build made, reused by a later process while the files it was made from are
 * unchanged: each file's size and modification time as the build read it, checked again before
 * reuse (an edit changes the time, and mostly the size). Checking ~400 files takes a few
 * milliseconds; the builds it spares took ~0.1-0.3 s of CPU each (esbuild's service process
 * included), paid at every server start and by every test process that ran a command.
 *
 * The files are the metafile's inputs (the sources esbuild bundled) and the configuration it reads
 * without listing it: tsconfig.json and package.json (and the lock file) of the entry's folder and
 * every folder above it. What changes the output but is in no file (the build's options, esbuild's
 * version) goes into the name or key of the record, chosen by its user.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** A file read by a build, as it was: its path, size and modification time. */
export type InputStamp = readonly [file: string, size: number, mtimeMs: number];

/**
 * How long before a build a file's last change must be for the build to be recorded: file clocks
 * are coarse (a write just after the build began can carry an earlier time; some file systems keep
 * whole seconds), and an edit the build may have missed must not be taken as read. A file changed
 * within it costs one more build, at the next start.
 */
const SETTLED_MS = 2_000;

/** The configuration files esbuild reads for `entry`, as they are now: tsconfig.json, package.json and package-lock.json of its folder and the folders above it. */
function configurationFiles(entry: string): string[] {
  const files: string[] = [];
  for (let directory = path.dirname(entry); ; directory = path.dirname(directory)) {
    for (const name of ['tsconfig.json', 'package.json', 'package-lock.json']) {
      const file = path.join(directory, name);
      if (statSync(file, { throwIfNoEntry: false })?.isFile()) files.push(file);
    }
    if (path.dirname(directory) === directory) return files;
  }
}

/**
 * The stamps of the files a build of `entry` read: the metafile's inputs (relative to the build's
 * working directory) and configurationFiles. Null when one changed less than SETTLED_MS before
 * `startedMs`, when the build began, or after it: it may be in the outputs as it was before, so they
 * are not to be reused.
 */
export function stampInputs(entry: string, inputs: Readonly<Record<string, unknown>>, workingDirectory: string, startedMs: number): InputStamp[] | null {
  const files = new Set([...Object.keys(inputs).map((input) => path.resolve(workingDirectory, input)), ...configurationFiles(entry)]);
  const stamps: InputStamp[] = [];
  for (const file of files) {
    const stats = statSync(file, { throwIfNoEntry: false });
    if (!stats || stats.mtimeMs >= startedMs - SETTLED_MS) return null;
    stamps.push([file, stats.size, stats.mtimeMs]);
  }
  return stamps;
}

/** Whether every file still has the size and modification time it had. */
export function inputsUnchanged(stamps: readonly InputStamp[]): boolean {
  return stamps.every(([file, size, mtimeMs]) => {
    const stats = statSync(file, { throwIfNoEntry: false });
    return stats !== undefined && stats.size === size && stats.mtimeMs === mtimeMs;
  });
}

const builderDigests = new Map<string, string>();

/**
 * What a builder's records depend on besides the files a build read: esbuild's version and the
 * text of the builder's own module (its build options), hashed once per process. A record made by
 * an edited builder or another esbuild is then not reused.
 */
export function builderDigest(builderModuleUrl: string, esbuildVersion: string): string {
  const key = `${builderModuleUrl}\0${esbuildVersion}`;
  let digest = builderDigests.get(key);
  if (digest === undefined) {
    digest = createHash('sha256').update(esbuildVersion).update('\0').update(readFileSync(fileURLToPath(builderModuleUrl))).digest('hex');
    builderDigests.set(key, digest);
  }
  return digest;
}

/** A record written by writeBuildRecord; undefined when there is none or it cannot be read. */
export function readBuildRecord<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Written aside and renamed: a process reading it never sees half a record. */
export async function writeBuildRecord(file: string, record: unknown): Promise<void> {
  await writeWhole(file, JSON.stringify(record));
}

/** `file` written aside and renamed into place: a reader sees the old contents or the new, never half. */
export async function writeWhole(file: string, contents: string | Uint8Array): Promise<void> {
  const partial = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.partial`;
  await writeFile(partial, contents);
  await rename(partial, file);
}
