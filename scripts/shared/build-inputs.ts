/**
 * What an esbuild build made, reused by a later process while the files it was made from are
 * unchanged: each file's size and modification time as the build read it, checked again before
 * reuse (an edit changes the time, and mostly the size). Checking ~400 files takes a few
 * milliseconds; the builds it spares took ~0.1-0.3 s of CPU each (esbuild's service process
 * included), paid at every server start and by every test process that ran a command.
 */
import { readFileSync, statSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A file read by a build, as it was: its path, size and modification time. */
export type InputStamp = readonly [file: string, size: number, mtimeMs: number];

/**
 * The stamps of the files an esbuild metafile lists as read (`metafile.inputs`, relative to the
 * build's working directory); null when one was modified after `startedMs`, when the build began:
 * it may be in the outputs as it was before, so they are not to be reused.
 */
export function stampInputs(inputs: Readonly<Record<string, unknown>>, workingDirectory: string, startedMs: number): InputStamp[] | null {
  const stamps: InputStamp[] = [];
  for (const input of Object.keys(inputs)) {
    const file = path.resolve(workingDirectory, input);
    const stats = statSync(file, { throwIfNoEntry: false });
    if (!stats || stats.mtimeMs >= startedMs) return null;
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
  const partial = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.partial`;
  await writeFile(partial, JSON.stringify(record));
  await rename(partial, file);
}
