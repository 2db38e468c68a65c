/**
 * The console's front end (console/src, Preact + uPlot) bundled by esbuild into one script and one
 * stylesheet. `npm run console:build` writes them to dist/console; the server serves those while no
 * file they were made from changed (console/src and the few modules of scripts/ it shares), and
 * otherwise bundles at start (~0.2 s, kept in node_modules/.cache for the next start on the same
 * terms), so a fresh clone and an edited front end both just work. Nothing is fetched at run time.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inputsUnchanged, readBuildRecord, stampInputs, writeBuildRecord, type InputStamp } from '../shared/build-inputs.ts';

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
  readonly script: string;
  readonly stylesheet: string;
  /** The files it was made from; null when one changed while esbuild read it. */
  readonly inputs: InputStamp[] | null;
}

/** Bundles the front end (minified for dist, plain when bundled at start for readable stack traces). */
export async function bundleConsole(minify: boolean, sourceDir = CONSOLE_SOURCE_DIR): Promise<ConsoleBundle> {
  const esbuild = await import('esbuild');
  const workingDirectory = process.cwd();
  const startedMs = Date.now();
  const result = await esbuild.build({
    entryPoints: [path.join(sourceDir, 'src/main.tsx')],
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
  return { script, stylesheet, inputs: stampInputs(result.metafile.inputs, workingDirectory, startedMs) };
}

/** What dist/console was built from (its record there, `inputs.json`): its files are served while those are unchanged. */
const DIST_INPUTS_FILE = 'inputs.json';

export async function writeConsoleDist(locations: Pick<ConsoleLocations, 'sourceDir' | 'distDir'> = CONSOLE_LOCATIONS): Promise<{ dir: string; bytes: number }> {
  const { sourceDir, distDir } = locations;
  const { script, stylesheet, inputs } = await bundleConsole(true, sourceDir);
  await mkdir(distDir, { recursive: true });
  await writeFile(path.join(distDir, 'app.js'), script);
  await writeFile(path.join(distDir, 'app.css'), stylesheet);
  // Without a record (a file changed while esbuild read it) starts bundle on their own until the next build.
  if (inputs) await writeBuildRecord(path.join(distDir, DIST_INPUTS_FILE), inputs);
  return { dir: distDir, bytes: Buffer.byteLength(script) + Buffer.byteLength(stylesheet) };
}

export async function loadConsoleAssets(locations: ConsoleLocations = CONSOLE_LOCATIONS): Promise<ConsoleAssets> {
  const { sourceDir, distDir, cacheFile } = locations;
  const html = readFileSync(path.join(sourceDir, 'index.html'), 'utf8');
  const built = path.join(distDir, 'app.js');
  const builtCss = path.join(distDir, 'app.css');
  const builtFrom = readBuildRecord<InputStamp[]>(path.join(distDir, DIST_INPUTS_FILE));
  if (builtFrom && existsSync(built) && existsSync(builtCss) && inputsUnchanged(builtFrom)) {
    return { html, script: readFileSync(built, 'utf8'), stylesheet: readFileSync(builtCss, 'utf8'), origin: 'dist/console' };
  }
  const cached = readBuildRecord<ConsoleBundle>(cacheFile);
  if (cached?.inputs && inputsUnchanged(cached.inputs)) return { html, script: cached.script, stylesheet: cached.stylesheet, origin: 'bundled at an earlier start' };
  const started = performance.now();
  const bundle = await bundleConsole(false, sourceDir);
  // A cache only: a start that cannot write it still serves what it bundled.
  if (bundle.inputs) {
    await mkdir(path.dirname(cacheFile), { recursive: true }).catch(() => {});
    await writeBuildRecord(cacheFile, bundle).catch(() => {});
  }
  return { html, script: bundle.script, stylesheet: bundle.stylesheet, origin: `bundled in ${Math.round(performance.now() - started)} ms` };
}
