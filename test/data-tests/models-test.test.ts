/**
 * Data tests against the local server: every built-in kind and a singular test pass on good data
 * and fail with the right count once bad events arrive through the real webhook; models:test's
 * output, JSON and exit code; stored failures as materialized views kept by deploys, read (not
 * recomputed) by models:test in one count query and followed by dev's monitor with a SUBSCRIBE;
 * watch mode reporting a test an edit breaks and then fixes; and the monitor telling a failure as
 * it arrives.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileProject } from '../../scripts/runner/compile.ts';
import { Deployer } from '../../scripts/runner/deploy/deployer.ts';
import { openSession } from '../../scripts/runner/deploy/sql-session.ts';
import type { QueryResult, SqlSession } from '../../scripts/runner/deploy/sql-session.ts';
import { TestMonitor, type FailureChange } from '../../scripts/runner/tests/test-monitor.ts';
import { runTests, storedAndCurrent, testNodes, type TestResult } from '../../scripts/runner/tests/test-runner.ts';
import { ProjectWatcher, type WatchCycle } from '../../scripts/runner/watch/project-watcher.ts';
import { changes, connectionTo, deployProject } from '../helpers/deploy.ts';
import { post, startTestServer, type TestServer } from '../helpers/local-server.ts';
import { runScript } from '../helpers/run-script.ts';
import { removeFile, tempProject } from '../helpers/temp-project.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const EVENTS_MODEL = `---
tests:
  - unique: id
  - not_null: [id, kind]
  - accepted_values: { column: kind, values: [signup, purchase] }
  - relationships: { column: user_id, to: users, field: user_id }
  - expression: { expression: "amount >= 0", where: "kind = 'purchase'", severity: warn, name: purchases_not_negative }
---
SELECT body->>'id' AS id, body->>'kind' AS kind, body->>'user' AS user_id, (body->>'amount')::numeric AS amount
FROM {{ref.hooks}}
`;

/** A shop project in its own schema (one server serves every test of this file); `storeFailures`: in its defaults. */
function shopProject(schema: string, extra: Record<string, string> = {}, storeFailures = false): string {
  return tempProject({
    'project.yml': `name: ${schema}\ntargets:\n  local: { type: local, host: ${t.server.host}, port: ${t.server.pgPort} }\ndefaults:\n  schema: ${schema}\n${storeFailures ? '  store_failures: true\n' : ''}vars:\n  huge_amount: 1000\n`,
    'models/hooks.sql': '---\nkind: source\n---\nFROM WEBHOOK BODY FORMAT JSON ARRAY\n',
    'models/events.sql': EVENTS_MODEL,
    'models/users.sql': "SELECT DISTINCT body->>'user' AS user_id FROM {{ref.hooks}} WHERE body->>'kind' = 'signup'\n",
    'macros/huge.sql': 'amount > {{vars.huge_amount}}',
    'tests/no_huge_purchases.sql': "-- purchases above the limit need a review\nSELECT id, amount FROM {{ref.events}} WHERE kind = 'purchase' AND {{> huge}}\n",
    ...extra,
  });
}

async function send(schema: string, events: readonly object[]): Promise<void> {
  const response = await post(t.server.webhookUrl('hooks', schema), JSON.stringify(events.length === 1 ? events[0] : events), { 'content-type': 'application/json' });
  expect(response.status).toBe(200);
}

const GOOD = [
  { id: 'e1', kind: 'signup', user: 'u1' },
  { id: 'e2', kind: 'purchase', user: 'u1', amount: 10 },
];
/** One violation of each test. */
const BAD = [
  { id: 'e2', kind: 'purchase', user: 'u1', amount: 10 }, // a second e2: unique
  { kind: 'purchase', user: 'u1', amount: 1 }, // no id: not_null id
  { id: 'e3', kind: 'refund', user: 'u1', amount: 5 }, // refund: accepted_values
  { id: 'e4', kind: 'purchase', user: 'u9', amount: -3 }, // unknown user u9, negative amount
  { id: 'e5', kind: 'purchase', user: 'u1', amount: 5000 }, // above the limit: the singular test
];

async function testProject(root: string, options: { storeFailures?: boolean } = {}): Promise<TestResult[]> {
  const project = compileProject(root, options);
  const deployer = await Deployer.open(project, { connection: connectionTo(t) });
  try {
    return await runTests(await deployer.session(), project, testNodes(project), { state: await deployer.deployedState() });
  } finally {
    await deployer.close();
  }
}

const outcome = (results: readonly TestResult[]) => Object.fromEntries(results.map((result) => [result.name, `${result.status}:${result.failures}`]));

describe('models:test on the local server', () => {
  it('passes on good data and fails each test with its count once bad events arrive through the webhook', async () => {
    const root = shopProject('kinds');
    await deployProject(t, root);
    await send('kinds', GOOD);
    expect(outcome(await testProject(root))).toEqual({
      unique_events_id: 'pass:0',
      not_null_events_id: 'pass:0',
      not_null_events_kind: 'pass:0',
      accepted_values_events_kind: 'pass:0',
      relationships_events_user_id__users_user_id: 'pass:0',
      purchases_not_negative: 'pass:0',
      no_huge_purchases: 'pass:0',
    });

    await send('kinds', BAD);
    const results = await testProject(root);
    expect(outcome(results)).toEqual({
      unique_events_id: 'fail:1',
      not_null_events_id: 'fail:1',
      not_null_events_kind: 'pass:0',
      accepted_values_events_kind: 'fail:1',
      relationships_events_user_id__users_user_id: 'fail:1',
      purchases_not_negative: 'warn:1', // severity warn
      no_huge_purchases: 'fail:1',
    });
    const byName = Object.fromEntries(results.map((result) => [result.name, result]));
    expect(byName.unique_events_id!.sample).toEqual([{ id: 'e2', occurrences: '2' }]);
    expect(byName.accepted_values_events_kind!.sample).toEqual([{ kind: 'refund', occurrences: '1' }]);
    expect(byName.relationships_events_user_id__users_user_id!.sample).toEqual([{ id: 'e4', kind: 'purchase', user_id: 'u9', amount: '-3' }]);
    expect(byName.no_huge_purchases!.sample).toEqual([{ id: 'e5', amount: '5000' }]);
    expect(byName.no_huge_purchases!.location).toEqual({ file: 'tests/no_huge_purchases.sql', line: 1 });
  });

  it('prints per test and a summary, exits 1 on an error-severity failure, and answers --json, --select and --fail-fast', async () => {
    const root = shopProject('cli');
    await deployProject(t, root);
    await send('cli', [...GOOD, ...BAD]);

    const text = await runScript('models-test.ts', ['--project-dir', root]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('FAIL  unique_events_id on events 1 failing row');
    expect(text.stdout).toMatch(/models\/events\.sql:3:5\n\s+id=e2 {2}occurrences=2/);
    expect(text.stdout).toContain('WARN  purchases_not_negative on events 1 failing row');
    expect(text.stdout).toContain('PASS  not_null_events_kind on events');
    expect(text.stdout).toMatch(/7 tests: 1 passed, 1 warned, 5 failed in [\d.]+ ms/);

    const json = await runScript('models-test.ts', ['--project-dir', root, '--json', '--select', 'users']);
    expect(json.code).toBe(1);
    const parsed = JSON.parse(json.stdout);
    // Selecting users brings the one test that reads it.
    expect(parsed.tests).toEqual([
      {
        name: 'relationships_events_user_id__users_user_id',
        model: 'events',
        kind: 'relationships',
        severity: 'error',
        status: 'fail',
        failures: 1,
        sample: [{ id: 'e4', kind: 'purchase', user_id: 'u9', amount: '-3' }],
        source: 'query',
        ms: expect.any(Number),
        location: 'models/events.sql:6:5',
      },
    ]);
    expect(parsed.summary).toMatchObject({ total: 1, passed: 0, warned: 0, failed: 1, errors: 0, ok: false });

    const fast = await runScript('models-test.ts', ['--project-dir', root, '--fail-fast']);
    expect(fast.code).toBe(1);
    expect(fast.stdout).toContain('stopped at the first failure (--fail-fast): 6 test(s) not run');

    const warnOnly = await runScript('models-test.ts', ['--project-dir', root, '--select', 'purchases_not_negative']);
    expect(warnOnly.code).toBe(0);
  });

  it('reports a test whose query the database refuses at its line, and goes on', async () => {
    const root = shopProject('broken', { 'tests/typo.sql': 'SELECT id\nFROM {{ref.events}}\nWHERE amout > 0\n' });
    await deployProject(t, root);
    const result = (await testProject(root)).find((each) => each.name === 'typo')!;
    expect(result.status).toBe('error');
    expect(result.error!.message).toMatch(/column "amout" does not exist/);
    expect(result.error!.location).toEqual({ file: 'tests/typo.sql', line: 3 });
  });
});

describe('stored failures', () => {
  it('are materialized views in <schema>_tests, read by models:test, replaced when the test changes and dropped when it goes', async () => {
    const root = shopProject('kept');
    const first = await deployProject(t, root, { storeFailures: true });
    expect(changes(first)).toMatchObject({ unique_events_id: 'create', no_huge_purchases: 'create' });
    const views = await t.query<{ name: string }>(
      `SELECT v.name FROM mz_catalog.mz_materialized_views v JOIN mz_catalog.mz_schemas s ON s.id = v.schema_id WHERE s.name = 'kept_tests' ORDER BY 1`,
    );
    expect(views.map((view) => view.name)).toHaveLength(7);

    await send('kept', [...GOOD, ...BAD]);
    const results = await testProject(root, { storeFailures: true });
    expect(results.every((result) => result.source === 'stored')).toBe(true);
    expect(outcome(results)).toMatchObject({ unique_events_id: 'fail:1', accepted_values_events_kind: 'fail:1', no_huge_purchases: 'fail:1' });
    expect(await t.query(`SELECT id FROM kept_tests.no_huge_purchases`)).toEqual([{ id: 'e5' }]);

    // Refunds become acceptable: only that test's view is replaced, and it passes.
    const model = path.join(root, 'models/events.sql');
    writeFileSync(model, readFileSync(model, 'utf8').replace('values: [signup, purchase]', 'values: [signup, purchase, refund]'));
    const edited = await deployProject(t, root, { storeFailures: true });
    expect(changes(edited)).toEqual({ accepted_values_events_kind: 'replace' });
    expect(outcome(await testProject(root, { storeFailures: true }))).toMatchObject({ accepted_values_events_kind: 'pass:0' });

    removeFile(root, 'tests/no_huge_purchases.sql');
    const removed = await deployProject(t, root, { storeFailures: true });
    expect(changes(removed)).toEqual({ no_huge_purchases: 'drop' });
    expect(await t.query(`SELECT 1 FROM mz_catalog.mz_materialized_views WHERE name = 'no_huge_purchases'`)).toHaveLength(0);
  });
});

/** A session that counts the statements sent through it (models:test's round trips). */
function countingSession(inner: SqlSession): SqlSession & { statements: string[] } {
  const statements: string[] = [];
  return {
    statements,
    query<Row extends Record<string, unknown>>(sql: string): Promise<QueryResult<Row>> {
      statements.push(sql);
      return inner.query<Row>(sql);
    },
  } as SqlSession & { statements: string[] };
}

// A project storing its tests' failures, as Materialize's dbt guide sets up continuous testing
// (doc/user/content/manage/dbt/get-started.md, "Configure continuous testing": store_failures makes
// each test a materialized view kept up to date, which `dbt test` then only reads — the adapter's
// test materialization selects from the view it created, macros/materializations/test.sql).
describe('stored failures are read, not recomputed', () => {
  it('a failing event shows in the stored view and in models:test --json as "source": "stored"; a fixed model clears it', async () => {
    const root = shopProject('readstored');
    await deployProject(t, root);
    await send('readstored', GOOD);
    // A retried delivery the model does not dedup yet: e2 twice.
    await send('readstored', [GOOD[1]!]);

    // --store-failures deploys the missing views first, then reads them.
    const json = await runScript('models-test.ts', ['--project-dir', root, '--json', '--store-failures', '--select', 'events']);
    expect(json.code).toBe(1);
    const parsed = JSON.parse(json.stdout) as { tests: Array<Record<string, unknown>> };
    const unique = parsed.tests.find((test) => test.name === 'unique_events_id');
    expect(unique).toMatchObject({ status: 'fail', failures: 1, sample: [{ id: 'e2', occurrences: '2' }], source: 'stored' });
    expect(parsed.tests.every((test) => test.source === 'stored')).toBe(true);
    expect(await t.query(`SELECT id, occurrences FROM readstored_tests.unique_events_id`)).toEqual([{ id: 'e2', occurrences: '2' }]);

    // The fix: the model keeps the first delivery of each id. Its stored tests are replaced with it.
    const model = path.join(root, 'models/events.sql');
    writeFileSync(model, readFileSync(model, 'utf8').replace('SELECT body->>', 'SELECT DISTINCT ON (body->>\'id\') body->>'));
    const fixed = await deployProject(t, root, { storeFailures: true });
    expect(changes(fixed)).toMatchObject({ events: 'replace', unique_events_id: 'replace' });
    expect(await t.query(`SELECT id FROM readstored_tests.unique_events_id`)).toEqual([]);
    const results = await testProject(root, { storeFailures: true });
    expect(results.find((result) => result.name === 'unique_events_id')).toMatchObject({ status: 'pass', failures: 0, source: 'stored' });
  });

  it('counts every stored test in one query, reads a sample of the failing ones only, and reads a test whose view is gone on its own', async () => {
    // Its models are materialized views deduped by key, as the seed's stg_segment_events is: the
    // local server keeps those by key, and the tests' views over them in turn.
    const root = shopProject(
      'onetrip',
      {
        'models/events.sql': EVENTS_MODEL.replace('---\ntests:', '---\nkind: materialized_view\ntests:').replace('SELECT body->>', "SELECT DISTINCT ON (body->>'id') body->>"),
        'models/users.sql': "---\nkind: materialized_view\n---\nSELECT DISTINCT ON (body->>'user') body->>'user' AS user_id FROM {{ref.hooks}} WHERE body->>'kind' = 'signup'\n",
      },
      true,
    );
    await deployProject(t, root);
    await send('onetrip', GOOD);
    // Every kind's stored view is kept by key on the local server (a write costs each a refresh of
    // the rows it changed, not the test's query): its refresh plan, as mz_local.maintained_views
    // records it once the server has planned it (refresh_kind NULL: refreshed whole).
    await t.server.maintainedViews.settled();
    const plans = await t.server.db.query<{ name: string; refresh_kind: string | null }>(
      `SELECT c.relname AS name, m.refresh_kind FROM mz_local.maintained_views m JOIN pg_class c ON c.oid = m.view_oid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'onetrip_tests' ORDER BY 1`,
    );
    expect(plans.rows).toHaveLength(7);
    expect(plans.rows.filter((row) => row.refresh_kind === null).map((row) => row.name)).toEqual([]);
    const project = compileProject(root);
    const deployer = await Deployer.open(project, { connection: connectionTo(t) });
    try {
      const state = await deployer.deployedState();
      const passing = countingSession(await deployer.session());
      const clean = await runTests(passing, project, testNodes(project), { state });
      expect(clean.map((result) => result.status)).toEqual(Array(7).fill('pass'));
      expect(passing.statements).toHaveLength(1);
      expect(passing.statements[0]).toMatch(/UNION ALL/);

      await send('onetrip', [{ id: 'e7', kind: 'refund', user: 'u1', amount: 2 }]);
      const failing = countingSession(await deployer.session());
      const counted = await runTests(failing, project, testNodes(project), { state });
      expect(outcome(counted)).toMatchObject({ accepted_values_events_kind: 'fail:1', unique_events_id: 'pass:0' });
      // The count of all, then the sample of the one failing.
      expect(failing.statements).toHaveLength(2);
      expect(failing.statements[1]).toContain('"onetrip_tests"."accepted_values_events_kind"');

      // Dropped behind the deploy's back: the batched count fails, and each test is read alone,
      // so the error is the dropped test's and the others still pass.
      await t.query(`DROP MATERIALIZED VIEW onetrip_tests.no_huge_purchases`);
      const partial = await runTests(await deployer.session(), project, testNodes(project), { state });
      const dropped = partial.find((result) => result.name === 'no_huge_purchases')!;
      expect(dropped).toMatchObject({ status: 'error', source: 'stored' });
      expect(dropped.error!.message).toMatch(/no_huge_purchases/);
      expect(outcome(partial)).toMatchObject({ unique_events_id: 'pass:0', accepted_values_events_kind: 'fail:1' });
    } finally {
      await deployer.close();
    }
  });

  it("dev's monitor on the local server subscribes to the stored tests' counts and polls the others, and tells a violation of each", async () => {
    // Only the accepted_values test stored: the monitor follows it by SUBSCRIBE, the rest by polling.
    const root = shopProject('mixed', {
      'models/events.sql': EVENTS_MODEL.replace('values: [signup, purchase] }', 'values: [signup, purchase], store_failures: true }'),
    });
    await deployProject(t, root);
    const project = compileProject(root);
    const deployer = await Deployer.open(project, { connection: connectionTo(t) });
    const told = new Map<string, () => void>();
    const changesSeen: string[] = [];
    const monitor = new TestMonitor({
      poll: true,
      pollMs: 100,
      open: () => openSession(deployer.connection.config, 'quickstart'),
      onChange: (change) => {
        changesSeen.push(`${change.test.name}:${change.before}->${change.after}`);
        told.get(change.test.name)?.();
      },
    });
    const next = (name: string) => new Promise<void>((resolve) => told.set(name, resolve));
    try {
      await send('mixed', GOOD);
      const tests = testNodes(project);
      await monitor.follow(tests, new Map(tests.map((test) => [test.name, 0])), storedAndCurrent(project, await deployer.deployedState()));
      expect(monitor.subscribed).toBe(true);
      expect(monitor.subscribedTests).toEqual(['accepted_values_events_kind']);
      expect([...monitor.polledTests].sort()).toEqual(['no_huge_purchases', 'not_null_events_id', 'not_null_events_kind', 'purchases_not_negative', 'relationships_events_user_id__users_user_id', 'unique_events_id']);

      const refund = next('accepted_values_events_kind');
      await send('mixed', [{ id: 'e8', kind: 'refund', user: 'u1', amount: 1 }]);
      await refund;
      const duplicate = next('unique_events_id');
      await send('mixed', [GOOD[0]!]);
      await duplicate;
      expect(changesSeen).toEqual(['accepted_values_events_kind:0->1', 'unique_events_id:0->1']);
    } finally {
      await monitor.close();
      await deployer.close();
    }
  });
});

describe('watch mode', () => {
  it('runs the tests an edit touches: a change that breaks one shows it failing in the same cycle, the fix passes it', async () => {
    const root = shopProject('watched');
    const deployer = await Deployer.open(compileProject(root), { connection: connectionTo(t) });
    const waiters: Array<(cycle: WatchCycle) => void> = [];
    const watcher = new ProjectWatcher(root, deployer, { runTests: true, onCycle: (cycle) => waiters.shift()?.(cycle) });
    try {
      const first = await watcher.start();
      expect(first.tests).toHaveLength(7);
      expect(first.tests!.every((result) => result.status === 'pass')).toBe(true);
      await send('watched', GOOD);

      const model = path.join(root, 'models/events.sql');
      const original = readFileSync(model, 'utf8');
      await watcher.idle();
      let next = new Promise<WatchCycle>((resolve) => waiters.push(resolve));
      // Every event twice: the kind of mistake that defeats dedup.
      writeFileSync(model, original.replace('FROM {{ref.hooks}}', 'FROM {{ref.hooks}} CROSS JOIN (VALUES (1), (2)) AS twice (n)'));
      const broken = await next;
      expect(broken.report!.results.map((result) => result.model)).toEqual(['events']);
      const unique = broken.tests!.find((result) => result.name === 'unique_events_id')!;
      expect(unique).toMatchObject({ status: 'fail', failures: 2 });
      // Only the tests reading what changed ran (users is untouched, but the relationship reads events).
      expect(broken.tests!.map((result) => result.name).sort()).toEqual([
        'accepted_values_events_kind',
        'no_huge_purchases',
        'not_null_events_id',
        'not_null_events_kind',
        'purchases_not_negative',
        'relationships_events_user_id__users_user_id',
        'unique_events_id',
      ]);

      await watcher.idle();
      next = new Promise<WatchCycle>((resolve) => waiters.push(resolve));
      writeFileSync(model, original);
      const fixed = await next;
      expect(fixed.changed).toEqual(['models/events.sql']);
      expect(fixed.tests!.find((result) => result.name === 'unique_events_id')).toMatchObject({ status: 'pass', failures: 0 });

      // Editing a test alone runs that test.
      await watcher.idle();
      next = new Promise<WatchCycle>((resolve) => waiters.push(resolve));
      writeFileSync(path.join(root, 'tests/no_huge_purchases.sql'), "SELECT id FROM {{ref.events}} WHERE kind = 'purchase' AND amount > 5\n");
      const testEdit = await next;
      expect(testEdit.changed).toEqual(['tests/no_huge_purchases.sql']);
      expect(testEdit.tests!.map((result) => `${result.name}:${result.status}:${result.failures}`)).toEqual(['no_huge_purchases:fail:1']);
    } finally {
      await watcher.close();
      await deployer.close();
    }
  });

  it('follows every test while events arrive and tells the moment one starts failing', async () => {
    const root = shopProject('followed');
    await deployProject(t, root);
    const project = compileProject(root);
    const deployer = await Deployer.open(project, { connection: connectionTo(t) });
    const changesSeen: FailureChange[] = [];
    let arrived: (() => void) | undefined;
    const monitor = new TestMonitor({
      open: () => openSession(deployer.connection.config, 'quickstart'),
      onChange: (change) => {
        changesSeen.push(change);
        arrived?.();
      },
    });
    try {
      const tests = testNodes(project);
      const known = new Map(tests.map((test) => [test.name, 0]));
      await monitor.follow(tests, known, storedAndCurrent(project, await deployer.deployedState()));
      expect(monitor.subscribed).toBe(true);
      await send('followed', GOOD);
      const told = new Promise<void>((resolve) => (arrived = resolve));
      await send('followed', [{ id: 'e9', kind: 'refund', user: 'u1', amount: 1 }]);
      await told;
      expect(changesSeen.map((change) => `${change.test.name}:${change.before}->${change.after}`)).toEqual(['accepted_values_events_kind:0->1']);
    } finally {
      await monitor.close();
      await deployer.close();
    }
  });
});
