/**
 * Watch mode with real file edits in a temporary copy of the seed project, deploying to the local
 * server in-process through chokidar, the incremental compiler and the deployer.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compileProject } from '../../scripts/runner/compile.ts';
import { Deployer } from '../../scripts/runner/deploy/deployer.ts';
import { ProjectWatcher, type WatchCycle } from '../../scripts/runner/watch/project-watcher.ts';
import { catalogIds, changes, connectionTo, deployProject, emptySeedServer } from '../helpers/deploy.ts';
import { serverForTests } from '../helpers/local-server.ts';
import { copyOfSeedProject, removeFile } from '../helpers/temp-project.ts';

const t = serverForTests();

let stopWatching: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stopWatching?.();
  stopWatching = undefined;
  await emptySeedServer(t);
});

interface Watching {
  root: string;
  watcher: ProjectWatcher;
  cycles: WatchCycle[];
  /** Resolves with the next cycle that ends. */
  nextCycle(): Promise<WatchCycle>;
}

async function watchSeedProject(): Promise<Watching> {
  const root = copyOfSeedProject();
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
  expect(first.report?.results.filter((result) => result.status === 'done')).toHaveLength(24);
  stopWatching = async () => {
    await watcher.close();
    await deployer.close();
  };
  return { root, watcher, cycles, nextCycle: () => new Promise((resolve) => waiters.push(resolve)) };
}

function edit(root: string, file: string, change: (text: string) => string): void {
  const full = path.join(root, file);
  writeFileSync(full, change(readFileSync(full, 'utf8')));
}

const changed = (cycle: WatchCycle) =>
  Object.fromEntries((cycle.report?.results ?? []).map((result) => [result.model, `${result.action}:${result.status}`]));

describe('models:watch', () => {
  it('an edit to a staging model redeploys it and its descendants, and the change is queryable', async () => {
    const w = await watchSeedProject();
    const before = await catalogIds(t);
    const next = w.nextCycle();
    edit(w.root, 'models/staging/stg_segment_pages.sql', (text) => text.replace('SELECT', 'SELECT 42 AS answer,'));
    const cycle = await next;
    expect(cycle.changed).toEqual(['models/staging/stg_segment_pages.sql']);
    expect(changed(cycle)).toEqual({ stg_segment_pages: 'replace:done', page_views_by_url: 'replace:done', page_views_by_url_url_idx: 'replace:done' });
    expect(await t.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'stg_segment_pages' AND column_name = 'answer'`)).toHaveLength(1);
    const after = await catalogIds(t);
    expect(after.get('stg_segment_tracks')).toBe(before.get('stg_segment_tracks'));
  });

  it('a broken edit reports file:line and keeps watching; the fix deploys', async () => {
    const w = await watchSeedProject();
    let next = w.nextCycle();
    edit(w.root, 'models/marts/track_event_counts.sql', (text) => text.replace('{{ref.stg_segment_tracks}}', '{{ref.stg_segment_trakcs}}'));
    const broken = await next;
    expect(broken.report).toBeUndefined();
    expect(broken.errors?.[0]?.format()).toMatch(/^models\/marts\/track_event_counts\.sql:\d+:\d+: ref to unknown model 'stg_segment_trakcs' \(did you mean 'stg_segment_tracks'\?\)/);
    expect((await catalogIds(t)).has('track_event_counts')).toBe(true); // untouched

    next = w.nextCycle();
    edit(w.root, 'models/marts/track_event_counts.sql', (text) => text.replace('{{ref.stg_segment_trakcs}}', '{{ref.stg_segment_tracks}}').replace('count(*) AS events', 'count(*) AS events_total'));
    const fixed = await next;
    expect(changed(fixed)).toEqual({ track_event_counts: 'replace:done', track_event_counts_event_idx: 'replace:done' });
    expect(await t.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'track_event_counts' AND column_name = 'events_total'`)).toHaveLength(1);
  });

  it('deleting a model file drops it', async () => {
    const w = await watchSeedProject();
    const next = w.nextCycle();
    removeFile(w.root, 'models/marts/daily_active_users.sql');
    const cycle = await next;
    expect(changed(cycle)).toEqual({ daily_active_users_day_idx: 'drop:done', daily_active_users: 'drop:done' });
    expect((await catalogIds(t)).has('daily_active_users')).toBe(false);
  });

  it('saves during a deploy are queued and applied after it, never concurrently, never lost', async () => {
    const w = await watchSeedProject();
    let running = 0;
    let overlapped = false;
    const originalDeploy = Deployer.prototype.deploy;
    const spy = async function (this: Deployer, ...args: Parameters<Deployer['deploy']>) {
      running++;
      if (running > 1) overlapped = true;
      try {
        return await originalDeploy.apply(this, args);
      } finally {
        running--;
      }
    };
    Deployer.prototype.deploy = spy;
    try {
      for (let index = 1; index <= 5; index++) {
        edit(w.root, 'models/staging/stg_segment_screens.sql', (text) => text.replace(/SELECT( \d+ AS v\d+,)?/, `SELECT ${index} AS v${index},`));
        await new Promise((resolve) => setTimeout(resolve, 15 + index * 7));
      }
      await w.watcher.idle();
    } finally {
      Deployer.prototype.deploy = originalDeploy;
    }
    expect(overlapped).toBe(false);
    // Whatever the batching, the last save is what is deployed.
    expect(await t.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'stg_segment_screens' AND column_name LIKE 'v%' ORDER BY 1`)).toEqual([{ column_name: 'v5' }]);
    expect(w.cycles.slice(1).every((cycle) => !cycle.errors && !cycle.error)).toBe(true);
  });

  it('a second save within chokidar\'s 50 ms event window is still deployed', async () => {
    const w = await watchSeedProject();
    edit(w.root, 'models/staging/stg_segment_groups.sql', (text) => text.replace('SELECT', 'SELECT 1 AS first_save,'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    edit(w.root, 'models/staging/stg_segment_groups.sql', (text) => text.replace('1 AS first_save,', '2 AS second_save,'));
    await new Promise((resolve) => setTimeout(resolve, 10));
    await w.watcher.idle();
    expect(await t.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'stg_segment_groups' AND column_name LIKE '%_save' ORDER BY 1`)).toEqual([{ column_name: 'second_save' }]);
  });

  it('notices a deploy made elsewhere meanwhile and plans against the state it left', async () => {
    const w = await watchSeedProject();
    // Someone deploys another version of the project (a colleague's branch, a CI job).
    const other = copyOfSeedProject();
    edit(other, 'models/staging/stg_segment_pages.sql', (text) => text.replace('SELECT', 'SELECT 7 AS from_elsewhere,'));
    expect(changes(await deployProject(t, other))).toEqual({ stg_segment_pages: 'replace', page_views_by_url: 'replace', page_views_by_url_url_idx: 'replace' });

    const next = w.nextCycle();
    edit(w.root, 'models/staging/stg_segment_tracks.sql', (text) => text.replace('SELECT', 'SELECT 8 AS local_edit,'));
    const cycle = await next;
    // The watcher's project wins again for the pages view too, instead of trusting its stale memory.
    // The tracks edit also replaces high_value_customers (the seed's activation mart reads them).
    expect(Object.keys(changed(cycle)).sort()).toEqual([
      'high_value_customers',
      'high_value_customers_user_id_idx',
      'page_views_by_url',
      'page_views_by_url_url_idx',
      'stg_segment_pages',
      'stg_segment_tracks',
      'track_event_counts',
      'track_event_counts_event_idx',
    ]);
    expect(await t.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'stg_segment_pages' AND column_name = 'from_elsewhere'`)).toHaveLength(0);
  });
});
