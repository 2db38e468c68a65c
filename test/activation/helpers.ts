/** Test helpers for activations: a webhook receiver that checks signatures, and a worker on a test server. */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseActivation, type BoundActivation } from '../../scripts/activation/declarations.ts';
import { ActivationWorker, type ActivationEvent, type WorkerOptions } from '../../scripts/activation/worker.ts';
import type { WebhookChange } from '../../scripts/activation/webhook-sender.ts';

export interface ReceivedRequest {
  readonly body: string;
  readonly signature: string | undefined;
  readonly signatureValid: boolean;
  readonly changes: WebhookChange[];
  readonly status: number;
}

export interface WebhookReceiver {
  readonly url: string;
  readonly requests: ReceivedRequest[];
  /** Changes accepted (2xx), every copy. */
  accepted(): WebhookChange[];
  /** One per id, as a deduplicating receiver keeps them. */
  unique(): Map<string, WebhookChange>;
  /** Answers the next requests with these statuses. */
  failNext(statuses: readonly number[], headers?: Record<string, string>): void;
  /** Decides each request's answer (after failNext's queue); default 200. */
  respond: (changes: WebhookChange[]) => { status: number; body?: string } | Promise<{ status: number; body?: string }>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const queued: Array<{ status: number; headers: Record<string, string> }> = [];
  const receiver: WebhookReceiver = {
    url: '',
    requests: [],
    accepted: () => receiver.requests.filter((request) => request.status < 300).flatMap((request) => request.changes),
    unique: () => new Map(receiver.accepted().map((change) => [change.id, change])),
    failNext: (statuses, headers = {}) => queued.push(...statuses.map((status) => ({ status, headers }))),
    respond: () => ({ status: 200 }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const signature = request.headers['x-signature'] as string | undefined;
        const signatureValid = signature === createHmac('sha1', secret).update(body).digest('hex');
        const changes = (JSON.parse(body) as { changes: WebhookChange[] }).changes;
        const failure = queued.shift();
        const answer = failure ?? (await receiver.respond(changes));
        const status = signatureValid ? answer.status : 401;
        receiver.requests.push({ body, signature, signatureValid, changes, status });
        response.writeHead(status, { 'content-type': 'text/plain', ...(failure?.headers ?? {}) });
        response.end('body' in answer && answer.body ? answer.body : status < 300 ? 'ok' : `status ${status}`);
      })();
    });
  });
  server.keepAliveTimeout = 1;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return Object.assign(receiver, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) });
}

export function bindTo(name: string, yaml: string, relation = 'mart', schema = 'public'): BoundActivation {
  const activation = parseActivation(`activations/${name}.yml`, yaml);
  return { activation, database: 'materialize', schema, relation, cluster: 'quickstart' };
}

export interface RunningWorker {
  readonly worker: ActivationWorker;
  readonly events: ActivationEvent[];
  stop(): Promise<void>;
}

export function runWorker(bound: BoundActivation[], options: WorkerOptions): RunningWorker {
  const events: ActivationEvent[] = [];
  const worker = new ActivationWorker(bound, {
    relationCheckMs: 300,
    fetchTimeout: '0.2s',
    ...options,
    onEvent: (event) => {
      events.push(event);
      options.onEvent?.(event);
    },
  });
  const running = worker.run();
  return {
    worker,
    events,
    async stop() {
      await worker.stop();
      await running;
    },
  };
}

export async function until<T>(check: () => T | undefined | false | null, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
