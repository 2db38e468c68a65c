/** function:deploy as users run it (a real process) against a stand-in of Segment's Public API. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeSegmentApi } from '../helpers/fake-segment-api.ts';
import { runScript, type ScriptResult } from '../helpers/run-script.ts';

const TOKEN = 'sgp_test_token_never_printed';
let api: FakeSegmentApi;
let url: string;

beforeEach(async () => {
  api = new FakeSegmentApi(TOKEN);
  url = await api.start();
});
afterEach(async () => {
  await api.stop();
});

function deploy(args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ScriptResult> {
  return runScript('function-deploy.ts', args, { env: { SEGMENT_API_TOKEN: TOKEN, SEGMENT_API_URL: url, ...env } });
}

describe('function:deploy', () => {
  it('creates the function after paging through the others, then is idempotent, then updates changed code', async () => {
    api.seed(250);
    const dry = await deploy(['--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^would create destination function "Materialize Webhook \(segment-materialize\)"/);
    expect(api.calls.filter((call) => call.method === 'GET' && call.path === '/functions').map((call) => call.query['pagination.cursor'] ?? '')).toEqual(['', '100']);
    expect(api.functions).toHaveLength(250);

    const created = await deploy();
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^created destination function "Materialize Webhook \(segment-materialize\)" \(fn_251\)/);
    const fn = api.functions.at(-1)!;
    expect(fn).toMatchObject({ resourceType: 'DESTINATION', displayName: 'Materialize Webhook (segment-materialize)' });
    expect(fn.code).toContain('async function onBatch(');
    expect(fn.settings).toEqual(expect.arrayContaining([
      expect.objectContaining({ name: 'webhookUrl', type: 'STRING', required: true, sensitive: false }),
      expect.objectContaining({ name: 'sharedSecret', type: 'STRING', required: true, sensitive: true }),
      expect.objectContaining({ name: 'batching', type: 'BOOLEAN', required: false }),
    ]));

    const again = await deploy();
    expect(again.stdout).toMatch(/^unchanged destination function/);
    expect(api.calls.filter((call) => call.method !== 'GET')).toHaveLength(1);

    fn.code = 'async function onTrack() { /* an older version */ }';
    const updated = await deploy();
    expect(updated.stdout).toMatch(/^updated destination function .* \(fn_251\)/);
    expect(fn.code).toContain('async function onBatch(');
    expect(api.functions).toHaveLength(251);
  });

  it('prints API errors with status and Segment’s message, never the token', async () => {
    const badToken = await deploy([], { SEGMENT_API_TOKEN: 'wrong-token-value' });
    expect(badToken.code).toBe(1);
    expect(badToken.stderr).toContain('error: Segment Public API GET /functions → 401: invalid or missing token');
    expect(badToken.stderr + badToken.stdout).not.toContain('wrong-token-value');

    api.failWith = { status: 422, message: `settings are invalid for ${TOKEN}` };
    const invalid = await deploy();
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('→ 422: settings are invalid for [token]');
    expect(invalid.stderr + invalid.stdout).not.toContain(TOKEN);

    const missing = await deploy([], { SEGMENT_API_TOKEN: '' });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('SEGMENT_API_TOKEN is not set');
  });
});
