/**
 * The console's front end (console/src, Preact + uPlot) bundled by esbuild into one script and one
 * stylesheet. `npm run console:build` writes them to dist/console; the server serves those when
 * they are newer than every source file, and otherwise bundles in memory at start (~0.2 s), so a
 * fresh clone and an edited front end both just work. Nothing is fetched at run time.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CONSOLE_SOURCE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../console');
export const CONSOLE_DIST_DIR = path.resolve(CONSOLE_SOURCE_DIR, '../dist/console');

export interface ConsoleAssets {
  readonly html: string;
  readonly script: string;
  readonly stylesheet: string;
  /** Where they came from: "dist/console" or "bundled in N ms". */
  readonly origin: string;
}

/** Bundles the front end (minified for dist, plain when bundled at start for readable stack traces). */
export async function bundleConsole(minify: boolean): Promise<{ script: string; stylesheet: string }> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [path.join(CONSOLE_SOURCE_DIR, 'src/main.tsx')],
    bundle: true,
    write: false,
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
  return { script, stylesheet };
}

export async function writeConsoleDist(): Promise<{ dir: string; bytes: number }> {
  const { script, stylesheet } = await bundleConsole(true);
  await mkdir(CONSOLE_DIST_DIR, { recursive: true });
  await writeFile(path.join(CONSOLE_DIST_DIR, 'app.js'), script);
  await writeFile(path.join(CONSOLE_DIST_DIR, 'app.css'), stylesheet);
  return { dir: CONSOLE_DIST_DIR, bytes: Buffer.byteLength(script) + Buffer.byteLength(stylesheet) };
}

export async function loadConsoleAssets(): Promise<ConsoleAssets> {
  const html = readFileSync(path.join(CONSOLE_SOURCE_DIR, 'index.html'), 'utf8');
  const built = path.join(CONSOLE_DIST_DIR, 'app.js');
  const builtCss = path.join(CONSOLE_DIST_DIR, 'app.css');
  if (existsSync(built) && existsSync(builtCss) && statSync(built).mtimeMs >= newestSource(CONSOLE_SOURCE_DIR)) {
    return { html, script: readFileSync(built, 'utf8'), stylesheet: readFileSync(builtCss, 'utf8'), origin: 'dist/console' };
  }
  const started = performance.now();
  const { script, stylesheet } = await bundleConsole(false);
  return { html, script, stylesheet, origin: `bundled in ${Math.round(performance.now() - started)} ms` };
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(file) : statSync(file).mtimeMs);
  }
  return newest;
}
