/**
 * The built Segment function (dist/functions/materialize-destination.js), run the way Segment runs
 * it — in a node:vm sandbox with only Segment's globals — against a real HTTP server on 127.0.0.1
 * that verifies every signature on its own and injects failures.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildBundle, checkPlainScript, HANDLERS } from '../../functions/build/build-bundle.ts';
import { loadFunction, handlerFor, RetryError, ValidationError, InvalidEventPayload, EventNotSupported, type Handlers } from '../../functions/harness/segment-sandbox.ts';
import { sampleEvents, EVENT_TYPES } from '../../functions/samples/segment-events.ts';
import { SETTINGS_DOCUMENTATION } from '../../functions/delivery/settings.ts';
import { FaultServer } from '../helpers/fault-server.ts';
import { temporaryDirectory } from '../helpers/temp-project.ts';

const SECRET = 'shared-secret-for-tests';
let code: string;
let fn: Handlers;
let server: FaultServer;
let settings: Record<string, unknown>;

beforeAll(async () => {
  const built = await buildBundle(path.join(temporaryDirectory('segmat-fn-'), 'materialize-destination.js'));
  code = built.code;
  fn = loadFunction({ code });
});

beforeEach(async () => {
  server = new FaultServer({ secret: SECRET });
  settings = { webhookUrl: await server.start(), sharedSecret: SECRET };
});
afterEach(async () => {
  await server.stop();
});

describe('the bundle', () => {
  it('is one plain script: no import, require or export; every handler top-level; settings in its header', () => {
    expect(() => checkPlainScript(code)).not.toThrow();
    expect(code).not.toMatch(/\brequire\(|^\s*(import|export)\b|process\.|Buffer\./m);
    const header = code.slice(0, code.indexOf('*/'));
    for (const setting of SETTINGS_DOCUMENTATION) expect(header).toContain(`${setting.name} (`);
    expect(() => checkPlainScript(`${code}\nexport { onTrack };`)).toThrow(/not a plain script: it contains 'export/);
  });

  it('declares only its handlers at the top level; the rest lives in one function scope', () => {
    // A sandbox's global object is slow to look functions up on (see build-bundle.ts scoped()).
    const segmentGlobals = { RetryError, ValidationError, EventNotSupported, InvalidEventPayload };
    const context = vm.createContext({ ...segmentGlobals });
    new vm.Script(code).runInContext(context);
    const declared = (vm.runInContext('Object.keys(globalThis)', context) as string[]).filter((name) => !(name in segmentGlobals));
    expect(declared.sort()).toEqual([...HANDLERS].sort());
    expect(vm.runInContext('typeof deliverEvent', context)).toBe('undefined');
  });

  it('fails in the sandbox if it reaches for a Node global Segment does not have', () => {
    const broken = loadFunction({ code: code.replace('async function onTrack(event, settings) {', 'async function onTrack(event, settings) { process.exit(1);') });
    return expect(broken.onTrack(sampleEvents(1)[0], settings)).rejects.toThrow(/process is not defined/);
  });
});

describe('handlers', () => {
  it.each(EVENT_TYPES)('%s: POSTs the event, signed (hex HMAC-SHA1 of the exact bytes), without writeKey', async (type) => {
    const event = sampleEvents(1, { types: [type] })[0]!;
    await handlerFor(fn, type)(event, settings);
    expect(server.requests).toHaveLength(1);
    const request = server.requests[0]!;
    expect(request.signatureValid).toBe(true);
    expect(request.headers['x-signature']).toBe(createHmac('sha1', SECRET).update(request.body).digest('hex'));
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['event-type']).toBe(type);
    const { writeKey, ...expected } = event;
    expect(writeKey).toBeDefined();
    expect(JSON.parse(request.body.toString('utf8'))).toEqual(expected);
  });

  it('signs with the configured header, algorithm and encoding, also with Web Crypto only', async () => {
    await server.stop();
    server = new FaultServer({ secret: SECRET, algorithm: 'sha256', encoding: 'base64', header: 'x-hub-signature' });
    const custom = { webhookUrl: await server.start(), sharedSecret: SECRET, signatureHeader: 'X-Hub-Signature', signatureAlgorithm: 'sha256', signatureEncoding: 'base64' };
    await fn.onTrack(sampleEvents(1)[0], custom);
    const webCryptoOnly = loadFunction({ code, crypto: { subtle: globalThis.crypto.subtle } });
    await webCryptoOnly.onTrack({ ...sampleEvents(1)[0], properties: { note: 'ünïcödé ✓' } }, custom);
    expect(server.requests.map((request) => request.signatureValid)).toEqual([true, true]);
  });

  it('onBatch posts one signed JSON array and answers 200 per event, in order', async () => {
    const events = sampleEvents(20);
    const statuses = await fn.onBatch(events, settings);
    expect(statuses).toEqual(Array(20).fill({ status: 200 }));
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.headers['event-type']).toBe('batch');
    expect(server.acceptedEvents().map((event) => event.messageId)).toEqual(events.map((event) => event.messageId));
  });

  it('with batching off, onBatch sends one request per event', async () => {
    const statuses = await fn.onBatch(sampleEvents(5), { ...settings, batching: false });
    expect(statuses).toHaveLength(5);
    expect(server.requests).toHaveLength(5);
    expect(server.requests.every((request) => request.signatureValid)).toBe(true);
  });

  it('rejects events without a messageId or that are not objects with InvalidEventPayload; onBatch reports them per event', async () => {
    await expect(fn.onTrack({ type: 'track', event: 'x' }, settings)).rejects.toBeInstanceOf(InvalidEventPayload);
    await expect(fn.onTrack('not an event', settings)).rejects.toThrow(/expected an event object, got string/);
    const [good] = sampleEvents(1);
    const statuses = (await fn.onBatch([good, { type: 'track' }, 42], settings)) as Array<{ status: number; errormessage?: string }>;
    expect(statuses.map((status) => status.status)).toEqual([200, 400, 400]);
    expect(statuses[1]!.errormessage).toMatch(/no messageId/);
    expect(server.acceptedEvents()).toHaveLength(1);
  });

  it('treats bad settings as a fixable misconfiguration (RetryError), never sending', async () => {
    await expect(fn.onTrack(sampleEvents(1)[0], { ...settings, webhookUrl: 'http://mz.example.com/api/webhook/a/b/c' })).rejects.toThrow(/misconfigured destination: setting webhookUrl must use https \(http is allowed only to localhost\)/);
    await expect(fn.onTrack(sampleEvents(1)[0], { webhookUrl: settings.webhookUrl })).rejects.toBeInstanceOf(RetryError);
    await expect(fn.onTrack(sampleEvents(1)[0], { ...settings, signatureAlgorithm: 'md5' })).rejects.toThrow(/signatureAlgorithm must be sha1 or sha256/);
    expect(server.requests).toHaveLength(0);
  });
});

describe('failure policy', () => {
  const event = () => sampleEvents(1)[0]!;

  it.each([429, 500, 503])('%s → RetryError', async (status) => {
    server.script.push({ status, body: 'busy' });
    await expect(fn.onTrack(event(), settings)).rejects.toThrow(RetryError);
  });

  it('404 → RetryError saying the source or secret is missing', async () => {
    server.script.push({ status: 404, body: 'not found' });
    const error = await fn.onTrack(event(), settings).catch((caught: Error) => caught);
    expect(error).toBeInstanceOf(RetryError);
    expect((error as Error).message).toMatch(/webhook source not found \(404: not found\).*source or its secret is missing/);
  });

  it('a wrong shared secret (400 failed to validate the request) → RetryError naming the setting, secret not in it', async () => {
    const error = await fn.onTrack(event(), { ...settings, sharedSecret: 'wrong-secret-value' }).catch((caught: Error) => caught);
    expect(error).toBeInstanceOf(RetryError);
    expect((error as Error).message).toMatch(/sharedSecret setting does not match the webhook source's secret/);
    expect((error as Error).message).not.toContain('wrong-secret-value');
  });

  it('other 4xx → ValidationError with the status and the answer', async () => {
    server.script.push({ status: 401, body: 'duplicate header' });
    await expect(fn.onTrack(event(), settings)).rejects.toThrow(new ValidationError('Materialize refused the request with 401: duplicate header'));
  });

  it('a slow answer past timeoutMs and a reset connection → RetryError', async () => {
    server.script.push({ delayMs: 500 });
    await expect(fn.onTrack(event(), { ...settings, timeoutMs: 100 })).rejects.toThrow(/within 100 ms \(timeout\)/);
    server.script.push('reset');
    await expect(fn.onTrack(event(), settings)).rejects.toThrow(/could not reach .* retrying/);
  });

  it('413 splits a batch until the halves fit; one event alone over the limit → ValidationError with messageId and size', async () => {
    await server.stop();
    server = new FaultServer({ secret: SECRET, maxBodyBytes: 6_000 });
    const local = { ...settings, webhookUrl: await server.start() };
    const events = sampleEvents(16, { targetBytes: 1_000 });
    const statuses = await fn.onBatch(events, local);
    expect(statuses).toEqual(Array(16).fill({ status: 200 }));
    expect(server.requests.some((request) => request.status === 413)).toBe(true);
    expect(server.acceptedEvents().map((accepted) => accepted.messageId).sort()).toEqual(events.map((one) => one.messageId).sort());

    const huge = sampleEvents(1, { targetBytes: 10_000, runId: 'huge' })[0]!;
    const error = await fn.onTrack(huge, local).catch((caught: Error) => caught);
    expect(error).toBeInstanceOf(ValidationError);
    const { writeKey: _writeKey, ...forwarded } = huge;
    const bytes = Buffer.byteLength(JSON.stringify(forwarded));
    expect((error as Error).message).toMatch(new RegExp(`^event huge-track-0 is ${bytes} bytes, over the webhook's body limit \\(413: request body too large\\)`));
    const mixed = (await fn.onBatch([huge, ...sampleEvents(2, { runId: 'small' })], local)) as Array<{ status: number; errormessage?: string }>;
    expect(mixed.map((status) => status.status)).toEqual([400, 200, 200]);
    expect(mixed[0]!.errormessage).toContain('huge-track-0');
  });

  it('a batch whose every event fails for the same retryable reason throws RetryError; a partial failure answers per event', async () => {
    server.script.push({ status: 503, body: 'shutting down' });
    await expect(fn.onBatch(sampleEvents(3), settings)).rejects.toThrow(/503: shutting down; retrying/);
    server.next = (body) => (body.toString().includes('"type":"page"') ? { status: 500 } : { status: 200 });
    const statuses = (await fn.onBatch(sampleEvents(4), { ...settings, batching: false })) as Array<{ status: number }>;
    expect(statuses.map((status) => status.status)).toEqual([200, 500, 200, 200]);
  });

  it('under random faults, every event is delivered, retried or rejected with a reason — none silently dropped', async () => {
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
    server.next = () => {
      const roll = random();
      if (roll < 0.1) return 'reset';
      if (roll < 0.2) return { status: 503 };
      if (roll < 0.25) return { status: 429 };
      if (roll < 0.3) return { status: 404 };
      if (roll < 0.35) return { status: 422, body: 'unprocessable' };
      if (roll < 0.4) return { delayMs: 300 };
      return { status: 200 };
    };
    const events = sampleEvents(300, { runId: 'faults' });
    const outcome = { delivered: new Set<string>(), retried: new Set<string>(), rejected: new Set<string>() };
    const fast = { ...settings, timeoutMs: 150 };
    // Single events through their handlers…
    for (const event of events.slice(0, 100)) {
      try {
        await handlerFor(fn, event.type as string)(event, fast);
        outcome.delivered.add(event.messageId as string);
      } catch (error) {
        (error instanceof RetryError ? outcome.retried : outcome.rejected).add(event.messageId as string);
        expect((error as Error).message.length).toBeGreaterThan(10);
      }
    }
    // …and batches of 10, both ways.
    for (let start = 100; start < 300; start += 10) {
      const batch = events.slice(start, start + 10);
      try {
        const statuses = (await fn.onBatch(batch, { ...fast, batching: start < 200 })) as Array<{ status: number; errormessage?: string }>;
        statuses.forEach((status, index) => {
          const id = batch[index]!.messageId as string;
          if (status.status === 200) outcome.delivered.add(id);
          else {
            expect(status.errormessage).toBeTruthy();
            (status.status === 500 ? outcome.retried : outcome.rejected).add(id);
          }
        });
      } catch (error) {
        expect(error).toBeInstanceOf(RetryError);
        for (const event of batch) outcome.retried.add(event.messageId as string);
      }
    }
    const accepted = new Set(server.acceptedEvents().map((event) => event.messageId as string));
    expect(outcome.delivered.size + outcome.retried.size + outcome.rejected.size).toBe(300);
    // Everything reported delivered reached the server with a valid signature; nothing reached it unreported.
    for (const id of outcome.delivered) expect(accepted.has(id)).toBe(true);
    expect([...accepted].every((id) => outcome.delivered.has(id) || outcome.retried.has(id))).toBe(true);
    expect(outcome.delivered.size).toBeGreaterThan(100);
    expect(outcome.retried.size).toBeGreaterThan(30);
    expect(outcome.rejected.size).toBeGreaterThan(0);
  });
});

describe('the bundle file', () => {
  it('function:build writes dist/functions/materialize-destination.js', async () => {
    const built = await buildBundle();
    expect(readFileSync(built.path, 'utf8')).toBe(built.code);
  });
});

describe('sendEvents (events:send and the benchmarks)', () => {
  it('counts every outcome and paces to --rate across workers', async () => {
    const { sendEvents } = await import('../../functions/harness/send-events.ts');
    server.next = (body) => (body.toString().includes('"type":"alias"') ? { status: 503 } : body.toString().includes('"type":"group"') ? { status: 422 } : { status: 200 });
    const report = await sendEvents({ handlers: fn, events: sampleEvents(40), settings, batchSize: 1, concurrency: 4, rate: 200 });
    expect(report.delivered + report.retried + report.rejected).toBe(40);
    expect(report.retried).toBe(5); // every 7th event is an alias
    expect(report.rejected).toBe(6);
    expect(report.failures.map((failure) => failure.retried).sort()).toEqual([false, true]);
    // The 40th event may not start before 39/200 s: pacing is a lower bound, not a timing guess.
    expect(report.ms).toBeGreaterThanOrEqual(190);
  });
});
