/** The Public API client in process: what it redacts, and how far it follows a list's pages. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectDestination } from '../../functions/deploy/connect-destination.ts';
import { Redactor } from '../../functions/deploy/redact.ts';
import { MAX_PAGES, PaginationError, PublicApiError, SegmentPublicApi } from '../../functions/deploy/segment-public-api.ts';
import { FakeSegmentApi } from '../helpers/fake-segment-api.ts';

const TOKEN = 'sgp_inprocess_token_value';
const SECRET = 'Zt5"Qv\\8/ n+Shared&Secret<ü>-7319';

describe('Redactor', () => {
  const redactor = new Redactor().add(TOKEN, SECRET);

  it('replaces a value in every form an answer may echo it in', () => {
    const json = JSON.stringify(SECRET).slice(1, -1);
    for (const form of [SECRET, json, JSON.stringify(json).slice(1, -1), encodeURIComponent(SECRET), new URLSearchParams({ v: SECRET }).toString().slice(2), encodeURIComponent(SECRET).replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase())]) {
      expect(redactor.redact(`before ${form} after`)).toBe('before [redacted] after');
    }
    expect(redactor.redact(`{"sharedSecret":"${json}","token":"Bearer ${TOKEN}"}`)).toBe('{"sharedSecret":"[redacted]","token":"Bearer [redacted]"}');
  });

  it('replaces the first 6 characters or more of a value anywhere, a piece of 4 at either end of one at a cut', () => {
    expect(redactor.redact(`got ${TOKEN.slice(0, 6)}"}`)).toBe('got [redacted]"}');
    expect(redactor.redact(`${TOKEN.slice(-6)} was sent`)).toBe('[redacted] was sent');
    expect(redactor.redact(`…${TOKEN.slice(-4)} was sent`)).toBe('…[redacted] was sent');
    expect(redactor.redact(`it ends ${TOKEN.slice(-8)} here`)).toBe(`it ends ${TOKEN.slice(-8)} here`); // an end of a value, not at a cut
    expect(redactor.redact(`cut: ${TOKEN.slice(0, 4)}`)).toBe('cut: [redacted]');
    expect(redactor.redact(`cut: ${TOKEN.slice(0, 4)}… more`)).toBe('cut: [redacted]… more');
    expect(redactor.redact(`${TOKEN.slice(-4)} more`)).toBe('[redacted] more');
    expect(redactor.redact(`mid ${TOKEN.slice(0, 4)} word`)).toBe(`mid ${TOKEN.slice(0, 4)} word`); // 4 characters in running text are not a cut
    expect(redactor.redact('nothing to hide')).toBe('nothing to hide');
  });

  it('redacts before it truncates, so no cut leaves the start of a value', () => {
    const json = JSON.stringify(SECRET).slice(1, -1);
    for (let at = 290; at < 300; at++) {
      const text = '.'.repeat(at) + json + '.'.repeat(50);
      const cut = redactor.truncate(text, 300);
      expect(cut).toBe(`${'.'.repeat(at)}[redacted]…`);
    }
    expect(redactor.truncate('.'.repeat(300) + json, 300)).toBe(`${'.'.repeat(300)}…`);
    expect(redactor.truncate('short', 300)).toBe('short');
  });

  it('redacts every string of a report, and an error’s message and stack', () => {
    expect(redactor.redactDeep({ a: [SECRET, 1, { b: `x ${TOKEN}` }], c: null })).toEqual({ a: ['[redacted]', 1, { b: 'x [redacted]' }], c: null });
    const error = redactor.redactError(new Error(`failed with ${SECRET}`));
    expect(error.message).toBe('failed with [redacted]');
    expect(error.stack).not.toContain(SECRET.slice(0, 6));
  });
});

describe('SegmentPublicApi', () => {
  let fake: FakeSegmentApi;
  let api: SegmentPublicApi;
  beforeEach(async () => {
    fake = new FakeSegmentApi(TOKEN);
    api = new SegmentPublicApi(TOKEN, await fake.start(), fetch, async () => {});
  });
  afterEach(async () => {
    await fake.stop();
  });

  it('throws errors that carry no sensitive setting it sent, whatever the answer echoes', async () => {
    const [source] = fake.addSources({ slug: 'web', name: 'Web' });
    fake.functions.push({ id: 'fn_1', displayName: 'F', resourceType: 'DESTINATION', code: '', settings: [{ name: 'sharedSecret', sensitive: true }], catalogId: 'catalog_fn_1' });
    const connect = () => connectDestination(api, { fn: { id: 'fn_1', catalogId: 'catalog_fn_1' }, source: source!.id, name: 'F', enabled: true, settings: { webhookUrl: 'https://mz.example.com/x', sharedSecret: SECRET }, sensitive: new Set(['sharedSecret']), dryRun: false });
    fake.echoBodyOnWrite = true;
    const echoed = await connect().catch((error: unknown) => error);
    expect(echoed).toBeInstanceOf(PublicApiError);
    expect((echoed as Error).message).toContain('"sharedSecret":"[redacted]"');
    expect((echoed as Error).message).toContain('"webhookUrl":"https://mz.example.com/x"');
    for (const text of [(echoed as Error).message, (echoed as Error).stack ?? '']) expect(text).not.toContain(JSON.stringify(SECRET).slice(1, 7));

    fake.echoBodyOnWrite = false;
    fake.rawErrorOnWrite = ({ body }) => `<pre>${'.'.repeat(280 - body.indexOf('Zt5'))}${body}</pre>`;
    const cut = await connect().catch((error: unknown) => error);
    expect((cut as Error).message).toMatch(/→ 502: <pre>\.+.*\[redacted\]…$/);
    expect((cut as Error).message).not.toContain('Zt5');
  });

  it('ends a list at an empty page, and gives up on one whose pages never end, naming the endpoint', async () => {
    fake.endlessPages = 'empty';
    expect(await api.findSource('web')).toEqual({ all: [] });
    expect(fake.calls).toHaveLength(1);

    fake.endlessPages = 'full';
    const endless = await api.connectedDestinations('src_1').catch((error: unknown) => error);
    expect(endless).toBeInstanceOf(PaginationError);
    expect((endless as Error).message).toBe(`Segment Public API GET /sources/src_1/connected-destinations: stopped after ${MAX_PAGES} pages: pagination.next kept naming another page (the list does not end)`);
    expect(fake.calls).toHaveLength(1 + MAX_PAGES);
  });

  it('stops at a cursor it has seen', async () => {
    let calls = 0;
    const looping = new SegmentPublicApi(TOKEN, 'http://api.invalid', async () => {
      calls++;
      return new Response(JSON.stringify({ data: { sources: [{ id: `s${calls}`, slug: `s${calls}` }], pagination: { next: calls % 2 ? 'a' : 'b' } } }));
    });
    await expect(looping.findSource('x')).rejects.toThrow("Segment Public API GET /sources: page 4 would repeat the cursor 'a' of an earlier page; stopped");
    expect(calls).toBe(3);
  });
});
