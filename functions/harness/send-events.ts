/**
 * Sends events through the function's handlers (as loaded by the sandbox) and counts what became
 * of each: delivered, retried (RetryError, or status 500 in onBatch's answer) or rejected (any
 * other error or status). Used by events:send and the benchmarks.
 */
import { handlerFor, RetryError, type Handlers } from './segment-sandbox.ts';

export interface SendOptions {
  readonly handlers: Handlers;
  readonly events: ReadonlyArray<Record<string, unknown>>;
  readonly settings: Record<string, unknown>;
  /** 1: the per-type handlers, one event per call; more: onBatch with batches of this size. */
  readonly batchSize: number;
  /** Calls in flight at once. */
  readonly concurrency: number;
  /** Events per second to aim for; 0 for as fast as possible. */
  readonly rate: number;
  readonly onProgress?: (sent: number) => void;
}

export interface SendReport {
  readonly delivered: number;
  readonly retried: number;
  readonly rejected: number;
  /** First few distinct failure messages, with how often each came. */
  readonly failures: ReadonlyArray<{ readonly message: string; readonly count: number; readonly retried: boolean }>;
  readonly ms: number;
}

export async function sendEvents(options: SendOptions): Promise<SendReport> {
  const { handlers, events, settings } = options;
  const calls: Array<ReadonlyArray<Record<string, unknown>>> = [];
  for (let start = 0; start < events.length; start += options.batchSize) calls.push(events.slice(start, start + options.batchSize));
  let delivered = 0;
  let retried = 0;
  let rejected = 0;
  const failures = new Map<string, { count: number; retried: boolean }>();
  const fail = (message: string, isRetry: boolean, count: number) => {
    if (isRetry) retried += count;
    else rejected += count;
    const entry = failures.get(message) ?? { count: 0, retried: isRetry };
    entry.count += count;
    failures.set(message, entry);
  };
  const started = performance.now();
  let next = 0;
  let sent = 0;
  const worker = async () => {
    while (next < calls.length) {
      const call = calls[next++]!;
      // Reserve this call's place first, so workers pace one schedule: it starts no earlier than
      // (events before it) / rate.
      const before = sent;
      sent += call.length;
      if (options.rate > 0) {
        const wait = started + (before / options.rate) * 1000 - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      try {
        if (options.batchSize === 1) {
          await handlerFor(handlers, String(call[0]!.type ?? 'track'))(call[0], settings);
          delivered++;
        } else {
          const statuses = (await handlers.onBatch([...call], settings)) as Array<{ status: number; errormessage?: string }>;
          for (const status of statuses) {
            if (status.status === 200) delivered++;
            else fail(status.errormessage ?? `status ${status.status}`, status.status >= 500, 1);
          }
        }
      } catch (error) {
        fail(error instanceof Error ? error.message : String(error), error instanceof RetryError, call.length);
      }
      options.onProgress?.(sent);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, calls.length)) }, worker));
  return {
    delivered,
    retried,
    rejected,
    failures: [...failures].slice(0, 5).map(([message, entry]) => ({ message, ...entry })),
    ms: performance.now() - started,
  };
}
