import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileProject, ProjectCompiler } from '../scripts/runner/compile.ts';
import { ProjectError, ProjectErrors } from '../scripts/runner/errors.ts';
import { buildManifest, writeTarget } from '../scripts/runner/manifest.ts';
import { copyOfSeedProject, removeFile, tempProject, writeFiles } from './helpers/temp-project.ts';

function compileErrors(root: string, options = {}): string[] {
  try {
    compileProject(root, options);
  } catch (error) {
    if (error instanceof ProjectErrors) return error.errors.map((each) => each.format());
    if (error instanceof ProjectError) return [error.format()];
    throw error;
  }
  throw new Error('expected compile errors');
}

const BASE = {
  'models/src.sql': '---\nkind: source\ncluster: ingest\n---\nFROM WEBHOOK BODY FORMAT JSON',
  'models/stg.sql': 'SELECT body FROM {{ref.src}}',
};

describe('config merge', () => {
  it('merges defaults, folder defaults (outer to inner) and front matter; tags accumulate', () => {
    const root = tempProject({
      'project.yml': [
        'name: p',
        'defaults: { schema: analytics, tags: [all] }',
        'folders:',
        '  marts: { kind: materialized_view, cluster: serving, tags: [marts] }',
        '  marts/finance: { tags: [finance], cluster: finance }',
      ].join('\n'),
      'models/base.sql': 'SELECT 1 AS x',
      'models/marts/finance/revenue.sql': '---\ntags: [daily]\n---\nSELECT x FROM {{ref.base}}',
      'models/marts/orders.sql': '---\nkind: view\n---\nSELECT x FROM {{ref.base}}',
    });
    const project = compileProject(root);
    const revenue = project.nodes.get('revenue')!;
    expect(revenue).toMatchObject({ kind: 'materialized_view', cluster: 'finance', schema: 'analytics', tags: ['all', 'marts', 'finance', 'daily'] });
    expect(revenue.sql).toBe('CREATE MATERIALIZED VIEW "analytics"."revenue"\n  IN CLUSTER "finance" AS\nSELECT x FROM "analytics"."base"');
    expect(project.nodes.get('orders')).toMatchObject({ kind: 'view', cluster: undefined, tags: ['all', 'marts'] });
    expect(project.nodes.get('base')).toMatchObject({ kind: 'view', tags: ['all'] });
  });
});

describe('statements per kind', () => {
  it('compiles every kind to Materialize DDL', () => {
    const root = tempProject({
      'project.yml': 'name: p\nsecrets:\n  pw: KAFKA_PASSWORD\n',
      'models/ingest.sql': "---\nkind: cluster\n---\n(SIZE = '25cc')",
      'models/pw.sql': '---\nkind: secret\n---\n',
      'models/kafka.sql': "---\nkind: connection\n---\nTO KAFKA (BROKER 'b:9092', SASL PASSWORD = SECRET pw)",
      'models/topic.sql': "---\nkind: source\ncluster: ingest\n---\nFROM KAFKA CONNECTION kafka (TOPIC 't') FORMAT BYTES;\n",
      'models/decoded.sql': "---\nkind: materialized_view\nindexes:\n  - columns: [body]\n  - default: true\n  - columns: [\"body->>'id'\"]\n    cluster: serving\n---\nSELECT CAST(convert_from(data, 'utf8') AS jsonb) AS body FROM {{ref.topic}}",
    });
    const project = compileProject(root);
    const sql = (name: string) => project.nodes.get(name)!.sql;
    expect(sql('ingest')).toBe(`CREATE CLUSTER "ingest" (SIZE = '25cc')`);
    expect(sql('pw')).toBe(`CREATE SECRET IF NOT EXISTS "public"."pw" AS :'KAFKA_PASSWORD'`);
    expect(sql('kafka')).toBe(`CREATE CONNECTION "public"."kafka" TO KAFKA (BROKER 'b:9092', SASL PASSWORD = SECRET pw)`);
    expect(sql('topic')).toBe(`CREATE SOURCE "public"."topic"\n  IN CLUSTER "ingest"\nFROM KAFKA CONNECTION kafka (TOPIC 't') FORMAT BYTES`);
    expect(sql('decoded_body_idx')).toBe('CREATE INDEX "decoded_body_idx" IN CLUSTER "quickstart" ON "public"."decoded" ("body")');
    expect(sql('decoded_primary_idx')).toBe('CREATE DEFAULT INDEX "decoded_primary_idx" IN CLUSTER "quickstart" ON "public"."decoded"');
    expect(sql('decoded_body_id_idx')).toBe(`CREATE INDEX "decoded_body_id_idx" IN CLUSTER "serving" ON "public"."decoded" (body->>'id')`);
    // Implicit edges: the connection depends on its secret, the source on its cluster and connection.
    expect(project.nodes.get('kafka')!.dependsOn).toEqual(['pw']);
    expect(project.nodes.get('topic')!.dependsOn).toEqual(['ingest', 'kafka']);
    expect(project.order).toEqual(['ingest', 'pw', 'kafka', 'topic', 'decoded', 'decoded_body_id_idx', 'decoded_body_idx', 'decoded_primary_idx']);
  });

  it('finds secrets named in a CHECK, quoted or qualified, but not in strings or comments', () => {
    const root = tempProject({
      'project.yml': 'name: p\nsecrets:\n  hook_secret: HOOK_SECRET\n  other: OTHER\n',
      'models/hook_secret.sql': '---\nkind: secret\n---\n',
      'models/other.sql': '---\nkind: secret\n---\n',
      'models/hook.sql': [
        '---\nkind: source\n---',
        "-- SECRET other is only mentioned here",
        "FROM WEBHOOK BODY FORMAT TEXT CHECK ( WITH (BODY, SECRET \"public\".\"hook_secret\") body = 'SECRET other' )",
      ].join('\n'),
    });
    expect(compileProject(root).nodes.get('hook')!.dependsOn).toEqual(['hook_secret']);
  });

  it('lints bodies that do not fit their kind', () => {
    const root = tempProject({
      'models/a.sql': 'CREATE VIEW a AS SELECT 1',
      'models/b.sql': '---\nkind: source\n---\nSELECT 1',
      'models/c.sql': 'SELECT 1; SELECT 2',
      'models/d.sql': '---\nkind: view\n---\n-- nothing here\n',
      'models/e.sql': "---\nkind: cluster\nindexes: [{ default: true }]\n---\n(SIZE = '25cc')",
    });
    expect(compileErrors(root)).toEqual([
      "models/a.sql:1: write only a query (SELECT …, WITH …): the runner writes the CREATE statement from the model's name and config\n  fix: remove the CREATE … line; set kind and cluster in the front matter",
      "models/b.sql:4: a source model's body must be the source clause, e.g. FROM WEBHOOK BODY FORMAT JSON\n  fix: check the model's kind (now 'source') and its first line",
      'models/c.sql:1: a model holds exactly one statement, but this body has a `;` before its end\n  fix: move the other statement into a model of its own',
      'models/d.sql:4: this view model is empty\n  fix: write a query (SELECT …, WITH …)',
      'models/e.sql: a cluster cannot have indexes\n  fix: indexes apply to views, materialized views and sources',
    ]);
  });
});

describe('errors name the file and position', () => {
  it('reports an unknown ref at file:line:col with a suggestion', () => {
    const root = tempProject({ ...BASE, 'models/mart.sql': '---\nkind: view\n---\nSELECT *\nFROM {{ref.stgg}}' });
    expect(compileErrors(root)).toEqual(["models/mart.sql:5:6: ref to unknown model 'stgg' (did you mean 'stg'?)\n  fix: models are the .sql files under models/, named by file stem"]);
  });

  it('reports a ref to a disabled model', () => {
    const root = tempProject({ ...BASE, 'models/off.sql': '---\nenabled: false\n---\nSELECT 1', 'models/on.sql': 'SELECT * FROM {{ref.off}}' });
    expect(compileErrors(root)).toEqual(["models/on.sql:1:15: ref to model 'off', which is disabled (enabled: false)\n  fix: enable models/off.sql, or disable this model too"]);
  });

  it('reports an undeclared var, a missing macro and a syntax error together', () => {
    const root = tempProject({
      'project.yml': 'name: p\nvars:\n  window: 5\n',
      'macros/cols.sql': 'a, b',
      'models/a.sql': 'SELECT {{vars.windw}}',
      'models/b.sql': 'SELECT {{> col}} FROM t',
      'models/c.sql': '---\nkind: view\n---\nSELECT\n  {{#vars.window}}\n  1',
    });
    expect(compileErrors(root)).toEqual([
      "models/a.sql:1:8: var 'windw' is not declared (did you mean 'window'?)\n  fix: declare it with a default under vars: in project.yml (declared: window)",
      "models/b.sql:1:8: unknown macro '{{> col}}' (did you mean 'cols'?)\n  fix: macros are the files in macros/: cols",
      "models/c.sql:5:3: section '{{#vars.window}}' is never closed\n  fix: add {{/vars.window}} where the section ends",
    ]);
  });

  it('names both files of a duplicate model name', () => {
    const root = tempProject({ 'models/a/orders.sql': 'SELECT 1', 'models/b/orders.sql': 'SELECT 2' });
    expect(compileErrors(root)).toEqual([
      "models/b/orders.sql:1: model name 'orders' is used by two files: models/a/orders.sql and models/b/orders.sql\n  fix: rename one of them: models and singular tests are named by their file stem",
    ]);
  });

  it('reports every cycle with the files on it', () => {
    const root = tempProject({
      'models/a.sql': 'SELECT * FROM {{ref.c}}',
      'models/b.sql': 'SELECT * FROM {{ref.a}}',
      'models/c.sql': 'SELECT * FROM {{ref.b}}',
      'models/x.sql': 'SELECT * FROM {{ref.y}}',
      'models/y.sql': 'SELECT * FROM {{ref.x}}',
      'models/fine.sql': 'SELECT 1',
    });
    expect(compileErrors(root)).toEqual([
      'models/a.sql:1:15: dependency cycle: a → c → b → a (files: models/a.sql, models/c.sql, models/b.sql)\n  fix: a model cannot depend on itself, even through others: remove one of these refs',
      'models/x.sql:1:15: dependency cycle: x → y → x (files: models/x.sql, models/y.sql)\n  fix: a model cannot depend on itself, even through others: remove one of these refs',
    ]);
  });

  it('refuses a model that refs itself, pointing to {{this}}', () => {
    const root = tempProject({ 'models/a.sql': 'SELECT * FROM {{ref.a}}' });
    expect(compileErrors(root)).toEqual(["models/a.sql:1:15: model 'a' refs itself\n  fix: use {{this}} to name the model being defined"]);
  });

  it('requires secrets to be mapped to an environment variable', () => {
    const root = tempProject({ 'models/key.sql': '---\nkind: secret\n---\n' });
    expect(compileErrors(root)).toEqual(["models/key.sql: secret model 'key' has no environment variable\n  fix: map it under secrets: in project.yml, e.g.  key: KEY"]);
  });

  it('reports front matter errors with the file line, and refs in front matter', () => {
    const root = tempProject({ 'models/a.sql': '---\nkind: view\ntags: notalist\n---\nSELECT 1', 'models/b.sql': '---\ndescription: {{ref.a}}\n---\nSELECT 1' });
    expect(compileErrors(root)).toEqual([
      'models/a.sql:3:1: tags: expected array in front matter\n  fix: write an array here',
      'models/b.sql:2:14: refs belong in the model body, not in its front matter',
    ]);
  });
});

describe('templates in models', () => {
  it('renders this, target, vars and model, and records refs as dependencies', () => {
    const root = tempProject({
      'project.yml': 'name: p\nvars:\n  limit: 10\n',
      'models/base.sql': 'SELECT 1 AS x',
      'models/t.sql': "SELECT '{{this}}' AS me, '{{target.name}}' AS target, {{target.is_local}} AS local, '{{model.kind}}' AS kind FROM {{ref.base}} LIMIT {{vars.limit}}",
    });
    const node = compileProject(root, { vars: '{"limit": 3}' }).nodes.get('t')!;
    expect(node.sql).toBe(`CREATE VIEW "public"."t" AS\nSELECT '"public"."t"' AS me, 'local' AS target, true AS local, 'view' AS kind FROM "public"."base" LIMIT 3`);
    expect(node.dependsOn).toEqual(['base']);
  });

  it('does not depend on a ref inside a section that is off', () => {
    const root = tempProject({
      'project.yml': 'name: p\nvars:\n  extra: false\n',
      'models/a.sql': 'SELECT 1 AS x',
      'models/b.sql': 'SELECT 2 AS x',
      'models/u.sql': 'SELECT x FROM {{ref.a}}\n{{#vars.extra}}\nUNION ALL SELECT x FROM {{ref.b}}\n{{/vars.extra}}\n',
    });
    expect(compileProject(root).nodes.get('u')!.dependsOn).toEqual(['a']);
    expect(compileProject(root, { vars: 'extra: true' }).nodes.get('u')!.dependsOn).toEqual(['a', 'b']);
  });

  it('enables models from a var in front matter', () => {
    const root = tempProject({ 'project.yml': 'name: p\nvars:\n  on: false\n', 'models/a.sql': '---\nenabled: {{vars.on}}\n---\nSELECT 1' });
    expect(compileProject(root).disabled).toEqual(['a']);
    expect([...compileProject(root, { vars: '{"on": true}' }).nodes.keys()]).toEqual(['a']);
  });
});

describe('target/', () => {
  it('writes the manifest contract and compiled files, and never a secret value', () => {
    const root = copyOfSeedProject();
    const secretValue = 'a-very-secret-value-1234';
    const project = compileProject(root, { env: { SEGMENT_WEBHOOK_SECRET: secretValue, KAFKA_SASL_PASSWORD: secretValue } });
    const summary = writeTarget(root, buildManifest(project));
    const manifest = JSON.parse(readFileSync(path.join(root, 'target/manifest.json'), 'utf8'));
    expect(summary.written).toBe(manifest.models.length);
    expect(Object.keys(manifest)).toEqual(expect.arrayContaining(['models', 'order']));
    for (const model of manifest.models) {
      expect(Object.keys(model)).toEqual(expect.arrayContaining(['name', 'kind', 'path', 'depends_on', 'checksum', 'sql']));
      expect(['source', 'view', 'materialized_view', 'index', 'secret', 'cluster', 'connection', 'test']).toContain(model.kind);
      expect(model.checksum).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(manifest.order).toEqual(manifest.models.map((model: { name: string }) => model.name));
    const compiledFiles = readdirSync(path.join(root, 'target/compiled'));
    expect(compiledFiles.sort()).toEqual(manifest.order.map((name: string) => `${name}.sql`).sort());
    for (const file of compiledFiles) expect(readFileSync(path.join(root, 'target/compiled', file), 'utf8')).not.toContain(secretValue);
    expect(readFileSync(path.join(root, 'target/manifest.json'), 'utf8')).not.toContain(secretValue);

    // A second write changes nothing; a removed model's file goes away.
    expect(writeTarget(root, buildManifest(project))).toMatchObject({ written: 0, removed: 0 });
    removeFile(root, 'models/marts/track_event_counts.sql');
    // The model, its index and its unique test.
    expect(writeTarget(root, buildManifest(compileProject(root)))).toMatchObject({ written: 0, removed: 3 });
  });
});

describe('incremental recompile', () => {
  function snapshot(project: ReturnType<typeof compileProject>) {
    return { order: project.order, nodes: [...project.nodes.values()].map((node) => [node.name, node.checksum, node.dependsOn]).sort() };
  }

  it('matches a full compile after edits to models and macros, rendering only what changed', () => {
    const root = copyOfSeedProject();
    const compiler = new ProjectCompiler(root);
    compiler.compile();

    writeFiles(root, { 'models/marts/track_event_counts.sql': readFileSync(path.join(root, 'models/marts/track_event_counts.sql'), 'utf8').replace('count(*) AS events', 'count(*) AS track_events') });
    const edited = compiler.recompile(['models/marts/track_event_counts.sql']);
    expect(edited.timings.rendered).toBe(1);
    expect(edited.nodes.get('track_event_counts')!.sql).toContain('track_events');
    expect(snapshot(edited)).toEqual(snapshot(compileProject(root)));

    // A macro edit re-renders exactly the models that use it.
    writeFiles(root, { 'macros/not_deleted_user.sql': 'NOT EXISTS (SELECT 1 FROM {{ref.stg_segment_deletes}} AS d WHERE d.user_id = e.user_id)\n' });
    const macroEdit = compiler.recompile(['macros/not_deleted_user.sql']);
    // Its users: grep -rl not_deleted_user models/ (6, high_value_customers the last added).
    expect(macroEdit.timings.rendered).toBe(6);
    expect(snapshot(macroEdit)).toEqual(snapshot(compileProject(root)));

    // A new model and a deleted one change the graph.
    writeFiles(root, { 'models/marts/identify_count.sql': 'SELECT count(*) AS n FROM {{ref.stg_segment_identifies}}' });
    removeFile(root, 'models/marts/page_views_by_url.sql');
    const structural = compiler.recompile(['models/marts/identify_count.sql', 'models/marts/page_views_by_url.sql']);
    expect(structural.nodes.has('identify_count')).toBe(true);
    expect(structural.nodes.has('page_views_by_url')).toBe(false);
    expect(snapshot(structural)).toEqual(snapshot(compileProject(root)));
  });

  it('keeps reporting a broken edit and recovers when it is fixed', () => {
    const root = tempProject({ 'models/a.sql': 'SELECT 1 AS x', 'models/b.sql': 'SELECT x FROM {{ref.a}}' });
    const compiler = new ProjectCompiler(root);
    compiler.compile();
    writeFiles(root, { 'models/b.sql': 'SELECT x FROM {{ref.aa}}' });
    expect(() => compiler.recompile(['models/b.sql'])).toThrowError("ref to unknown model 'aa'");
    writeFiles(root, { 'models/b.sql': 'SELECT x + 1 AS y FROM {{ref.a}}' });
    expect(compiler.recompile(['models/b.sql']).nodes.get('b')!.sql).toContain('x + 1');
  });
});
