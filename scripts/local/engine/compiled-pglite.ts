/**
 * PGlite's WebAssembly, compiled once per process and handed to each database thread.
 *
 * Every local server runs PGlite on a thread of its own (worker-database.ts), and PGlite caches
 * its compiled module per thread only: each server start compiled the 9 MB module again. A
 * compiled WebAssembly.Module crosses to a thread without a copy of its code (worker_threads
 * clones it by reference), so a process that starts many short-lived servers — the test suite
 * (test/helpers/local-server.ts) — compiles it once and passes it as a server option. A server
 * that lives for hours is left to compile its own (local-server.ts says why).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pglitePackageRoot } from './engine.ts';

let compiling: Promise<WebAssembly.Module> | undefined;

/** The compiled module, or undefined if it cannot be compiled here (the thread then compiles its own). */
export async function compiledPGliteModule(): Promise<WebAssembly.Module | undefined> {
  compiling ??= readFile(path.join(pglitePackageRoot(), 'dist', 'pglite.wasm')).then((bytes) => WebAssembly.compile(bytes));
  try {
    return await compiling;
  } catch {
    // PGlite finds and compiles its module as it always did; only the saving is lost.
    return undefined;
  }
}
