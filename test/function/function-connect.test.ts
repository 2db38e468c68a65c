/**
 * function:deploy --source as users run it (a real process): the seed deployed on a local server,
 * Segment's Public API played by the stand-in. The destination's settings come from the deployed
 * models (webhookUrl from mz_internal.mz_webhook_sources, sharedSecret from the secret's value),
 * a second run changes nothing, the secret is never printed, 429s are waited out.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildBundle } from '../../functions/build/build-bundle.ts';
import { handlerFor, loadFunction, RetryError } from '../../functions/harness/segment-sandbox.ts';
import { sampleTraffic } from '../../functions/samples/traffic.ts';
import { FakeSegmentApi } from '../helpers/fake-segment-api.ts';
import { deployProject } from '../helpers/deploy.ts';
import { startTestServer, type TestServer } from '../helpers/local-server.ts';
import { runScript, type ScriptResult } from '../helpers/run-script.ts';
import { copyOfSeedProject } from '../helpers/temp-project.ts';

const TOKEN = 'sgp_connect_token_never_printed';
const SECRET = 'rotating-secret-value-1234';
let server: TestServer;
let project: string;
let api: FakeSegmentApi;
let apiUrl: string;

/** A copy of the seed whose local target is the test server, reached by host/port (copies are removed after each test). */
function seedOnTestServer(): string {
  const root = copyOfSeedProject();
  const yml = path.join(root, 'project.yml');
  writeFileSync(yml, readFileSync(yml, 'utf8').replace('    data_dir: .materialize/data', `    host: 127.0.0.1\n    port: ${server.server.pgPort}`));
  return root;
}

beforeAll(async () => {
  server = await startTestServer();
  project = seedOnTestServer();
  const report = await deployProject(server, project, { env: { ...process.env, SEGMENT_WEBHOOK_SECRET: SECRET } });
  expect(report.results.every((result) => result.status === 'done')).toBe(true);
});
afterAll(async () => {
  await server?.close();
});
beforeEach(async () => {
  project = seedOnTestServer();
  api = new FakeSegmentApi(TOKEN);
  apiUrl = await api.start();
  return () => api.stop();
});

function deploy(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ScriptResult> {
  return runScript('function-deploy.ts', ['--project-dir', project, ...args], { env: { SEGMENT_API_TOKEN: TOKEN, SEGMENT_API_URL: apiUrl, SEGMENT_WEBHOOK_SECRET: SECRET, ...env } });
}

describe('function:deploy --source', () => {
  it('creates the destination with the deployed source’s URL and secret, then changes nothing, then updates what drifted', { timeout: 60_000 }, async () => {
    api.addSources(...Array.from({ length: 230 }, (_, index) => ({ slug: `app-${index}`, name: `App ${index}` })));
    const [website] = api.addSources({ slug: 'my-website', name: 'My Website' });
    const webhookUrl = server.server.webhookUrl('segment_source', 'segment');

    const dry = await deploy(['--source', 'My Website', '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    const plan = JSON.parse(dry.stdout) as { function: { action: string }; destination: { action: string; source: { id: string }; settings: Record<string, string> } };
    expect(plan.function.action).toBe('would create');
    expect(plan.destination).toMatchObject({ action: 'would create', source: { id: website!.id }, settings: { webhookUrl, sharedSecret: '[secret]', signatureAlgorithm: 'sha1' } });
    expect(api.destinations).toHaveLength(0);
    // Sources were paged through (230 + 1 at 200 a page).
    expect(api.calls.filter((call) => call.path === '/sources').map((call) => call.query['pagination.cursor'] ?? '')).toEqual(['', '200']);

    const created = await deploy(['--source', 'my-website']);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^created destination function/m);
    expect(created.stdout).toMatch(new RegExp(`^created its destination on source my-website \\(${website!.id}\\), destination dest_\\d+`, 'm'));
    expect(created.stdout).toContain('sharedSecret [secret]');
    const fn = api.functions.at(-1)!;
    expect(api.destinations).toEqual([expect.objectContaining({ sourceId: website!.id, metadataId: fn.catalogId, enabled: true, name: 'Materialize Webhook (segment-materialize)', settings: { webhookUrl, sharedSecret: SECRET, signatureAlgorithm: 'sha1' } })]);

    const writes = api.calls.filter((call) => call.method !== 'GET').length;
    const again = await deploy(['--source', website!.id]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^unchanged destination function/m);
    expect(again.stdout).toMatch(/^unchanged its destination on source my-website/m);
    expect(api.calls.filter((call) => call.method !== 'GET')).toHaveLength(writes);

    // Someone edits the URL in Segment's app and disables it; another setting of theirs is kept.
    api.destinations[0]!.settings = { ...api.destinations[0]!.settings, webhookUrl: 'https://wrong.example.com/x', timeoutMs: '3000' };
    const drifted = await deploy(['--source', 'my-website', '--disable']);
    expect(drifted.stdout).toMatch(/^updated its destination on source my-website .*\(enabled, webhookUrl\)/m);
    expect(api.destinations[0]).toMatchObject({ enabled: false, settings: { webhookUrl, sharedSecret: SECRET, timeoutMs: '3000' } });

    for (const output of [dry, created, again, drifted]) expect(output.stdout + output.stderr).not.toContain(SECRET);
    for (const output of [dry, created, again, drifted]) expect(output.stdout + output.stderr).not.toContain(TOKEN);
  });

  it('sends a rotated secret (Segment answers it masked), and waits out 429s', { timeout: 60_000 }, async () => {
    const [source] = api.addSources({ slug: 'ios-app', name: 'iOS App' });
    expect((await deploy(['--source', 'ios-app'])).code).toBe(0);
    expect(api.destinations[0]!.settings.sharedSecret).toBe(SECRET);

    const rotated = 'a-brand-new-secret-value-9876';
    api.rateLimitNext = 3;
    const result = await deploy(['--source', source!.id], { SEGMENT_WEBHOOK_SECRET: rotated });
    expect(result.code).toBe(0);
    expect(api.rateLimitNext).toBe(0); // three 429s answered, each waited out
    expect(result.stdout).toMatch(/^updated its destination on source ios-app .*\(sharedSecret\)/m);
    expect(api.destinations[0]!.settings.sharedSecret).toBe(rotated);
    expect(result.stdout + result.stderr).not.toContain(rotated);

    // A new secret ending in the same four characters looks current through the mask: --force-settings sends it.
    const sameTail = 'yet-another-secret-9876';
    expect((await deploy(['--source', 'ios-app'], { SEGMENT_WEBHOOK_SECRET: sameTail })).stdout).toMatch(/^unchanged its destination/m);
    const forced = await deploy(['--source', 'ios-app', '--force-settings'], { SEGMENT_WEBHOOK_SECRET: sameTail });
    expect(forced.stdout).toMatch(/^updated its destination on source ios-app .*\(webhookUrl, sharedSecret, signatureAlgorithm\)/m);
    expect(api.destinations[0]!.settings.sharedSecret).toBe(sameTail);
  });

  it('names near matches for an unknown source, refuses a model that is not a webhook source, and flags misuse', { timeout: 60_000 }, async () => {
    api.addSources({ slug: 'my-website', name: 'My Website' }, { slug: 'android-app', name: 'Android App' });
    const unknown = await deploy(['--source', 'my-webste']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no Segment source has the id, slug or name 'my-webste'; did you mean my-website \(src_\d+\)\?/);
    expect(api.functions).toHaveLength(1); // the function itself is deployed before the source is looked up

    const missing = await deploy(['--source', 'my-website', '--webhook-source', 'stg_segment_events']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/--webhook-source stg_segment_events is not a webhook source model/);
    expect(missing.stderr).toMatch(/webhook sources: segment_source/);

    const yml = path.join(project, 'project.yml');
    writeFileSync(yml, readFileSync(yml, 'utf8').replace('webhook_source: segment_source', 'webhook_source: stg_segment_tracks'));
    const line = readFileSync(yml, 'utf8').split('\n').findIndex((text) => text.includes('webhook_source: stg_segment_tracks')) + 1;
    const named = await deploy(['--source', 'my-website']);
    expect(named.code).toBe(1);
    expect(named.stderr).toContain(`project.yml:${line}`);
    expect(named.stderr).toMatch(/segment\.webhook_source stg_segment_tracks is not a webhook source model/);

    // A local target with no server running: a URL on a server started for this command would die with it.
    const unstarted = copyOfSeedProject();
    const noServer = await deploy(['--source', 'my-website', '--project-dir', unstarted]);
    expect(noServer.code).toBe(1);
    expect(noServer.stderr).toMatch(/no local server is running for target local\n  fix: start one \(npm run local or npm run dev\)/);

    const misuse = await deploy(['--disable']);
    expect(misuse.code).toBe(1);
    expect(misuse.stderr).toMatch(/only apply with --source/);
  });
});

// Last in the file: it rotates the shared server's secret.
describe('rotating the shared secret', () => {
  it('loses no event: signed with the old secret they are retried, and land once after dedup', async () => {
    const [source] = api.addSources({ slug: 'web', name: 'Web' });
    expect((await deploy(['--source', 'web'])).code).toBe(0);
    const fn = loadFunction({ code: (await buildBundle()).code });
    // Segment, played: each call gets the destination's settings as they are at that moment; a
    // RetryError puts the event back in the queue.
    const settingsNow = () => ({ ...api.destinations.find((destination) => destination.sourceId === source!.id)!.settings });
    const events = sampleTraffic(120, { runId: 'rotation', seed: 3, retriedShare: 0 });
    const retryQueue: Array<Record<string, unknown>> = [];
    let retries = 0;
    const deliver = async (batch: Array<Record<string, unknown>>) => {
      for (const event of batch) {
        try {
          await handlerFor(fn, event.type as string)(event, settingsNow());
        } catch (error) {
          expect(error).toBeInstanceOf(RetryError);
          retries++;
          retryQueue.push(event);
        }
      }
    };

    await deliver(events.slice(0, 40)); // before: delivered
    const rotated = 'the-rotated-shared-secret-5678';
    const step1 = await deployProject(server, project, { env: { ...process.env, SEGMENT_WEBHOOK_SECRET: rotated } });
    expect(step1.results.filter((result) => result.status === 'done').map((result) => result.model)).toContain('segment_webhook_secret');
    await deliver(events.slice(40, 80)); // between: Materialize checks the new secret, Segment signs with the old
    expect(retryQueue).toHaveLength(40);
    const step2 = await deploy(['--source', 'web'], { SEGMENT_WEBHOOK_SECRET: rotated });
    expect(step2.stdout).toMatch(/^updated its destination on source web .*\(sharedSecret\)/m);
    await deliver(retryQueue.splice(0)); // Segment's retries, now signed with the new secret
    await deliver(events.slice(80)); // after
    expect(retryQueue).toHaveLength(0);
    expect(retries).toBe(40);

    const ids = events.map((event) => event.messageId as string);
    const [landed] = await server.query<{ distinct_ids: string; rows: string }>(
      `SELECT count(DISTINCT message_id) AS distinct_ids, count(*) AS rows FROM analytics.stg_segment_events WHERE message_id = ANY($1)`,
      [ids],
    );
    expect(Number(landed!.distinct_ids)).toBe(events.length);
    expect(Number(landed!.rows)).toBe(events.length);
  });
});
