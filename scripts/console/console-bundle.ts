/**
 * The console's front end (console/src, Preact + uPlot) bundled by esbuild into one script and one
 * stylesheet. `npm run console:build` writes them to dist/console; the server serves those while no
 * file they were made from changed (console/src and the few modules of scripts/ it shares), and
 * otherwise bundles at start (~0.2 s, kept in node_modules/.cache for the next start on the same
 * terms), so a fresh clone and an edited front end both just work. Nothing is fetched at run time.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { builderDigest, inputsUnchanged, readBuildRecord, stampInputs, writeBuildRecord, writeWhole, type InputStamp } from '../shared/build-inputs.ts';

export const CONSOLE_SOURCE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../console');
export const CONSOLE_DIST_DIR = path.resolve(CONSOLE_SOURCE_DIR, '../dist/console');

/** Where the console's sources, its built files and the bundle a start made are. */
export interface ConsoleLocations {
  readonly sourceDir: string;
  readonly distDir: string;
  /** The bundle made at the last start, with the files it was made from (build-inputs.ts). */
  readonly cacheFile: string;
}

export const CONSOLE_LOCATIONS: ConsoleLocations = {
  sourceDir: CONSOLE_SOURCE_DIR,
  distDir: CONSOLE_DIST_DIR,
  cacheFile: path.resolve(CONSOLE_SOURCE_DIR, '../node_modules/.cache/segment-materialize/console-bundle.json'),
};

export interface ConsoleAssets {
  readonly html: string;
  readonly script: string;
  readonly stylesheet: string;
  /** Where they came from: "dist/console", "bundled in N ms" or "bundled at an earlier start". */
  readonly origin: string;
}

interface ConsoleBundle {
  /** What made it besides its files (buildKey): a bundle of another key is not reused. */
  readonly key: string;
  readonly script: string;
  readonly stylesheet: string;
  /** The files it was made from; null when one changed just before or while esbuild read them. */
  readonly inputs: InputStamp[] | null;
}

/** What dist/console was built from: its files are served while that is current (`inputs.json` there). */
interface DistRecord {
  readonly key: string;
  readonly inputs: InputStamp[];
}
const DIST_RECORD_FILE = 'inputs.json';

/**
 * What a bundle depends on besides the files it read: minified or not, esbuild's version and this
 * module's text (the build's options: builderDigest, read once). import.meta.url is this file,
 * bundled or not.
 */
async function buildKey(minify: boolean): Promise<string> {
  const { version } = await import('esbuild');
  return `${minify ? 'minified' : 'plain'}-${builderDigest(import.meta.url, version)}`;
}

/** Bundles the front end (minified for dist, plain when bundled at start for readable stack traces). */
export async function bundleConsole(minify: boolean, sourceDir = CONSOLE_SOURCE_DIR): Promise<ConsoleBundle> {
  const esbuild = await import('esbuild');
  const key = await buildKey(minify);
  const entry = path.join(sourceDir, 'src/main.tsx');
  const workingDirectory = process.cwd();
  const startedMs = Date.now();
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    metafile: true,
    absWorkingDir: workingDirectory,
    outdir: 'out',
    format: 'esm',
    target: 'es2022',
    minify,
    sourcemap: false,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    loader: { '.css': 'css' },
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': minify ? '"production"' : '"development"' },
  });
  const script = result.outputFiles.find((file) => file.path.endsWith('.js'))?.text ?? '';
  const stylesheet = result.outputFiles.find((file) => file.path.endsWith('.css'))?.text ?? '';
  return { key, script, stylesheet, inputs: stampInputs(entry, result.metafile.inputs, workingDirectory, startedMs) };
}

export async function writeConsoleDist(locations: Pick<ConsoleLocations, 'sourceDir' | 'distDir'> = CONSOLE_LOCATIONS): Promise<{ dir: string; bytes: number }> {
  const { sourceDir, distDir } = locations;
  const { key, script, stylesheet, inputs } = await bundleConsole(true, sourceDir);
  await mkdir(distDir, { recursive: true });
  // The record first: a server starting meanwhile bundles on its own rather than pair it with a
  // file half replaced. Without a new one (a file changed as esbuild read it), starts bundle on
  // their own until the next build.
  await rm(path.join(distDir, DIST_RECORD_FILE), { force: true });
  await writeWhole(path.join(distDir, 'app.js'), script);
  await writeWhole(path.join(distDir, 'app.css'), stylesheet);
  if (inputs) await writeBuildRecord(path.join(distDir, DIST_RECORD_FILE), { key, inputs } satisfies DistRecord);
  return { dir: distDir, bytes: Buffer.byteLength(script) + Buffer.byteLength(stylesheet) };
}

export async function loadConsoleAssets(locations: ConsoleLocations = CONSOLE_LOCATIONS): Promise<ConsoleAssets> {
  const { sourceDir, distDir, cacheFile } = locations;
  const html = readFileSync(path.join(sourceDir, 'index.html'), 'utf8');
  const built = path.join(distDir, 'app.js');
  const builtCss = path.join(distDir, 'app.css');
  const builtFrom = readBuildRecord<DistRecord>(path.join(distDir, DIST_RECORD_FILE));
  if (builtFrom?.key === (await buildKey(true)) && Array.isArray(builtFrom.inputs) && existsSync(built) && existsSync(builtCss) && inputsUnchanged(builtFrom.inputs)) {
    return { html, script: readFileSync(built, 'utf8'), stylesheet: readFileSync(builtCss, 'utf8'), origin: 'dist/console' };
  }
  const cached = readBuildRecord<ConsoleBundle>(cacheFile);
  if (cached?.key === (await buildKey(false)) && cached.inputs && inputsUnchanged(cached.inputs)) return { html, script: cached.script, stylesheet: cached.stylesheet, origin: 'bundled at an earlier start' };
  const started = performance.now();
  const bundle = await bundleConsole(false, sourceDir);
  // A cache only: a start that cannot write it still serves what it bundled.
  if (bundle.inputs) {
    await mkdir(path.dirname(cacheFile), { recursive: true }).catch(() => {});
    await writeBuildRecord(cacheFile, bundle).catch(() => {});
  }
  return { html, script: bundle.script, stylesheet: bundle.stylesheet, origin: `bundled in ${Math.round(performance.now() - started)} ms` };
}
