import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeStaleSiblings } from '../../scripts/local/engine/stale-cache-files.ts';
import { temporaryDirectory } from '../helpers/temp-project.ts';

describe('removeStaleSiblings', () => {
  it('removes older files of the same kind, keeps the new one, recent ones and other kinds', async () => {
    const directory = temporaryDirectory('stale-cache-');
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    const files = { current: 'pglite-b.tar', stale: 'pglite-a.tar', recent: 'pglite-c.tar', otherKind: 'cli-help-a.json' };
    for (const name of Object.values(files)) await writeFile(path.join(directory, name), 'x');
    for (const name of [files.stale, files.otherKind, files.current]) await utimes(path.join(directory, name), twoHoursAgo, twoHoursAgo);

    await removeStaleSiblings(path.join(directory, files.current), 'pglite-');

    expect((await readdir(directory)).sort()).toEqual([files.otherKind, files.current, files.recent].sort());
  });

  it('removes an older bundle directory with its chunks, keeps the new one', async () => {
    const directory = temporaryDirectory('stale-cache-');
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    for (const bundle of ['local.aaaa', 'local.bbbb', 'local-server.cccc']) {
      await mkdir(path.join(directory, bundle));
      await writeFile(path.join(directory, bundle, 'chunk-X.mjs'), 'x');
      await utimes(path.join(directory, bundle), twoHoursAgo, twoHoursAgo);
    }
    await writeFile(path.join(directory, 'local.dddd.mjs'), 'an older single-file bundle');
    await utimes(path.join(directory, 'local.dddd.mjs'), twoHoursAgo, twoHoursAgo);

    await removeStaleSiblings(path.join(directory, 'local.bbbb'), 'local.');

    expect((await readdir(directory)).sort()).toEqual(['local-server.cccc', 'local.bbbb']);
    expect(await readdir(path.join(directory, 'local.bbbb'))).toEqual(['chunk-X.mjs']);
  });

  it('does nothing, and does not throw, when the directory is gone', async () => {
    await expect(removeStaleSiblings('/nonexistent/segment-materialize/x.tar', 'x')).resolves.toBeUndefined();
  });
});
