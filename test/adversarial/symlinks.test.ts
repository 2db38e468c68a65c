/**
 * Symbolic links under models/: one rule for compile, deploy and watch (project-files.ts
 * scanTemplates). Links are followed, each real folder is read once (a loop or a second link adds
 * nothing, and says so), and a link that cannot be followed is an error naming it — never models
 * dropped without a word.
 */
import { rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { compileProject } from '../../scripts/runner/compile.ts';
import { Deployer } from '../../scripts/runner/deploy/deployer.ts';
import { ProjectWatcher, type WatchCycle } from '../../scripts/runner/watch/project-watcher.ts';
import { connectionTo, deployProject } from '../helpers/deploy.ts';
import { serverForTests } from '../helpers/local-server.ts';
import { tempProject } from '../helpers/temp-project.ts';

/** models/a/m1, and models/shared -> ../elsewhere/models holding m2 (refs m1) and sub/m3. */
function linkedProject(): string {
  const root = tempProject({
    'models/a/m1.sql': 'SELECT 1 AS x\n',
    'elsewhere/models/m2.sql': 'SELECT x FROM {{ref.m1}}\n',
    'elsewhere/models/sub/m3.sql': 'SELECT 3 AS y\n',
  });
  symlinkSync('../elsewhere/models', path.join(root, 'models/shared'));
  return root;
}

const modelPaths = (root: string) => Object.fromEntries([...compileProject(root, { env: {} }).nodes.values()].map((node) => [node.name, node.path]));

function compileError(root: string): string {
  try {
    compileProject(root, { env: {} });
  } catch (error) {
    return (error as { format(): string }).format();
  }
  throw new Error('compiled without an error');
}

let warn: ReturnType<typeof vi.spyOn>;
beforeAll(() => {
  warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
});
afterEach(() => warn.mockClear());
afterAll(() => warn.mockRestore());
const warnings = () => warn.mock.calls.map((call: unknown[]) => String(call[0]));

describe('compile follows symbolic links', () => {
  it('a linked folder of models is compiled, under the path of the link', () => {
    expect(modelPaths(linkedProject())).toEqual({ m1: 'models/a/m1.sql', m2: 'models/shared/m2.sql', m3: 'models/shared/sub/m3.sql' });
  });

  it('a linked file is a model', () => {
    const root = tempProject({ 'models/m1.sql': 'SELECT 1 AS x\n', 'elsewhere/m4.sql': 'SELECT 4 AS z\n' });
    symlinkSync('../elsewhere/m4.sql', path.join(root, 'models/m4.sql'));
    expect(modelPaths(root)).toEqual({ m1: 'models/m1.sql', m4: 'models/m4.sql' });
  });

  it('a loop (models/a/loop -> ..) neither hangs nor reads a model twice, and is named once with a fix', () => {
    const root = linkedProject();
    symlinkSync('..', path.join(root, 'models/a/loop'));
    expect(modelPaths(root)).toEqual({ m1: 'models/a/m1.sql', m2: 'models/shared/m2.sql', m3: 'models/shared/sub/m3.sql' });
    expect(warnings()).toEqual([expect.stringMatching(/^warning: models\/a\/loop: leads through a symbolic link to .*, which the project already reads as models; its templates are read once, as models\/…\n {2}fix: remove the link/)]);
    modelPaths(root);
    expect(warnings()).toHaveLength(1); // said once per process, not on every compile
  });

  it('two links to one folder read it once, under the first link in path order', () => {
    const root = linkedProject();
    symlinkSync('../elsewhere/models', path.join(root, 'models/another'));
    // models/another sorts first, so it is the path the folder is read as.
    expect(modelPaths(root)).toEqual({ m1: 'models/a/m1.sql', m2: 'models/another/m2.sql', m3: 'models/another/sub/m3.sql' });
    expect(warnings()).toEqual([expect.stringMatching(/^warning: models\/shared: .* already reads as models\/another;/)]);
  });

  it('a link into the models tree is read as the folder itself, not through the link', () => {
    const root = tempProject({ 'models/z/m1.sql': 'SELECT 1 AS x\n' });
    symlinkSync('z', path.join(root, 'models/a'));
    expect(modelPaths(root)).toEqual({ m1: 'models/z/m1.sql' });
    expect(warnings()).toEqual([expect.stringMatching(/^warning: models\/a: .* already reads as models\/z;/)]);
  });

  it('a dangling link is an error naming it, with the fix; so is a link to itself', () => {
    const root = linkedProject();
    rmSync(path.join(root, 'elsewhere'), { recursive: true });
    expect(compileError(root)).toBe(
      "models/shared: symbolic link to ../elsewhere/models, which does not exist: the models it leads to cannot be read\n  fix: restore ../elsewhere/models, or point the link at where it is now; remove the link only if what it led to should leave the project (the next deploy then drops its models)",
    );
    rmSync(path.join(root, 'models/shared'));
    symlinkSync('self', path.join(root, 'models/self'));
    expect(compileError(root)).toBe('models/self: symbolic link to self, a loop of links that leads to no file: what it was meant to hold cannot be read\n  fix: point the link at a real folder or file, or remove it');
  });

  it("an editor's dangling lock link (Emacs .#name.sql) is not a model", () => {
    const root = tempProject({ 'models/m1.sql': 'SELECT 1 AS x\n' });
    symlinkSync('user@host.1234:1700000000', path.join(root, 'models/.#m1.sql'));
    expect(modelPaths(root)).toEqual({ m1: 'models/m1.sql' });
  });
});

describe('deploy and watch follow the same links', () => {
  const t = serverForTests();
  let stop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await stop?.();
    stop = undefined;
    for (const view of ['m1', 'm2', 'm3', 'm5']) await t.query(`DROP VIEW IF EXISTS public.${view} CASCADE`);
    await t.query('DROP SCHEMA IF EXISTS segment_materialize CASCADE');
  });

  const views = async () => (await t.query<{ name: string }>(`SELECT name FROM mz_catalog.mz_views WHERE id LIKE 'u%' ORDER BY name`)).map((row) => row.name);

  it('deploys the linked models, and a dangling link stops the deploy instead of dropping them', async () => {
    const root = linkedProject();
    await deployProject(t, root);
    expect(await views()).toEqual(['m1', 'm2', 'm3']);
    rmSync(path.join(root, 'elsewhere'), { recursive: true });
    await expect(deployProject(t, root)).rejects.toThrow(/symbolic link to \.\.\/elsewhere\/models, which does not exist/);
    expect(await views()).toEqual(['m1', 'm2', 'm3']);
  });

  async function watchProject(root: string) {
    const deployer = await Deployer.open(compileProject(root), { connection: connectionTo(t) });
    const cycles: WatchCycle[] = [];
    const waiters: Array<(cycle: WatchCycle) => void> = [];
    const watcher = new ProjectWatcher(root, deployer, {
      onCycle: (cycle) => {
        cycles.push(cycle);
        waiters.shift()?.(cycle);
      },
    });
    const first = await watcher.start();
    stop = async () => {
      await watcher.close();
      await deployer.close();
    };
    return { first, cycles, watcher, nextCycle: () => new Promise<WatchCycle>((resolve) => waiters.push(resolve)) };
  }

  it('watch with a loop: saves deploy the model once, under its own path, and never fail', async () => {
    const root = linkedProject();
    symlinkSync('..', path.join(root, 'models/a/loop'));
    const w = await watchProject(root);
    expect(w.first.errors).toBeUndefined();
    expect(w.first.report?.results.map((result) => `${result.model}:${result.status}`).sort()).toEqual(['m1:done', 'm2:done', 'm3:done']);

    for (const [file, column] of [['models/a/m1.sql', 'x1'], ['models/a/m1.sql', 'x2']] as const) {
      const next = w.nextCycle();
      writeFileSync(path.join(root, file), `SELECT 1 AS x, 2 AS ${column}\n`);
      const cycle = await next;
      expect(cycle.errors).toBeUndefined();
      expect(cycle.error).toBeUndefined();
      expect(cycle.changed).toEqual(['models/a/m1.sql']);
      expect(cycle.report?.results.map((result) => `${result.model}:${result.status}`).sort()).toEqual(['m1:done', 'm2:done']);
    }
    // Through the linked folder: read as models/shared/…, the compiler's path.
    const next = w.nextCycle();
    writeFileSync(path.join(root, 'elsewhere/models/sub/m3.sql'), 'SELECT 33 AS y\n');
    const cycle = await next;
    expect(cycle.errors).toBeUndefined();
    expect(cycle.changed).toEqual(['models/shared/sub/m3.sql']);
    expect(cycle.report?.results.map((result) => `${result.model}:${result.action}`)).toEqual(['m3:replace']);
    await w.watcher.idle();
    expect(w.cycles.every((each) => !each.errors && !each.error)).toBe(true);
  });

  it('watch: a new linked folder deploys its models; its target vanishing is an error, not a drop', async () => {
    const root = tempProject({ 'models/a/m1.sql': 'SELECT 1 AS x\n', 'elsewhere/models/m5.sql': 'SELECT 5 AS v\n' });
    const w = await watchProject(root);
    let next = w.nextCycle();
    symlinkSync('../elsewhere/models', path.join(root, 'models/shared'));
    let cycle = await next;
    await w.watcher.idle();
    expect(await views()).toEqual(['m1', 'm5']);

    next = w.nextCycle();
    rmSync(path.join(root, 'elsewhere'), { recursive: true });
    cycle = await next;
    await w.watcher.idle();
    const last = w.cycles.at(-1)!;
    expect([cycle, last].some((each) => each.errors?.some((error) => /^models\/shared: symbolic link to \.\.\/elsewhere\/models, which does not exist/.test(error.format())))).toBe(true);
    expect(w.cycles.some((each) => each.report?.results.some((result) => result.action === 'drop'))).toBe(false);
    expect(await views()).toEqual(['m1', 'm5']);
  });
});
