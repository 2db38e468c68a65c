/**
 * The delivery core: Segment events → signed POSTs to a Materialize webhook source, and every
 * outcome turned into what Segment needs to never lose an event silently:
 *
 *   2xx                               delivered
 *   429, 5xx, network error, timeout  RetryError (Segment retries with backoff for up to 4 hours)
 *   404                               RetryError: source or secret missing, e.g. mid-deploy
 *   400 "failed to validate …"        RetryError naming the misconfiguration (wrong secret): fixed
 *                                     within the retry window, nothing is lost
 *   413                               batch split in halves and retried; one event alone over
 *                                     the limit: ValidationError with its messageId and size
 *   400 "failed to deserialize body"  the same split, so one event Materialize cannot parse is
 *                                     isolated and rejected alone; its batch-mates are delivered
 *   other 4xx                         ValidationError with the status and Materialize's text
 *
 * It touches no Segment global: fetch, signing and the error classes come in `runtime`, so the
 * same core runs in the Segment bundle, the actions-core definition and tests.
 */
import type { DeliverySettings } from './settings.ts';
import { serializeEvent, UndeliverableEventError } from './event-json.ts';

export type ErrorClass = new (message: string) => Error;

export interface ErrorClasses {
  readonly RetryError: ErrorClass;
  readonly ValidationError: ErrorClass;
  readonly InvalidEventPayload: ErrorClass;
}

export interface ResponseLike {
  readonly status: number;
  text(): Promise<string>;
}

export interface RequestLike {
  method: 'POST';
  headers: Record<string, string>;
  body: string;
  signal?: AbortSignal;
}

export interface DeliveryRuntime {
  fetch(url: string, init: RequestLike): Promise<ResponseLike>;
  /** HMAC of `body` (UTF-8) with `secret`, encoded. */
  sign(algorithm: DeliverySettings['signatureAlgorithm'], encoding: DeliverySettings['signatureEncoding'], secret: string, body: string): string | Promise<string>;
  readonly errors: ErrorClasses;
}

/** One entry of onBatch's answer, by position (Segment pairs them with the input by index). */
export interface BatchStatus {
  readonly status: number;
  readonly errormessage?: string;
}

/**
 * `too-large` and `unparsable` are about the body: a batch answered so is split to find the
 * events responsible; only an event alone gets the rejection.
 */
type Outcome = { readonly kind: 'delivered' } | { readonly kind: 'retry' | 'reject' | 'too-large' | 'unparsable'; readonly message: string };

interface PreparedEvent {
  readonly messageId: string;
  readonly type: string;
  readonly body: string;
  readonly bytes: number;
}

/**
 * Checks an event and serializes it without Segment's `writeKey`, repairing text Materialize
 * cannot store (event-json.ts); an event that can never be delivered is a ValidationError naming
 * its messageId and why.
 */
export function prepareEvent(event: unknown, errors: ErrorClasses): PreparedEvent {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) {
    throw new errors.InvalidEventPayload(`expected an event object, got ${event === null ? 'null' : Array.isArray(event) ? 'an array' : typeof event}`);
  }
  const record = event as Record<string, unknown>;
  const messageId = record.messageId;
  if (typeof messageId !== 'string' || messageId === '') {
    throw new errors.InvalidEventPayload('the event has no messageId: Materialize deduplicates on it, so it is required');
  }
  const { writeKey: _writeKey, ...forwarded } = record;
  let body: string;
  try {
    body = serializeEvent(forwarded).body;
  } catch (error) {
    if (error instanceof UndeliverableEventError) throw new errors.ValidationError(`event ${messageId} cannot be delivered: ${error.message}`);
    throw error;
  }
  return { messageId, type: typeof record.type === 'string' ? record.type : 'unknown', body, bytes: utf8Length(body) };
}

/** Delivers one event; throws RetryError / ValidationError / InvalidEventPayload as above. */
export async function deliverEvent(event: unknown, settings: DeliverySettings, runtime: DeliveryRuntime): Promise<void> {
  const prepared = prepareEvent(event, runtime.errors);
  if (prepared.bytes > settings.maxBodyBytes) throw new runtime.errors.ValidationError(tooLarge(prepared, settings.maxBodyBytes));
  const outcome = await post(prepared.body, prepared.type, settings, runtime);
  if (outcome.kind === 'delivered') return;
  if (outcome.kind === 'retry') throw new runtime.errors.RetryError(outcome.message);
  throw new runtime.errors.ValidationError(rejection(outcome, prepared, settings));
}

/**
 * Delivers a batch: one signed JSON array per request (split to fit), or one request per event
 * when batching is off. Returns a status per event, in input order. When no event was delivered
 * and every failure is retryable for the same reason, throws that RetryError instead.
 */
export async function deliverBatch(events: readonly unknown[], settings: DeliverySettings, runtime: DeliveryRuntime): Promise<BatchStatus[]> {
  const statuses: BatchStatus[] = new Array(events.length);
  const ready: Array<{ index: number; event: PreparedEvent }> = [];
  events.forEach((event, index) => {
    try {
      const prepared = prepareEvent(event, runtime.errors);
      if (prepared.bytes > settings.maxBodyBytes) statuses[index] = { status: 400, errormessage: tooLarge(prepared, settings.maxBodyBytes) };
      else ready.push({ index, event: prepared });
    } catch (error) {
      statuses[index] = { status: 400, errormessage: (error as Error).message };
    }
  });

  if (settings.batching) {
    await postBatch(ready, settings, runtime, statuses);
  } else {
    // One request per event, a few at a time, within Segment's time budget for the call.
    let next = 0;
    const worker = async () => {
      while (next < ready.length) {
        const { index, event } = ready[next++]!;
        const outcome = await post(event.body, event.type, settings, runtime);
        statuses[index] = statusOf(outcome, event, settings);
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, ready.length) }, worker));
  }

  const failed = statuses.filter((status) => status.status !== 200);
  if (failed.length === statuses.length && failed.length > 0 && failed.every((status) => status.status === 500 && status.errormessage === failed[0]!.errormessage)) {
    throw new runtime.errors.RetryError(failed[0]!.errormessage!);
  }
  return statuses;
}

async function postBatch(batch: ReadonlyArray<{ index: number; event: PreparedEvent }>, settings: DeliverySettings, runtime: DeliveryRuntime, statuses: BatchStatus[]): Promise<void> {
  if (batch.length === 0) return;
  // [a,b,c] is 2 bytes of brackets plus a comma between elements.
  const bytes = batch.reduce((sum, { event }) => sum + event.bytes, 0) + batch.length + 1;
  if (bytes > settings.maxBodyBytes && batch.length > 1) {
    await splitAndPost(batch, settings, runtime, statuses);
    return;
  }
  const body = `[${batch.map(({ event }) => event.body).join(',')}]`;
  const outcome = await post(body, 'batch', settings, runtime);
  if ((outcome.kind === 'too-large' || outcome.kind === 'unparsable') && batch.length > 1) {
    await splitAndPost(batch, settings, runtime, statuses);
    return;
  }
  for (const { index, event } of batch) statuses[index] = statusOf(outcome, event, settings);
}

async function splitAndPost(batch: ReadonlyArray<{ index: number; event: PreparedEvent }>, settings: DeliverySettings, runtime: DeliveryRuntime, statuses: BatchStatus[]): Promise<void> {
  const middle = Math.ceil(batch.length / 2);
  await postBatch(batch.slice(0, middle), settings, runtime, statuses);
  await postBatch(batch.slice(middle), settings, runtime, statuses);
}

function statusOf(outcome: Outcome, event: PreparedEvent, settings: DeliverySettings): BatchStatus {
  switch (outcome.kind) {
    case 'delivered':
      return { status: 200 };
    case 'retry':
      return { status: 500, errormessage: outcome.message };
    case 'too-large':
    case 'unparsable':
    case 'reject':
      return { status: 400, errormessage: rejection(outcome, event, settings) };
  }
}

function rejection(outcome: Outcome & { message: string }, event: PreparedEvent, settings: DeliverySettings): string {
  if (outcome.kind === 'too-large') return tooLarge(event, settings.maxBodyBytes, outcome.message);
  if (outcome.kind === 'unparsable') return `event ${event.messageId} cannot be delivered: Materialize cannot parse it (${outcome.message})`;
  return outcome.message;
}

/** Signs and POSTs one body, and classifies what came back. */
async function post(body: string, eventType: string, settings: DeliverySettings, runtime: DeliveryRuntime): Promise<Outcome> {
  const signature = await runtime.sign(settings.signatureAlgorithm, settings.signatureEncoding, settings.sharedSecret, body);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), settings.timeoutMs);
  let response: ResponseLike;
  let text: string;
  try {
    response = await runtime.fetch(settings.webhookUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', [settings.signatureHeader]: signature, 'event-type': eventType },
      body,
      signal: controller.signal,
    });
    text = (await response.text()).trim();
  } catch (error) {
    if (controller.signal.aborted) return { kind: 'retry', message: `no answer from ${where(settings)} within ${settings.timeoutMs} ms (timeout); retrying` };
    return { kind: 'retry', message: `could not reach ${where(settings)}: ${describeNetworkError(error)}; retrying` };
  } finally {
    clearTimeout(timer);
  }
  return classify(response.status, text.slice(0, 300), settings);
}

function classify(status: number, text: string, settings: DeliverySettings): Outcome {
  const said = text ? `: ${text}` : '';
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  if (status === 413) return { kind: 'too-large', message: `413${said}` };
  if (status === 400 && /failed to deserialize body/i.test(text)) return { kind: 'unparsable', message: `400${said}` };
  if (status === 429 || status >= 500) return { kind: 'retry', message: `Materialize answered ${status}${said}; retrying` };
  if (status === 404) {
    return { kind: 'retry', message: `webhook source not found (404${said}) at ${where(settings)}: the source or its secret is missing (a deploy in progress?) or webhookUrl names the wrong database/schema/source; retrying` };
  }
  if (status === 400 && /failed to validate the request/i.test(text)) {
    return {
      kind: 'retry',
      message: `Materialize rejected the signature (400 failed to validate the request): the sharedSecret setting does not match the webhook source's secret, or signatureHeader/signatureAlgorithm/signatureEncoding (${settings.signatureHeader}, ${settings.signatureAlgorithm}, ${settings.signatureEncoding}) do not match its CHECK; fix the setting and retried events are delivered`,
    };
  }
  return { kind: 'reject', message: `Materialize refused the request with ${status}${said}` };
}

function tooLarge(event: PreparedEvent, limit: number, answer?: string): string {
  return `event ${event.messageId} is ${event.bytes} bytes, over the ${answer ? `webhook's body limit (${answer})` : `${limit}-byte limit (maxBodyBytes)`}; it cannot be delivered`;
}

function where(settings: DeliverySettings): string {
  const url = new URL(settings.webhookUrl);
  return `${url.protocol}//${url.host}${url.pathname}`;
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  const message = error instanceof Error ? error.message : String(error);
  return cause?.code ? `${message} (${cause.code})` : cause?.message ? `${message} (${cause.message})` : message;
}

/** Bytes of a string in UTF-8 (what fetch sends), without TextEncoder or Buffer. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && index + 1 < text.length) {
      bytes += 4;
      index++;
    } else bytes += 3;
  }
  return bytes;
}
