/**
 * Unit tests run on the local server: pass, fail with mz-deploy's diff (missing / unexpected rows),
 * validation failures (missing and extra mocks, wrong columns and types, an unknown view, text
 * where a timestamp is declared), AT TIME pinning mz_now(), isolation between tests running side by
 * side, the seed project's own tests; models:test's output, --json and --junit-xml; and watch mode
 * running again the unit tests a save touches.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileProject } from '../../scripts/runner/compile.ts';
import { Deployer } from '../../scripts/runner/deploy/deployer.ts';
import { runTests, testNodes, type TestResult } from '../../scripts/runner/tests/test-runner.ts';
import { UnitTestRunner } from '../../scripts/runner/tests/unit-test-run.ts';
import { ProjectWatcher, type WatchCycle } from '../../scripts/runner/watch/project-watcher.ts';
import { connectionTo } from '../helpers/deploy.ts';
import { startTestServer, type TestServer } from '../helpers/local-server.ts';
import { runScript } from '../helpers/run-script.ts';
import { copyOfSeedProject, tempProject } from '../helpers/temp-project.ts';

let t: TestServer;
let runner: UnitTestRunner;
beforeAll(async () => {
  t = await startTestServer();
  runner = new UnitTestRunner({ connectionString: t.server.pgUrl });
});
afterAll(async () => {
  await runner?.close();
  await t?.close();
});

const EVENTS = `SELECT body->>'id' AS id, body->>'kind' AS kind, (body->>'amount')::numeric AS amount,
  try_parse_monotonic_iso8601_timestamp(body->>'at') AS at
FROM {{ref.hooks}}
`;
// A temporal filter: an event counts for an hour after it happened.
const TOTALS = `SELECT kind, sum(amount) AS total, count(*) AS n
FROM {{ref.events}}
WHERE mz_now() <= at + INTERVAL '1 hour'
GROUP BY kind
`;
const MOCK_EVENTS = (rows: string) => `MOCK materialize.shop.events(id text, kind text, amount numeric, at timestamp) AS (
  SELECT * FROM (VALUES
${rows}
  ) AS v
)`;
const ROWS = `    ('e1', 'purchase', 10.5, '2026-03-01 11:30'::timestamp),
    ('e2', 'purchase', 4.5, '2026-03-01 11:45'::timestamp),
    ('e3', 'refund', 3, '2026-03-01 09:00'::timestamp)`;

function shop(tests: Record<string, string>, extra: Record<string, string> = {}): string {
  return tempProject({
    'project.yml': `name: shop\ntargets:\n  local: { type: local, host: ${t.server.host}, port: ${t.server.pgPort} }\ndefaults:\n  schema: shop\n`,
    'models/hooks.sql': '---\nkind: source\n---\nFROM WEBHOOK BODY FORMAT JSON\n',
    'models/events.sql': EVENTS,
    'models/totals.sql': `---\nkind: materialized_view\n---\n${TOTALS};\n\n${Object.values(tests).join('\n\n')}\n`,
    ...extra,
  });
}

const PASSING = `EXECUTE UNIT TEST totals_in_the_window
FOR materialize.shop.totals
AT TIME '2026-03-01 12:00:00'
${MOCK_EVENTS(ROWS)}
EXPECTED(kind text, total numeric, n bigint) AS (
  SELECT 'purchase', 15.0, 2::bigint
);`;

async function run(root: string, names?: readonly string[]): Promise<Map<string, TestResult>> {
  const project = compileProject(root);
  const nodes = testNodes(project).filter((node) => node.test?.kind === 'unit' && (!names || names.includes(node.name)));
  const results = await runner.run(project, nodes);
  return new Map(results.map((result) => [result.name, result]));
}

describe('running unit tests', () => {
  it('passes when the view gives the expected rows at the pinned time, and fails with the diff otherwise', async () => {
    const failing = PASSING.replace('totals_in_the_window', 'totals_wrong').replace("SELECT 'purchase', 15.0, 2::bigint", "SELECT 'purchase', 15.0, 3::bigint UNION ALL SELECT 'gift', 1, 1::bigint");
    const root = shop({ PASSING, failing });
    const results = await run(root);
    const line = readFileSync(path.join(root, 'models/totals.sql'), 'utf8').split('\n').indexOf('EXECUTE UNIT TEST totals_wrong') + 1;
    expect(results.get('totals_in_the_window')).toMatchObject({ status: 'pass', outcome: 'passed', kind: 'unit', model: 'totals', failures: 0, missing: [], unexpected: [] });
    expect(results.get('totals_wrong')).toMatchObject({
      status: 'fail',
      outcome: 'failed',
      failures: 3,
      missing: [
        { kind: 'gift', total: 1, n: 1 },
        { kind: 'purchase', total: 15, n: 3 },
      ],
      unexpected: [{ kind: 'purchase', total: 15, n: 2 }],
      location: { file: 'models/totals.sql', line },
    });
  });

  it('AT TIME pins mz_now(): without it the window is the wall clock, and the March events are long gone', async () => {
    const unpinned = PASSING.replace("AT TIME '2026-03-01 12:00:00'\n", '').replace('totals_in_the_window', 'totals_unpinned');
    const edge = PASSING.replace('totals_in_the_window', 'totals_at_the_edge').replace("'2026-03-01 12:00:00'", "'2026-03-01 12:30:00'").replace("SELECT 'purchase', 15.0, 2::bigint", "SELECT 'purchase', 15.0, 2::bigint");
    const after = PASSING.replace('totals_in_the_window', 'totals_after_the_edge').replace("'2026-03-01 12:00:00'", "'2026-03-01 12:30:00.001'").replace("SELECT 'purchase', 15.0, 2::bigint", "SELECT 'purchase', 4.5, 1::bigint");
    const results = await run(shop({ unpinned, edge, after }));
    expect(results.get('totals_unpinned')).toMatchObject({ status: 'fail', missing: [{ kind: 'purchase', total: 15, n: 2 }], unexpected: [] });
    expect(results.get('totals_at_the_edge')!.status).toBe('pass');
    expect(results.get('totals_after_the_edge')!.status).toBe('pass');
  });

  it('reports validation failures at the test, not as failing tests: missing and extra mocks, columns, types, unknown view, text for a timestamp', async () => {
    const cases = {
      missing: `EXECUTE UNIT TEST no_mock FOR materialize.shop.totals EXPECTED(kind text, total numeric, n bigint) AS (SELECT 'a', 1.0, 1::bigint);`,
      extra: PASSING.replace('totals_in_the_window', 'extra_mock').replace('EXPECTED', `,\nMOCK materialize.shop.hooks(body jsonb) AS (SELECT '{}'::jsonb)\nEXPECTED`),
      retyped: PASSING.replace('totals_in_the_window', 'retyped').replace('amount numeric', 'amount text').replace('10.5,', "'10.5',").replace('4.5,', "'4.5',").replace(' 3,', " '3',"),
      columns: PASSING.replace('totals_in_the_window', 'wrong_expected').replace('EXPECTED(kind text, total numeric, n bigint)', 'EXPECTED(kind text, totl numeric)').replace('15.0, 2::bigint', '15.0'),
      unknown: PASSING.replace('totals_in_the_window', 'unknown_view').replace('FOR materialize.shop.totals', 'FOR materialize.shop.totalz'),
      text: PASSING.replace('totals_in_the_window', 'text_for_timestamp').replace("'2026-03-01 11:30'::timestamp", "'2026-03-01 11:30'").replace("'2026-03-01 11:45'::timestamp", "'2026-03-01 11:45'").replace("'2026-03-01 09:00'::timestamp", "'2026-03-01 09:00'"),
    };
    const results = await run(shop(cases));
    const invalid = (name: string) => {
      const result = results.get(name)!;
      expect(result, name).toMatchObject({ status: 'error', outcome: 'validation_failed' });
      return `${result.error!.location?.file}:${result.error!.location?.line}: ${result.error!.message}`;
    };
    expect(invalid('no_mock')).toMatch(/^models\/totals.sql:\d+: validation failed: materialize.shop.totals reads materialize.shop.events, which is not mocked/);
    expect(results.get('no_mock')!.error!.hint).toContain('MOCK materialize.shop.events(');
    expect(invalid('extra_mock')).toMatch(/validation failed: MOCK materialize.shop.hooks: materialize.shop.totals does not read it/);
    expect(invalid('retyped')).toContain('amount is numeric, not text');
    expect(invalid('wrong_expected')).toMatch(/EXPECTED: missing columns total numeric, n bigint; no column totl \(did you mean 'total'\?\)/);
    expect(invalid('unknown_view')).toMatch(/FOR materialize.shop.totalz: no view or materialized view .* \(did you mean 'materialize.shop.totals'\?\)/);
    expect(invalid('text_for_timestamp')).toContain('MOCK materialize.shop.events declared types (text, text, numeric, timestamp), but its query returns types (text, text, numeric, text)');
    // Each points at its own statement.
    const lines = [...results.values()].map((result) => result.error!.location!.line);
    expect(new Set(lines).size).toBe(lines.length);
  });

  it('runs tests side by side in isolation: each sees only its own mocks, and nothing is created on the server', async () => {
    const tests: Record<string, string> = {};
    for (let index = 0; index < 8; index++) {
      tests[`t${index}`] = `EXECUTE UNIT TEST isolated_${index}
FOR materialize.shop.totals
AT TIME '2026-03-01 12:00:00'
${MOCK_EVENTS(`    ('e${index}', 'k${index}', ${index}, '2026-03-01 11:30'::timestamp)`)}
EXPECTED(kind text, total numeric, n bigint) AS (SELECT 'k${index}', ${index}.0, 1::bigint);`;
    }
    const before = await t.query<{ n: string }>("SELECT count(*) AS n FROM pg_catalog.pg_class WHERE relnamespace NOT IN (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname IN ('pg_catalog', 'information_schema', 'pg_toast'))");
    const results = await run(shop(tests));
    expect([...results.values()].map((result) => result.status)).toEqual(Array(8).fill('pass'));
    const after = await t.query<{ n: string }>("SELECT count(*) AS n FROM pg_catalog.pg_class WHERE relnamespace NOT IN (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname IN ('pg_catalog', 'information_schema', 'pg_toast'))");
    expect(after[0]!.n).toBe(before[0]!.n);
  });

  it("the seed project's unit tests pass: dedup, deleted users, the latest identify (whole: one without traits erases them, as the mart promises), the window's edges", async () => {
    const results = await run(copyOfSeedProject());
    expect(Object.fromEntries([...results].map(([name, result]) => [name, result.status]))).toMatchObject({
      dedup_keeps_first_received_delivery: 'pass',
      user_profiles_leave_out_deleted_users: 'pass',
      user_profiles_keep_the_latest_identify: 'pass',
      user_profiles_identify_without_traits_erases_earlier_traits: 'pass',
      identifies_parse_spec_traits_from_payloads: 'pass',
      events_per_minute_window_edges: 'pass',
    });
  });

  it("fails the seed's dedup test when dedup keeps the last delivery instead of the first", async () => {
    const root = copyOfSeedProject();
    const file = path.join(root, 'models/staging/stg_segment_events.sql');
    writeFileSync(file, readFileSync(file, 'utf8').replace("try_parse_monotonic_iso8601_timestamp(body->>'receivedAt') NULLS LAST", "try_parse_monotonic_iso8601_timestamp(body->>'receivedAt') DESC NULLS LAST"));
    const result = (await run(root, ['dedup_keeps_first_received_delivery'])).get('dedup_keeps_first_received_delivery')!;
    expect(result.status).toBe('fail');
    expect(result.missing!.map((row) => row.received_at)).toEqual(['2026-11-20T10:00:00']);
    expect(result.unexpected!.map((row) => row.received_at)).toEqual(['2026-11-20T10:00:05']);
  });
});

describe('models:test with unit tests', () => {
  it('prints PASS/FAIL with the diff and file:line, selects kind:unit, writes --json and --junit-xml', async () => {
    const failing = PASSING.replace('totals_in_the_window', 'totals_wrong').replace('2::bigint', '3::bigint');
    const root = shop({ PASSING, failing }, { 'models/events.sql': `---\ntests:\n  - not_null: id\n---\n${EVENTS}` });

    const text = await runScript('models-test.ts', ['--project-dir', root, '--select', 'kind:unit']);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/PASS\s+totals_in_the_window \(unit\) on totals/);
    expect(text.stdout).toMatch(/FAIL\s+totals_wrong \(unit\) on totals 1 missing, 1 unexpected row/);
    expect(text.stdout).toContain('models/totals.sql:');
    expect(text.stdout).toMatch(/- missing\s+kind=purchase {2}total=15 {2}n=3/);
    expect(text.stdout).toMatch(/\+ unexpected\s+kind=purchase {2}total=15 {2}n=2/);
    expect(text.stdout).not.toContain('not_null_events_id');

    const xmlFile = path.join(root, 'target/junit.xml');
    const json = await runScript('models-test.ts', ['--project-dir', root, '--json', '--junit-xml', xmlFile]);
    expect(json.code).toBe(1);
    const parsed = JSON.parse(json.stdout) as { tests: Record<string, unknown>[]; summary: { total: number; failed: number; ok: boolean } };
    expect(parsed.summary).toMatchObject({ total: 3, failed: 1, ok: false });
    expect(parsed.tests.find((test) => test.name === 'totals_wrong')).toMatchObject({
      kind: 'unit',
      status: 'fail',
      outcome: 'failed',
      missing: [{ kind: 'purchase', total: 15, n: 3 }],
      unexpected: [{ kind: 'purchase', total: 15, n: 2 }],
    });
    // The data test runs against the target, where nothing is deployed: it cannot run (unit tests need nothing deployed).
    expect(parsed.tests.find((test) => test.name === 'not_null_events_id')).toMatchObject({ kind: 'not_null', status: 'error' });

    const xml = readFileSync(xmlFile, 'utf8');
    expect(wellFormed(xml)).toBe(true);
    expect(xml).toMatch(/<testsuites name="shop" tests="3" failures="1" errors="1"/);
    expect(xml).toMatch(/<testsuite name="shop.data" tests="1" failures="0" errors="1"/);
    expect(xml).toMatch(/<testsuite name="shop.unit" tests="2" failures="1"/);
    expect(xml).toMatch(/<testcase name="totals_wrong" classname="totals" file="models\/totals.sql" line="\d+" time="[\d.]+">\s*<failure message="1 missing, 1 unexpected row\(s\)" type="failed">/);
    expect(xml).toContain('missing     {&quot;kind&quot;:&quot;purchase&quot;');
  }, 90_000);
});

describe('watch mode', () => {
  it('runs the unit tests a save touches — the saved view, and views whose mocks it feeds — printed in the same cycle', async () => {
    const root = shop({ PASSING }, { 'tests/events_unit.sql': `EXECUTE UNIT TEST events_parse_amounts FOR materialize.shop.events
MOCK materialize.shop.hooks(body jsonb) AS (SELECT '{"id": "e1", "kind": "k", "amount": 2.5, "at": "2026-03-01T10:00:00.000Z"}'::jsonb)
EXPECTED(id text, kind text, amount numeric, at timestamp) AS (SELECT 'e1', 'k', 2.5, '2026-03-01 10:00'::timestamp);
` });
    const deployer = await Deployer.open(compileProject(root), { connection: connectionTo(t) });
    const waiters: Array<(cycle: WatchCycle) => void> = [];
    const watcher = new ProjectWatcher(root, deployer, { runTests: true, onCycle: (cycle) => waiters.shift()?.(cycle) });
    try {
      const first = await watcher.start();
      expect(first.tests!.map((result) => [result.name, result.status]).sort()).toEqual([
        ['events_parse_amounts', 'pass'],
        ['totals_in_the_window', 'pass'],
      ]);
      await watcher.idle();

      // Saving totals (a mistake: the window shrinks to 10 minutes) runs only its own test.
      const totals = path.join(root, 'models/totals.sql');
      let next = new Promise<WatchCycle>((resolve) => waiters.push(resolve));
      const started = performance.now();
      writeFileSync(totals, readFileSync(totals, 'utf8').replace("INTERVAL '1 hour'", "INTERVAL '10 minutes'"));
      const broken = await next;
      const elapsed = performance.now() - started;
      expect(broken.tests!.map((result) => [result.name, result.status])).toEqual([['totals_in_the_window', 'fail']]);
      expect(broken.tests![0]).toMatchObject({ missing: [{ kind: 'purchase', total: 15, n: 2 }] });
      expect(elapsed).toBeLessThan(5000);
      await watcher.idle();

      // Saving events (a new column) runs its own test and the totals test that mocks it.
      const events = path.join(root, 'models/events.sql');
      next = new Promise<WatchCycle>((resolve) => waiters.push(resolve));
      writeFileSync(events, readFileSync(events, 'utf8').replace('AS at\n', "AS at, body->>'note' AS note\n"));
      const widened = await next;
      const byName = new Map(widened.tests!.map((result) => [result.name, result]));
      expect([...byName.keys()].sort()).toEqual(['events_parse_amounts', 'totals_in_the_window']);
      // Both now declare too few columns: validation failures, at their statements.
      expect(byName.get('events_parse_amounts')!.error!.message).toContain('missing column note text');
      expect(byName.get('totals_in_the_window')!.error!.message).toContain('MOCK materialize.shop.events: missing column note text');
    } finally {
      await watcher.close();
      await deployer.close();
    }
  }, 60_000);
});

describe('watch mode, unit tests beside the deploy', () => {
  it("knows a save's unit-test outcome before a slow deploy ends, and prints it under that deploy", async () => {
    const root = shop({ PASSING });
    const deployer = await Deployer.open(compileProject(root), { connection: connectionTo(t) });
    // The deploy of every save after the first takes at least 1.5 s; unit tests need none of it.
    let slow = false;
    const deploy = deployer.deploy.bind(deployer);
    deployer.deploy = async (...args: Parameters<typeof deployer.deploy>) => {
      if (slow) await new Promise((resolve) => setTimeout(resolve, 1500));
      return deploy(...args);
    };
    const waiters: Array<(cycle: WatchCycle) => void> = [];
    const outcomes: Array<{ at: number; results: readonly TestResult[] }> = [];
    const watcher = new ProjectWatcher(root, deployer, { runTests: true, onCycle: (cycle) => waiters.shift()?.(cycle), onUnitTests: (results) => outcomes.push({ at: performance.now(), results }) });
    try {
      await watcher.start();
      await watcher.idle();
      slow = true;
      outcomes.length = 0;
      const totals = path.join(root, 'models/totals.sql');
      const next = new Promise<WatchCycle>((resolve) => waiters.push(resolve));
      const saved = performance.now();
      writeFileSync(totals, readFileSync(totals, 'utf8').replace("INTERVAL '1 hour'", "INTERVAL '10 minutes'"));
      const cycle = await next;
      const ended = performance.now();
      expect(outcomes).toHaveLength(1);
      expect(outcomes[0]!.results.map((result) => [result.name, result.status])).toEqual([['totals_in_the_window', 'fail']]);
      // Known well before the deploy ended, and reported with the cycle all the same.
      expect(outcomes[0]!.at - saved).toBeLessThan(ended - saved - 1000);
      expect(cycle.unitTestsMs!).toBeLessThan(cycle.totalMs - 1000);
      expect(cycle.tests!.map((result) => [result.name, result.status])).toEqual([['totals_in_the_window', 'fail']]);
      const { formatCycle } = await import('../../scripts/cli/watch-output.ts');
      // Colours are on wherever CI is set (picocolors reads it): compare the text a person reads.
      const printed = stripVTControlCharacters(formatCycle(cycle).join('\n'));
      expect(printed).toMatch(/FAIL\s+totals_in_the_window/);
      expect(printed).toMatch(/unit tests, run beside the deploy: known [\d.]+ (ms|s) after the save/);
    } finally {
      await watcher.close();
      await deployer.close();
    }
  }, 60_000);
});

/** Enough of XML's well-formedness: one root, tags nested and closed, attributes quoted, no stray & or <. */
function wellFormed(xml: string): boolean {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  let roots = 0;
  const token = /<\/?([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*="[^"<&]*(?:&(?:amp|lt|gt|quot|apos);[^"<&]*)*")*)\s*(\/?)>|([^<]+)/gy;
  let index = 0;
  for (let match = token.exec(body); match; match = token.exec(body)) {
    index = token.lastIndex;
    if (match[4] !== undefined) {
      if (/&(?!(?:amp|lt|gt|quot|apos);)/.test(match[4])) return false;
      if (stack.length === 0 && match[4].trim() !== '') return false;
      continue;
    }
    const closing = match[0].startsWith('</');
    if (closing) {
      if (stack.pop() !== match[1]) return false;
    } else if (match[3] !== '/') {
      if (stack.length === 0) roots++;
      stack.push(match[1]!);
    } else if (stack.length === 0) roots++;
  }
  return index === body.length && stack.length === 0 && roots === 1;
}

// runTests with a unit runner is what models:test and watch call; without one, unit tests say why they cannot run.
describe('runTests', () => {
  it('says a unit test cannot run without the local server', async () => {
    const project = compileProject(shop({ PASSING }));
    const [result] = await runTests(undefined, project, testNodes(project));
    expect(result).toMatchObject({ kind: 'unit', status: 'error', error: { message: expect.stringContaining('local server') } });
  });
});
