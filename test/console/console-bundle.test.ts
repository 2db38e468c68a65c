/**
 * The console's front end as a server start loads it (scripts/console/console-bundle.ts): built
 * files when they are current, else a bundle — made once, then kept for the next start while no
 * file it was made from changes, and made again after an edit.
 */
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { CONSOLE_SOURCE_DIR, loadConsoleAssets, writeConsoleDist, type ConsoleLocations } from '../../scripts/console/console-bundle.ts';
import { REPO_ROOT } from '../helpers/temp-project.ts';

// A copy of the console's sources under the repository, where its packages (preact, uplot) resolve,
// beside a copy of scripts/ (the console shares a module with the server).
const scratch = mkdtempSync(path.join(REPO_ROOT, 'node_modules', '.cache', 'segmat-console-test-'));
// Their times kept: a file changed just before a build is not taken as read (build-inputs.ts SETTLED_MS).
cpSync(path.join(REPO_ROOT, 'scripts'), path.join(scratch, 'scripts'), { recursive: true, preserveTimestamps: true });
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

it('bundles at the first start, reuses the bundle at the next, bundles an edited source again, and serves built files when current', async () => {
  const locations: ConsoleLocations = { sourceDir: path.join(scratch, 'console'), distDir: path.join(scratch, 'dist'), cacheFile: path.join(scratch, 'cache', 'console-bundle.json') };
  cpSync(CONSOLE_SOURCE_DIR, locations.sourceDir, { recursive: true, preserveTimestamps: true });

  const first = await loadConsoleAssets(locations);
  expect(first.origin).toMatch(/^bundled in \d+ ms$/);
  expect(first.script).toContain('uPlot');
  expect(first.stylesheet.length).toBeGreaterThan(0);
  expect(first.html).toContain('<html');
  expect(existsSync(locations.cacheFile)).toBe(true);

  const second = await loadConsoleAssets(locations);
  expect(second).toEqual({ ...first, origin: 'bundled at an earlier start' });

  // An edit: bundled again. Just made, the new bundle is not kept (a build may have missed an edit
  // that close); dated a few seconds back, it is.
  const main = path.join(locations.sourceDir, 'src', 'main.tsx');
  appendFileSync(main, `\nconsole.info('edited after the first start');\n`);
  const edited = await loadConsoleAssets(locations);
  expect(edited.origin).toMatch(/^bundled in \d+ ms$/);
  expect(edited.script).toContain('edited after the first start');
  expect((await loadConsoleAssets(locations)).origin).toMatch(/^bundled in \d+ ms$/);
  const earlier = new Date(Date.now() - 5_000);
  utimesSync(main, earlier, earlier);
  expect((await loadConsoleAssets(locations)).origin).toMatch(/^bundled in \d+ ms$/);
  expect((await loadConsoleAssets(locations)).origin).toBe('bundled at an earlier start');

  // Built files are served while nothing they were made from changes; files of an older build
  // (no record of what they were made from) are not.
  mkdirSync(locations.distDir);
  writeFileSync(path.join(locations.distDir, 'app.js'), '/* an older build */');
  writeFileSync(path.join(locations.distDir, 'app.css'), '/* an older build */');
  expect((await loadConsoleAssets(locations)).origin).toBe('bundled at an earlier start');
  await writeConsoleDist(locations);
  const built = await loadConsoleAssets(locations);
  expect(built.origin).toBe('dist/console');
  expect(built.script).toContain('edited after the first start');
  expect(built.script.length).toBeLessThan(edited.script.length); // minified
  // The module of scripts/ the console shares counts too (how it writes a size in bytes).
  const shared = path.join(scratch, 'scripts', 'local', 'http', 'webhook', 'rejection-reasons.ts');
  appendFileSync(shared, `\nexport const editedAfterTheBuild = true;\n`);
  expect((await loadConsoleAssets(locations)).origin).toMatch(/^bundled in \d+ ms$/);
});
