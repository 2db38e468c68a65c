/**
 * Webhook destination: each timestamp's changes POSTed as JSON in requests of up to `batch_size`
 * changes, each request signed as this project's Segment function signs (an HMAC of the exact
 * bytes sent, hex, in `X-Signature` by default), so a Materialize webhook source with the same
 * CHECK accepts them.
 *
 *   POST <url>
 *   X-Signature: <hex HMAC-SHA1 of the body with the secret>
 *   Idempotency-Key: <hash of the change ids in the request>
 *   {"activation": "…", "changes": [{"id", "op": "upsert"|"delete", "mz_timestamp", "key", "row"}]}
 *
 * `id` is the change's deterministic id (activation, key, timestamp): a receiver that keeps the
 * ids it saw gets every change exactly once, even when a batch is re-sent after a crash.
 * 2xx: delivered. 408, 429, 5xx, timeouts and network errors: retried with backoff (429's
 * Retry-After honoured), forever, until the receiver answers. Any other 4xx: the request is split
 * in halves until the refused changes are alone, and each is reported with its key and the
 * receiver's answer, then left behind (recorded in the checkpoint's failures).
 */
import { createHash, createHmac } from 'node:crypto';
import { ProjectError } from '../runner/errors.ts';
import { redactUrl } from '../runner/deploy/target-connection.ts';
import { messageId, type Change } from './changes.ts';
import type { Activation, WebhookDestination } from './declarations.ts';
import type { DeliveryFailure } from './checkpoint-store.ts';
import { backoffMs, isTransientStatus, retryAfterMs, shortAnswer, sleep, type DeliverOptions, type Sender } from './sender.ts';

/** Bodies are split before they pass this many bytes (Materialize's webhook limit is 2 MB). */
const MAX_BODY_BYTES = 1_000_000;
const CONCURRENT_REQUESTS = 4;

export interface WebhookChange {
  readonly id: string;
  readonly op: 'upsert' | 'delete';
  readonly mz_timestamp: string;
  readonly key: Readonly<Record<string, unknown>>;
  /** upsert: the new row; delete: the row as last delivered (the one that leaves). */
  readonly row: Readonly<Record<string, unknown>>;
}

export function webhookChange(activation: string, change: Change): WebhookChange {
  return { id: messageId(activation, change.keyText, change.mzTimestamp), op: change.op, mz_timestamp: change.mzTimestamp, key: change.key, row: change.row };
}

export function signBody(body: string, secret: string, algorithm: 'sha1' | 'sha256', encoding: 'hex' | 'base64'): string {
  return createHmac(algorithm, secret).update(body, 'utf8').digest(encoding);
}

export class WebhookSender implements Sender {
  private readonly url: string;
  private readonly secret: string;
  readonly description: string;

  constructor(
    private readonly activation: Activation,
    private readonly hook: WebhookDestination,
    env: NodeJS.ProcessEnv,
  ) {
    const url = hook.url ?? env[hook.urlEnv!];
    if (!url) throw new ProjectError(`activation ${activation.name}: environment variable ${hook.urlEnv} (the webhook URL) is not set`, activation.locate(['webhook', 'url_env']), `export ${hook.urlEnv}=https://…`);
    if (!/^https?:\/\//.test(url)) throw new ProjectError(`activation ${activation.name}: ${hook.urlEnv} does not hold an http(s) URL`, activation.locate(['webhook', 'url_env']), 'set it to the receiver’s full URL');
    const secret = env[hook.secretEnv];
    if (!secret) throw new ProjectError(`activation ${activation.name}: environment variable ${hook.secretEnv} (the webhook's HMAC secret) is not set`, activation.locate(['webhook', 'secret_env']), `export ${hook.secretEnv}=… (the secret the receiver checks signatures with)`);
    this.url = url;
    this.secret = secret;
    this.description = `webhook ${redactUrl(url)}`;
  }

  async deliver(changes: readonly Change[], options: DeliverOptions): Promise<DeliveryFailure[]> {
    const bodies = changes.map((change) => webhookChange(this.activation.name, change));
    const requests = this.split(bodies);
    const failures: DeliveryFailure[] = [];
    let next = 0;
    const lane = async () => {
      while (next < requests.length) {
        const request = requests[next++]!;
        failures.push(...(await this.send(request, changes, options)));
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENT_REQUESTS, requests.length) }, lane));
    return failures;
  }

  /** Requests of at most batch_size changes and about MAX_BODY_BYTES each. */
  private split(changes: readonly WebhookChange[]): WebhookChange[][] {
    const requests: WebhookChange[][] = [];
    let current: WebhookChange[] = [];
    let bytes = 0;
    for (const change of changes) {
      const size = Buffer.byteLength(JSON.stringify(change));
      if (current.length && (current.length >= this.hook.batchSize || bytes + size > MAX_BODY_BYTES)) {
        requests.push(current);
        current = [];
        bytes = 0;
      }
      current.push(change);
      bytes += size + 1;
    }
    if (current.length) requests.push(current);
    return requests;
  }

  /** One request, retried while the failure is transient; a refused batch is bisected. */
  private async send(request: readonly WebhookChange[], changes: readonly Change[], options: DeliverOptions): Promise<DeliveryFailure[]> {
    const body = JSON.stringify({ activation: this.activation.name, changes: request });
    const headers: Record<string, string> = {
      ...this.hook.headers,
      'content-type': 'application/json',
      [this.hook.signatureHeader]: signBody(body, this.secret, this.hook.signatureAlgorithm, this.hook.signatureEncoding),
      'idempotency-key': createHash('sha256').update(request.map((change) => change.id).join(',')).digest('hex').slice(0, 32),
    };
    for (let attempt = 1; ; attempt++) {
      let status: number | null = null;
      let answer = '';
      let retryAfter: number | undefined;
      const timeout = AbortSignal.timeout(this.hook.timeoutMs);
      try {
        // Not aborted by a stop: a request in flight is let finish, so its batch can be committed.
        const response = await fetch(this.url, { method: 'POST', body, headers, signal: timeout });
        status = response.status;
        answer = await response.text().catch(() => '');
        retryAfter = retryAfterMs(response.headers.get('retry-after'));
      } catch (error) {
        answer = timeout.aborted ? `no answer within ${this.hook.timeoutMs} ms` : describeNetworkError(error);
      }
      if (status !== null && status >= 200 && status < 300) return [];
      if (status === null || isTransientStatus(status)) {
        const delayMs = retryAfter ?? backoffMs(attempt);
        options.onRetry?.({ attempt, reason: status === null ? answer : `${status}${answer ? ` ${shortAnswer(answer, 120)}` : ''}`, delayMs, messages: request.length });
        await sleep(delayMs, options.signal);
        continue;
      }
      // Refused for good (4xx, or a 3xx we do not follow): find the refused changes.
      if (request.length > 1) {
        const half = Math.ceil(request.length / 2);
        const first = await this.send(request.slice(0, half), changes, options);
        const second = await this.send(request.slice(half), changes, options);
        return [...first, ...second];
      }
      const only = request[0]!;
      const change = changes.find((each) => messageId(this.activation.name, each.keyText, each.mzTimestamp) === only.id);
      return [{ keyText: change?.keyText ?? JSON.stringify(only.key), messageId: only.id, status, reason: `${status}${answer ? `: ${shortAnswer(answer)}` : ''}` }];
    }
  }

  async close(): Promise<void> {}
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
