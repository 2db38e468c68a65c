/** The commands as users run them: real processes through tsx, on temporary copies of the project. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startLocalServer } from '../scripts/local/local-server.ts';
import { runScript } from './helpers/run-script.ts';
import { copyOfSeedProject, REPO_ROOT, writeFiles } from './helpers/temp-project.ts';

const cli = (script: string, args: string[], cwd: string) => runScript(script, args, { cwd });

describe('models:compile', () => {
  it('writes target/ and prints a summary with timings', async () => {
    const root = copyOfSeedProject();
    const result = await cli('models-compile.ts', [], root);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/compiled 24 models \(.*\) and 23 tests for target local in [\d.]+ ms/);
    const manifest = JSON.parse(readFileSync(path.join(root, 'target/manifest.json'), 'utf8'));
    // 24 models and 23 tests (16 data tests, 7 unit tests).
    expect(manifest.order).toHaveLength(47);
    expect(manifest.models.filter((model: { kind: string }) => model.kind === 'test')).toHaveLength(23);
    expect(manifest.models.filter((model: { kind: string; test_kind?: string }) => model.kind === 'test' && model.test_kind === 'unit')).toHaveLength(7);
    expect(readFileSync(path.join(root, 'target/compiled/segment_webhook_secret.sql'), 'utf8')).toBe(`CREATE SECRET IF NOT EXISTS "segment"."segment_webhook_secret" AS :'SEGMENT_WEBHOOK_SECRET';\n`);
  });

  it('compiles a selection with --select and --exclude', async () => {
    const root = copyOfSeedProject();
    const result = await cli('models-compile.ts', ['--select', '+user_profiles', '--exclude', 'tag:sources', '--json'], root);
    expect(result.code).toBe(0);
    // Data tests follow the models they read, unit tests the model they test: those on user_profiles
    // and its ancestors come along (not events_per_minute's, though it mocks an ancestor).
    expect(JSON.parse(result.stdout).order).toEqual([
      'analytics_cluster',
      'webhooks_cluster',
      'stg_segment_events',
      'dedup_keeps_first_received_delivery',
      'events_name_someone',
      'known_event_types',
      'not_null_stg_segment_events_event_type',
      'not_null_stg_segment_events_received_at',
      'stg_segment_deletes',
      'stg_segment_identifies',
      'timestamps_parse_where_present',
      'unique_stg_segment_events_message_id',
      'identifies_parse_spec_traits_from_payloads',
      'user_profiles',
      'deleted_users_absent_from_marts',
      'unique_user_profiles_user_id',
      'user_profiles_identify_without_traits_erases_earlier_traits',
      'user_profiles_keep_the_latest_identify',
      'user_profiles_leave_out_deleted_users',
      'user_profiles_user_id_idx',
    ]);
  });

  it('prints errors as file:line:col with a fix and exits 1', async () => {
    const root = copyOfSeedProject();
    writeFiles(root, { 'models/marts/broken.sql': '---\nkind: view\n---\nSELECT *\nFROM {{ref.user_profile}}\n' });
    const result = await cli('models-compile.ts', [], root);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("error: models/marts/broken.sql:5:6: ref to unknown model 'user_profile' (did you mean 'user_profiles'?)");
    expect(result.stderr).toContain('fix: ');
  });

});

describe('models:graph', () => {
  it('prints the lineage as text and as Mermaid', async () => {
    const text = await cli('models-graph.ts', ['--select', 'stg_segment_pages+'], REPO_ROOT);
    expect(text.stdout).toBe(
      [
        'depth 3',
        '  stg_segment_pages             view               models/staging/stg_segment_pages.sql  ← stg_segment_events',
        'depth 4',
        '  page_views_by_url             materialized_view  models/marts/page_views_by_url.sql  ← analytics_cluster, stg_segment_deletes, stg_segment_pages',
        'depth 5',
        '  page_views_by_url_url_idx     index              models/marts/page_views_by_url.sql  ← analytics_cluster, page_views_by_url',
        '  unique_page_views_by_url_url  test               models/marts/page_views_by_url.sql  ← page_views_by_url',
        '',
      ].join('\n'),
    );
    const mermaid = await cli('models-graph.ts', ['--format', 'mermaid'], REPO_ROOT);
    expect(mermaid.stdout.startsWith('flowchart LR\n')).toBe(true);
    expect(mermaid.stdout).toContain('  segment_source[("segment_source<br/><small>source</small>")]:::source');
    expect(mermaid.stdout).toContain('  segment_webhook_secret --> segment_source');
  });
});

describe('models:generate', () => {
  it('writes a parse view from a sample event that compiles with the project', async () => {
    const root = copyOfSeedProject();
    const sample = path.join(REPO_ROOT, 'test/fixtures/events/track.json');
    const result = await cli('models-generate.ts', ['--from', sample, '--name', 'stg_order_completed', '--type', 'track'], root);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/wrote models\/staging\/stg_order_completed\.sql: \d+ columns, compiles with the project \(stg_segment_events\)/);
    const model = readFileSync(path.join(root, 'models/staging/stg_order_completed.sql'), 'utf8');
    expect(model).toContain("CASE WHEN jsonb_typeof(e.body->'properties'->'total') = 'number' THEN (e.body->'properties'->>'total')::numeric END AS properties_total,");
    expect(model).toContain("try_parse_monotonic_iso8601_timestamp(e.body->>'receivedAt') AS received_at,");
    expect(model).toContain("WHERE e.body->>'type' = 'track'");

    const again = await cli('models-generate.ts', ['--from', sample, '--name', 'stg_order_completed'], root);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists');
  });

  it('reports invalid JSON with its line and column', async () => {
    const root = copyOfSeedProject();
    writeFiles(root, { 'bad.json': '{\n  "type": "track",\n  "event": oops\n}\n' });
    const result = await cli('models-generate.ts', ['--from', 'bad.json', '--name', 'x', '--project-dir', root], root);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/error: bad\.json:3:\d+: the sample is not valid JSON/);
  });
});

describe('models:deploy (the command, on the local target)', () => {
  it('plans with --dry-run --json without creating a data directory', async () => {
    const root = copyOfSeedProject();
    const result = await cli('models-deploy.ts', ['--dry-run', '--json'], root);
    expect(result.code).toBe(0);
    const plan = JSON.parse(result.stdout) as { actions: Array<{ model: string; action: string; sql?: string[] }> };
    expect(plan.actions).toHaveLength(24);
    expect(plan.actions.every((action) => action.action === 'create')).toBe(true);
    expect(plan.actions.find((action) => action.model === 'segment_webhook_secret')).toMatchObject({
      sql: [`CREATE SECRET IF NOT EXISTS "segment"."segment_webhook_secret" AS :'SEGMENT_WEBHOOK_SECRET'`, `ALTER SECRET "segment"."segment_webhook_secret" AS :'SEGMENT_WEBHOOK_SECRET'`],
    });
    expect(result.stdout).not.toContain('local-development-secret');
    expect(existsSync(path.join(root, '.materialize'))).toBe(false);
  });

  it('deploys embedded on the data directory, then through a running local server, sending nothing the second time', async () => {
    const root = copyOfSeedProject();
    const first = await cli('models-deploy.ts', [], root);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/to local: embedded local server on .*\.materialize\/data/);
    expect(first.stdout).toMatch(/^ {2}create +source +segment_source +[\d.]+ ms$/m);
    // 24 models in 25 statements (the secret is created, then altered), and the schemas segment and analytics.
    expect(first.stdout).toMatch(/deployed: 24 created, 0 replaced, 0 dropped, 0 unchanged in [\d.]+ ms \(27 DDL statements\)/);
    expect(first.stdout + first.stderr).not.toContain('local-development-secret');

    const server = await startLocalServer({ dataDir: path.join(root, '.materialize/data'), pgPort: 0, httpPort: 0 });
    try {
      const second = await cli('models-deploy.ts', ['--json'], root);
      expect(second.code).toBe(0);
      const report = JSON.parse(second.stdout) as { summary: { unchanged: number; ddl_statements: number } };
      expect(report.summary).toMatchObject({ unchanged: 24, ddl_statements: 0 });
      const text = await cli('models-deploy.ts', [], root);
      expect(text.stdout).toMatch(new RegExp(`local server \\(\\S+, pid ${process.pid}, since [^)]+\\) at 127\\.0\\.0\\.1:${server.pgPort}`));
    } finally {
      await server.stop();
    }
    // Three deploy processes and two servers (one on a new data directory): more than 20 s on a busy machine.
  }, 60_000);

  it('exits 1 with the file and line of a failing model, and names what was left undeployed', async () => {
    const root = copyOfSeedProject();
    writeFiles(root, { 'models/marts/broken_mart.sql': '---\ndescription: broken\n---\nSELECT\n  nope AS x\nFROM {{ref.stg_segment_tracks}}\n' });
    const result = await cli('models-deploy.ts', ['--select', '+broken_mart'], root);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/error: models\/marts\/broken_mart\.sql:5: broken_mart: column "nope" does not exist \(42703\)\n {2}compiled SQL line \d+: nope AS x/);
    expect(result.stdout).toContain('left undeployed: broken_mart');
  });
});
