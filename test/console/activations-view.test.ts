/**
 * The console's Activations view (key 4): per activation declared in the project, what its
 * checkpoint says — sent, pending, retrying (with the receiver's answer), failed with the reason
 * and key — and the last calls the Segment stand-in received. A worker follows a materialized
 * view on the test server and sends to the stand-in, which is made to answer 500s (retrying) and
 * then a 400 (a refusal); the endpoint is checked as JSON, then the page in Chromium
 * (playwright-core, as test/console/console.test.ts), with a screenshot in test/screenshots/.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsole, type RunningConsole } from '../../scripts/console/start-console.ts';
import type { ActivationsSnapshot } from '../../scripts/console/activations-board.ts';
import { startTrackingStandIn, type TrackingStandIn } from '../../scripts/activation/tracking-stand-in.ts';
import { browserAvailable, launchBrowser, screenshot } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/local-server.ts';
import { MINIMAL_PROJECT_YML } from '../helpers/temp-project.ts';
import { bindTo, runWorker, until, type RunningWorker } from '../activation/helpers.ts';

const WRITE_KEY = 'console-write-key';
const DECLARATION = `description: People who spent 100 or more
model: audience
key: [user_id]
destination: segment
segment:
  call: identify
  user_id: user_id
  traits:
    email: email
    spend: spend
`;

let t: TestServer;
let root: string;
let standIn: TrackingStandIn;
let consoleHandle: RunningConsole;
let worker: RunningWorker;
let browser: Browser | undefined;
let page: Page | undefined;

beforeAll(async () => {
  t = await startTestServer();
  await t.query(`CREATE TABLE people (user_id text, email text, spend integer)`);
  await t.query(`INSERT INTO people VALUES ('u1', 'ada@example.com', 150), ('u2', 'bob@example.com', 220), ('u9', 'low@example.com', 10)`);
  await t.query(`CREATE MATERIALIZED VIEW audience AS SELECT user_id, email, spend FROM people WHERE spend >= 100`);
  // Kept for the whole file (the helper's temporary projects last one test).
  root = mkdtempSync(path.join(tmpdir(), 'segmat-activations-view-'));
  writeFileSync(path.join(root, 'project.yml'), MINIMAL_PROJECT_YML);
  mkdirSync(path.join(root, 'activations'));
  writeFileSync(path.join(root, 'activations/audience.yml'), DECLARATION);
  writeFileSync(path.join(root, 'activations/dormant.yml'), DECLARATION.replace('description: People who spent 100 or more', 'enabled: false'));
  standIn = await startTrackingStandIn({ writeKey: WRITE_KEY });
  consoleHandle = await startConsole(t.server, { port: 0, projectRoot: root });
  consoleHandle.activations.useStandIn(standIn);
  // No retries inside analytics-node (its backoff between attempts is most of a failure's time):
  // each failed request goes straight to the worker's own retry, which is what the view shows.
  worker = runWorker([bindTo('audience', DECLARATION, 'audience')], {
    connection: { connectionString: t.server.pgUrl },
    segment: { trackingUrl: standIn.url, writeKey: WRITE_KEY, libraryRetries: 0 },
  });
  await until(() => standIn.unique().size === 2, 'the first two identifies');
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await worker?.stop();
  await consoleHandle?.stop();
  await standIn?.close();
  await t?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

async function snapshot(): Promise<ActivationsSnapshot> {
  const response = await fetch(`${consoleHandle.url}console/api/activations`);
  expect(response.status).toBe(200);
  return (await response.json()) as ActivationsSnapshot;
}

async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value).slice(0, 2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('console: Activations view', () => {
  it('serves each declared activation with its checkpoint (sent, pending, retrying with the answer, failed with reason and key) and the stand-in\'s calls', async () => {
    const first = await eventually(snapshot, (value) => value.activations.find((each) => each.name === 'audience')?.checkpoint?.sent === 2, 'two sent');
    expect(first.standIn).toEqual({ url: standIn.url, forwarding: false });
    const audience = first.activations.find((each) => each.name === 'audience')!;
    expect(audience).toMatchObject({ model: 'audience', destination: 'segment identify', enabled: true, checkpoint: { sent: 2, pending: 0, failed: 0, state: 'following', holder: expect.stringContaining('pid') } });
    expect(audience.calls!.map((call) => [call.userId, call.payload])).toEqual(expect.arrayContaining([['u1', { email: 'ada@example.com', spend: 150 }], ['u2', { email: 'bob@example.com', spend: 220 }]]));
    expect(first.activations.find((each) => each.name === 'dormant')).toMatchObject({ enabled: false, checkpoint: null });

    // The receiver fails: the batch stays pending and the worker says it is retrying, and why.
    // Four failed requests: the worker retries after ~0.25, 0.5, 1 and 2 s, so it stays "retrying"
    // for ~4 s, long enough for a poll every 100 ms (and the page's updates) to see it.
    standIn.failNext([500, 500, 500, 500], { body: 'stand-in is down for maintenance' });
    await t.query(`UPDATE people SET spend = 300 WHERE user_id = 'u1'`);
    const retrying = await eventually(snapshot, (value) => value.activations[0]?.checkpoint?.state === 'retrying', 'retrying');
    expect(retrying.activations[0]!.checkpoint).toMatchObject({ pending: 1, detail: expect.stringMatching(/500/) });
    // (The state is written just after the commit: both are waited for.)
    const recovered = await eventually(snapshot, (value) => value.activations[0]?.checkpoint?.sent === 3 && value.activations[0]?.checkpoint?.state === 'following', 'the retried change sent', 40_000);
    expect(recovered.activations[0]!.checkpoint).toMatchObject({ pending: 0, detail: expect.stringContaining('delivered after retries') });

    // A refusal for good: failed, with the key and the answer.
    // The stand-in answers {"success":false,"message":<body>}, as the Tracking API words a refusal.
    standIn.failNext([400], { body: 'trait spend is not allowed' });
    await t.query(`INSERT INTO people VALUES ('u3', 'cy@example.com', 500)`);
    const refused = await eventually(snapshot, (value) => (value.activations[0]?.checkpoint?.failed ?? 0) === 1, 'the refusal');
    expect(refused.activations[0]!.checkpoint!.failures[0]).toMatchObject({ keyText: '["u3"]', status: 400, reason: expect.stringContaining('trait spend is not allowed') });
  }, 90_000);

  it.skipIf(!browserAvailable())('shows it in the page: counts, state, refusals with their reason, the last calls', async () => {
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 }, colorScheme: 'dark' });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(consoleHandle.url);
    await page.getByTestId('connection').filter({ hasText: 'live' }).waitFor();
    await page.keyboard.press('4');
    const card = page.locator('[data-activation="audience"]');
    await card.waitFor({ timeout: 10_000 }).catch(async (error: Error) => {
      throw new Error(`${error.message}; url ${page!.url()}; page errors: ${errors.join('; ')}; body: ${(await page!.locator('main').innerText()).slice(0, 500)}`);
    });
    expect(page.url()).toMatch(/#\/activations$/);
    await expect.poll(() => card.getByTestId('count-sent').innerText()).toContain('3');
    expect(await card.getByTestId('count-failed').innerText()).toContain('1');
    expect(await card.getByTestId('count-pending').innerText()).toContain('0');
    expect(await card.getByTestId('activation-state').innerText()).toBe('following');
    const failures = card.getByTestId('activation-failures');
    expect(await failures.innerText()).toContain('trait spend is not allowed');
    expect(await failures.innerText()).toContain('["u3"]');
    const calls = card.getByTestId('activation-calls');
    expect(await calls.innerText()).toContain('ada@example.com');
    expect(await calls.locator('tbody tr').count()).toBeGreaterThanOrEqual(3);
    expect(await page.locator('[data-activation="dormant"]').getByTestId('activation-state').innerText()).toBe('disabled');

    // Retrying shows live, with the answer.
    standIn.failNext([503, 503, 503, 503], { body: 'busy' });
    await t.query(`UPDATE people SET spend = 400 WHERE user_id = 'u2'`);
    await expect.poll(() => card.getByTestId('activation-state').innerText(), { timeout: 20_000 }).toBe('retrying');
    expect(await card.getByTestId('activation-detail').innerText()).toMatch(/retrying: attempt \d+, 1 message: .*503/);
    expect(await card.getByTestId('count-retrying').innerText()).toContain('1');
    await screenshot(page, 'console-activations-retrying');
    await expect.poll(() => card.getByTestId('count-sent').innerText(), { timeout: 40_000 }).toContain('4');
    await expect.poll(() => card.getByTestId('activation-state').innerText()).toBe('following');
    await screenshot(page, 'console-activations');
    expect(errors).toEqual([]);
  }, 120_000);
});
