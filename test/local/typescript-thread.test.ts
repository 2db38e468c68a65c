/**
 * The bundles scripts and threads run from (scripts/local/engine/typescript-thread.ts): what a
 * module imports with import() is loaded when it is called, not with the entry — which is what
 * keeps a command that never starts a local server from loading the server and PGlite.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bundleTypeScript } from '../../scripts/local/engine/typescript-thread.ts';
import { scriptBundle } from '../helpers/script-bundle.ts';
import { REPO_ROOT, temporaryDirectory } from '../helpers/temp-project.ts';

/** The bundle's files the entry loads before its first line runs: itself and the chunks it imports statically, transitively. */
function loadedWithEntry(entryFile: string): string[] {
  const loaded: string[] = [];
  const pending = [entryFile];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (loaded.includes(file)) continue;
    loaded.push(file);
    for (const [, relative] of readFileSync(file, 'utf8').matchAll(/^import\s[^;]*?from\s*"(\.\/[^"]+)"/gm)) pending.push(path.join(path.dirname(file), relative!));
  }
  return loaded;
}

describe('bundleTypeScript', () => {
  it('loads a module imported with import() when it is called, with its own import.meta.url', async () => {
    const directory = temporaryDirectory('segmat-bundle-');
    writeFileSync(path.join(directory, 'lazy.ts'), `console.log('lazy loaded');\nexport const where = (): string => import.meta.url;\n`);
    writeFileSync(
      path.join(directory, 'entry.ts'),
      `console.log('entry ran', process.argv[1]);\nif (process.argv.includes('--lazy')) {\n  const { where } = await import('./lazy.ts');\n  console.log('lazy at', where());\n}\n`,
    );
    const bundle = await bundleTypeScript(pathToFileURL(path.join(directory, 'entry.ts')), `process.argv[1] = 'the entry';`);

    expect(execFileSync(process.execPath, [bundle], { encoding: 'utf8' })).toBe('entry ran the entry\n');
    expect(execFileSync(process.execPath, [bundle, '--lazy'], { encoding: 'utf8' })).toBe(`entry ran the entry\nlazy loaded\nlazy at ${pathToFileURL(path.join(directory, 'lazy.ts')).href}\n`);
    // Bundled again, unchanged: the same files.
    expect(await bundleTypeScript(pathToFileURL(path.join(directory, 'entry.ts')), `process.argv[1] = 'the entry';`)).toBe(bundle);
  });

  it('a process takes the bundle an earlier one made while its inputs are unchanged, and bundles an edited input again', async () => {
    const directory = temporaryDirectory('segmat-bundle-');
    writeFileSync(path.join(directory, 'greeting.ts'), `export const greeting = 'hello, first';\n`);
    writeFileSync(path.join(directory, 'greet.ts'), `import { greeting } from './greeting.ts';\nconsole.log(greeting);\n`);
    // Each bundling in a process of its own, as commands and servers do (a process remembers its own).
    writeFileSync(
      path.join(directory, 'bundler.ts'),
      `import { bundleTypeScript } from ${JSON.stringify(path.join(REPO_ROOT, 'scripts/local/engine/typescript-thread.ts'))};\n` +
        `console.log(await bundleTypeScript(new URL(${JSON.stringify(pathToFileURL(path.join(directory, 'greet.ts')).href)})));\n`,
    );
    writeFileSync(path.join(directory, 'package.json'), '{"type": "module"}\n');
    // Written a while ago: a file changed just before a build is not taken as read (build-inputs.ts SETTLED_MS).
    const aWhileAgo = new Date(Date.now() - 10_000);
    for (const file of ['greeting.ts', 'greet.ts', 'package.json']) utimesSync(path.join(directory, file), aWhileAgo, aWhileAgo);
    const bundler = await bundleTypeScript(pathToFileURL(path.join(directory, 'bundler.ts')));
    const bundleInAnotherProcess = (): string => execFileSync(process.execPath, [bundler], { encoding: 'utf8' }).trim();
    const inputsList = (): string => {
      const cache = path.dirname(path.dirname(bundler));
      // This directory's (earlier runs of this test left their own).
      const lists = readdirSync(cache).filter((name) => name.startsWith('greet.') && name.endsWith('.inputs.json') && readFileSync(path.join(cache, name), 'utf8').includes(directory));
      expect(lists).toHaveLength(1);
      return path.join(cache, lists[0]!);
    };

    const first = bundleInAnotherProcess();
    expect(execFileSync(process.execPath, [first], { encoding: 'utf8' })).toBe('hello, first\n');
    const listed = JSON.parse(readFileSync(inputsList(), 'utf8')) as { inputs: Array<[string, number, number]> };
    // The sources, and the configuration esbuild reads without listing it (this folder's package.json).
    expect(listed.inputs.map(([file]) => file).filter((file) => file.startsWith(directory)).map((file) => path.basename(file)).sort()).toEqual(['greet.ts', 'greeting.ts', 'package.json']);
    const listWritten = statSync(inputsList()).ino;

    // Unchanged: the same bundle, and no build (a build writes the list again, aside and renamed: a
    // new file; a reuse only touches it).
    expect(bundleInAnotherProcess()).toBe(first);
    expect(statSync(inputsList()).ino).toBe(listWritten);

    // The configuration changed (dated back, so the build is recorded): built again, a new list.
    writeFileSync(path.join(directory, 'package.json'), '{"type": "module", "sideEffects": true}\n');
    utimesSync(path.join(directory, 'package.json'), aWhileAgo, aWhileAgo);
    expect(bundleInAnotherProcess()).toBe(first);
    expect(statSync(inputsList()).ino).not.toBe(listWritten);

    // An edit of the same size, just made: bundled again, with the edit.
    writeFileSync(path.join(directory, 'greeting.ts'), `export const greeting = 'hello, again';\n`);
    const second = bundleInAnotherProcess();
    expect(second).not.toBe(first);
    expect(execFileSync(process.execPath, [second], { encoding: 'utf8' })).toBe('hello, again\n');
  });

  it('commands that connect to a server load neither the local server nor PGlite until they start one', async () => {
    for (const script of ['function-deploy.ts', 'models-deploy.ts', 'models-test.ts', 'activate.ts']) {
      // The bundles the other tests run the commands from (built once per worker, reused across runs).
      const files = loadedWithEntry(await scriptBundle(script));
      const loaded = files.map((file) => readFileSync(file, 'utf8')).join('\n');
      const packages = [...loaded.matchAll(/^import\s[^;]*?from\s*"([^".][^"]*)"/gm)].map((match) => match[1]!);
      expect(packages.filter((name) => name.startsWith('@electric-sql/')), script).toEqual([]);
      // esbuild heads each module's code with a comment naming its file.
      const modules = [...loaded.matchAll(/^\/\/ (scripts\/\S+\.ts)$/gm)].map((match) => match[1]!);
      expect(modules, script).toContain(`scripts/${script}`);
      expect(modules.filter((module) => module.startsWith('scripts/local/') && !module.startsWith('scripts/local/data-dir-lock') && !module.endsWith('embedded.ts') && !module.endsWith('database-identity.ts')), script).toEqual([]);
      // …and the server is in the bundle, for the command that starts one.
      const entry = readFileSync(files[0]!, 'utf8');
      expect(entry, script).toMatch(/import\("\.\/local-server-[A-Z0-9]+\.mjs"\)/);
    }
  });
});
