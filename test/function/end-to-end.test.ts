/**
 * End to end on the local server: the seed project deployed, the built function's handlers posting
 * to the seed's webhook source (JSON ARRAY, HMAC-SHA1 CHECK), rows landing in the source and the
 * staging views; a wrong shared secret is a 400 that the function turns into a RetryError.
 */
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildBundle } from '../../functions/build/build-bundle.ts';
import { handlerFor, loadFunction, RetryError, type Handlers } from '../../functions/harness/segment-sandbox.ts';
import { sampleEvents } from '../../functions/samples/segment-events.ts';
import { deployProject } from '../helpers/deploy.ts';
import { startTestServer, type TestServer } from '../helpers/local-server.ts';
import { copyOfSeedProject, temporaryDirectory } from '../helpers/temp-project.ts';

let t: TestServer;
let fn: Handlers;
let settings: Record<string, unknown>;

beforeAll(async () => {
  t = await startTestServer();
  const report = await deployProject(t, copyOfSeedProject());
  expect(report.results.every((result) => result.status === 'done')).toBe(true);
  fn = loadFunction({ code: (await buildBundle(path.join(temporaryDirectory('segmat-e2e-'), 'fn.js'))).code });
  // The seed's secret on the local target: project.yml's local_default.
  settings = { webhookUrl: t.server.webhookUrl('segment_source', 'segment'), sharedSecret: 'local-development-secret' };
});
afterAll(async () => {
  await t?.close();
});

it('delivers single events and batches into the seed source, through its signature CHECK, deduplicated downstream', async () => {
  const singles = sampleEvents(14, { runId: 'e2e-single' });
  for (const event of singles) await handlerFor(fn, event.type as string)(event, settings);
  const batch = sampleEvents(50, { runId: 'e2e-batch' });
  expect(await fn.onBatch(batch, settings)).toEqual(Array(50).fill({ status: 200 }));
  await fn.onBatch(batch.slice(0, 10), settings); // a Segment retry: same messageIds again

  expect(await t.query(`SELECT 1 FROM segment.segment_source`)).toHaveLength(74);
  const deduplicated = await t.query<{ n: string }>(`SELECT count(*)::text AS n FROM analytics.stg_segment_events`);
  expect(deduplicated[0]!.n).toBe('64');
  const types = await t.query<{ event_type: string; n: string }>(`SELECT event_type, count(*)::text AS n FROM analytics.stg_segment_events GROUP BY 1 ORDER BY 1`);
  expect(types.map((row) => row.event_type)).toEqual(['alias', 'delete', 'group', 'identify', 'page', 'screen', 'track']);
  const headers = await t.query<{ event_type: string }>(`SELECT DISTINCT event_type FROM segment.segment_source ORDER BY 1`);
  expect(headers.map((row) => row.event_type)).toContain('batch');
  const leaked = await t.query(`SELECT 1 FROM segment.segment_source WHERE body ? 'writeKey'`);
  expect(leaked).toHaveLength(0);
});

it('a wrong shared secret is refused by the CHECK (400) and kept for retry by the function', async () => {
  const before = (await t.query(`SELECT 1 FROM segment.segment_source`)).length;
  const error = await fn.onTrack(sampleEvents(1, { runId: 'wrong' })[0], { ...settings, sharedSecret: 'not-the-secret' }).catch((caught: Error) => caught);
  expect(error).toBeInstanceOf(RetryError);
  expect((error as Error).message).toMatch(/400 failed to validate the request.*sharedSecret/);
  expect(await t.query(`SELECT 1 FROM segment.segment_source`)).toHaveLength(before);
});

it('events:send (the command) delivers samples through the built function and reports counts', async () => {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const { REPO_ROOT } = await import('../helpers/temp-project.ts');
  const run = promisify(execFile);
  const args = [path.join(REPO_ROOT, 'scripts/events-send.ts'), '--url', t.server.webhookUrl('segment_source', 'segment'), '--count', '35', '--batch', '10'];
  const env = { ...process.env, NO_COLOR: '1', SEGMENT_WEBHOOK_SECRET: '' };
  const before = (await t.query(`SELECT 1 FROM segment.segment_source`)).length;
  const ok = await run(path.join(REPO_ROOT, 'node_modules/.bin/tsx'), args, { cwd: REPO_ROOT, env });
  expect(ok.stdout).toMatch(/35 delivered, 0 retried, 0 rejected in [\d.]+ ms \(\d+ events\/s\)/);
  expect(await t.query(`SELECT 1 FROM segment.segment_source`)).toHaveLength(before + 35);

  const wrong = await run(path.join(REPO_ROOT, 'node_modules/.bin/tsx'), [...args, '--secret', 'nope'], { cwd: REPO_ROOT, env }).catch((error: { code: number; stdout: string }) => error);
  expect('code' in wrong ? wrong.code : 0).toBe(1);
  expect(wrong.stdout).toMatch(/0 delivered, 35 retried, 0 rejected/);
  expect(wrong.stdout).toMatch(/retry ×35: Materialize rejected the signature/);
});
