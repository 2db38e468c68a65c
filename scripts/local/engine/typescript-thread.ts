/**
 * Starts a worker thread running a TypeScript module.
 *
 * The module, what it imports from this repository and the plain JavaScript packages they use are
 * bundled with esbuild (what a module loads with import() goes to a chunk beside it), and the
 * thread runs that bundle with no loader.
 * Why not tsx in the thread, as before: a thread does not inherit a loader under every runner
 * (vitest has none), and registering tsx's there cost ~0.8 s of CPU before the first line ran,
 * plus a transform round trip through a loader thread for every module — about 1.5 s of CPU per
 * local server start, paid ~60 times by the test suite.
 * Why packages are bundled too: node resolves, reads and links each module of a package on its own
 * (function:deploy's were ~240, zod's 95 and yaml's 72 of them): loading them one by one, the
 * command took ~0.55 s of CPU to print its --help, ~0.38 s from one file.
 * Why a list of inputs beside each bundle (scripts/shared/build-inputs.ts): a process whose inputs
 * are unchanged since the last build takes the bundle as it is, instead of paying for the build.
 *
 * Modules no longer live in their own files there, so `import.meta.url` in each module is replaced
 * by that module's own URL: files found relative to their module (the catalog's .sql files) are
 * found as before.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { build, version as esbuildVersion, type Plugin } from 'esbuild';
import { builderDigest, inputsUnchanged, readBuildRecord, stampInputs, writeBuildRecord, type InputStamp } from '../../shared/build-inputs.ts';
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

/**
 * Packages left as imports: they find files beside their own modules (PGlite's WebAssembly and
 * data, esbuild's and playwright's binaries), or are optional native add-ons a package tries and
 * does without (pg's pg-native, ws's bufferutil).
 */
const KEPT_AS_IMPORTS = ['@electric-sql/*', 'esbuild', 'playwright-core', 'pg-native', 'bufferutil', 'utf-8-validate', 'fsevents'];

/**
 * CommonJS packages bundled into an ES module still call require() for node's modules: the bundle
 * gives them one (the name esbuild's own require shim looks for).
 */
const REQUIRE_FOR_COMMONJS = `import { createRequire as __bundleCreateRequire } from 'node:module'; const require = __bundleCreateRequire(${
  // Not written out: in this file's own bundle, ownImportMetaUrl would put this file's URL there.
  ['import', 'meta', 'url'].join('.')
});`;

/**
 * This module's own text and esbuild's version (builderDigest), hashed into the name of every list
 * of inputs: a list made with other build options (an edit here) or another esbuild is not reused
 * (import.meta.url is this file even bundled).
 */
function bundlerHash(): string {
  return builderDigest(import.meta.url, esbuildVersion);
}

/** The files a bundle was made from, as they were then (manifestPath): unchanged, the bundle is reused. */
interface BundleManifest {
  readonly entryFile: string;
  readonly inputs: readonly InputStamp[];
}

/** Bundles made by this process, by entry and banner. */
const bundled = new Map<string, Promise<string>>();

/**
 * The entry bundled as ES module files (its own, and a chunk per module it imports lazily) in a
 * directory named by their content (written once, then reused); the entry's file is returned.
 * `banner`: JavaScript run before the bundled modules (not before the packages kept as imports).
 * Bundled once per process: the sources a running process loaded do not change under it, and each
 * local server start bundled its database thread again (~60 ms of CPU, ~80 starts in the tests).
 */
export async function bundleTypeScript(entry: URL, banner?: string): Promise<string> {
  const key = `${entry.href}\n${banner ?? ''}`;
  const earlier = bundled.get(key);
  // Another process bundling changed sources removes the files it replaces (removeStaleSiblings).
  const file = earlier && (await earlier.catch(() => undefined));
  if (file && existsSync(file)) return file;
  const bundle = reusedBundle(entry, banner).then((reused) => reused ?? bundleOnce(entry, banner));
  bundled.set(key, bundle);
  // A failed bundle (a syntax error being fixed) is tried again next time.
  bundle.catch(() => bundled.delete(key));
  return bundle;
}

/** Where the inputs of `entry`'s bundle (with `banner`) are listed: `<entry>.<hash of what names the build>.inputs.json`. */
function manifestPath(entry: URL, banner: string | undefined): string {
  const key = createHash('sha256').update(`${bundlerHash()}\0${entry.href}\0${banner ?? ''}`).digest('hex').slice(0, 16);
  return path.join(bundleDirectory(), `${path.basename(entry.pathname, '.ts')}.${key}.inputs.json`);
}

/** The bundle an earlier build made, when every file it was made from is unchanged; else undefined. */
async function reusedBundle(entry: URL, banner: string | undefined): Promise<string | undefined> {
  const listFile = manifestPath(entry, banner);
  const manifest = readBuildRecord<BundleManifest>(listFile);
  if (!manifest || !existsSync(manifest.entryFile) || !inputsUnchanged(manifest.inputs)) return undefined;
  // Marked as in use, the bundle and its list: the tidying of other builds removes what was unused
  // for an hour (removeStaleSiblings).
  const now = new Date();
  await utimes(path.dirname(manifest.entryFile), now, now).catch(() => {});
  await utimes(listFile, now, now).catch(() => {});
  return manifest.entryFile;
}

async function bundleOnce(entry: URL, banner?: string): Promise<string> {
  const name = path.basename(entry.pathname, '.ts');
  const directory = bundleDirectory();
  const workingDirectory = process.cwd();
  const buildStartedMs = Date.now();
  const result = await build({
    banner: { js: banner ? `${REQUIRE_FOR_COMMONJS}\n${banner}` : REQUIRE_FOR_COMMONJS },
    entryPoints: [fileURLToPath(entry)],
    bundle: true,
    write: false,
    metafile: true,
    absWorkingDir: workingDirectory,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: KEPT_AS_IMPORTS,
    // A package's ES module build before its CommonJS one where it has no `exports` (jsonc-parser's
    // CommonJS entry is a UMD wrapper whose require() calls esbuild cannot follow).
    mainFields: ['module', 'main'],
    // What a module imports with import() goes to a chunk of its own, loaded when it is first
    // called: a command that never starts a local server (scripts/local/embedded.ts) does not
    // load the server's modules, nor PGlite, which the chunk imports.
    splitting: true,
    outdir: directory,
    entryNames: '[name]',
    chunkNames: '[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    plugins: [ownImportMetaUrl],
    logLevel: 'silent',
  });
  // `<entry>.<hash>/`, the hash of every file in it: the dot keeps one entry's prefix from
  // matching another's (`local.` vs `local-server.`).
  const files = result.outputFiles.map((output) => ({ name: path.relative(directory, output.path), contents: output.contents })).sort((a, b) => a.name.localeCompare(b.name));
  const hash = createHash('sha256');
  for (const file of files) hash.update(file.name).update('\0').update(file.contents);
  const bundle = path.join(directory, `${name}.${hash.digest('hex').slice(0, 16)}`);
  const entryFile = path.join(bundle, `${name}.mjs`);
  if (!existsSync(entryFile)) {
    // Written aside and renamed: a thread starting at the same moment never reads half a bundle.
    const partial = `${bundle}.${process.pid}.${Math.random().toString(36).slice(2)}.partial`;
    await mkdir(partial, { recursive: true });
    for (const file of files) await writeFile(path.join(partial, file.name), file.contents);
    try {
      await rename(partial, bundle);
    } catch (error) {
      // Another process renamed the same bundle into place first.
      await rm(partial, { recursive: true, force: true });
      if (!existsSync(entryFile)) throw error;
    }
    await removeStaleSiblings(bundle, `${name}.`);
  }
  // No list when a file changed just before or while esbuild read it: the next process builds again.
  const inputs = stampInputs(fileURLToPath(entry), result.metafile.inputs, workingDirectory, buildStartedMs);
  if (inputs) await writeBuildRecord(manifestPath(entry, banner), { entryFile, inputs } satisfies BundleManifest);
  return entryFile;
}

export async function startTypeScriptThread(entry: URL, workerData: unknown): Promise<Worker> {
  const file = await bundleTypeScript(entry);
  return new Worker(pathToFileURL(file), { workerData, execArgv: [] });
}
