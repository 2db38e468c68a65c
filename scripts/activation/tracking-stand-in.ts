/**
 * A stand-in for Segment's HTTP Tracking API, for `npm run dev` and the tests: it takes what
 * `@segment/analytics-node` sends (`POST /v1/batch`, and the single-call endpoints `/v1/identify`,
 * `/v1/track`, `/v1/group`, `/v1/page`, `/v1/screen`, `/v1/alias`), checks the write key (basic
 * auth user, or `writeKey` in the body), the body size (500 KB a batch, 32 KB a call) and each
 * call's required fields, and records every call. Segment deduplicates by messageId; so does
 * `unique()`, while `calls` keeps every copy received, to see what a crash re-sent.
 *
 * Failures on purpose, to watch retries: `failNext([500, 429])` answers the next requests with
 * those statuses (429 with `Retry-After`), also over HTTP: `POST /stand-in/fail {"statuses": [500]}`.
 * `GET /stand-in/calls` lists what arrived (`?unique=1`: one per messageId); `DELETE` clears it.
 *
 * Forwarding (`forward`): each call accepted is also handed, in order and after its request was
 * answered (Segment delivers to destinations asynchronously too), to a function — in `npm run dev
 * -- --forward-segment-calls`, the built Segment destination function posting it to the local
 * webhook source, as a real workspace would (see function-forwarder.ts). What it did is recorded
 * on the call (`forwarded`). A messageId forwarded once is not forwarded again (Segment
 * deduplicates before its destinations).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TrackingCall {
  readonly type: string;
  readonly messageId: string;
  readonly userId?: string;
  readonly anonymousId?: string;
  readonly groupId?: string;
  readonly event?: string;
  readonly traits?: Record<string, unknown>;
  readonly properties?: Record<string, unknown>;
  readonly timestamp?: string;
  readonly context?: Record<string, unknown>;
  readonly [field: string]: unknown;
}

export interface RecordedCall {
  readonly call: TrackingCall;
  readonly receivedAt: number;
  /** 0 for a first attempt; the library's X-Retry-Count otherwise. */
  readonly retryCount: number;
  /** With `forward`: what forwarding did (absent while queued; `duplicate` for a messageId forwarded before). */
  forwarded?: ForwardOutcome;
}

export type ForwardOutcome = { readonly ok: true; readonly ms: number; readonly at: number } | { readonly ok: false; readonly error: string; readonly ms: number; readonly at: number } | { readonly ok: 'duplicate' };

/** Hands a call on (throws to report a failure, recorded on the call). */
export type CallForwarder = (call: TrackingCall) => Promise<void>;

export interface TrackingStandInOptions {
  readonly host?: string;
  readonly port?: number;
  /** When set, requests with another write key are refused with 401. */
  readonly writeKey?: string;
  /** Extra answer time, to measure or to hold a batch in flight. */
  readonly delayMs?: number;
  /** Each accepted call, in order, after its request is answered. */
  readonly forward?: CallForwarder;
}

export interface TrackingStandIn {
  /** Base URL: what SEGMENT_TRACKING_URL is set to. */
  readonly url: string;
  readonly port: number;
  readonly calls: RecordedCall[];
  /** Requests answered (with any status). */
  requests: number;
  /** One call per messageId (the first received), as Segment deduplicates. */
  unique(): Map<string, TrackingCall>;
  failNext(statuses: readonly number[], options?: { retryAfterSeconds?: number; body?: string }): void;
  /** Called for each call recorded (after its request is accepted). */
  onCall?: (recorded: RecordedCall) => void;
  /** Called after each call is forwarded (or failed to be), with `forward`. */
  onForwarded?: (recorded: RecordedCall) => void;
  /** Resolves when every call received so far has been forwarded. */
  forwarded(): Promise<void>;
  setDelay(ms: number): void;
  clear(): void;
  close(): Promise<void>;
}

const MAX_BATCH_BYTES = 500 * 1024;
const MAX_CALL_BYTES = 32 * 1024;
const SINGLE_CALLS = new Set(['identify', 'track', 'group', 'page', 'screen', 'alias']);

export async function startTrackingStandIn(options: TrackingStandInOptions = {}): Promise<TrackingStandIn> {
  const failures: Array<{ status: number; retryAfterSeconds: number | undefined; body: string | undefined }> = [];
  let delayMs = options.delayMs ?? 0;
  let forwarding: Promise<void> = Promise.resolve();
  const forwardedIds = new Set<string>();
  const forward = (recorded: RecordedCall): void => {
    const forwarder = options.forward;
    if (!forwarder) return;
    forwarding = forwarding.then(async () => {
      const { call } = recorded;
      if (forwardedIds.has(call.messageId)) {
        recorded.forwarded = { ok: 'duplicate' };
        return;
      }
      const started = performance.now();
      try {
        await forwarder(call);
        forwardedIds.add(call.messageId);
        recorded.forwarded = { ok: true, ms: performance.now() - started, at: Date.now() };
      } catch (error) {
        recorded.forwarded = { ok: false, error: (error as Error).message ?? String(error), ms: performance.now() - started, at: Date.now() };
      }
      standIn.onForwarded?.(recorded);
    });
  };
  const server = createServer((request, response) => {
    void handle(request, response).catch((error: Error) => answer(response, 500, { success: false, message: error.message }));
  });
  const standIn: TrackingStandIn = {
    url: '',
    port: 0,
    calls: [],
    requests: 0,
    unique() {
      const unique = new Map<string, TrackingCall>();
      for (const { call } of standIn.calls) if (!unique.has(call.messageId)) unique.set(call.messageId, call);
      return unique;
    },
    failNext(statuses, failOptions = {}) {
      for (const status of statuses) failures.push({ status, retryAfterSeconds: failOptions.retryAfterSeconds, body: failOptions.body });
    },
    forwarded: async () => {
      let seen: Promise<void> | null = null;
      while (seen !== forwarding) {
        seen = forwarding;
        await seen;
      }
    },
    setDelay(ms) {
      delayMs = ms;
    },
    clear() {
      standIn.calls.length = 0;
      standIn.requests = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://stand-in');
    if (url.pathname === '/stand-in/calls') {
      if (request.method === 'DELETE') {
        standIn.clear();
        return answer(response, 200, { success: true });
      }
      const calls = url.searchParams.get('unique') ? [...standIn.unique().values()] : standIn.calls.map((each) => each.call);
      return answer(response, 200, { calls });
    }
    const body = await readBody(request);
    if (url.pathname === '/stand-in/fail' && request.method === 'POST') {
      const parsed = JSON.parse(body.toString('utf8') || '{}') as { statuses?: number[]; retryAfterSeconds?: number };
      standIn.failNext(parsed.statuses ?? [500], parsed.retryAfterSeconds !== undefined ? { retryAfterSeconds: parsed.retryAfterSeconds } : {});
      return answer(response, 200, { success: true, queued: failures.length });
    }
    const single = /^\/v1\/([a-z]+)$/.exec(url.pathname)?.[1];
    if (request.method !== 'POST' || !single || (single !== 'batch' && !SINGLE_CALLS.has(single))) return answer(response, 404, { success: false, message: `no such endpoint: ${request.method} ${url.pathname}` });
    standIn.requests++;
    if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const failure = failures.shift();
    if (failure) {
      if (failure.retryAfterSeconds !== undefined) response.setHeader('retry-after', String(failure.retryAfterSeconds));
      return answer(response, failure.status, { success: false, message: failure.body ?? `stand-in failure ${failure.status} (failNext)` });
    }
    if (single === 'batch' ? body.length > MAX_BATCH_BYTES : body.length > MAX_CALL_BYTES) return answer(response, 400, { success: false, message: 'request body too large' });
    let parsed: { batch?: unknown; writeKey?: unknown } & Record<string, unknown>;
    try {
      parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
    } catch {
      return answer(response, 400, { success: false, message: 'invalid JSON' });
    }
    const writeKey = basicAuthUser(request.headers.authorization) ?? (typeof parsed.writeKey === 'string' ? parsed.writeKey : undefined);
    if (options.writeKey !== undefined && writeKey !== options.writeKey) return answer(response, 401, { success: false, message: 'invalid write key' });
    const calls = single === 'batch' ? (Array.isArray(parsed.batch) ? (parsed.batch as TrackingCall[]) : null) : [{ type: single, ...parsed } as unknown as TrackingCall];
    if (!calls) return answer(response, 400, { success: false, message: 'batch must be an array of calls' });
    // A body within the per-call limit holds no call over it: only larger bodies measure each call.
    const measureCalls = body.length > MAX_CALL_BYTES;
    for (const call of calls) {
      const problem = invalidCall(call, measureCalls);
      if (problem) return answer(response, 400, { success: false, message: problem });
    }
    const retryCount = Number(request.headers['x-retry-count'] ?? 0) || 0;
    const receivedAt = Date.now();
    const recordedNow: RecordedCall[] = [];
    for (const call of calls) {
      const recorded: RecordedCall = { call, receivedAt, retryCount };
      recordedNow.push(recorded);
      standIn.calls.push(recorded);
      standIn.onCall?.(recorded);
    }
    answer(response, 200, { success: true });
    for (const recorded of recordedNow) forward(recorded);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return Object.assign(standIn, { url: `http://${host}:${address.port}`, port: address.port });
}

function invalidCall(call: TrackingCall, measure: boolean): string | null {
  if (!call || typeof call !== 'object') return 'each call must be an object';
  if (typeof call.type !== 'string' || !SINGLE_CALLS.has(call.type)) return `unknown call type ${JSON.stringify(call.type)}`;
  if (typeof call.messageId !== 'string' || !call.messageId) return `${call.type}: messageId is missing`;
  if (measure && Buffer.byteLength(JSON.stringify(call)) > MAX_CALL_BYTES) return `${call.type} ${call.messageId}: call larger than 32 KB`;
  if (!call.userId && !call.anonymousId && call.type !== 'group') return `${call.type} ${call.messageId}: userId or anonymousId is required`;
  if (call.type === 'track' && (typeof call.event !== 'string' || !call.event)) return `track ${call.messageId}: event is required`;
  if (call.type === 'group' && !call.groupId) return `group ${call.messageId}: groupId is required`;
  return null;
}

function basicAuthUser(header: string | undefined): string | undefined {
  const match = /^Basic\s+(.+)$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  return decoded.split(':')[0];
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) return;
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}
