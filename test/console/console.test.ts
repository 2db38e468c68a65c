/**
 * The console in a real browser (Debian chromium through playwright-core) against a local server
 * running the seed project under watch mode, as `npm run dev` runs them: the lineage shows every
 * model; a save changes a model's status and then its live rows; a broken save fails the node at
 * its file and line; a signed event shows up in a mart's live table; a request with a wrong
 * signature shows up in the request log with its reason; the SQL shell runs queries, points at an
 * error's position, and streams a SUBSCRIBE. Screenshots of each view land in test/screenshots/.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startConsole, type RunningConsole } from '../../scripts/console/start-console.ts';
import { ProjectCompiler } from '../../scripts/runner/compile.ts';
import { Deployer } from '../../scripts/runner/deploy/deployer.ts';
import { ProjectWatcher } from '../../scripts/runner/watch/project-watcher.ts';
import { browserAvailable, launchBrowser, screenshot } from '../helpers/browser.ts';
import { connectionTo } from '../helpers/deploy.ts';
import { hmacHex, post, startTestServer, type TestServer } from '../helpers/local-server.ts';
import { REPO_ROOT } from '../helpers/temp-project.ts';

// The seed's local default (the local target never needs SEGMENT_WEBHOOK_SECRET).
const SECRET = 'local-development-secret';
const runBrowser = browserAvailable();

let t: TestServer;
let root: string;
let deployer: Deployer;
let watcher: ProjectWatcher;
let consoleHandle: RunningConsole;
let browser: Browser;
let page: Page;
let modelNames: string[];
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!runBrowser) return;
  t = await startTestServer();
  // A copy of the seed project kept for the whole file (the helper's copies last one test).
  root = mkdtempSync(path.join(tmpdir(), 'segmat-console-'));
  for (const entry of ['project.yml', 'models', 'macros', 'tests']) cpSync(path.join(REPO_ROOT, entry), path.join(root, entry), { recursive: true });
  const compiler = new ProjectCompiler(root);
  const project = compiler.compile();
  modelNames = [...project.nodes.keys()];
  deployer = await Deployer.open(project, { connection: connectionTo(t) });
  consoleHandle = await startConsole(t.server, { port: 0, watched: { deployedState: () => deployer.deployedState() } });
  consoleHandle.board.setProject(project, await deployer.deployedState());
  const hooks = consoleHandle.watchHooks;
  watcher = new ProjectWatcher(root, deployer, {
    compiler,
    debounceMs: 30,
    runTests: true,
    onCycleStart: (changed) => hooks.onCycleStart(changed),
    onResult: (result) => hooks.onResult(result),
    onCycle: (cycle) => hooks.onCycle(cycle),
  });
  await watcher.start();
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1500, height: 900 }, colorScheme: 'dark' });
  // Errors in the page fail the test that caused them.
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(consoleHandle.url);
}, 120_000);

afterEach(() => {
  expect(pageErrors.splice(0), 'errors in the page').toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await watcher?.close();
  await deployer?.close();
  await consoleHandle?.stop();
  await t?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** Posts events to the seed's webhook source, signed (or not) as the destination function does. */
async function sendEvents(events: object[], signature?: string): Promise<number> {
  const body = JSON.stringify(events.length === 1 ? events[0] : events);
  const response = await post(t.server.webhookUrl('segment_source', 'segment'), body, {
    'content-type': 'application/json',
    'x-signature': signature ?? hmacHex(SECRET, body),
  });
  return response.status;
}

function identify(userId: string, name: string): object {
  const now = new Date().toISOString();
  return { type: 'identify', messageId: `msg-${userId}-${Date.now()}`, userId, traits: { name, email: `${userId}@example.com` }, timestamp: now, receivedAt: now };
}

const node = (name: string) => page.locator(`[data-node="${name}"]`);

describe.skipIf(!runBrowser)('console in a browser', () => {
  it('shows every model of the project in the lineage, with its deploy status', async () => {
    await page.locator('[data-node]').first().waitFor();
    await expect.poll(() => page.locator('[data-node]').count()).toBe(modelNames.length);
    for (const name of modelNames) expect(await node(name).count(), name).toBe(1);
    await expect.poll(() => node('user_profiles').getAttribute('data-status')).toBe('deployed');
    expect(await node('segment_source').getAttribute('aria-label')).toContain('source');
    // Data tests show their last run (dev runs them after each deploy).
    await expect.poll(() => node('unique_user_profiles_user_id').getAttribute('aria-label')).toContain('pass');
    expect(await page.getByTestId('lineage-summary').textContent()).toContain(`${modelNames.length} nodes`);
    await screenshot(page, 'lineage-dark');
  });

  it('opens a model with the keyboard and shows a signed event in its live rows within a second', async () => {
    await page.keyboard.press('/');
    await page.keyboard.type('user_prof');
    await page.keyboard.press('Enter');
    await page.getByTestId('model-view').waitFor();
    expect(await page.locator('.panel h2').textContent()).toBe('user_profiles');
    await page.getByTestId('live-table').waitFor();
    // Subscribed: the snapshot arrived (possibly empty).
    await expect.poll(() => page.getByTestId('last-change').textContent()).toContain('no change since opened');
    expect(await sendEvents([identify('console-ada', 'Ada Lovelace')])).toBe(200);
    const sent = Date.now();
    await page.getByTestId('live-table').getByText('console-ada', { exact: true }).waitFor({ timeout: 5_000 });
    const latency = Date.now() - sent;
    console.log(`signed event → visible in the live table: ${latency} ms`);
    expect(await page.getByTestId('last-change').textContent()).toContain('last change');
    // The header's count follows the live table, which holds the whole view: at once, not after
    // the server's next count (at least half a second after a write).
    await expect.poll(() => page.getByTestId('model-view').locator('.panel-head .muted').textContent(), { timeout: 250, interval: 20 }).toContain('· 1 rows');
    expect(await page.getByTestId('template').textContent()).toContain('DISTINCT ON (e.user_id)');
    await screenshot(page, 'model-live-rows');
  });

  it('a watch edit changes the node status, then its rows; a broken edit fails it at file:line', async () => {
    const file = path.join(root, 'models/marts/user_profiles.sql');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, original.replace('  e.user_id,\n', "  e.user_id,\n  'v2' AS profile_version,\n"));
    // The history shows the save (redeploying) and then the deploy (deployed).
    await expect
      .poll(async () => page.getByTestId('history').locator('li').evaluateAll((items) => items.map((item) => item.getAttribute('data-status'))), { timeout: 15_000 })
      .toEqual(expect.arrayContaining(['redeploying']));
    await expect.poll(() => node('user_profiles').getAttribute('data-status'), { timeout: 15_000 }).toBe('deployed');
    const statuses = await page.getByTestId('history').locator('li').evaluateAll((items) => items.map((item) => item.getAttribute('data-status')));
    // Newest first: the deploy right above the save that started it.
    expect(statuses.indexOf('deployed')).toBeLessThan(statuses.indexOf('redeploying'));
    // Then the rows: the new column, live.
    await page.getByTestId('live-table').getByRole('button', { name: /profile_version/ }).waitFor({ timeout: 10_000 });
    await page.getByTestId('live-table').getByText('v2', { exact: true }).first().waitFor();

    writeFileSync(file, original.replace('FROM {{ref.stg_segment_identifies}} AS e', 'FROM {{ref.stg_segment_identifies}} AS e\nJOIN no_such_relation ON true'));
    await expect.poll(() => node('user_profiles').getAttribute('data-status'), { timeout: 15_000 }).toBe('failed');
    const status = page.getByTestId('model-status');
    await expect.poll(() => status.textContent()).toMatch(/models\/marts\/user_profiles\.sql:\d+/);
    expect(await status.textContent()).toContain('no_such_relation');
    await screenshot(page, 'model-failed');

    writeFileSync(file, original);
    await expect.poll(() => node('user_profiles').getAttribute('data-status'), { timeout: 15_000 }).toBe('deployed');
  });

  it('shows a request with a wrong signature in the ingest log, with its reason in words', async () => {
    expect(await sendEvents([identify('console-eve', 'Eve')], hmacHex('not-the-secret', 'whatever'))).toBe(400);
    expect(await sendEvents([identify('console-bob', 'Bob')])).toBe(200);
    await page.keyboard.press('Escape');
    await page.keyboard.press('2');
    const log = page.getByTestId('request-log');
    const rejected = log.locator('tr[data-status="400"]').first();
    await rejected.waitFor({ timeout: 5_000 });
    expect(await rejected.textContent()).toContain("signature does not match: check the function's sharedSecret");
    expect(await rejected.textContent()).toContain('segment.segment_source');
    expect(await rejected.textContent()).toContain('identify');
    // The page never shows a secret or a signature.
    const text = (await page.textContent('body')) ?? '';
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(hmacHex('not-the-secret', 'whatever'));
    const card = page.locator('.card[data-target="segment.segment_source"]');
    await expect.poll(() => card.textContent()).toMatch(/400: 1/);
    expect(await card.locator('canvas').count()).toBeGreaterThan(0);
    await screenshot(page, 'ingest');
  });

  it('runs SQL in the shell, points at an error position, and streams a SUBSCRIBE', async () => {
    await page.keyboard.press('3');
    const editor = page.locator('#sql-input');
    await editor.fill("SELECT 1 AS one, 'two' AS two");
    await editor.press('Control+Enter');
    const result = page.getByTestId('sql-result');
    // The column names come before the row (the API's Rows, then Row): wait for the row itself.
    await result.locator('tbody tr').first().waitFor();
    expect(await result.locator('tbody tr').count()).toBe(1);
    expect(await result.locator('tbody tr').first().textContent()).toContain('two');

    await editor.fill('SELECT user_id\nFROM no_such_table');
    await editor.press('Control+Enter');
    const error = page.getByTestId('sql-error');
    await error.waitFor();
    expect(await error.textContent()).toContain("unknown catalog item 'no_such_table'");
    expect(await page.getByTestId('sql-error-position').textContent()).toContain('line 2, column 6');
    await screenshot(page, 'sql-error');

    await editor.fill("SUBSCRIBE (SELECT count(*) AS named FROM analytics.user_profiles WHERE name LIKE 'Stream%')");
    await editor.press('Control+Enter');
    await expect.poll(() => page.getByTestId('sql-status').textContent()).toContain('streaming');
    await page.getByTestId('sql-result').locator('tbody tr').first().waitFor();
    expect(await sendEvents([identify('console-stream', 'Stream Reader')])).toBe(200);
    // The count moves from 0 to 1: a retraction and an insertion arrive as rows.
    await expect.poll(() => page.getByTestId('sql-result').locator('tbody tr').count(), { timeout: 5_000 }).toBeGreaterThanOrEqual(3);
    await screenshot(page, 'sql-subscribe');
    await page.getByTestId('stop-sql').click();
    await expect.poll(() => page.getByTestId('sql-status').textContent()).not.toContain('streaming');
  });

  it('switches to the light theme with the keyboard and keeps it', async () => {
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    // Keys go to the page, not to an editor a test before left focused.
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press('1');
    await page.locator('[data-node]').first().waitFor();
    await page.locator('body').click({ position: { x: 5, y: 880 } });
    await page.keyboard.press('t');
    await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
    await screenshot(page, 'lineage-light');
    await page.reload();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
    await page.locator('[data-node]').first().waitFor();
  });
});
