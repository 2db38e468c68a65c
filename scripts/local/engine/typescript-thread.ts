/**
 * Starts a worker thread running a TypeScript module.
 *
 * The module and what it imports from this repository are bundled into one JavaScript file with
 * esbuild (packages from node_modules stay imports), and the thread runs that file with no loader.
 * Why not tsx in the thread, as before: a thread does not inherit a loader under every runner
 * (vitest has none), and registering tsx's there cost ~0.8 s of CPU before the first line ran,
 * plus a transform round trip through a loader thread for every module — about 1.5 s of CPU per
 * local server start, paid ~60 times by the test suite. Bundling these ~40 files takes esbuild a
 * few tens of milliseconds.
 *
 * A bundle lives in one file, so `import.meta.url` in each module is replaced by that module's own
 * URL: files found relative to their module (the catalog's .sql files) are found as before.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { build, type Plugin } from 'esbuild';
import { removeStaleSiblings } from './stale-cache-files.ts';

const require = createRequire(import.meta.url);

/** Each module keeps its own URL inside the bundle (see the header). */
const ownImportMetaUrl: Plugin = {
  name: 'own-import-meta-url',
  setup(bundle) {
    bundle.onLoad({ filter: /\.ts$/ }, async ({ path: file }) => {
      const source = await readFile(file, 'utf8');
      // A regular expression, not the words in a string: this file is bundled too (a script that
      // starts a thread), and the words would be replaced here as well.
      return { contents: source.replace(/\bimport\.meta\.url\b/g, JSON.stringify(pathToFileURL(file).href)), loader: 'ts' };
    });
  },
};

/** Where bundles are written: beside the bootstrap template, in node_modules/.cache. */
function bundleDirectory(): string {
  // …/node_modules/@electric-sql/pglite/dist/index.cjs, three levels under node_modules.
  return path.resolve(path.dirname(require.resolve('@electric-sql/pglite')), '..', '..', '..', '.cache', 'segment-materialize', 'threads');
}

/** Bundles made by this process, by entry and banner. */
const bundled = new Map<string, Promise<string>>();

/**
 * The entry bundled as an ES module file, named by its content (written once, then reused).
 * `banner`: JavaScript run before the entry's own modules (not before the packages it imports).
 * Bundled once per process: the sources a running process loaded do not change under it, and each
 * local server start bundled its database thread again (~60 ms of CPU, ~80 starts in the tests).
 */
export async function bundleTypeScript(entry: URL, banner?: string): Promise<string> {
  const key = `${entry.href}\n${banner ?? ''}`;
  const earlier = bundled.get(key);
  // Another process bundling changed sources removes the files it replaces (removeStaleSiblings).
  const file = earlier && (await earlier.catch(() => undefined));
  if (file && existsSync(file)) return file;
  const bundle = bundleOnce(entry, banner);
  bundled.set(key, bundle);
  // A failed bundle (a syntax error being fixed) is tried again next time.
  bundle.catch(() => bundled.delete(key));
  return bundle;
}

async function bundleOnce(entry: URL, banner?: string): Promise<string> {
  const result = await build({
    ...(banner ? { banner: { js: banner } } : {}),
    entryPoints: [fileURLToPath(entry)],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    plugins: [ownImportMetaUrl],
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]!.contents;
  // `<entry>.<hash>.mjs`: the dot keeps one entry's prefix from matching another's (`local.` vs `local-server.`).
  const name = `${path.basename(entry.pathname, '.ts')}.${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`;
  const file = path.join(bundleDirectory(), name);
  if (!existsSync(file)) {
    await mkdir(path.dirname(file), { recursive: true });
    // Written aside and renamed: a thread starting at the same moment never reads half a file.
    const partial = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.partial`;
    await writeFile(partial, code);
    await rename(partial, file);
    await removeStaleSiblings(file, `${path.basename(entry.pathname, '.ts')}.`);
  }
  return file;
}

export async function startTypeScriptThread(entry: URL, workerData: unknown): Promise<Worker> {
  const file = await bundleTypeScript(entry);
  return new Worker(pathToFileURL(file), { workerData, execArgv: [] });
}
