/** function:deploy as users run it (a real process) against a stand-in of Segment's Public API. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeSegmentApi } from '../helpers/fake-segment-api.ts';
import { runScript, type ScriptResult } from '../helpers/run-script.ts';
import { copyOfSeedProject } from '../helpers/temp-project.ts';

const TOKEN = 'sgp_test_token_never_printed';
/** The shared secret --source sends: a quote and a backslash (escaped in a JSON echo), characters URL encoding changes. */
const SECRET = 'Wq7"Kz\\9/ m+Secret&Value<é>-4821';
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
  it('creates the function after paging through the others, then is idempotent, then updates changed code', { timeout: 60_000 }, async () => {
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

  it('prints API errors with status and Segment’s message, never the token', { timeout: 60_000 }, async () => {
    const badToken = await deploy([], { SEGMENT_API_TOKEN: 'wrong-token-value' });
    expect(badToken.code).toBe(1);
    expect(badToken.stderr).toContain('error: Segment Public API GET /functions → 401: invalid or missing token');
    expect(badToken.stderr + badToken.stdout).not.toContain('wrong-token-value');

    api.failWith = { status: 422, message: `settings are invalid for ${TOKEN}` };
    const invalid = await deploy();
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('→ 422: settings are invalid for [redacted]');
    expect(invalid.stderr + invalid.stdout).not.toContain(TOKEN);

    const missing = await deploy([], { SEGMENT_API_TOKEN: '' });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('SEGMENT_API_TOKEN is not set');
  });
});

/** No form of `value` (raw, JSON-escaped, URL-encoded), nor a prefix or suffix of 6 characters of one. */
function expectNoTrace(output: string, value: string): void {
  for (const form of [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)]) {
    expect(output).not.toContain(form.slice(0, 6));
    expect(output).not.toContain(form.slice(-6));
  }
}

describe('function:deploy never prints what it sent', () => {
  const withSource = (project: string, extra: string[] = []) => deploy(['--project-dir', project, '--source', 'my-website', '--webhook-url', 'https://mz.example.com/api/webhook/materialize/segment/segment_source', ...extra], { SEGMENT_WEBHOOK_SECRET: SECRET });

  it('redacts the shared secret Segment echoes in a 422, in human and --json output', { timeout: 60_000 }, async () => {
    const project = copyOfSeedProject();
    api.addSources({ slug: 'my-website', name: 'My Website' });
    expect((await deploy()).code).toBe(0); // the function exists: the next run's first write is the destination's
    api.echoBodyOnWrite = true;
    for (const extra of [[], ['--json']]) {
      const result = await withSource(project, extra);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('error: Segment Public API POST /destinations → 422: invalid settings: {');
      expect(result.stderr).toContain('"sharedSecret":"[redacted]"');
      expectNoTrace(result.stdout + result.stderr, SECRET);
      expectNoTrace(result.stdout + result.stderr, TOKEN);
    }
  });

  it('redacts a secret or token cut by the 300-character limit of a non-JSON error page', { timeout: 60_000 }, async () => {
    const project = copyOfSeedProject();
    api.addSources({ slug: 'my-website', name: 'My Website' });
    const head = '<html><body><h1>502 Bad Gateway</h1><pre>';
    // The page echoes what it got, padded so the cut at 300 characters falls 10 characters into the value.
    const page = (text: string, value: string) => head + '.'.repeat(290 - head.length - text.indexOf(value)) + text + '</pre></body></html>';

    api.rawErrorOnWrite = ({ authorization }) => page(`authorization: ${authorization}`, TOKEN);
    const token = await deploy();
    expect(token.code).toBe(1);
    expect(token.stderr).toContain('error: Segment Public API POST /functions → 502: <html>');
    expectNoTrace(token.stdout + token.stderr, TOKEN);

    api.rawErrorOnWrite = undefined;
    expect((await deploy()).code).toBe(0);
    api.rawErrorOnWrite = ({ body }) => page(body, JSON.stringify(SECRET).slice(1, -1));
    for (const extra of [[], ['--json']]) {
      const secret = await withSource(project, extra);
      expect(secret.code).toBe(1);
      expect(secret.stderr).toContain('error: Segment Public API POST /destinations → 502: <html>');
      expectNoTrace(secret.stdout + secret.stderr, SECRET);
    }
  });
});

describe('function:deploy pagination', () => {
  it('stops at an empty page even when it names a next one', async () => {
    api.endlessPages = 'empty';
    const result = await deploy(['--dry-run']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^would create destination function/);
    expect(api.calls.filter((call) => call.path === '/functions')).toHaveLength(1);
  });

  it('gives up after 1,000 pages that keep naming a new next one, naming the endpoint', { timeout: 60_000 }, async () => {
    api.endlessPages = 'full';
    const result = await deploy(['--dry-run']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/error: Segment Public API GET \/functions: .*1000 pages/);
    expect(api.calls.filter((call) => call.path === '/functions')).toHaveLength(1000);
    expect(result.stdout + result.stderr).not.toContain(TOKEN);
  });
});
