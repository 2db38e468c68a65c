/**
 * A model's unit tests in the console (issue 33), in a real browser (Debian chromium through
 * playwright-core), wired as `npm run dev` wires them: the console's watch hooks as the observer
 * of startWatching. The seed's tests show their outcome before any save (the first deploy runs
 * them); a save that breaks user_profiles shows its failing tests with their missing and
 * unexpected rows as soon as the watcher knows them; a test with a missing mock shows as invalid
 * with the reason and its file:line; the fix brings them back to pass. Under `npm run local` the
 * console runs the project's unit tests once at start. Screenshots land in test/screenshots/.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startWatching } from '../../scripts/cli/watch-output.ts';
import { startConsole, type RunningConsole } from '../../scripts/console/start-console.ts';
import { ProjectCompiler } from '../../scripts/runner/compile.ts';
import { Deployer } from '../../scripts/runner/deploy/deployer.ts';
import { browserAvailable, launchBrowser, screenshot } from '../helpers/browser.ts';
import { connectionTo } from '../helpers/deploy.ts';
import { startTestServer, type TestServer } from '../helpers/local-server.ts';
import { REPO_ROOT } from '../helpers/temp-project.ts';

const runBrowser = browserAvailable();
const USER_PROFILES_TESTS = ['user_profiles_leave_out_deleted_users', 'user_profiles_keep_the_latest_identify', 'user_profiles_identify_without_traits_erases_earlier_traits'];

let t: TestServer;
let root: string;
let file: string;
let original: string;
let deployer: Deployer;
let watching: { close(): Promise<void> };
let consoleHandle: RunningConsole;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!runBrowser) return;
  t = await startTestServer();
  root = mkdtempSync(path.join(tmpdir(), 'segmat-console-unit-'));
  for (const entry of ['project.yml', 'models', 'macros', 'tests']) cpSync(path.join(REPO_ROOT, entry), path.join(root, entry), { recursive: true });
  file = path.join(root, 'models/marts/user_profiles.sql');
  original = readFileSync(file, 'utf8');
  const compiler = new ProjectCompiler(root);
  const project = compiler.compile();
  deployer = await Deployer.open(project, { connection: connectionTo(t) });
  // As scripts/dev.ts does.
  consoleHandle = await startConsole(t.server, { port: 0, watched: { deployedState: () => deployer.deployedState() } });
  consoleHandle.board.setProject(project, await deployer.deployedState());
  watching = await startWatching(root, deployer, compiler, { projectDir: root, localTarget: true, observer: consoleHandle.watchHooks });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1500, height: 1000 }, colorScheme: 'dark' });
  page.on('pageerror', (error) => pageErrors.push(error.message));
}, 120_000);

afterEach(() => {
  expect(pageErrors.splice(0), 'errors in the page').toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await watching?.close();
  await deployer?.close();
  await consoleHandle?.stop();
  await t?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

const unitTest = (name: string) => page.locator(`[data-testid="unit-test"][data-test="${name}"]`);
const outcomes = () => page.getByTestId('unit-test').evaluateAll((items) => Object.fromEntries(items.map((item) => [item.getAttribute('data-test'), item.getAttribute('data-outcome')])));

describe.skipIf(!runBrowser)('unit tests in the console', () => {
  it("shows a model's unit tests with their outcome before the first save", async () => {
    await page.goto(`${consoleHandle.url}#/model/user_profiles`);
    await page.getByTestId('unit-tests').waitFor();
    await expect.poll(outcomes, { timeout: 15_000 }).toEqual(Object.fromEntries(USER_PROFILES_TESTS.map((name) => [name, 'pass'])));
    expect(await page.getByTestId('unit-tests-summary').textContent()).toBe('3 pass');
    expect(await unitTest('user_profiles_keep_the_latest_identify').textContent()).toMatch(/models\/marts\/user_profiles\.sql:\d+/);
    // Another model's own tests, and a unit test's own panel.
    await page.goto(`${consoleHandle.url}#/model/stg_segment_events`);
    await expect.poll(outcomes, { timeout: 10_000 }).toEqual({ dedup_keeps_first_received_delivery: 'pass' });
    await unitTest('dedup_keeps_first_received_delivery').getByRole('button', { name: 'dedup_keeps_first_received_delivery' }).click();
    await expect.poll(() => page.locator('.panel h2').textContent()).toBe('dedup_keeps_first_received_delivery');
    expect(await page.getByTestId('unit-tests').textContent()).toContain('of stg_segment_events');
    await page.goto(`${consoleHandle.url}#/model/user_profiles`);
    await page.getByTestId('unit-tests').waitFor();
    await screenshot(page, 'unit-tests-pass');
  });

  it('shows a save that breaks the model as failing tests with their missing and unexpected rows', async () => {
    // The oldest identify wins instead of the latest: the model deploys, its tests fail.
    const broken = original.replace('coalesce(e.event_timestamp, e.received_at) DESC NULLS LAST', 'coalesce(e.event_timestamp, e.received_at) ASC NULLS LAST');
    expect(broken).not.toBe(original);
    const saved = Date.now();
    writeFileSync(file, broken);
    const latest = unitTest('user_profiles_keep_the_latest_identify');
    await expect.poll(() => latest.getAttribute('data-outcome'), { timeout: 15_000 }).toBe('fail');
    console.log(`save → failing unit test in the page: ${Date.now() - saved} ms`);
    // Expected: the latest identify (2026-11-21, traits {}); produced: the oldest (old@example.com).
    const missing = latest.getByTestId('unit-missing');
    const unexpected = latest.getByTestId('unit-unexpected');
    await missing.waitFor();
    expect(await missing.locator('thead').textContent()).toContain('updated_at');
    expect(await missing.locator('tbody tr').count()).toBe(1);
    expect(await missing.locator('tbody').textContent()).toContain('2026-11-21');
    expect(await unexpected.locator('tbody tr').count()).toBe(1);
    expect(await unexpected.locator('tbody').textContent()).toContain('old@example.com');
    expect(await latest.textContent()).toContain('1 missing, 1 unexpected');
    expect(await unitTest('user_profiles_identify_without_traits_erases_earlier_traits').getAttribute('data-outcome')).toBe('fail');
    // Deletes are still left out: that test passes.
    expect(await unitTest('user_profiles_leave_out_deleted_users').getAttribute('data-outcome')).toBe('pass');
    expect(await page.getByTestId('unit-tests-summary').textContent()).toBe('2 fail · 1 pass');
    // The lineage's test node says so too.
    await expect.poll(() => page.locator('[data-node="user_profiles_keep_the_latest_identify"]').getAttribute('aria-label')).toContain('fail 2');
    await screenshot(page, 'unit-tests-fail');
  });

  it('shows a test with a missing mock as invalid, with the reason and its file:line; the fix passes again', async () => {
    const invalid = `${original}
EXECUTE UNIT TEST user_profiles_without_the_deletes_mock
FOR {{ref.user_profiles}}
MOCK {{ref.stg_segment_identifies}}(message_id text, user_id text, received_at timestamp, ...) AS (
  SELECT 'i1', 'u1', '2026-11-20 10:00'::timestamp
)
EXPECTED(user_id text, email text, name text, first_name text, last_name text, phone text, company_name text, created_at timestamp, traits jsonb, updated_at timestamp) AS (
  SELECT 'u1', NULL, NULL, NULL, NULL, NULL, NULL, NULL::timestamp, NULL::jsonb, '2026-11-20 10:00'::timestamp
);
`;
    const line = invalid.split('\n').findIndex((text) => text.includes('user_profiles_without_the_deletes_mock')) + 1;
    writeFileSync(file, invalid);
    const test = unitTest('user_profiles_without_the_deletes_mock');
    await expect.poll(() => test.getAttribute('data-outcome'), { timeout: 15_000 }).toBe('invalid');
    const error = test.getByTestId('unit-test-error');
    expect(await error.textContent()).toContain('stg_segment_deletes, which is not mocked');
    expect(await error.textContent()).toContain(`models/marts/user_profiles.sql:${line}`);
    expect(await error.textContent()).toContain('fix: every dependency of the view is mocked');
    // The fix of the model brought the other tests back.
    await expect.poll(outcomes).toEqual({ ...Object.fromEntries(USER_PROFILES_TESTS.map((name) => [name, 'pass'])), user_profiles_without_the_deletes_mock: 'invalid' });
    await screenshot(page, 'unit-tests-invalid');

    writeFileSync(file, original);
    await expect.poll(outcomes, { timeout: 15_000 }).toEqual(Object.fromEntries(USER_PROFILES_TESTS.map((name) => [name, 'pass'])));
  });

  it('under npm run local, runs the unit tests of the project on disk once at start', async () => {
    const local = await startConsole(t.server, { port: 0, projectRoot: root });
    try {
      type Node = { name: string; unitTestOf?: string; unit?: { outcome: string } };
      const unitOutcomes = async () => {
        const graph = (await (await fetch(new URL('/console/api/graph', local.url))).json()) as { nodes: Node[] };
        return Object.fromEntries(graph.nodes.filter((node) => node.unitTestOf === 'user_profiles').map((node) => [node.name, node.unit?.outcome ?? 'not run']));
      };
      await expect.poll(unitOutcomes, { timeout: 15_000 }).toEqual(Object.fromEntries(USER_PROFILES_TESTS.map((name) => [name, 'pass'])));
    } finally {
      await local.stop();
    }
  });
});
