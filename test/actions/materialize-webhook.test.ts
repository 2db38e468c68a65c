/**
 * The actions-core destination, tested the way action-destinations tests destinations:
 * createTestIntegration, with HTTP mocked at the socket by nock.
 */
import { createHmac } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import destination from '../../functions/actions/materialize-webhook/index.ts';
import { actionsCore } from '../../functions/actions/actions-core.ts';
import nock from 'nock';
const { createTestIntegration } = actionsCore;
const testDestination = createTestIntegration(destination);

const HOST = 'https://mz.example.com';
const PATH = '/api/webhook/materialize/public/segment_source';
const settings = { webhookUrl: `${HOST}${PATH}`, sharedSecret: 'actions-secret' };

interface Captured {
  headers: Record<string, string | undefined>;
  body: string;
}

type RawHeaders = Record<string, string | string[] | undefined>;

function expectPost(status: number, text = '', captured: Captured[] = []): Captured[] {
  nock(HOST)
    .post(PATH)
    .reply(function (this: { req: { headers: RawHeaders } }, _uri: string, requestBody: nock.Body) {
      // nock 13 hands header values over as arrays.
      const headers = Object.fromEntries(Object.entries(this.req.headers).map(([name, value]) => [name, Array.isArray(value) ? value[0] : value]));
      captured.push({ headers, body: typeof requestBody === 'string' ? requestBody : JSON.stringify(requestBody) });
      return [status, text];
    });
  return captured;
}

beforeAll(() => {
  if (!nock.isActive()) nock.activate();
  nock.disableNetConnect();
});
afterEach(() => {
  nock.cleanAll();
});
// Files share their worker's modules (isolate: false): left on, nock would refuse every later
// file's HTTP requests in this worker (found when a local server's tests ran after this file).
afterAll(() => {
  nock.enableNetConnect();
  nock.restore();
});

describe('Materialize-Webhook send', () => {
  it('perform: POSTs the event signed with hex HMAC-SHA1 of the exact body', async () => {
    const captured = expectPost(200);
    const event = { type: 'track' as const, event: 'Order Completed', messageId: 'actions-1', userId: 'u1', properties: { revenue: 25 } };
    await testDestination.testAction('send', { event, settings, useDefaultMappings: true });
    expect(captured).toHaveLength(1);
    const [request] = captured;
    expect(request!.headers['x-signature']).toBe(createHmac('sha1', 'actions-secret').update(request!.body).digest('hex'));
    expect(request!.headers['event-type']).toBe('track');
    expect(JSON.parse(request!.body)).toMatchObject({ messageId: 'actions-1', event: 'Order Completed' });
  });

  it('perform: maps Materialize answers to retryable and validation errors', async () => {
    const event = { type: 'track' as const, messageId: 'actions-2' };
    expectPost(503, 'shutting down');
    await expect(testDestination.testAction('send', { event, settings, useDefaultMappings: true })).rejects.toThrow(/503: shutting down; retrying/);
    expectPost(503, 'shutting down');
    await expect(testDestination.testAction('send', { event, settings, useDefaultMappings: true })).rejects.toBeInstanceOf(actionsCore.RetryableError);
    expectPost(400, 'failed to validate the request');
    await expect(testDestination.testAction('send', { event, settings, useDefaultMappings: true })).rejects.toThrow(/sharedSecret setting does not match/);
    expectPost(422, 'unprocessable');
    await expect(testDestination.testAction('send', { event, settings, useDefaultMappings: true })).rejects.toThrow(new actionsCore.PayloadValidationError('Materialize refused the request with 422: unprocessable'));
    await expect(testDestination.testAction('send', { event, settings: { ...settings, webhookUrl: 'http://mz.example.com/x' }, useDefaultMappings: true })).rejects.toThrow(/misconfigured destination/);
  });

  it('performBatch: one signed JSON array, a multistatus success per event; a retryable failure marks each event', async () => {
    const captured = expectPost(200);
    const events = [1, 2, 3].map((n) => ({ type: 'track' as const, event: 'Batched', messageId: `batch-${n}` }));
    await testDestination.testBatchAction('send', { events, settings, useDefaultMappings: true });
    expect(captured).toHaveLength(1);
    expect(captured[0]!.headers['x-signature']).toBe(createHmac('sha1', 'actions-secret').update(captured[0]!.body).digest('hex'));
    expect((JSON.parse(captured[0]!.body) as Array<{ messageId: string }>).map((event) => event.messageId)).toEqual(['batch-1', 'batch-2', 'batch-3']);
    const multistatus = (testDestination.results[0] as unknown as { multistatus: Array<{ status: number }> }).multistatus;
    expect(multistatus.map((entry) => entry.status)).toEqual([200, 200, 200]);

    expectPost(429, 'too many requests');
    await testDestination.testBatchAction('send', { events, settings, useDefaultMappings: true });
    const failed = (testDestination.results[0] as unknown as { multistatus: Array<{ status: number; errortype: string; errormessage: string }> }).multistatus;
    expect(failed.map((entry) => [entry.status, entry.errortype])).toEqual(Array(3).fill([500, 'RETRYABLE_ERROR']));
    expect(failed[0]!.errormessage).toContain('429: too many requests');
  });
});
